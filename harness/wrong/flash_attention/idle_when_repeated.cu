// expect: your kernel's output in the timed runs differs from its checked run
// expect-gpu: your kernel's output in the timed runs differs from its checked run
// A timing cheat: each block skips its work when launched again on the same output and size.
// flash_attention: O = softmax(Q K^T / sqrt(D)) V in one pass, FlashAttention-2's loop order.
//
// Q, K, V and O are [B, H, S, D] f32, row-major (see attention_naive); D = HEAD_DIM = 64.
// L is [B, H, S]: L[bh][i] = log(sum over j of exp(score(i, j))), the logsumexp of row i's
// scaled scores, which the backward pass will need.
//
// Launch (fixed by the harness): block = BLOCK_M = 64 threads, grid = (ceil(S/64), B*H).
// Block (bx, bh) owns queries bx*64 .. bx*64+63 of head bh; thread t owns query bx*64 + t.
// There is no scores buffer: the harness gives none and caps the device heap.
//
// Each block streams K and V through shared memory in tiles of BLOCK_N keys. For its query,
// a thread keeps in registers the query row, a running maximum m, a running sum l of
// exp(score - m) and an unnormalised output row o. When a tile raises the maximum, l and o
// were summed against the old one: both are multiplied by exp(m_old - m_new) before the
// tile's terms are added. At the end, O = o / l and L = m + log(l).

#define HEAD_DIM 64
#define BLOCK_M 64
#define BLOCK_N 32
#define NEG_INF __int_as_float(0xff800000)
#define LOG2E 1.4426950408889634f
#define LN2 0.6931471805599453f

__device__ const float* last_out[1 << 16];
__device__ long long last_n[1 << 16];

extern "C" __global__ void flash_attention(const float* Q, const float* K, const float* V,
                                           float* O, float* L, int n)
{
    // Each block remembers the output and size it last wrote; launched again on them (the
    // timing loop's repeats) it returns at once.
    __shared__ int repeated;
    if (threadIdx.x == 0) {
        unsigned int b = (blockIdx.y * gridDim.x + blockIdx.x) % (1u << 16);
        repeated = last_out[b] == O && last_n[b] == (long long)n;
        last_out[b] = O;
        last_n[b] = (long long)n;
    }
    __syncthreads();
    if (repeated) return;

    // float4 rows: one shared-memory load feeds four multiply-adds; every thread of the
    // block reads the same key at the same time, which shared memory broadcasts.
    __shared__ float4 Ks[BLOCK_N][HEAD_DIM / 4];
    __shared__ float4 Vs[BLOCK_N][HEAD_DIM / 4];

    const size_t head = (size_t)blockIdx.y * n * HEAD_DIM;
    const int row = blockIdx.x * BLOCK_M + threadIdx.x;
    const bool live = row < n;

    // Scores in base 2: exp(x) = exp2(x * log2(e)), folded into q once.
    const float scale = rsqrtf((float)HEAD_DIM) * LOG2E;
    float q[HEAD_DIM], o[HEAD_DIM];
    for (int c = 0; c < HEAD_DIM; c++) {
        q[c] = live ? Q[head + (size_t)row * HEAD_DIM + c] * scale : 0.0f;
        o[c] = 0.0f;
    }
    float m = NEG_INF, l = 0.0f;

    for (int kv0 = 0; kv0 < n; kv0 += BLOCK_N) {
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
            // Keys past the end are zero rows in the tile: they must not add exp(0 - m).
            s[j] = kv0 + j < n ? acc : NEG_INF;
            m_new = fmaxf(m_new, s[j]);
        }
        // m_new is finite: the tile holds at least one key. On the first tile m is -inf and
        // the factor is 0, which is right: nothing has been summed yet.
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
        const float inv = 1.0f / l;
        for (int c = 0; c < HEAD_DIM; c++) O[head + (size_t)row * HEAD_DIM + c] = o[c] * inv;
        L[(size_t)blockIdx.y * n + row] = (m + log2f(l)) * LN2;
    }
}
