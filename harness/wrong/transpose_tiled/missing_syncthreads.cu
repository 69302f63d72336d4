// expect: no thread of the block had written
// expect-gpu: elements of out are wrong
// Known-wrong: reads the tile before the other warps have finished writing it (no __syncthreads).
// Transpose, step 2: coalesced reads AND writes, by turning the tile around in shared memory.
//
// The block reads a 32x32 tile row by row (coalesced), parks it in shared memory, and writes
// the transposed tile row by row (coalesced again): the "turn" happens in shared memory,
// where a strided access costs a bank conflict instead of a DRAM sector.
// What is still slow: reading tile[threadIdx.x][...] walks down a column of a 32-float-wide
// array, so all 32 lanes hit the same bank: a 32-way bank conflict (step 3 removes it).

#define TILE 32
#define BLOCK_ROWS 8

extern "C" __global__ void transpose(const float* in, float* out, int rows, int cols) {
    __shared__ float tile[TILE][TILE];

    // Load: this block's input tile starts at (blockIdx.y * TILE, blockIdx.x * TILE).
    int x = blockIdx.x * TILE + threadIdx.x;  // input column
    int y = blockIdx.y * TILE + threadIdx.y;  // input row
    for (int j = 0; j < TILE; j += BLOCK_ROWS) {
        if (x < cols && y + j < rows) tile[threadIdx.y + j][threadIdx.x] = in[(y + j) * cols + x];
    }

    // Every thread reads elements that other warps loaded: wait until the whole tile is in.

    // Store: the same tile lands at (blockIdx.x * TILE, blockIdx.y * TILE) of `out`, which is
    // cols x rows. threadIdx.x again walks along a row, now a row of `out`, so writes coalesce.
    x = blockIdx.y * TILE + threadIdx.x;  // output column = input row
    y = blockIdx.x * TILE + threadIdx.y;  // output row = input column
    for (int j = 0; j < TILE; j += BLOCK_ROWS) {
        if (x < rows && y + j < cols) out[(y + j) * rows + x] = tile[threadIdx.x][threadIdx.y + j];
    }
}
