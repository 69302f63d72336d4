// paged_decode: attention for one new token per sequence, reading a paged KV cache.
//
// Layout (what module 10's server passes):
//   q   [B, n_heads, 64] f32: each sequence's query, one token
//   k_pool, v_pool [num_blocks, n_kv_heads, 16, 64] f16 (__half): the cache, in blocks of
//       16 tokens. Token j of sequence b is in physical block block_tables[b * max_blocks +
//       j / 16], slot j % 16: K at ((block * n_kv_heads + g) * 16 + j % 16) * 64 for KV head g.
//   block_tables [B, max_blocks] int: sequence b's blocks, in token order. Physical blocks
//       are anywhere in the pool, in any order: the table is the only way to find them.
//   context_lens [B] int: sequence b has tokens 0 .. context_lens[b] - 1 (at least 1).
//   out [B, n_heads, 64] f32.
//   scale: 1/sqrt(64), from the launch arguments.
// Grouped-query attention (SmolLM2: 9 query heads, 3 KV heads): query head h reads KV head
// g = h / (n_heads / n_kv_heads), so three query heads in a row share one KV head.
// Launch (fixed by the harness): grid = (n_heads, B), block = 128 threads (4 warps):
// block (h, b) computes out for query head h of sequence b.
//
//   out = sum over j of softmax_j(scale * q . K_j) V_j, accumulated in f32.
//
// Slots past a sequence's length in its last block, and table entries past its last block,
// are not part of the cache: kernlings fills them with NaN. Contexts in one batch range from
// 1 token to the longest, and one case has logits large enough that exp overflows without
// the row's maximum.
//
// Aim: as fast as the same decode on a contiguous cache: kernlings times yours against its
// own contiguous-cache kernel on the same context lengths, in the same run.

#include <cuda_fp16.h>

#define HEAD_DIM 64
#define BLOCK_TOKENS 16
#define WARPS 4
#define NEG_INF __int_as_float(0xff800000)

extern "C" __global__ void paged_decode(const float* q, const __half* k_pool,
                                        const __half* v_pool, const int* block_tables,
                                        const int* context_lens, float* out, int n_heads,
                                        int n_kv_heads, int max_blocks, float scale)
{
    const int h = blockIdx.x, b = blockIdx.y;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, n = context_lens[b];
    // TODO 1: which KV head this query head reads.

    // TODO 2: each warp takes tokens j = warp, warp + WARPS, ... < n. For each: find its block
    // through the table and its slot, the score scale * q . K_j (a lane can own two of the 64
    // dimensions; __shfl_xor_sync sums across the warp), and fold it and V_j into a running
    // max m, a running sum l of exp(score - m) and an unnormalised output (see module 07).

    // TODO 3: the four warps' (m, l, o) are four partial softmax states of the same row: merge
    // them in shared memory, each rescaled to the common max, and write out = o / l.
}
