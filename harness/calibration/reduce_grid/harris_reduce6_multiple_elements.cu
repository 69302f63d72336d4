// calibrate: pass
// source: Harris, "Optimizing Parallel Reduction in CUDA" / cuda-samples reduction, reduce6: each thread adds many elements in a grid-stride loop (two per pass, gridSize = 2 * BLOCK * gridDim.x), then reduce5's block sum; the block total goes to *sum with one atomicAdd instead of a second launch
// This rung's kernel: a fixed grid reads the whole array; scalar loads, as Harris wrote it.

#define BLOCK 256
#define FULL_MASK 0xffffffffu

extern "C" __global__ void reduce_sum(const float* x, float* sum, int n)
{
    __shared__ float sdata[BLOCK];
    const unsigned int tid = threadIdx.x;
    const unsigned int gridSize = BLOCK * 2 * gridDim.x;
    unsigned int i = blockIdx.x * BLOCK * 2 + threadIdx.x;

    float mySum = 0.0f;
    while (i < n) {
        mySum += x[i];
        if (i + BLOCK < n) mySum += x[i + BLOCK];
        i += gridSize;
    }
    sdata[tid] = mySum;
    __syncthreads();

    if (tid < 128) sdata[tid] = mySum = mySum + sdata[tid + 128];
    __syncthreads();
    if (tid < 64) sdata[tid] = mySum = mySum + sdata[tid + 64];
    __syncthreads();
    if (tid < 32) {
        mySum += sdata[tid + 32];
#pragma unroll
        for (int offset = 16; offset > 0; offset /= 2)
            mySum += __shfl_down_sync(FULL_MASK, mySum, offset);
    }
    if (tid == 0) atomicAdd(sum, mySum);
}
