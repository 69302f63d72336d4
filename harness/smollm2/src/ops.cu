// The glue of SmolLM2's decode step on a GPU, harness-owned: everything between the learner's
// kernels (rmsnorm_residual, rope, paged_decode, gemv_q4_1) that is not an exercise. One block
// per row of the step (a new token of some sequence) unless said otherwise.

#include <cuda_fp16.h>

#define HEAD_DIM 64
#define BLOCK_TOKENS 16

// The fused q|k|v GEMV writes each row as [q (n_heads*64), k (n_kv*64), v (n_kv*64)]; rope and
// paged_decode want q and k each contiguous over the rows.
extern "C" __global__ void split_qkv(const float* qkv, float* q, float* k, float* v, int n_heads,
                                     int n_kv_heads)
{
    const int row = blockIdx.x;
    const int nq = n_heads * HEAD_DIM, nk = n_kv_heads * HEAD_DIM, width = nq + 2 * nk;
    for (int j = threadIdx.x; j < width; j += blockDim.x) {
        const float x = qkv[(size_t)row * width + j];
        if (j < nq) {
            q[(size_t)row * nq + j] = x;
        } else if (j < nq + nk) {
            k[(size_t)row * nk + j - nq] = x;
        } else {
            v[(size_t)row * nk + j - nq - nk] = x;
        }
    }
}

// Row r's rotated key and its value go to cache slot slots[r] (= block * 16 + offset, from the
// sequence's block table), in paged_decode's layout [block][kv head][16][64], as f16.
extern "C" __global__ void kv_write(const float* k, const float* v, __half* k_pool,
                                    __half* v_pool, const int* slots, int n_kv_heads)
{
    const int row = blockIdx.x, slot = slots[row];
    const int block = slot / BLOCK_TOKENS, offset = slot % BLOCK_TOKENS;
    for (int j = threadIdx.x; j < n_kv_heads * HEAD_DIM; j += blockDim.x) {
        const int g = j / HEAD_DIM, d = j % HEAD_DIM;
        const size_t at = (((size_t)block * n_kv_heads + g) * BLOCK_TOKENS + offset) * HEAD_DIM + d;
        k_pool[at] = __float2half_rn(k[(size_t)row * n_kv_heads * HEAD_DIM + j]);
        v_pool[at] = __float2half_rn(v[(size_t)row * n_kv_heads * HEAD_DIM + j]);
    }
}

// The fused gate|up GEMV writes each row as [gate (ff), up (ff)]; act = silu(gate) * up.
extern "C" __global__ void swiglu(const float* gate_up, float* act, int ff)
{
    const int row = blockIdx.x;
    for (int j = threadIdx.x; j < ff; j += blockDim.x) {
        const float g = gate_up[(size_t)row * 2 * ff + j];
        const float u = gate_up[(size_t)row * 2 * ff + ff + j];
        act[(size_t)row * ff + j] = g / (1.0f + expf(-g)) * u;
    }
}

// logits[s][r] = E[r] . y[rows[s]] for the vocabulary's rows r (the tied embedding, f32): a warp
// per vocabulary row, which it reads once for all the selected rows of the step.
extern "C" __global__ void lm_head(const float* emb, const float* y, const int* rows, int n_rows,
                                   int vocab, int dim, float* logits)
{
    const int r = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (r >= vocab) return;
    const float* e = emb + (size_t)r * dim;
    for (int s = 0; s < n_rows; ++s) {
        const float* x = y + (size_t)rows[s] * dim;
        float sum = 0.0f;
        for (int c = lane; c < dim; c += 32) sum += e[c] * x[c];
        for (int o = 16; o > 0; o /= 2) sum += __shfl_down_sync(0xffffffffu, sum, o);
        if (lane == 0) logits[(size_t)s * vocab + r] = sum;
    }
}
