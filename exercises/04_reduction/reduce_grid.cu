// Exercise: the whole sum in ONE launch, at the speed of the memory.
//
// Launch (fixed by the harness): blockDim = 256, gridDim = 1024 whatever n is (64 on
// kernlings' CPU backend, which interprets every thread); *sum is 0.0f before the launch.
// The timed case has n = 2^26 floats (256 MiB), so each thread has about 256 elements to
// add, and n is not always a multiple of anything.
//
// Put together what the last three exercises taught:
//   1. a grid-stride loop: each thread adds x[tid], x[tid + T], x[tid + 2T], ... in a
//      register (T = the number of threads in the grid);
//   2. a warp-shuffle sum, then one value per warp through shared memory, as in reduce_warp;
//   3. one atomicAdd(sum, ...) per block: 1024 atomics in all instead of one per element.
//
// What it runs into: a reduction reads every byte once and does one addition per 4 bytes,
// so the device's read bandwidth is the only limit. Aim close to it (the harness measures the
// copy bandwidth in the same run and prints your fraction and the bar). A plain scalar loop
// gets close; loading float4 (16 bytes per instruction) keeps more bytes in flight.

#define BLOCK 256
#define WARPS (BLOCK / 32)
#define FULL_MASK 0xffffffffu

extern "C" __global__ void reduce_sum(const float* x, float* sum, int n)
{
    __shared__ float warp_totals[WARPS];
    int t = threadIdx.x;
    int lane = t % 32;
    int warp = t / 32;
    int tid = blockIdx.x * BLOCK + t;
    int threads = gridDim.x * BLOCK;

    float v = 0.0f;
    // TODO: step 1 — the grid-stride loop over all n elements.

    // TODO: steps 2 and 3 — reduce v across the block and add the block's total to *sum.
}
