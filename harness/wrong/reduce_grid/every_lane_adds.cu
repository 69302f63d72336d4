// expect: the sum is wrong
// Every lane of warp 0 adds its value to *sum, not only lane 0: the partial sums are counted many times.
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
    float v = 0.0f;
    for (int i = tid; i < n; i += gridDim.x * BLOCK) v += x[i];
    v = warp_sum(v);
    if (lane == 0) warp_totals[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = warp_sum(lane < WARPS ? warp_totals[lane] : 0.0f);
        atomicAdd(sum, v);
    }
}
