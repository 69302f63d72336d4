// transpose3_padded: the tiled transpose, without shared-memory bank conflicts.
//
// Same task and same launch as before: `in` is rows x cols, `out` is cols x rows,
// block = (32, 8), grid = (ceil(cols / 32), ceil(rows / 32)).
//
// The limit you hit in step 2: shared memory is split into 32 banks, 4 bytes wide; word i of
// the tile is in bank i % 32, and a warp's accesses to different words of one bank are served
// one after another. Writing the transposed tile reads tile[threadIdx.x][...]: 32 lanes, 32
// words of one column, 32 words apart: all in the same bank. That read is replayed 32 times.
// Change the tile's layout so that the words of a column fall into 32 different banks.
//
// Aim: close to copy bandwidth; the harness prints this step's bar, which a tile with bank
// conflicts stays under. On the CPU backend the harness counts bank conflicts: this step must
// have none.

#define TILE 32
#define BLOCK_ROWS 8

extern "C" __global__ void transpose(const float* in, float* out, int rows, int cols) {
    // TODO 1: this layout puts every column of the tile into a single bank. Fix the layout.
    __shared__ float tile[TILE][TILE];

    int x = blockIdx.x * TILE + threadIdx.x;
    int y = blockIdx.y * TILE + threadIdx.y;
    for (int j = 0; j < TILE; j += BLOCK_ROWS) {
        if (x < cols && y + j < rows) tile[threadIdx.y + j][threadIdx.x] = in[(y + j) * cols + x];
    }

    __syncthreads();

    // TODO 2: write the transposed tile to `out` (as in step 2), reading the tile down its columns.
}
