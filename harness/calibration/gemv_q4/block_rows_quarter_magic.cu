// calibrate: too slow
// source: llama.cpp ggml-cuda mmvq.cu (mul_mat_vec_q: a thread on a quarter of a Q4_1 block, several rows per warp so each x value serves them all) and the LOP3 + subtract nibble-to-float trick of FasterTransformer / Marlin's dequant (here with f32 magic numbers 2^(23 - 4p)), kept with an f32 x
// The block's 8 rows in every warp: the warps split the row's blocks, each lane takes one
// 32-bit word of qs (8 weights) of 8 consecutive blocks, loads its 8 x values once and uses
// them for all 8 rows. Partial sums meet in shared memory.

#include <cuda_fp16.h>

#define QK 32
#define BLOCK_BYTES 20
#define ROWS 8
#define WARPS 8
#define COLS_PER_WARP 8 // 4 lanes a block
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
    __shared__ float part[WARPS][ROWS];
    int warp = threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    int t = lane % 4;
    int row0 = blockIdx.x * ROWS;
    int blocks = k / QK;
    const float4* x4 = reinterpret_cast<const float4*>(x);
    // Rows past n read row n - 1 (in bounds) and are never written: no divergence in the loop.
    const unsigned char* w_rows[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; r++) {
        w_rows[r] = w + (size_t)min(row0 + r, n - 1) * blocks * BLOCK_BYTES;
    }
    float acc[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; r++) {
        acc[r] = 0.0f;
    }
    for (int c = warp * COLS_PER_WARP + lane / 4; c < blocks; c += WARPS * COLS_PER_WARP) {
        float4 lo = __ldg(&x4[c * 8 + t]);
        float4 hi = __ldg(&x4[c * 8 + 4 + t]);
        float xs = (lo.x + lo.y) + (lo.z + lo.w) + (hi.x + hi.y) + (hi.z + hi.w);
        unsigned int dm[ROWS], qs[ROWS];
#pragma unroll
        for (int r = 0; r < ROWS; r++) {
            const unsigned int* words = reinterpret_cast<const unsigned int*>(w_rows[r] + (size_t)c * BLOCK_BYTES);
            dm[r] = words[0];
            qs[r] = words[1 + t];
        }
#pragma unroll
        for (int r = 0; r < ROWS; r++) {
            float2 f = __half22float2(*reinterpret_cast<const __half2*>(&dm[r]));
            // This lane's 8 of the block's 32 weights: d * sum(q x) + m * sum(x) over them.
            acc[r] = fmaf(f.x, dot8(qs[r], lo, hi), fmaf(f.y, xs, acc[r]));
        }
    }
#pragma unroll
    for (int r = 0; r < ROWS; r++) {
        float v = acc[r];
        for (int offset = 16; offset > 0; offset /= 2) {
            v += __shfl_xor_sync(FULL_MASK, v, offset);
        }
        if (lane == 0) {
            part[warp][r] = v;
        }
    }
    __syncthreads();
    if (threadIdx.x < ROWS && row0 + threadIdx.x < n) {
        float v = 0.0f;
        for (int i = 0; i < WARPS; i++) {
            v += part[i][threadIdx.x];
        }
        y[row0 + threadIdx.x] = v;
    }
}
