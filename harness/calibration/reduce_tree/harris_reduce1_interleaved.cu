// calibrate: too slow
// source: Harris, "Optimizing Parallel Reduction in CUDA" (cuda-samples reduction), reduce1: interleaved addressing with a strided index, given reduce3's two-element load to fit this launch
// The step before sequential addressing: index = 2 * s * tid keeps warps busy longer and makes
// shared-memory bank conflicts as s grows.

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
        const unsigned int index = 2 * s * tid;
        if (index < BLOCK) sdata[index] += sdata[index + s];
        __syncthreads();
    }
    if (tid == 0) partial[blockIdx.x] = sdata[0];
}
