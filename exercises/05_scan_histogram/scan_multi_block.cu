// Exercise: inclusive scan of n ints (2^26 in the timed case) across the whole grid.
//
// One block can scan a tile; the hard part is the carry: every element needs the sum of ALL
// elements before it, including those of other blocks. Blocks cannot wait for each other
// inside one launch (nothing guarantees they run at the same time, or in order), so this
// version passes the carry through launch boundaries, in three launches the harness makes
// one after another (a tile is 2048 elements, n need not be a multiple of it):
//   1. tile_sums      <<<ceil(n / 2048), 256>>>  tile_sum[b] = the sum of tile b
//   2. scan_tile_sums <<<1, 1024>>>              replace tile_sum by its EXCLUSIVE scan
//                                                (tile_sum[b] = sum of tiles 0 .. b-1)
//   3. scan_tiles     <<<ceil(n / 2048), 256>>>  out[i] = tile_sum[b] + in[b*2048] + ... + in[i]
// Checked exactly; int overflow wraps around as on the GPU.
//
// block_inclusive_scan below is given: you wrote its like in the last two exercises.
//
// What it runs into: memory. Launch 1 reads n ints, launch 3 reads n and writes n: 3n ints
// moved where a copy moves 2n, so 2/3 of the copy bandwidth is this design's ceiling. The
// harness prints the bar: every thread should have several loads in flight (load all of a
// thread's elements before you start adding or scanning them).

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
    __syncthreads();
    return v;
}

extern "C" __global__ void tile_sums(const int* in, int* tile_sum, int n)
{
    // TODO: sum the (up to) 2048 elements of tile blockIdx.x: 8 per thread, consecutive
    // threads reading consecutive ints; write the total to tile_sum[blockIdx.x].
}

extern "C" __global__ void scan_tile_sums(int* tile_sum, int tiles)
{
    // TODO: one block of 1024 threads, `tiles` values (32768 of them at n = 2^26): walk over
    // them 1024 at a time with block_inclusive_scan, carrying the running total, and store
    // the exclusive scan in place.
}

extern "C" __global__ void scan_tiles(const int* in, int* out, const int* tile_sum, int n)
{
    // TODO: scan tile blockIdx.x, starting from tile_sum[blockIdx.x]: e.g. as 8 rows of 256,
    // each row scanned with block_inclusive_scan and offset by the rows before it.
}
