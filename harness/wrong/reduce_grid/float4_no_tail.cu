// expect: *sum is still 0, as the harness set it: nothing was added
// The float4 loop covers 4 * (n / 4) elements: when n is not a multiple of 4 the last 1-3 are dropped.
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
    const float4* x4 = reinterpret_cast<const float4*>(x);
    float v = 0.0f;
    for (int i = tid; i < n / 4; i += gridDim.x * BLOCK) {
        float4 q = x4[i];
        v += (q.x + q.y) + (q.z + q.w);
    }
    v = warp_sum(v);
    if (lane == 0) warp_totals[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = warp_sum(lane < WARPS ? warp_totals[lane] : 0.0f);
        if (lane == 0) atomicAdd(sum, v);
    }
}
