// Exercise: a 256-bin histogram, counted per block in shared memory.
//
// Launch (fixed by the harness): blockDim = 256, a fixed gridDim that does not depend on n
// (1024 on a GPU, 16 on the CPU backend); bins[0..255] are 0 before the launch; every
// data[i] is in 0..255.
// Afterwards bins[v] must hold exactly how many i < n have data[i] == v. The harness tries
// uniform data and heavily skewed data (most elements in one bin).
//
// The simplest correct kernel does atomicAdd(&bins[data[i]], 1) for every element. Those
// atomics are resolved in L2, far from the SM, and on skewed data thousands of threads queue
// on the same counter. Privatize instead:
//   1. give the block its own 256 counters in shared memory, all starting at 0;
//   2. grid-stride over the data, counting with atomicAdd on the SHARED counters;
//   3. add the block's counters into bins: 256 global atomics per block, whatever n is.
// Barriers go between the steps: no counting before every counter is cleared, no flushing
// before every count is in.
//
// What it runs into: the atomics themselves, more than memory. The harness times the
// global-atomic version on the same skewed data and prints your multiple of its speed next to
// the bar.

#define BINS 256

extern "C" __global__ void histogram(const unsigned int* data, unsigned int* bins, int n)
{
    __shared__ unsigned int local[BINS];

    // TODO: steps 1 to 3.
}
