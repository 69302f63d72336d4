// expect: bank conflicts
// expect-gpu: too slow
// Known-wrong: pads the number of rows ([33][32]), which leaves every column in one bank.
// Transpose, step 3: the shared-memory tile of step 2, free of bank conflicts.
//
// Shared memory has 32 banks, 4 bytes wide: word i lives in bank i % 32. In a [32][32] tile
// a column is 32 words 32 apart, all in one bank, so step 2's column read is serialized
// 32 times. One extra word per row ([32][33]) shifts each row by one bank: a column's 32
// words now sit in 32 different banks and the read takes one pass.

#define TILE 32
#define BLOCK_ROWS 8

extern "C" __global__ void transpose(const float* in, float* out, int rows, int cols) {
    __shared__ float tile[TILE + 1][TILE];  // +1: the padding column, never read or written

    int x = blockIdx.x * TILE + threadIdx.x;
    int y = blockIdx.y * TILE + threadIdx.y;
    for (int j = 0; j < TILE; j += BLOCK_ROWS) {
        if (x < cols && y + j < rows) tile[threadIdx.y + j][threadIdx.x] = in[(y + j) * cols + x];
    }

    __syncthreads();

    x = blockIdx.y * TILE + threadIdx.x;
    y = blockIdx.x * TILE + threadIdx.y;
    for (int j = 0; j < TILE; j += BLOCK_ROWS) {
        if (x < rows && y + j < cols) out[(y + j) * rows + x] = tile[threadIdx.x][threadIdx.y + j];
    }
}
