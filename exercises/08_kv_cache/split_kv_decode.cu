// split_kv_decode: flash-decoding. One long sequence gives paged_decode only n_heads blocks
// (9 for SmolLM2) on a GPU with 132 SMs: most of the chip waits. Split the context into
// pieces of split_len tokens, let one block per (piece, head, sequence) attend to its piece,
// and merge the pieces' partial softmax states afterwards.
//
// Layout: q, k_pool, v_pool, block_tables, context_lens, scale as in paged_decode (the same
// paged cache, blocks of 16 tokens, grouped-query heads g = h / (n_heads / n_kv_heads)).
//   split_len: tokens per piece, a multiple of 16 (kernlings passes 512 on a GPU, less on
//       its CPU backend); n_splits = ceil(longest context / split_len).
//   part_o  [B, n_heads, n_splits, 64] f32: piece s's output, NOT divided by its sum
//   part_ml [B, n_heads, n_splits, 2] f32: piece s's max m_s and sum l_s = sum exp(score - m_s)
//   out [B, n_heads, 64] f32.
// Launch (fixed by the harness), two kernels in a row:
//   split_kv_partial: grid = (n_splits, n_heads, B), block = 128 threads (4 warps); block
//       (s, h, b) covers tokens s * split_len .. (s + 1) * split_len - 1 of sequence b. A
//       piece past the end of a short sequence's context holds no token.
//   split_kv_merge: grid = (n_heads, B), block = 64 threads, thread d owns dimension d.
//
// The merge: with M = max over pieces of m_s, every piece was summed against its own max, so
//   out = sum_s exp(m_s - M) part_o_s / sum_s exp(m_s - M) l_s      (a logsumexp merge)
//
// Aim: on one sequence of 32768 tokens, many times faster than one block per head: kernlings
// times both kernels together against its own paged decode (one block per query head).

#include <cuda_fp16.h>

#define HEAD_DIM 64
#define BLOCK_TOKENS 16
#define WARPS 4
#define NEG_INF __int_as_float(0xff800000)

extern "C" __global__ void split_kv_partial(const float* q, const __half* k_pool,
                                            const __half* v_pool, const int* block_tables,
                                            const int* context_lens, float* part_o,
                                            float* part_ml, int n_heads, int n_kv_heads,
                                            int max_blocks, float scale, int split_len)
{
    const int s = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
    // TODO 1: your paged_decode's loop, over this piece's tokens only (the last piece of a
    // sequence may be short, or empty). Write the piece's unnormalised o to part_o and its
    // (m, l) to part_ml, row ((b * n_heads + h) * n_splits + s). An empty piece must still
    // leave something the merge can skip or add as nothing.
}

extern "C" __global__ void split_kv_merge(const float* part_o, const float* part_ml,
                                          const int* context_lens, float* out, int n_heads,
                                          int n_splits, int split_len)
{
    const int h = blockIdx.x, b = blockIdx.y, d = threadIdx.x;
    // TODO 2: merge the pieces of this row as the header says, and write out.
}
