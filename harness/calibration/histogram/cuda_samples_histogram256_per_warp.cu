// calibrate: pass
// source: NVIDIA cuda-samples, histogram (Podlozhnyuk, "Histogram calculation in CUDA"), histogram256Kernel: one 256-bin sub-histogram per warp in shared memory, shared atomics, then a merge into the global bins; 8 warps of this launch, one global atomic per bin per block
// This rung's kernel: privatization per warp, one step further than per block.

#define BINS 256
#define WARPS 8

extern "C" __global__ void histogram(const unsigned int* data, unsigned int* bins, int n)
{
    __shared__ unsigned int s_hist[WARPS * BINS];
    for (int i = threadIdx.x; i < WARPS * BINS; i += blockDim.x) s_hist[i] = 0;
    __syncthreads();

    unsigned int* warp_hist = s_hist + (threadIdx.x / 32) * BINS;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
        atomicAdd(&warp_hist[data[i]], 1u);
    __syncthreads();

    for (int bin = threadIdx.x; bin < BINS; bin += blockDim.x) {
        unsigned int sum = 0;
        for (int w = 0; w < WARPS; ++w) sum += s_hist[w * BINS + bin];
        if (sum > 0) atomicAdd(&bins[bin], sum);
    }
}
