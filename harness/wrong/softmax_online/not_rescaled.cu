// expect: elements of y are wrong
// The sum is not rescaled when the max grows: old terms keep the old scale.
// Softmax over rows, step 2: the maximum and the sum in one pass (online softmax).
//
// Launch (fixed by the harness): blockDim = 128, gridDim = ceil(rows / 128); thread r owns
// row r. Element (r, c) of x and of y is at [r * stride + c], c < C.
//
// Milakov & Gimelshein, "Online normalizer calculation for softmax" (2018): keep a running
// maximum m and a running sum d of exp(x - m). When a larger value arrives, every term
// already in d was scaled by the old maximum: multiply d by exp(m_old - m_new) to rescale
// it. The row is read twice (statistics, then output) instead of three times.

#define NEG_INF __int_as_float(0xff800000)

extern "C" __global__ void softmax_online(const float* x, float* y, int rows, int C, int stride)
{
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    const float* in = x + (size_t)r * stride;
    float* out = y + (size_t)r * stride;

    float m = NEG_INF;
    float d = 0.0f;
    for (int c = 0; c < C; c++) {
        float v = in[c];
        // A -inf adds nothing to d; while m is still -inf it would make m - m_new
        // exp(-inf - -inf) = NaN. (A NaN v is not skipped: it must make d NaN.)
        if (v == NEG_INF) continue;
        float m_new = fmaxf(m, v);
        d = d + expf(v - m_new);
        m = m_new;
    }

    if (m == NEG_INF) {
        for (int c = 0; c < C; c++) out[c] = 0.0f;
        return;
    }
    float inv = 1.0f / d;
    for (int c = 0; c < C; c++) out[c] = expf(in[c] - m) * inv;
}
