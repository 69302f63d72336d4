// calibrate: too slow
// source: the previous rung (solutions/06_softmax_norms/softmax1_naive.cu; llm.c dev/cuda softmax_forward_kernel1's idea: a thread per row, three passes)
// expect-cpu: your loads and stores move at least
// Softmax over rows, step 1: one thread per row, three passes over the row.
//
// Launch (fixed by the harness): blockDim = 128, gridDim = ceil(rows / 128); thread r owns
// row r. Element (r, c) of x and of y is at [r * stride + c], c < C.
//
// Subtracting the row's maximum changes nothing mathematically (it cancels between the
// numerator and the sum) and keeps every exp() at or below 1: without it, exp(1000) is inf.

#define NEG_INF __int_as_float(0xff800000)

extern "C" __global__ void softmax_online(const float* x, float* y, int rows, int C, int stride)
{
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    const float* in = x + (size_t)r * stride;
    float* out = y + (size_t)r * stride;

    float m = NEG_INF;
    for (int c = 0; c < C; c++) m = fmaxf(m, in[c]);
    // Every element masked: the contract is an output of zeros (as FlashAttention does),
    // where exp(x - m) would be exp(-inf - -inf) = NaN.
    if (m == NEG_INF) {
        for (int c = 0; c < C; c++) out[c] = 0.0f;
        return;
    }

    float sum = 0.0f;
    for (int c = 0; c < C; c++) sum += expf(in[c] - m);
    float inv = 1.0f / sum;
    for (int c = 0; c < C; c++) out[c] = expf(in[c] - m) * inv;
}
