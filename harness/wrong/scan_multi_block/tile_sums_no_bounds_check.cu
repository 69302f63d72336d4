// expect: past the end of in
// expect-gpu: every element of tile_sum is wrong
// tile_sums reads all 2048 elements of the last tile, even those past the end of in.
#define BLOCK 256
#define ITEMS 8
#define TILE (BLOCK * ITEMS)
#define FULL_MASK 0xffffffffu

__device__ int warp_inclusive_scan(int v, int lane)
{
    for (int d = 1; d < 32; d *= 2) {
        int u = __shfl_up_sync(FULL_MASK, v, d);
        if (lane >= d) v += u;
    }
    return v;
}

// Inclusive scan across the block (blockDim.x a multiple of 32, at most 1024). Returns this
// thread's prefix and sets *total to the sum over the block. Every thread must call it.
__device__ int block_inclusive_scan(int v, int* total)
{
    __shared__ int warp_totals[32];
    int lane = threadIdx.x % 32;
    int warp = threadIdx.x / 32;
    int warps = blockDim.x / 32;

    v = warp_inclusive_scan(v, lane);
    if (lane == 31) warp_totals[warp] = v;
    __syncthreads();
    if (warp == 0) {
        int w = lane < warps ? warp_totals[lane] : 0;
        w = warp_inclusive_scan(w, lane);
        if (lane < warps) warp_totals[lane] = w;
    }
    __syncthreads();
    if (warp > 0) v += warp_totals[warp - 1];
    *total = warp_totals[warps - 1];
    // The next call reuses warp_totals: nobody may overwrite it before everyone has read it.
    __syncthreads();
    return v;
}

__device__ int warp_sum(int v)
{
    for (int offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(FULL_MASK, v, offset);
    return v;
}

extern "C" __global__ void tile_sums(const int* in, int* tile_sum, int n)
{
    __shared__ int warp_totals[BLOCK / 32];
    int t = threadIdx.x;
    int base = blockIdx.x * TILE;

    // Eight independent coalesced loads per thread keep many bytes in flight.
    int v = 0;
    #pragma unroll
    for (int j = 0; j < ITEMS; j++) {
        int i = base + j * BLOCK + t;
        v += in[i];
    }
    v = warp_sum(v);
    if (t % 32 == 0) warp_totals[t / 32] = v;
    __syncthreads();
    if (t < 32) {
        v = warp_sum(t < BLOCK / 32 ? warp_totals[t] : 0);
        if (t == 0) tile_sum[blockIdx.x] = v;
    }
}

extern "C" __global__ void scan_tile_sums(int* tile_sum, int tiles)
{
    // One block walks over the tile sums 1024 at a time, carrying the running total.
    int carry = 0;
    for (int start = 0; start < tiles; start += blockDim.x) {
        int i = start + threadIdx.x;
        int v = i < tiles ? tile_sum[i] : 0;
        int total;
        int inclusive = block_inclusive_scan(v, &total);
        if (i < tiles) tile_sum[i] = carry + inclusive - v;
        carry += total;
    }
}

extern "C" __global__ void scan_tiles(const int* in, int* out, const int* tile_sum, int n)
{
    int t = threadIdx.x;
    int base = blockIdx.x * TILE;

    // Issue all eight loads before the first scan needs one.
    int v[ITEMS];
    #pragma unroll
    for (int j = 0; j < ITEMS; j++) {
        int i = base + j * BLOCK + t;
        v[j] = i < n ? in[i] : 0;
    }

    // The tile is eight rows of 256: scan each row across the block, offset by everything
    // before it (earlier tiles, then earlier rows of this tile).
    int carry = tile_sum[blockIdx.x];
    #pragma unroll
    for (int j = 0; j < ITEMS; j++) {
        int total;
        int inclusive = block_inclusive_scan(v[j], &total);
        int i = base + j * BLOCK + t;
        if (i < n) out[i] = carry + inclusive;
        carry += total;
    }
}
