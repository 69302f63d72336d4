// attention_naive: O = softmax(Q K^T / sqrt(D)) V in three launches, through the scores matrix.
//
// Q, K, V and O are [B, H, S, D] f32, row-major: head h of batch b starts at
// ((b * H + h) * S) * D, and row i of that head (query i, or key i) is D contiguous floats.
// The harness hands you two scratch buffers of [B * H, S, S] floats: S (scores) and P
// (probabilities). The launches (fixed by the harness, one after the other):
//   1. attention_scores: block (16, 16), grid (ceil(S/16), ceil(S/16), B*H).
//      Thread (x, y) of block (bx, by, bh) owns score (query i = by*16 + y, key j = bx*16 + x)
//      of head bh: S[bh][i][j] = (Q[bh][i] . K[bh][j]) / sqrt(D).
//   2. softmax_rows: block 128, grid ceil(rows / 128), rows = B*H*S; thread r owns row r.
//      Your module-06 softmax_online, renamed, fits: x = S, y = P, C = stride = S.
//   3. attention_pv: block (16, 16), grid (ceil(D/16), ceil(S/16), B*H).
//      Thread (x, y) of block (bx, by, bh) owns O[bh][i = by*16 + y][c = bx*16 + x] =
//      sum over j of P[bh][i][j] * V[bh][j][c].

#define NEG_INF __int_as_float(0xff800000)

extern "C" __global__ void attention_scores(const float* Q, const float* K, float* S, int n, int d)
{
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    const int i = blockIdx.y * blockDim.y + threadIdx.y;
    const size_t bh = blockIdx.z;
    if (i >= n || j >= n) return;
    const float* q = Q + (bh * n + i) * d;
    const float* k = K + (bh * n + j) * d;
    float acc = 0.0f;
    for (int c = 0; c < d; c++) acc += q[c] * k[c];
    S[(bh * n + i) * n + j] = acc * rsqrtf((float)d);
}

extern "C" __global__ void softmax_rows(const float* x, float* y, int rows, int C, int stride)
{
    const int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    const float* in = x + (size_t)r * stride;
    float* out = y + (size_t)r * stride;
    // Online: the running sum is rescaled whenever the running maximum grows.
    float m = NEG_INF;
    float l = 0.0f;
    for (int c = 0; c < C; c++) {
        const float m_new = fmaxf(m, in[c]);
        l = l * expf(m - m_new) + expf(in[c] - m_new);
        m = m_new;
    }
    for (int c = 0; c < C; c++) out[c] = expf(in[c] - m) / l;
}

extern "C" __global__ void attention_pv(const float* P, const float* V, float* O, int n, int d)
{
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    const int i = blockIdx.y * blockDim.y + threadIdx.y;
    const size_t bh = blockIdx.z;
    if (i >= n || c >= d) return;
    const float* p = P + (bh * n + i) * n;
    const float* v = V + bh * n * d;
    float acc = 0.0f;
    for (int j = 0; j < n; j++) acc += p[j] * v[(size_t)j * d + c];
    O[(bh * n + i) * d + c] = acc;
}
