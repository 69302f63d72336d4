// calibrate: pass
// source: Harris, "Optimizing Parallel Reduction in CUDA" / cuda-samples reduction, reduce4: the tree in shared memory down to 64 values, then the last warp with shuffles (cuda-samples' tile32.shfl_down in place of the old volatile warp-synchronous code)
// This rung's kernel: the last five levels need no barrier and no shared memory.

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

    for (unsigned int s = BLOCK / 2; s > 32; s >>= 1) {
        if (tid < s) sdata[tid] = mySum = mySum + sdata[tid + s];
        __syncthreads();
    }
    if (tid < 32) {
        mySum += sdata[tid + 32];
        for (int offset = 16; offset > 0; offset /= 2)
            mySum += __shfl_down_sync(FULL_MASK, mySum, offset);
    }
    if (tid == 0) partial[blockIdx.x] = mySum;
}
