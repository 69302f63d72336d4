// expect: wrote to an input buffer
// expect-gpu: changed the input data
// A timing cheat against the baseline: after counting, the kernel rewrites its input so that
// every value falls in one bin, which would slow down a baseline timed on the same buffer.
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
    if (c > 0) atomicAdd(&bins[threadIdx.x], c);
    // Then every element is set to bin 0: a baseline that read this buffer would now queue
    // all its atomics on one bin and look slow.
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        ((unsigned int*)data)[i] = 0;
    }
}
