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
//
// Aim: correct first. This is the version the next exercise removes the scores buffer from;
// kernlings times it against its own unfused attention (cuBLAS for both products).

#define NEG_INF __int_as_float(0xff800000)

extern "C" __global__ void attention_scores(const float* Q, const float* K, float* S, int n, int d)
{
    const int j = blockIdx.x * blockDim.x + threadIdx.x;  // key
    const int i = blockIdx.y * blockDim.y + threadIdx.y;  // query
    const size_t bh = blockIdx.z;                          // head
    // TODO 1: if (i, j) is inside the n x n scores of this head, write the dot product of
    // query row i and key row j, scaled by 1 / sqrt(d), to S[bh][i][j].
}

// TODO 2: the row softmax, y = exp(x - max) / sum. Paste your module-06 softmax_online here
// and rename it, or write it again: a row of scores can hold large values.
extern "C" __global__ void softmax_rows(const float* x, float* y, int rows, int C, int stride)
{
}

extern "C" __global__ void attention_pv(const float* P, const float* V, float* O, int n, int d)
{
    const int c = blockIdx.x * blockDim.x + threadIdx.x;  // column of O
    const int i = blockIdx.y * blockDim.y + threadIdx.y;  // query
    const size_t bh = blockIdx.z;
    // TODO 3: O[bh][i][c] = sum over keys j of P[bh][i][j] * V[bh][j][c], for (i, c) inside O.
}
