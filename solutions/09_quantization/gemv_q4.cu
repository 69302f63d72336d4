// Warp per row as the stub frames it, but 4 lanes a block: each lane one 32-bit word of qs and
// its 8 x values, so a warp's x loads cover 1 KB contiguous instead of 32 lines 128 bytes
// apart. x is not reused across rows (each warp reads it from L1 for its own row); the block
// loop is unrolled by 4 for loads in flight.

#include <cuda_fp16.h>

#define QK 32
#define BLOCK_BYTES 20
#define ROWS_PER_BLOCK 8
#define COLS_PER_WARP 8 // 4 lanes a block
#define UNROLL 4
#define FULL_MASK 0xffffffffu

// The nibble at bits 4p..4p+3 of `word`, as a float. ORed under the exponent of 2^(23 - 4p) it
// is the mantissa's bits worth 2^0..2^3, so the float is 2^(23 - 4p) + q exactly: one LOP3 and
// one FADD, where the quarter-rate int-to-float conversion would be the bottleneck.
__device__ __forceinline__ float nibble(unsigned int word, int p)
{
    unsigned int magic = (150u - 4u * p) << 23;
    return __uint_as_float((word & (0xfu << (4 * p))) | magic) - __uint_as_float(magic);
}

// Word `qs` holds bytes 4t..4t+3 of a block's qs: low nibbles elements 4t.., high nibbles
// 16 + 4t..; lo and hi are those elements of x.
__device__ __forceinline__ float dot8(unsigned int qs, float4 lo, float4 hi)
{
    unsigned int h = qs >> 16;
    float s = nibble(qs, 0) * lo.x;
    s = fmaf(nibble(qs, 1), hi.x, s);
    s = fmaf(nibble(qs, 2), lo.y, s);
    s = fmaf(nibble(qs, 3), hi.y, s);
    s = fmaf(nibble(h, 0), lo.z, s);
    s = fmaf(nibble(h, 1), hi.z, s);
    s = fmaf(nibble(h, 2), lo.w, s);
    s = fmaf(nibble(h, 3), hi.w, s);
    return s;
}

extern "C" __global__ void gemv_q4_1(const unsigned char* w, const float* x, float* y, int n, int k)
{
    int warp = threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    int t = lane % 4;
    int row = blockIdx.x * ROWS_PER_BLOCK + warp;
    if (row >= n) {
        return;
    }
    int blocks = k / QK;
    const unsigned char* w_row = w + (size_t)row * blocks * BLOCK_BYTES;
    const float4* x4 = reinterpret_cast<const float4*>(x);
    float sum = 0.0f;
    for (int c0 = lane / 4; c0 < blocks; c0 += UNROLL * COLS_PER_WARP) {
        unsigned int dm[UNROLL], qs[UNROLL];
        float4 lo[UNROLL], hi[UNROLL];
#pragma unroll
        for (int u = 0; u < UNROLL; u++) {
            int c = min(c0 + u * COLS_PER_WARP, blocks - 1);
            const unsigned int* words = reinterpret_cast<const unsigned int*>(w_row + (size_t)c * BLOCK_BYTES);
            dm[u] = words[0];
            qs[u] = words[1 + t];
            lo[u] = __ldg(&x4[c * 8 + t]);
            hi[u] = __ldg(&x4[c * 8 + 4 + t]);
        }
#pragma unroll
        for (int u = 0; u < UNROLL; u++) {
            // Past the row's end the loads above re-read its last block: counted nowhere.
            if (c0 + u * COLS_PER_WARP < blocks) {
                float2 f = __half22float2(*reinterpret_cast<const __half2*>(&dm[u]));
                float xs = (lo[u].x + lo[u].y) + (lo[u].z + lo[u].w) + (hi[u].x + hi[u].y) + (hi[u].z + hi[u].w);
                sum = fmaf(f.x, dot8(qs[u], lo[u], hi[u]), fmaf(f.y, xs, sum));
            }
        }
    }
    for (int offset = 16; offset > 0; offset /= 2) {
        sum += __shfl_down_sync(FULL_MASK, sum, offset);
    }
    if (lane == 0) {
        y[row] = sum;
    }
}
