// Exercise: the same block sum as reduce_tree, with warp shuffles.
//
// Launch (fixed by the harness): blockDim = 256, gridDim = ceil(n / 512). Block b sums
// x[512*b .. 512*b + 511] (only those below n) into partial[b], as before.
//
// The 32 threads (lanes) of a warp run in lockstep, and __shfl_down_sync(mask, v, offset)
// returns the value of v held by the lane `offset` places above the caller. Inside a warp
// that needs neither shared memory nor __syncthreads.
//
// Plan:
//   1. each thread loads and adds its two elements, as in reduce_tree;
//   2. warp_sum: each warp adds up its 32 values with shuffles, lane 0 ends with the total;
//   3. lane 0 of each warp puts its warp's total in warp_totals[warp];
//   4. after a barrier, the first warp adds the 8 warp totals (with warp_sum again).
//
// What it runs into: the same global-memory reads as reduce_tree, with fewer barriers and
// fewer shared-memory round trips. The difference shows most when each block has little to
// read; the next exercise gives each thread much more.

#define BLOCK 256
#define WARPS (BLOCK / 32)
#define FULL_MASK 0xffffffffu

__device__ float warp_sum(float v)
{
    // TODO: five shuffle steps (offsets 16, 8, 4, 2, 1), each adding in the value from
    // the lane `offset` above.
    return v;
}

extern "C" __global__ void block_sum(const float* x, float* partial, int n)
{
    __shared__ float warp_totals[WARPS];
    int t = threadIdx.x;
    int lane = t % 32;
    int warp = t / 32;
    int i = blockIdx.x * (2 * BLOCK) + t;

    float v = 0.0f;
    if (i < n) v += x[i];
    if (i + BLOCK < n) v += x[i + BLOCK];

    v = warp_sum(v);

    // TODO: steps 3 and 4 — collect one total per warp in warp_totals, wait for all warps,
    // then let the first warp add them up and write partial[blockIdx.x].
}
