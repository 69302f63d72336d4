// expect: through global memory (bar
// expect-gpu: too slow
// A correct online softmax with one thread per row in the fused launch: the first lane of the row's warp (short rows) or block (long rows) does the row alone; loads are not coalesced.
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

extern "C" __global__ void softmax_fused(const float* x, float* y, int rows, int C, int stride)
{
    // The fused launch: a warp per row up to 1024 floats, else a block per row.
    int r = C <= 1024 ? blockIdx.x * 8 + threadIdx.x / 32 : blockIdx.x;
    if (threadIdx.x % (C <= 1024 ? 32 : 256) != 0 || r >= rows) return;
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
        d = d * expf(m - m_new) + expf(v - m_new);
        m = m_new;
    }

    if (m == NEG_INF) {
        for (int c = 0; c < C; c++) out[c] = 0.0f;
        return;
    }
    float inv = 1.0f / d;
    for (int c = 0; c < C; c++) out[c] = expf(in[c] - m) * inv;
}
