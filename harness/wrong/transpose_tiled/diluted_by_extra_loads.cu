// expect: the store at line 23 touches
// expect-gpu: too slow
// Known-wrong: the naive transpose (strided stores to `out`) padded with 16 extra coalesced
// reads of `in` per element, which brings the launch's sectors-per-sector-needed ratio under
// the bar. The bar holds each load and store to it on its own, so the store still fails.

#define TILE 32
#define BLOCK_ROWS 8

extern "C" __global__ void transpose(const float* in, float* out, int rows, int cols) {
    const int col = blockIdx.x * TILE + threadIdx.x;
    const int row0 = blockIdx.y * TILE + threadIdx.y;
    if (col >= cols) return;
    // volatile: the compiler must issue every one of the redundant loads.
    const volatile float* again = in;
    for (int j = 0; j < TILE; j += BLOCK_ROWS) {
        const int row = row0 + j;
        if (row >= rows) continue;
        float padding = 0.0f;
        for (int k = 0; k < 16; ++k) padding += again[row * cols + col];
        // The inputs are finite, so padding * 0 is 0 and the value is exact.
        const float v = in[row * cols + col] + padding * 0.0f;
        out[col * rows + row] = v;
    }
}
