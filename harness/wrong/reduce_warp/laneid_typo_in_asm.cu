// expect: %lane_id` (line 20)
// expect-gpu: could not load your compiled kernel
// Known-wrong: reads the lane number with inline PTX, misspelling the special register
// `%laneid` as `%lane_id`. NVRTC copies inline asm into the PTX unchecked, so the mistake
// surfaces when the driver loads the module: the message must give the reason and the line.

#define BLOCK 256
#define WARPS (BLOCK / 32)
#define FULL_MASK 0xffffffffu

__device__ float warp_sum(float v)
{
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(FULL_MASK, v, offset);
    return v;
}

__device__ int lane_id()
{
    int lane;
    asm volatile("mov.u32 %0, %%lane_id;" : "=r"(lane));
    return lane;
}

extern "C" __global__ void block_sum(const float* x, float* partial, int n)
{
    __shared__ float warp_totals[WARPS];
    int t = threadIdx.x;
    int lane = lane_id();
    int warp = t / 32;
    int i = blockIdx.x * (2 * BLOCK) + t;

    float v = 0.0f;
    if (i < n) v += x[i];
    if (i + BLOCK < n) v += x[i + BLOCK];

    v = warp_sum(v);
    if (lane == 0) warp_totals[warp] = v;
    __syncthreads();

    if (warp == 0) {
        v = lane < WARPS ? warp_totals[lane] : 0.0f;
        v = warp_sum(v);
        if (lane == 0) partial[blockIdx.x] = v;
    }
}
