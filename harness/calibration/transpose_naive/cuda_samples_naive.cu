// calibrate: pass
// source: NVIDIA cuda-samples, transpose (Ruetsch & Micikevicius, "Optimizing Matrix Transpose in CUDA"), transposeNaive; made rectangular with bounds checks
// This rung's kernel: a warp reads a row of `in` (coalesced) and writes a column of `out`
// (32 sectors per warp store). The bar must sit under what it reaches.

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
