// calibrate: too slow
// source: llama.cpp ggml-cuda mmvq.cu (mul_mat_vec_q with VDR 2: a thread on half of a Q4_1 block, several rows per warp so each x value serves them all) and the LOP3 + subtract nibble-to-float trick of FasterTransformer / Marlin's dequant (here with f32 magic numbers 2^(23 - 4p)), kept with an f32 x
// The block's 8 rows in every warp: the warps split the row's blocks, each lane takes two
// 32-bit words of qs (16 weights) of 16 consecutive blocks, loads its 16 x values once and uses
// them for all 8 rows: d and m converted once per 16 weights instead of 8, x loads less coalesced.

#include <cuda_fp16.h>

#define QK 32
#define BLOCK_BYTES 20
#define ROWS 8
#define WARPS 8
#define COLS_PER_WARP 16 // 2 lanes a block
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
    int t = lane % 2;
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
    for (int c = warp * COLS_PER_WARP + lane / 2; c < blocks; c += WARPS * COLS_PER_WARP) {
        // Words 1 + 2t and 2 + 2t of the block: elements 8t..8t+7 and 16 + 8t..16 + 8t + 7.
        float4 lo0 = __ldg(&x4[c * 8 + 2 * t]);
        float4 lo1 = __ldg(&x4[c * 8 + 2 * t + 1]);
        float4 hi0 = __ldg(&x4[c * 8 + 4 + 2 * t]);
        float4 hi1 = __ldg(&x4[c * 8 + 5 + 2 * t]);
        float xs = ((lo0.x + lo0.y) + (lo0.z + lo0.w) + (hi0.x + hi0.y) + (hi0.z + hi0.w))
            + ((lo1.x + lo1.y) + (lo1.z + lo1.w) + (hi1.x + hi1.y) + (hi1.z + hi1.w));
        unsigned int dm[ROWS], qs0[ROWS], qs1[ROWS];
#pragma unroll
        for (int r = 0; r < ROWS; r++) {
            const unsigned int* words = reinterpret_cast<const unsigned int*>(w_rows[r] + (size_t)c * BLOCK_BYTES);
            dm[r] = words[0];
            qs0[r] = words[1 + 2 * t];
            qs1[r] = words[2 + 2 * t];
        }
#pragma unroll
        for (int r = 0; r < ROWS; r++) {
            float2 f = __half22float2(*reinterpret_cast<const __half2*>(&dm[r]));
            // This lane's 16 of the block's 32 weights: d * sum(q x) + m * sum(x) over them.
            float qx = dot8(qs0[r], lo0, hi0) + dot8(qs1[r], lo1, hi1);
            acc[r] = fmaf(f.x, qx, fmaf(f.y, xs, acc[r]));
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
