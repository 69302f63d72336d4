// calibrate: too slow
// source: rung 1's approach in rung 2's frame: one thread per query, the module-06 two-pass softmax over scores recomputed from K in global memory (no shared-memory tiles, no online rescaling), then PV from global memory
#define HEAD_DIM 64
#define NEG_INF __int_as_float(0xff800000)

extern "C" __global__ void flash_attention(const float* Q, const float* K, const float* V,
                                           float* O, float* L, int n)
{
    const size_t head = (size_t)blockIdx.y * n * HEAD_DIM;
    const int row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= n) return;
    const float scale = rsqrtf((float)HEAD_DIM);
    float q[HEAD_DIM];
    for (int c = 0; c < HEAD_DIM; c++) q[c] = Q[head + (size_t)row * HEAD_DIM + c] * scale;
    // Pass 1: the row's max; pass 2: the sum and the output, each score computed again.
    float m = NEG_INF;
    for (int j = 0; j < n; j++) {
        float s = 0.0f;
        for (int c = 0; c < HEAD_DIM; c++) s += q[c] * K[head + (size_t)j * HEAD_DIM + c];
        m = fmaxf(m, s);
    }
    float l = 0.0f, o[HEAD_DIM];
    for (int c = 0; c < HEAD_DIM; c++) o[c] = 0.0f;
    for (int j = 0; j < n; j++) {
        float s = 0.0f;
        for (int c = 0; c < HEAD_DIM; c++) s += q[c] * K[head + (size_t)j * HEAD_DIM + c];
        const float p = expf(s - m);
        l += p;
        for (int c = 0; c < HEAD_DIM; c++) o[c] += p * V[head + (size_t)j * HEAD_DIM + c];
    }
    for (int c = 0; c < HEAD_DIM; c++) O[head + (size_t)row * HEAD_DIM + c] = o[c] / l;
    L[(size_t)blockIdx.y * n + row] = m + logf(l);
}
