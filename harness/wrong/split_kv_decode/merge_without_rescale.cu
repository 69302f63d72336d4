// expect: of out
// Known-wrong: the pieces' sums and outputs added as they are, though each was summed against its own maximum.
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
    const int g = h / (n_heads / n_kv_heads);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int start = s * split_len, end = min(context_lens[b], start + split_len);
    const float2 qv =
        reinterpret_cast<const float2*>(q + ((size_t)b * n_heads + h) * HEAD_DIM)[lane];
    const float q0 = qv.x * scale, q1 = qv.y * scale;
    float m = NEG_INF, l = 0.0f, o0 = 0.0f, o1 = 0.0f;
    for (int j = start + warp; j < end; j += WARPS) {
        const int block = block_tables[(size_t)b * max_blocks + j / BLOCK_TOKENS];
        const size_t at =
            (((size_t)block * n_kv_heads + g) * BLOCK_TOKENS + j % BLOCK_TOKENS) * HEAD_DIM;
        const float2 kk = __half22float2(reinterpret_cast<const __half2*>(k_pool + at)[lane]);
        float sc = q0 * kk.x + q1 * kk.y;
        for (int o = 16; o > 0; o >>= 1) sc += __shfl_xor_sync(0xffffffffu, sc, o);
        const float2 vv = __half22float2(reinterpret_cast<const __half2*>(v_pool + at)[lane]);
        const float m_new = fmaxf(m, sc), r = expf(m - m_new), p = expf(sc - m_new);
        l = l * r + p;
        o0 = o0 * r + p * vv.x;
        o1 = o1 * r + p * vv.y;
        m = m_new;
    }
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
            const float r = ms[w] == NEG_INF ? 0.0f : expf(ms[w] - mm);
            ll += ls[w] * r;
            acc += os[w][threadIdx.x] * r;
        }
        // An empty piece writes m = -inf, l = 0, o = 0: the merge skips it.
        const size_t row = ((size_t)b * n_heads + h) * gridDim.x + s;
        part_o[row * HEAD_DIM + threadIdx.x] = acc;
        if (threadIdx.x == 0) {
            part_ml[2 * row] = mm;
            part_ml[2 * row + 1] = ll;
        }
    }
}

extern "C" __global__ void split_kv_merge(const float* part_o, const float* part_ml,
                                          const int* context_lens, float* out, int n_heads,
                                          int n_splits, int split_len)
{
    const int h = blockIdx.x, b = blockIdx.y, d = threadIdx.x;
    const size_t row0 = ((size_t)b * n_heads + h) * n_splits;
    // Only the pieces that hold tokens of this sequence.
    const int used = (context_lens[b] + split_len - 1) / split_len;
    float mm = NEG_INF;
    for (int s = 0; s < used; s++) mm = fmaxf(mm, part_ml[2 * (row0 + s)]);
    float ll = 0.0f, acc = 0.0f;
    for (int s = 0; s < used; s++) {
        const float r = 1.0f;
        ll += part_ml[2 * (row0 + s) + 1] * r;
        acc += part_o[(row0 + s) * HEAD_DIM + d] * r;
    }
    out[((size_t)b * n_heads + h) * HEAD_DIM + d] = acc / ll;
}
