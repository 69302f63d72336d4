// Exercise: y = W x with W in Q4_1, the matrix-vector product that is all of a decode step's
// weight traffic.
//
// W is n rows of k weights (k a multiple of 32), stored as GGUF stores a weight matrix: row r
// is k / 32 Q4_1 blocks in a row, block b of row r at byte (r * (k / 32) + b) * 20. A block:
// fp16 d (bytes 0-1), fp16 m (bytes 2-3), qs[16] (bytes 4-19); its element j (j < 16) is the
// low nibble of qs[j], element j + 16 the high nibble; w = q * d + m. x has k floats, y n.
// Accumulate in float.
//
// Launch (fixed by the harness): blockDim = 256 (8 warps), gridDim = ceil(n / 8): block g owns
// rows 8 g .. 8 g + 7. How its warps share them is yours; the code below gives warp w row
// 8 g + w, the simple way.
//
// What to aim for: a decode step reads each weight once, so the time is the bytes of W over
// the memory bandwidth. kernlings times the harness's cuBLAS fp16 GEMV (16 bits a weight) on
// the same shape in the same run. Q4_1 moves 5 bits a weight where fp16 moves 16: your
// kernel can be that much faster, if every byte of W is read once, in wide loads that
// consecutive lanes share, and if reading x and turning nibbles into floats cost less than that.

#include <cuda_fp16.h>

#define QK 32
#define BLOCK_BYTES 20
#define ROWS_PER_BLOCK 8
#define FULL_MASK 0xffffffffu

extern "C" __global__ void gemv_q4_1(const unsigned char* w, const float* x, float* y, int n, int k)
{
    int warp = threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    int row = blockIdx.x * ROWS_PER_BLOCK + warp;
    if (row >= n) {
        return;
    }
    int blocks = k / QK;
    float sum = 0.0f;
    // TODO: the lanes of the warp share the row's blocks. For each block of yours: d and m
    //       (__half2float of the fp16 at bytes 0-1 and 2-3), then its 32 weights times the
    //       32 elements of x they multiply, added into sum.

    // TODO: add up the 32 lanes' sums (module 04's warp shuffle); lane 0 writes y[row].
}
