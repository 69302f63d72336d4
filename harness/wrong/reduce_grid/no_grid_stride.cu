// expect: the sum is wrong
// One element per thread: with a fixed grid, everything past the first gridDim*256 elements is dropped.
#define BLOCK 256
#define WARPS (BLOCK / 32)
__device__ float warp_sum(float v)
{
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
    return v;
}
extern "C" __global__ void reduce_sum(const float* x, float* sum, int n)
{
    __shared__ float warp_totals[WARPS];
    int t = threadIdx.x, lane = t % 32, warp = t / 32;
    int tid = blockIdx.x * BLOCK + t;
    float v = tid < n ? x[tid] : 0.0f;
    v = warp_sum(v);
    if (lane == 0) warp_totals[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = warp_sum(lane < WARPS ? warp_totals[lane] : 0.0f);
        if (lane == 0) atomicAdd(sum, v);
    }
}
