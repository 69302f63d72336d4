// expect: data race on shared memory
// expect-gpu: elements of bins are wrong
// No barrier after counting: a thread flushes its bin while other warps are still counting into it.
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

    unsigned int c = local[threadIdx.x];
    // Skipping empty bins saves most of the flush on a skewed input.
    if (c > 0) atomicAdd(&bins[threadIdx.x], c);
}
