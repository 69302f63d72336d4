// Exercise: bias add and GELU in one kernel.
//
// Launch (fixed by the harness): blockDim = 256, gridDim = ceil(rows * C / 1024); thread g
// (= blockIdx.x * 256 + threadIdx.x) owns the 4 consecutive elements 4g .. 4g + 3 of the
// dense rows x C matrix x (those below rows * C). bias holds C floats: element i of x is
// in column i % C.
//
// Goal: y = gelu(x + bias[c]), GELU in its tanh form, exactly this one:
//   gelu(v) = 0.5 * v * (1 + tanh(sqrt(2 / pi) * (v + 0.044715 * v^3)))
// (the erf form, 0.5 * v * (1 + erf(v / sqrt(2))), differs by up to 4.7e-4: kernlings
// tells them apart). Timed against the harness's unfused pair, a bias kernel that writes
// t = x + bias and a GELU kernel that reads t back: fused, the row crosses the memory bus
// twice instead of four times.

extern "C" __global__ void bias_gelu(const float* x, const float* bias, float* y, int rows,
                                     int C)
{
    size_t n = (size_t)rows * C;
    size_t i = 4 * ((size_t)blockIdx.x * blockDim.x + threadIdx.x);
    if (i >= n) return;

    // TODO: y[i .. i+3] (those below n) = gelu(x + bias[column]); a float4 load and store
    // when all four are inside.
}
