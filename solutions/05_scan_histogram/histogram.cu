// 256-bin histogram with a private copy of the bins in each block's shared memory.
//
// Launch (fixed by the harness): blockDim = 256, a fixed gridDim that does not depend on n
// (1024 on a GPU, 16 on the CPU backend); bins[0..255] are 0 before the launch; every
// data[i] is in 0..255.
//
// Atomics on global memory are resolved in L2, far from the SM; when many threads hit the
// same bin (a skewed input) they queue there one after another. Counting into shared memory
// first keeps that contention inside each SM, and the block then adds 256 totals to global
// memory, whatever n is.

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
    if (c > 0) atomicAdd(&bins[threadIdx.x], c);
}
