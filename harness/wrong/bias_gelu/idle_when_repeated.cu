// expect: your kernel's output in the timed runs differs from its checked run
// expect-gpu: your kernel's output in the timed runs differs from its checked run
// A timing cheat: each block skips its work when launched again on the same output, size and
// bias (a new case's buffers may get the old case's address back; its bias is new).
// Bias add and GELU in one kernel: y = gelu(x + bias[c]), tanh form.
//
// Launch (fixed by the harness): blockDim = 256, gridDim = ceil(rows * C / 1024); thread g
// (= blockIdx.x * 256 + threadIdx.x) owns the 4 consecutive elements 4g .. 4g + 3 of the
// dense rows x C matrix (those below rows * C). bias holds C floats.
//   gelu(v) = 0.5 * v * (1 + tanh(sqrt(2 / pi) * (v + 0.044715 * v^3)))
//
// Two kernels (bias, then GELU) move 16 bytes per element: x in, t out, t in, y out. Fused,
// the intermediate never leaves registers: 8 bytes per element, the least a map can move.

__device__ float gelu_tanh(float v)
{
    const float k = 0.7978845608028654f;  // sqrt(2 / pi)
    return 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
}

__device__ const float* last_out[1 << 16];
__device__ long long last_n[1 << 16];
__device__ int last_bias[1 << 16];

extern "C" __global__ void bias_gelu(const float* x, const float* bias, float* y, int rows,
                                     int C)
{
    // Each block remembers the output and size it last wrote; launched again on them (the
    // timing loop's repeats) it returns at once.
    __shared__ int repeated;
    if (threadIdx.x == 0) {
        unsigned int b = (blockIdx.y * gridDim.x + blockIdx.x) % (1u << 16);
        int bias0 = __float_as_int(bias[0]);
        repeated = last_out[b] == y && last_n[b] == (long long)rows * C && last_bias[b] == bias0;
        last_out[b] = y;
        last_n[b] = (long long)rows * C;
        last_bias[b] = bias0;
    }
    __syncthreads();
    if (repeated) return;

    size_t n = (size_t)rows * C;
    size_t i = 4 * ((size_t)blockIdx.x * blockDim.x + threadIdx.x);
    if (i >= n) return;
    // The column of element i; the next three follow it, wrapping at the end of a row.
    int c = (int)(i % C);
    if (i + 3 < n) {
        float4 v = *reinterpret_cast<const float4*>(x + i);
        float r[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int j = 0; j < 4; j++) {
            r[j] = gelu_tanh(r[j] + bias[c]);
            c = c + 1 == C ? 0 : c + 1;
        }
        *reinterpret_cast<float4*>(y + i) = make_float4(r[0], r[1], r[2], r[3]);
        return;
    }
    for (; i < n; i++) {
        y[i] = gelu_tanh(x[i] + bias[c]);
        c = c + 1 == C ? 0 : c + 1;
    }
}
