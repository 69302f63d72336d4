// calibrate: too slow
// source: llm.c dev/cuda softmax_forward_kernel4's idea (a block per row, warp shuffles then shared memory, three passes over the row in global memory, scalar loads); written for this exercise's frame
// expect-cpu: your loads and stores move at least
// Block r owns row r (blockDim = 256). Max, sum of exps and the outputs each walk the row in
// global memory: the second and third passes may hit L1/L2, which is what calibration measures.

#define BLOCK 256
#define WARPS (BLOCK / 32)
#define FULL_MASK 0xffffffffu
#define NEG_INF __int_as_float(0xff800000)

__device__ float block_reduce(float v, bool is_max)
{
    __shared__ float part[WARPS];
    for (int o = 16; o > 0; o /= 2) {
        float u = __shfl_xor_sync(FULL_MASK, v, o);
        v = is_max ? fmaxf(v, u) : v + u;
    }
    if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = v;
    __syncthreads();
    v = threadIdx.x % 32 < WARPS ? part[threadIdx.x % 32] : (is_max ? NEG_INF : 0.0f);
    for (int o = 16; o > 0; o /= 2) {
        float u = __shfl_xor_sync(FULL_MASK, v, o);
        v = is_max ? fmaxf(v, u) : v + u;
    }
    __syncthreads();
    return v;
}

extern "C" __global__ void softmax_fused(const float* x, float* y, int rows, int C, int stride)
{
    const float* in = x + (size_t)blockIdx.x * stride;
    float* out = y + (size_t)blockIdx.x * stride;
    float m = NEG_INF;
    for (int c = threadIdx.x; c < C; c += BLOCK) m = fmaxf(m, in[c]);
    m = block_reduce(m, true);
    if (m == NEG_INF) {
        for (int c = threadIdx.x; c < C; c += BLOCK) out[c] = 0.0f;
        return;
    }
    float s = 0.0f;
    for (int c = threadIdx.x; c < C; c += BLOCK) s += expf(in[c] - m);
    float inv = 1.0f / block_reduce(s, false);
    for (int c = threadIdx.x; c < C; c += BLOCK) out[c] = expf(in[c] - m) * inv;
}
