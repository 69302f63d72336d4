// calibrate: too slow
// source: llm.c dev/cuda softmax_forward_kernel4's idea (a block per row, warp shuffles then shared memory, three passes over the row in global memory, scalar loads), and the same with a warp per row for the short rows of this exercise's frame
// expect-cpu: your loads and stores move at least
// Rows up to 1024 floats: warp w of block b owns row 8 * b + w; longer rows: block r owns row r
// (blockDim = 256). Max, sum of exps and the outputs each walk the row in global memory: the
// second and third passes may hit L1/L2, which is what calibration measures.

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

__device__ float warp_reduce(float v, bool is_max)
{
    for (int o = 16; o > 0; o /= 2) {
        float u = __shfl_xor_sync(FULL_MASK, v, o);
        v = is_max ? fmaxf(v, u) : v + u;
    }
    return v;
}

// Three passes over a row by `lanes` threads, the first at `first`.
__device__ void three_pass(const float* in, float* out, int C, int first, int lanes, bool warp)
{
    float m = NEG_INF;
    for (int c = first; c < C; c += lanes) m = fmaxf(m, in[c]);
    m = warp ? warp_reduce(m, true) : block_reduce(m, true);
    if (m == NEG_INF) {
        for (int c = first; c < C; c += lanes) out[c] = 0.0f;
        return;
    }
    float s = 0.0f;
    for (int c = first; c < C; c += lanes) s += expf(in[c] - m);
    float inv = 1.0f / (warp ? warp_reduce(s, false) : block_reduce(s, false));
    for (int c = first; c < C; c += lanes) out[c] = expf(in[c] - m) * inv;
}

extern "C" __global__ void softmax_fused(const float* x, float* y, int rows, int C, int stride)
{
    if (C <= 1024) {
        int row = blockIdx.x * WARPS + threadIdx.x / 32;
        if (row < rows)
            three_pass(x + (size_t)row * stride, y + (size_t)row * stride, C, threadIdx.x % 32, 32, true);
        return;
    }
    three_pass(x + (size_t)blockIdx.x * stride, y + (size_t)blockIdx.x * stride, C, threadIdx.x, BLOCK, false);
}
