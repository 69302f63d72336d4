// expect: one past the end of in
// expect-gpu: wrote past the end of out
// Known-wrong: no bounds check, so the threads of the last tiles read and write past the matrix.
// Transpose, step 1: one element per load and per store, straight from global memory.
//
// Reads are coalesced (a warp reads 32 neighbours of one input row), but writes are not:
// the 32 lanes of a warp write one column of `out`, 32 addresses `rows` floats apart,
// so every store touches its own 32-byte sector and DRAM moves 8x the bytes it needs.

#define TILE 32       // a block covers a TILE x TILE square of the input
#define BLOCK_ROWS 8  // ... with TILE x BLOCK_ROWS threads, so each thread handles 4 rows

extern "C" __global__ void transpose(const float* in, float* out, int rows, int cols) {
    const int col = blockIdx.x * TILE + threadIdx.x;
    const int row0 = blockIdx.y * TILE + threadIdx.y;
    for (int j = 0; j < TILE; j += BLOCK_ROWS) {
        const int row = row0 + j;
        // The last tile of a non-multiple shape hangs over the edge: skip what is not there.
        out[col * rows + row] = in[row * cols + col];
    }
}
