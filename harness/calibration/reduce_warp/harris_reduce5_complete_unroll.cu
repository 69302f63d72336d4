// calibrate: pass
// source: Harris, "Optimizing Parallel Reduction in CUDA" / cuda-samples reduction, reduce5: reduce4 with every level unrolled for a block size known at compile time (here the constant BLOCK instead of a template)
// This rung's kernel, unrolled: no loop counters, no tests of s at run time.

#define BLOCK 256
#define FULL_MASK 0xffffffffu

extern "C" __global__ void block_sum(const float* x, float* partial, int n)
{
    __shared__ float sdata[BLOCK];
    const unsigned int tid = threadIdx.x;
    const unsigned int i = blockIdx.x * (BLOCK * 2) + threadIdx.x;

    float mySum = (i < n) ? x[i] : 0.0f;
    if (i + BLOCK < n) mySum += x[i + BLOCK];
    sdata[tid] = mySum;
    __syncthreads();

    if (BLOCK >= 512 && tid < 256) sdata[tid] = mySum = mySum + sdata[tid + 256];
    if (BLOCK >= 512) __syncthreads();
    if (BLOCK >= 256 && tid < 128) sdata[tid] = mySum = mySum + sdata[tid + 128];
    if (BLOCK >= 256) __syncthreads();
    if (BLOCK >= 128 && tid < 64) sdata[tid] = mySum = mySum + sdata[tid + 64];
    if (BLOCK >= 128) __syncthreads();
    if (tid < 32) {
        if (BLOCK >= 64) mySum += sdata[tid + 32];
#pragma unroll
        for (int offset = 16; offset > 0; offset /= 2)
            mySum += __shfl_down_sync(FULL_MASK, mySum, offset);
    }
    if (tid == 0) partial[blockIdx.x] = mySum;
}
