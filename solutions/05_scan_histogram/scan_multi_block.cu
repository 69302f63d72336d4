// Inclusive scan of n ints across the whole grid: reduce, scan the tile sums, scan again.
//
// Launches (fixed by the harness), one after another on the same stream:
//   1. tile_sums      <<<ceil(n / 2048), 256>>>  tile_sum[b] = sum of tile b (2048 elements)
//   2. scan_tile_sums <<<1, 1024>>>              tile_sum = its own EXCLUSIVE scan, in place
//   3. scan_tiles     <<<ceil(n / 2048), 256>>>  out[i] = tile_sum[b] + scan of tile b up to i
//
// Blocks cannot wait for each other inside one launch (not all of them are resident, and
// nothing orders them), so the carry from one tile to the next goes through the launch
// boundary. Traffic: read n (1), read n and write n (3) = 3n ints, against 2n for a copy: the
// bound is 2/3 of copy bandwidth. A single-pass scan with decoupled look-back (CUB) reads
// once and gets close to a copy; see the last hint.

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
        if (i < n) v += in[i];
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
    // One block walks over the tile sums ITEMS * 1024 at a time, carrying the running total.
    // Each thread scans ITEMS consecutive sums serially, so a round needs one block-wide scan
    // (of the threads' totals): 4 rounds for the 32768 tiles of 2^26 ints, not 32.
    int carry = 0;
    for (int start = 0; start < tiles; start += ITEMS * blockDim.x) {
        int first = start + threadIdx.x * ITEMS;
        int v[ITEMS];
        int sum = 0;
        #pragma unroll
        for (int j = 0; j < ITEMS; j++) {
            v[j] = first + j < tiles ? tile_sum[first + j] : 0;
            sum += v[j];
        }
        int total;
        int inclusive = block_inclusive_scan(sum, &total);
        int running = carry + inclusive - sum;
        #pragma unroll
        for (int j = 0; j < ITEMS; j++) {
            if (first + j < tiles) tile_sum[first + j] = running;
            running += v[j];
        }
        carry += total;
    }
}

// Shared-memory index with one int of padding every 32: keeps both access patterns below
// (consecutive elements per thread, and consecutive threads per element) free of bank
// conflicts.
__device__ int padded(int i)
{
    return i + i / 32;
}

extern "C" __global__ void scan_tiles(const int* in, int* out, const int* tile_sum, int n)
{
    __shared__ int s[TILE + TILE / 32];
    int t = threadIdx.x;
    int base = blockIdx.x * TILE;

    // Coalesced loads (consecutive threads, consecutive ints), all eight issued before any
    // is used, staged through shared memory...
    #pragma unroll
    for (int j = 0; j < ITEMS; j++) {
        int i = j * BLOCK + t;
        s[padded(i)] = base + i < n ? in[base + i] : 0;
    }
    __syncthreads();

    // ...so that each thread can take 8 CONSECUTIVE elements and scan them serially: one
    // block-wide scan per tile (of the threads' totals) instead of one per row of 256.
    int v[ITEMS];
    int sum = 0;
    #pragma unroll
    for (int j = 0; j < ITEMS; j++) {
        v[j] = s[padded(t * ITEMS + j)];
        sum += v[j];
    }
    int total;
    int inclusive = block_inclusive_scan(sum, &total);
    // Everything before this thread's first element: earlier tiles, then earlier threads.
    int running = tile_sum[blockIdx.x] + inclusive - sum;
    #pragma unroll
    for (int j = 0; j < ITEMS; j++) {
        running += v[j];
        s[padded(t * ITEMS + j)] = running;
    }
    __syncthreads();

    // And back out the coalesced way.
    #pragma unroll
    for (int j = 0; j < ITEMS; j++) {
        int i = j * BLOCK + t;
        if (base + i < n) out[base + i] = s[padded(i)];
    }
}
