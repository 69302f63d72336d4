// calibrate: too slow
// source: Harris, "Optimizing Parallel Reduction in CUDA" (cuda-samples reduction), reduce0: interleaved addressing with tid % (2s), given reduce3's two-element load to fit this launch
// The first step of Harris' ladder: the active threads are spread over every warp.

#define BLOCK 256

extern "C" __global__ void block_sum(const float* x, float* partial, int n)
{
    __shared__ float sdata[BLOCK];
    const unsigned int tid = threadIdx.x;
    const unsigned int i = blockIdx.x * (BLOCK * 2) + threadIdx.x;

    float v = (i < n) ? x[i] : 0.0f;
    if (i + BLOCK < n) v += x[i + BLOCK];
    sdata[tid] = v;
    __syncthreads();

    for (unsigned int s = 1; s < BLOCK; s *= 2) {
        if ((tid % (2 * s)) == 0) sdata[tid] += sdata[tid + s];
        __syncthreads();
    }
    if (tid == 0) partial[blockIdx.x] = sdata[0];
}
