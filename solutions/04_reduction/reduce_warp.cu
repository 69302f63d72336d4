// One partial sum per block: registers and warp shuffles instead of a shared-memory tree.
//
// Launch (fixed by the harness): blockDim = 256, gridDim = ceil(n / 512); block b sums
// x[512*b .. 512*b + 511] (the part of it below n) into partial[b].
//
// The 32 lanes of a warp execute together, so inside a warp no barrier is needed: a shuffle
// reads another lane's register directly. The tree's last five steps (and their five
// __syncthreads) become five shuffles; shared memory only carries one value per warp.

#define BLOCK 256
#define WARPS (BLOCK / 32)
#define FULL_MASK 0xffffffffu

__device__ float warp_sum(float v)
{
    // After the step with offset o, lane l holds the sum of lanes l .. l + 2o - 1; lane 0 ends
    // with all 32. The mask says every lane of the warp takes part.
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

    float v = 0.0f;
    if (i < n) v += x[i];
    if (i + BLOCK < n) v += x[i + BLOCK];

    v = warp_sum(v);
    if (lane == 0) warp_totals[warp] = v;
    __syncthreads();

    // The first warp adds the 8 warp totals; its other lanes contribute zeros.
    if (warp == 0) {
        v = lane < WARPS ? warp_totals[lane] : 0.0f;
        v = warp_sum(v);
        if (lane == 0) partial[blockIdx.x] = v;
    }
}
