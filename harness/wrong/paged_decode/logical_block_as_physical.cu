// expect: of out
// Known-wrong: the logical block index j / 16 used as the physical block, as if the pool were one contiguous cache.
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
    const int h = blockIdx.x, b = blockIdx.y, g = h / (n_heads / n_kv_heads);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, n = context_lens[b];
    // Lane l owns dimensions 2l and 2l + 1: a warp reads one token's 64 halves in one go.
    const float2 qv =
        reinterpret_cast<const float2*>(q + ((size_t)b * n_heads + h) * HEAD_DIM)[lane];
    const float q0 = qv.x * scale, q1 = qv.y * scale;
    float m = NEG_INF, l = 0.0f, o0 = 0.0f, o1 = 0.0f;
    for (int j = warp; j < n; j += WARPS) {
        const int block = j / BLOCK_TOKENS;
        const size_t at =
            (((size_t)block * n_kv_heads + g) * BLOCK_TOKENS + j % BLOCK_TOKENS) * HEAD_DIM;
        const float2 kk = __half22float2(reinterpret_cast<const __half2*>(k_pool + at)[lane]);
        float s = q0 * kk.x + q1 * kk.y;
        for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        const float2 vv = __half22float2(reinterpret_cast<const __half2*>(v_pool + at)[lane]);
        // Online softmax: rescale what was summed against the old maximum.
        const float m_new = fmaxf(m, s), r = expf(m - m_new), p = expf(s - m_new);
        l = l * r + p;
        o0 = o0 * r + p * vv.x;
        o1 = o1 * r + p * vv.y;
        m = m_new;
    }
    // Four partial softmax states, one per warp: merge them, each rescaled to the common max.
    __shared__ float ms[WARPS], ls[WARPS], os[WARPS][HEAD_DIM];
    if (lane == 0) {
        ms[warp] = m;
        ls[warp] = l;
    }
    os[warp][2 * lane] = o0;
    os[warp][2 * lane + 1] = o1;
    __syncthreads();
    if (threadIdx.x < HEAD_DIM) {
        float mm = ms[0];
        for (int w = 1; w < WARPS; w++) mm = fmaxf(mm, ms[w]);
        float ll = 0.0f, acc = 0.0f;
        for (int w = 0; w < WARPS; w++) {
            // A warp that saw no token (a context shorter than 4) adds nothing.
            const float r = ms[w] == NEG_INF ? 0.0f : expf(ms[w] - mm);
            ll += ls[w] * r;
            acc += os[w][threadIdx.x] * r;
        }
        out[((size_t)b * n_heads + h) * HEAD_DIM + threadIdx.x] = acc / ll;
    }
}
