// expect: of O
// Known-wrong: O = o, not o / l: the final normalisation 1/l is missing.
// flash_attention_causal: causal attention, row i attends keys j <= i, in one pass.
//
// The same problem, layout and launch as flash_attention: Q, K, V, O are [B, H, S, D] f32
// row-major with D = HEAD_DIM = 64, L is [B, H, S] (logsumexp of each row's scaled scores
// over the keys it attends), block = 64 threads, grid = (ceil(S/64), B*H).
//
// Causal masking gives each row fewer keys; the speed comes from not even loading the tiles
// a whole block of queries is masked from: block b's queries end at b*64 + 63, so keys past
// that are never needed. Only the tiles crossing the diagonal need the per-key mask.
// Blocks near the end of the sequence have the most tiles; handing those out first (block
// x works on query tile gridDim.x - 1 - x) keeps the last wave of blocks short.

#define HEAD_DIM 64
#define BLOCK_M 64
#define BLOCK_N 32
#define NEG_INF __int_as_float(0xff800000)
#define LOG2E 1.4426950408889634f
#define LN2 0.6931471805599453f

extern "C" __global__ void flash_attention_causal(const float* Q, const float* K, const float* V,
                                                  float* O, float* L, int n)
{
    // float4 rows: one shared-memory load feeds four multiply-adds; every thread of the
    // block reads the same key at the same time, which shared memory broadcasts.
    __shared__ float4 Ks[BLOCK_N][HEAD_DIM / 4];
    __shared__ float4 Vs[BLOCK_N][HEAD_DIM / 4];

    const size_t head = (size_t)blockIdx.y * n * HEAD_DIM;
    const int q0 = (gridDim.x - 1 - blockIdx.x) * BLOCK_M;
    const int row = q0 + threadIdx.x;
    const bool live = row < n;

    // Scores in base 2: exp(x) = exp2(x * log2(e)), folded into q once.
    const float scale = rsqrtf((float)HEAD_DIM) * LOG2E;
    float q[HEAD_DIM], o[HEAD_DIM];
    for (int c = 0; c < HEAD_DIM; c++) {
        q[c] = live ? Q[head + (size_t)row * HEAD_DIM + c] * scale : 0.0f;
        o[c] = 0.0f;
    }
    float m = NEG_INF, l = 0.0f;

    // Keys after this block's last query are masked for every thread of the block.
    const int kv_end = min(n, q0 + BLOCK_M);
    for (int kv0 = 0; kv0 < kv_end; kv0 += BLOCK_N) {
        // Every thread has finished reading the previous tile before it is overwritten.
        __syncthreads();
        for (int t = threadIdx.x; t < BLOCK_N * HEAD_DIM / 4; t += BLOCK_M) {
            const int r = t / (HEAD_DIM / 4), c = t % (HEAD_DIM / 4);
            const int key = kv0 + r;
            const float4 zero = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            const size_t at = head + (size_t)key * HEAD_DIM;
            Ks[r][c] = key < n ? reinterpret_cast<const float4*>(K + at)[c] : zero;
            Vs[r][c] = key < n ? reinterpret_cast<const float4*>(V + at)[c] : zero;
        }
        __syncthreads();

        float s[BLOCK_N];
        float m_new = m;
        for (int j = 0; j < BLOCK_N; j++) {
            float acc = 0.0f;
            for (int c = 0; c < HEAD_DIM / 4; c++) {
                const float4 k = Ks[j][c];
                acc += q[4 * c] * k.x + q[4 * c + 1] * k.y + q[4 * c + 2] * k.z + q[4 * c + 3] * k.w;
            }
            // Keys past the end are zero rows in the tile and keys after the query are in
            // its future: neither may add exp(score - m).
            s[j] = kv0 + j < n && kv0 + j <= row ? acc : NEG_INF;
            m_new = fmaxf(m_new, s[j]);
        }
        // Every row sees key 0 in the first tile, so m_new is finite from then on; a later
        // tile wholly in a row's future leaves m_new = m and the factor 1. On the first tile
        // m is -inf and the factor is 0: nothing has been summed yet.
        const float rescale = exp2f(m - m_new);
        l *= rescale;
        for (int c = 0; c < HEAD_DIM; c++) o[c] *= rescale;
        for (int j = 0; j < BLOCK_N; j++) {
            const float p = exp2f(s[j] - m_new);
            l += p;
            for (int c = 0; c < HEAD_DIM / 4; c++) {
                const float4 v = Vs[j][c];
                o[4 * c] += p * v.x;
                o[4 * c + 1] += p * v.y;
                o[4 * c + 2] += p * v.z;
                o[4 * c + 3] += p * v.w;
            }
        }
        m = m_new;
    }

    if (live) {
        const float inv = 1.0f;
        for (int c = 0; c < HEAD_DIM; c++) O[head + (size_t)row * HEAD_DIM + c] = o[c] * inv;
        L[(size_t)blockIdx.y * n + row] = (m + log2f(l)) * LN2;
    }
}
