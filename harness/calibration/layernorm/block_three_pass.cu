// calibrate: pass
// source: llm.c dev/cuda layernorm_forward_kernel3's idea (shuffle reductions, the mean and then the variance each from a pass over the row in global memory, then the output pass), adapted from a warp per row to this exercise's block per row
// Three reads of each row from global memory (the later ones may hit L1/L2), scalar loads.

#define BLOCK 256
#define WARPS (BLOCK / 32)
#define FULL_MASK 0xffffffffu

__device__ float block_sum(float v)
{
    __shared__ float part[WARPS];
    for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(FULL_MASK, v, o);
    if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = v;
    __syncthreads();
    v = threadIdx.x % 32 < WARPS ? part[threadIdx.x % 32] : 0.0f;
    for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(FULL_MASK, v, o);
    __syncthreads();
    return v;
}

extern "C" __global__ void layernorm(const float* x, const float* weight, const float* bias,
                                     float* y, float* mean, float* rstd, int rows, int C,
                                     int stride, float eps)
{
    const float* in = x + (size_t)blockIdx.x * stride;
    float* out = y + (size_t)blockIdx.x * stride;
    float s = 0.0f;
    for (int c = threadIdx.x; c < C; c += BLOCK) s += in[c];
    float mu = block_sum(s) / C;
    float sq = 0.0f;
    for (int c = threadIdx.x; c < C; c += BLOCK) sq += (in[c] - mu) * (in[c] - mu);
    float rs = rsqrtf(block_sum(sq) / C + eps);
    for (int c = threadIdx.x; c < C; c += BLOCK) out[c] = (in[c] - mu) * rs * weight[c] + bias[c];
    if (threadIdx.x == 0) {
        mean[blockIdx.x] = mu;
        rstd[blockIdx.x] = rs;
    }
}
