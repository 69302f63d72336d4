// expect: have exited
// expect-gpu: not on a GPU — shuffling with exited lanes is undefined: a GPU may return zeros and pass
// Returns early past the end, then shuffles with the full mask: the mask names lanes that left.
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

extern "C" __global__ void block_sum(const float* x, float* partial, int n)
{
    __shared__ float warp_totals[WARPS];
    int t = threadIdx.x;
    int lane = t % 32;
    int warp = t / 32;
    int i = blockIdx.x * (2 * BLOCK) + t;

    // Threads past the end leave at once: their lanes are gone when the warp shuffles.
    if (i >= n) return;
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
