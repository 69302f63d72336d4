// calibrate: too slow
// source: NVIDIA cuda-samples, transpose, transposeNaive (the previous rung), graded against the tiled rung
// expect-cpu: not coalesced
// The previous rung: a warp reads a row of `in` (coalesced) and writes a column of `out`
// (32 sectors per warp store). It must stay under this rung's bar.

#define TILE 32
#define BLOCK_ROWS 8

extern "C" __global__ void transpose(const float* in, float* out, int rows, int cols) {
    const int col = blockIdx.x * TILE + threadIdx.x;
    const int row0 = blockIdx.y * TILE + threadIdx.y;
    if (col >= cols) return;
    for (int j = 0; j < TILE; j += BLOCK_ROWS) {
        const int r = row0 + j;
        if (r < rows) out[col * rows + r] = in[r * cols + col];
    }
}
