// calibrate: pass
// source: Harris, "Optimizing Parallel Reduction in CUDA" (cuda-samples reduction), reduce3: first add during the load, sequential addressing; blockDim 256 fixed
// This rung's kernel: live threads t < s stay packed in the first warps; one barrier per level.

#define BLOCK 256

extern "C" __global__ void block_sum(const float* x, float* partial, int n)
{
    __shared__ float sdata[BLOCK];
    const unsigned int tid = threadIdx.x;
    const unsigned int i = blockIdx.x * (BLOCK * 2) + threadIdx.x;

    float mySum = (i < n) ? x[i] : 0.0f;
    if (i + BLOCK < n) mySum += x[i + BLOCK];
    sdata[tid] = mySum;
    __syncthreads();

    for (unsigned int s = BLOCK / 2; s > 0; s >>= 1) {
        if (tid < s) sdata[tid] = mySum = mySum + sdata[tid + s];
        __syncthreads();
    }
    if (tid == 0) partial[blockIdx.x] = mySum;
}
