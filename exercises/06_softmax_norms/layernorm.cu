// Exercise: LayerNorm over rows, with affine weight and bias.
//
// Launch (fixed by the harness): blockDim = 256, gridDim = rows; block r owns row r.
// Element (r, c) of x and of y is at [r * stride + c], c < C; stride is a multiple of 4;
// weight and bias hold C floats.
//   mean[r] = sum_c x / C,  var = sum_c (x - mean)^2 / C,  rstd[r] = 1 / sqrt(var + eps)
//   y(r, c) = (x(r, c) - mean[r]) * rstd[r] * weight[c] + bias[c]
// Write mean[r] and rstd[r] too: the backward pass needs them.
//
// Goal: one read and one write of each row, at the speed of a copy (timed at 16384 x 4096),
// and numbers that survive rows with a mean of 1e4 and a spread of 1e-2: kernlings has such
// rows in every case. E[x^2] - E[x]^2 fails them (two numbers near 1e8, whose difference is
// 1e-4, in a type with 7 digits). Either keep the row in registers and take two passes over
// the registers (the mean, then the squares of x - mean), or use Welford's update and merge
// the threads' (count, mean, M2) with Chan's formula. The variance divides by C.

#define BLOCK 256
#define WARPS (BLOCK / 32)
#define VECS 8
#define FULL_MASK 0xffffffffu

__device__ float block_sum(float v)
{
    // TODO: warp shuffles, one value per warp through shared memory, every thread gets the sum.
    return v;
}

extern "C" __global__ void layernorm(const float* x, const float* weight, const float* bias,
                                     float* y, float* mean, float* rstd, int rows, int C,
                                     int stride, float eps)
{
    const float* in = x + (size_t)blockIdx.x * stride;
    float* out = y + (size_t)blockIdx.x * stride;

    // TODO: the row's mean and rstd (rows up to BLOCK * 4 * VECS = 8192 floats fit in
    // registers; longer ones need Welford or another pass), then y, mean[r], rstd[r].
}
