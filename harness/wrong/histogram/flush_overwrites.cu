// expect: data race on global memory
// expect-gpu: elements of bins are wrong
// The flush stores the block's count instead of adding it: only one block's counts survive per bin.
#define BINS 256

extern "C" __global__ void histogram(const unsigned int* data, unsigned int* bins, int n)
{
    __shared__ unsigned int local[BINS];
    // blockDim.x == BINS, so each thread clears and later flushes exactly one bin.
    local[threadIdx.x] = 0;
    __syncthreads();

    // Grid-stride: consecutive threads read consecutive elements, whatever the grid size.
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        atomicAdd(&local[data[i]], 1u);
    }
    // Every thread's counts must be in before any bin is flushed.
    __syncthreads();

    unsigned int c = local[threadIdx.x];
    // Skipping empty bins saves most of the flush on a skewed input.
    if (c > 0) bins[threadIdx.x] = c;
}
