// The whole sum in one launch: a grid-stride loop in registers, a warp-shuffle tree per block,
// one atomicAdd per block.
//
// Launch (fixed by the harness): blockDim = 256, gridDim = 1024 whatever n is (64 on
// kernlings' CPU backend, which interprets every thread); *sum is 0.0f before the launch.
// At n = 2^26 on a GPU each thread reads 256 floats.
//
// A reduction reads every byte once and computes almost nothing, so its limit is the
// device's read bandwidth. To get near it, each SM needs many loads in flight: 16-byte float4
// loads move four elements per instruction, and the loop carries no dependency between loads
// (only between the additions), so the hardware can overlap them.

#define BLOCK 256
#define WARPS (BLOCK / 32)
#define FULL_MASK 0xffffffffu

__device__ float warp_sum(float v)
{
    for (int offset = 16; offset > 0; offset /= 2) {
        v += __shfl_down_sync(FULL_MASK, v, offset);
    }
    return v;
}

extern "C" __global__ void reduce_sum(const float* x, float* sum, int n)
{
    __shared__ float warp_totals[WARPS];
    int t = threadIdx.x;
    int lane = t % 32;
    int warp = t / 32;
    int tid = blockIdx.x * BLOCK + t;
    int threads = gridDim.x * BLOCK;

    // cudaMalloc'd buffers are 256-byte aligned, so x viewed as float4 is aligned too.
    // Consecutive threads read consecutive float4s: every warp reads 512 contiguous bytes.
    const float4* x4 = reinterpret_cast<const float4*>(x);
    int n4 = n / 4;
    float v = 0.0f;
    for (int i = tid; i < n4; i += threads) {
        float4 q = x4[i];
        v += (q.x + q.y) + (q.z + q.w);
    }
    // The 0-3 elements after the last whole float4.
    for (int i = 4 * n4 + tid; i < n; i += threads) {
        v += x[i];
    }

    v = warp_sum(v);
    if (lane == 0) warp_totals[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < WARPS ? warp_totals[lane] : 0.0f;
        v = warp_sum(v);
        // 1024 atomics for the whole grid: too few to matter, unlike one per element.
        if (lane == 0) atomicAdd(sum, v);
    }
}
