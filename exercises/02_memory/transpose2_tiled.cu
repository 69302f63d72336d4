// transpose2_tiled: the same transpose, with both the loads and the stores coalesced.
//
// Same task and same launch as transpose1_naive:
//   `in` is rows x cols (row-major), `out` is cols x rows, out(c, r) = in(r, c);
//   block = (32, 8), grid = (ceil(cols / 32), ceil(rows / 32)); each thread handles 4 rows.
//
// The limit you hit in step 1: the store. Lanes 0..31 of a warp wrote one *column* of `out`,
// 32 addresses `rows` floats apart: 32 separate 32-byte sectors for 128 useful bytes.
// The fix: read a 32x32 tile of `in` row by row (coalesced) into shared memory, then write the
// transposed tile row by row (coalesced): the tile is turned around on chip, where a strided
// access is cheap. The output tile for block (bx, by) starts at row bx*32, column by*32 of out.
// Careful with the edges: the output tile's bounds are the input tile's bounds, swapped.
//
// Aim: the bar the harness prints, a fraction of copy bandwidth that only a kernel with both
// sides coalesced reaches (it is above what PyTorch's `m.t().contiguous()` gets). On the CPU
// backend the harness counts
// the 32-byte sectors your loads and stores touch: they must be close to the minimum.

#define TILE 32
#define BLOCK_ROWS 8

extern "C" __global__ void transpose(const float* in, float* out, int rows, int cols) {
    __shared__ float tile[TILE][TILE];

    // TODO 1: load this block's tile of `in` into `tile`, each warp reading along a row.

    // TODO 2: make sure the whole tile is loaded before anyone reads it.

    // TODO 3: write the tile to `out`, each warp writing along a row of `out`.
}
