// expect: every element of partial is wrong
// __shfl_up_sync moves values the other way: the warp's total ends in lane 31, not lane 0.
#define BLOCK 256
#define WARPS (BLOCK / 32)
__device__ float warp_sum(float v)
{
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_up_sync(0xffffffffu, v, offset);
    return v;
}
extern "C" __global__ void block_sum(const float* x, float* partial, int n)
{
    __shared__ float warp_totals[WARPS];
    int t = threadIdx.x, lane = t % 32, warp = t / 32;
    int i = blockIdx.x * (2 * BLOCK) + t;
    float v = 0.0f;
    if (i < n) v += x[i];
    if (i + BLOCK < n) v += x[i + BLOCK];
    v = warp_sum(v);
    if (lane == 0) warp_totals[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = warp_sum(lane < WARPS ? warp_totals[lane] : 0.0f);
        if (lane == 0) partial[blockIdx.x] = v;
    }
}
