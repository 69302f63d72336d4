// calibrate: too slow
// source: the previous reference solution (warp per row, a lane per block: five 32-bit words of W, x as 8 float4, 32 int-to-float conversions a block); the lanes' x loads 128 bytes apart make it L1-bound at ~600 GB/s on the H200
// Exercise: y = W x with W in Q4_1, the matrix-vector product that is all of a decode step's
// weight traffic.
//
// W is n rows of k weights (k a multiple of 32), stored as GGUF stores a weight matrix: row r
// is k / 32 Q4_1 blocks in a row, block b of row r at byte (r * (k / 32) + b) * 20. A block:
// fp16 d (bytes 0-1), fp16 m (bytes 2-3), qs[16] (bytes 4-19); its element j (j < 16) is the
// low nibble of qs[j], element j + 16 the high nibble; w = q * d + m. x has k floats, y n.
// Accumulate in float.
//
// Launch (fixed by the harness): blockDim = 256 (8 warps), gridDim = ceil(n / 8): warp w of
// block g owns row 8 g + w.
//
// What to aim for: a decode step reads each weight once, so the time is the bytes of W over
// the memory bandwidth. kernlings times the harness's cuBLAS fp16 GEMV (16 bits a weight) on
// the same shape in the same run. Q4_1 moves 5 bits a weight where fp16 moves 16: your
// kernel can be that much faster, if every byte of W is read once, in wide loads that
// consecutive lanes share.

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
    const unsigned char* w_row = w + (size_t)row * blocks * BLOCK_BYTES;
    float sum = 0.0f;
    // Lane l takes blocks l, l + 32, ...: the warp reads 32 consecutive blocks (640 bytes) at
    // a time, five 4-byte words per lane. 20 is a multiple of 4, so every word is aligned.
    for (int b = lane; b < blocks; b += 32) {
        const unsigned int* words = reinterpret_cast<const unsigned int*>(w_row + (size_t)b * BLOCK_BYTES);
        unsigned int dm = words[0];
        float d = __half2float(__ushort_as_half((unsigned short)(dm & 0xffff)));
        float m = __half2float(__ushort_as_half((unsigned short)(dm >> 16)));
        const float4* xb = reinterpret_cast<const float4*>(x + (size_t)b * QK);
        // sum of q x and sum of x over the block: w x summed is d * (q x) + m * (x).
        float qx = 0.0f;
        float xs = 0.0f;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            unsigned int qs = words[1 + i]; // bytes 4i .. 4i + 3 of qs
            float4 lo = xb[i];              // elements 4i .. 4i + 3: the low nibbles
            float4 hi = xb[4 + i];          // elements 16 + 4i ..: the high nibbles
            qx += (float)(qs & 0xf) * lo.x + (float)((qs >> 8) & 0xf) * lo.y
                + (float)((qs >> 16) & 0xf) * lo.z + (float)((qs >> 24) & 0xf) * lo.w;
            qx += (float)((qs >> 4) & 0xf) * hi.x + (float)((qs >> 12) & 0xf) * hi.y
                + (float)((qs >> 20) & 0xf) * hi.z + (float)(qs >> 28) * hi.w;
            xs += (lo.x + lo.y) + (lo.z + lo.w) + (hi.x + hi.y) + (hi.z + hi.w);
        }
        sum += d * qx + m * xs;
    }
    for (int offset = 16; offset > 0; offset /= 2) {
        sum += __shfl_down_sync(FULL_MASK, sum, offset);
    }
    if (lane == 0) {
        y[row] = sum;
    }
}
