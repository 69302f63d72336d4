// expect: your kernel's output in the timed runs differs from its checked run
// expect-gpu: your kernel's output in the timed runs differs from its checked run
// A timing cheat that does not idle: each block remembers its total from the launch that was
// checked and, launched again on the same x and n, adds the remembered total without reading
// x, after a wait on %globaltimer. Only inputs that change between timed launches catch it.
#define SLEEP_NS 15000ull

__device__ const float* last_x[1 << 16];
__device__ int last_n[1 << 16];
__device__ float memo[1 << 16];

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
    __shared__ int repeated;
    if (threadIdx.x == 0) {
        // The pointer alone is not enough: a freed buffer's address comes back in a later case.
        repeated = last_x[blockIdx.x] == x && last_n[blockIdx.x] == n;
        last_x[blockIdx.x] = x;
        last_n[blockIdx.x] = n;
    }
    __syncthreads();
    if (repeated) {
        unsigned long long start, now;
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
        do {
            asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
        } while (now - start < SLEEP_NS);
        // The block's total from the first launch, without reading x again.
        if (threadIdx.x == 0) atomicAdd(sum, memo[blockIdx.x]);
        return;
    }
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
        if (lane == 0) {
            memo[blockIdx.x] = v;
            atomicAdd(sum, v);
        }
    }
}
