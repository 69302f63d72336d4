// transpose1_naive: write the transpose of a matrix.
//
// `in` is rows x cols, row-major: element (r, c) is in[r * cols + c].
// `out` is cols x rows: element (c, r) of out must equal element (r, c) of in.
// The shape is not square and not a multiple of 32: the checks use sizes like 1x1, 33x31, 1000x37.
//
// Launch (fixed by the harness):
//   block = (32, 8)                                   TILE x BLOCK_ROWS threads
//   grid  = (ceil(cols / 32), ceil(rows / 32))
// Each block covers one 32x32 tile of `in` whose top-left corner is
// (row blockIdx.y * 32, column blockIdx.x * 32). A block has only 8 rows of threads,
// so each thread handles the 4 rows threadIdx.y, threadIdx.y + 8, +16, +24 of its tile.
// The last tiles hang over the matrix edge: threads there must do nothing.
//
// The limit: this is a pure memory-movement kernel (no arithmetic), so the best it can do is
// the device's copy bandwidth: read every byte once, write every byte once. Think about which
// of your two accesses, the load or the store, is coalesced (a warp's 32 lanes touching 32
// neighbouring floats) and which is not.
// Aim: correct first. On a GPU the harness also times you against a device-to-device copy of
// the same bytes and prints your fraction of it next to this step's bar, which is low.

#define TILE 32
#define BLOCK_ROWS 8

extern "C" __global__ void transpose(const float* in, float* out, int rows, int cols) {
    // TODO: compute this thread's input column, then loop over its 4 rows of the tile
    // and copy in(row, col) to out(col, row), skipping elements outside the matrix.
}
