// flash_attention_tc: flash_attention's loop on tensor cores. fp16 or bf16 Q, K, V, O,
// accumulated in f32 by mma.sync m16n8k16, whose operands ldmatrix loads from shared memory.
//
// Q, K, V, O are [B, H, S, D] row-major as before; D is 64 or 128 (head_dim, one compiled path
// per D behind each entry point). Two entry points, the same template: flash_attention_f16 and
// flash_attention_bf16 (the macros at the bottom). O = softmax(Q K^T / sqrt(D)) V; no L here.
// Launch (fixed by the harness): grid (ceil(S / 64), B*H), block 128 threads = four warps, and
// warp w owns query rows q0 + 16w .. q0 + 16w + 15 of the block's 64.
//
// The fragments (lane = 4 * g + t, g = lane / 4, t = lane % 4; every register holds two
// 16-bit values, the lower column first):
//   mma A, 16 x 16 row-major:  a[0] row g, cols 2t, 2t+1;   a[1] row g+8, same cols;
//                              a[2] row g, cols 2t+8, 2t+9; a[3] row g+8, cols 2t+8, 2t+9.
//   mma B, 16 x 8 "col":       b[0] col g, rows 2t, 2t+1;   b[1] col g, rows 2t+8, 2t+9.
//   mma C/D, 16 x 8, f32:      c[0], c[1] row g, cols 2t, 2t+1; c[2], c[3] row g+8, same cols.
//   ldmatrix.x4: lanes 8i .. 8i+7 give the addresses of the 8 rows (16 bytes each) of matrix i;
//   r[i] then holds row g, cols 2t, 2t+1 of matrix i (.trans: col g, rows 2t, 2t+1).
#include <cuda_fp16.h>
#include <cuda_bf16.h>
typedef unsigned int uint32_t;

constexpr int BR = 64;       // query rows per block
constexpr int BC = 64;       // keys per K/V tile
constexpr int THREADS = 128;
constexpr int MAX_D = 128;
// Rows padded by 16 bytes: the 8 rows one ldmatrix reads then start in different banks.
constexpr int PAD = 8;
#define NEG_INF (-__int_as_float(0x7f800000))

template <typename T> struct Half;
template <> struct Half<__half> {
    static __device__ uint32_t pack(float lo, float hi) {
        __half2 h = __floats2half2_rn(lo, hi);
        return *reinterpret_cast<uint32_t*>(&h);
    }
    static __device__ void mma(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, "
            "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
};
template <> struct Half<__nv_bfloat16> {
    static __device__ uint32_t pack(float lo, float hi) {
        __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
        return *reinterpret_cast<uint32_t*>(&h);
    }
    static __device__ void mma(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, "
            "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
};

__device__ void ldmatrix_x4(uint32_t r[4], const void* p) {
    uint32_t a = (uint32_t)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}
__device__ void ldmatrix_x4_trans(uint32_t r[4], const void* p) {
    uint32_t a = (uint32_t)__cvta_generic_to_shared(p);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}

// A K or V tile (rows r0..r0+63 of a [S][D] matrix) staged in registers: each thread holds
// CHUNKS * 64 / THREADS 16-byte chunks. Rows past S are zeros, so masked keys multiply zeros
// (never a neighbour's NaN) and nothing past the buffer is read.
template <int D> struct Stage {
    static constexpr int CHUNKS = D / 8;  // 16-byte chunks per row
    static constexpr int N = 64 * CHUNKS / THREADS;
    uint4 r[N];
    template <typename T> __device__ void load(const T* g, int r0, int seq_len) {
#pragma unroll
        for (int j = 0; j < N; j++) {
            int i = threadIdx.x + j * THREADS, row = i / CHUNKS, c = i % CHUNKS;
            r[j] = r0 + row < seq_len
                       ? *reinterpret_cast<const uint4*>(g + (size_t)(r0 + row) * D + c * 8)
                       : make_uint4(0, 0, 0, 0);
        }
    }
    template <typename T> __device__ void store(T* s) const {
#pragma unroll
        for (int j = 0; j < N; j++) {
            int i = threadIdx.x + j * THREADS, row = i / CHUNKS, c = i % CHUNKS;
            *reinterpret_cast<uint4*>(s + row * (D + PAD) + c * 8) = r[j];
        }
    }
};

template <typename T, int D>
__device__ void attention(const T* q, const T* k, const T* v, T* o, int seq_len,
                          T* sK, T* sV) {
    constexpr int STRIDE = D + PAD;
    const size_t head = (size_t)blockIdx.y * seq_len * D;
    q += head; k += head; v += head; o += head;
    const int q0 = blockIdx.x * BR;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int g = lane / 4, t = lane % 4;

    // Q once, through shared memory into A fragments that stay in registers.
    Stage<D> st;
    st.load(q, q0, seq_len);
    st.store(sK);
    __syncthreads();
    uint32_t qf[D / 16][4];
    for (int kk = 0; kk < D / 16; kk++)
        ldmatrix_x4(qf[kk], sK + (warp * 16 + lane % 16) * STRIDE + kk * 16 + (lane / 16) * 8);
    st.load(k, 0, seq_len);
    __syncthreads();  // every warp has its Q fragments before K_0 overwrites them

    float acc[D / 8][4] = {};
    float m[2] = {NEG_INF, NEG_INF}, l[2] = {0.f, 0.f};
    // exp(x / sqrt(D)) = exp2(x * log2(e) / sqrt(D)): one multiply folds both in.
    const float sl2 = rsqrtf((float)D) * 1.4426950408889634f;

    for (int kv0 = 0; kv0 < seq_len; kv0 += BC) {
        // sK's last reads (Q K_{j-1}^T, or Q's fragments) came before the previous barrier.
        st.store(sK);
        __syncthreads();
        st.load(v, kv0, seq_len);  // in flight during Q K_j^T and the softmax

        // S = Q K^T: K rows are keys, so K's row-major tile is already B's column-major one.
        float s[BC / 8][4] = {};
        for (int kk = 0; kk < D / 16; kk++)
            for (int np = 0; np < BC / 16; np++) {
                uint32_t b[4];
                ldmatrix_x4(b, sK + (np * 16 + lane % 8 + 8 * (lane / 16)) * STRIDE + kk * 16 +
                                   8 * ((lane / 8) & 1));
                Half<T>::mma(s[2 * np], qf[kk], b[0], b[1]);
                Half<T>::mma(s[2 * np + 1], qf[kk], b[2], b[3]);
            }

        // Online softmax; a lane holds rows g (regs 0,1) and g + 8 (regs 2,3).
        float mnew[2] = {m[0], m[1]};
        for (int nt = 0; nt < BC / 8; nt++)
            for (int r = 0; r < 4; r++) {
                if (kv0 + nt * 8 + 2 * t + (r & 1) >= seq_len) s[nt][r] = NEG_INF;
                mnew[r / 2] = fmaxf(mnew[r / 2], s[nt][r]);
            }
        float alpha[2];
        for (int i = 0; i < 2; i++) {
            mnew[i] = fmaxf(mnew[i], __shfl_xor_sync(0xffffffff, mnew[i], 1));
            mnew[i] = fmaxf(mnew[i], __shfl_xor_sync(0xffffffff, mnew[i], 2));
            alpha[i] = exp2f((m[i] - mnew[i]) * sl2);
            m[i] = mnew[i];
            l[i] *= alpha[i];
        }
        for (int nt = 0; nt < BC / 8; nt++)
            for (int r = 0; r < 4; r++) {
                s[nt][r] = exp2f(fmaf(s[nt][r], sl2, -m[r / 2] * sl2));
                l[r / 2] += s[nt][r];
            }
        for (int n = 0; n < D / 8; n++)
            for (int r = 0; r < 4; r++) acc[n][r] *= alpha[r / 2];

        // sV's last reads (P V_{j-1}) came before this tile's first barrier.
        st.store(sV);
        __syncthreads();
        if (kv0 + BC < seq_len) st.load(k, kv0 + BC, seq_len);  // in flight during P V_j

        // O += P V: the S accumulators of two n-tiles are one A fragment; V needs .trans.
        for (int kc = 0; kc < BC / 16; kc++) {
            uint32_t pa[4] = {Half<T>::pack(s[2 * kc][0], s[2 * kc][1]),
                              Half<T>::pack(s[2 * kc][2], s[2 * kc][3]),
                              Half<T>::pack(s[2 * kc + 1][0], s[2 * kc + 1][1]),
                              Half<T>::pack(s[2 * kc + 1][2], s[2 * kc + 1][3])};
            for (int dp = 0; dp < D / 16; dp++) {
                uint32_t b[4];
                ldmatrix_x4_trans(b, sV + (kc * 16 + lane % 8 + 8 * ((lane / 8) & 1)) * STRIDE +
                                         dp * 16 + 8 * (lane / 16));
                Half<T>::mma(acc[2 * dp], pa, b[0], b[1]);
                Half<T>::mma(acc[2 * dp + 1], pa, b[2], b[3]);
            }
        }
    }

    for (int i = 0; i < 2; i++) {
        l[i] += __shfl_xor_sync(0xffffffff, l[i], 1);
        l[i] += __shfl_xor_sync(0xffffffff, l[i], 2);
    }
    for (int half = 0; half < 2; half++) {
        int row = q0 + warp * 16 + g + 8 * half;
        if (row >= seq_len) continue;
        float inv = 1.f / l[half];
        for (int n = 0; n < D / 8; n++)
            *reinterpret_cast<uint32_t*>(o + (size_t)row * D + n * 8 + 2 * t) =
                Half<T>::pack(acc[n][2 * half] * inv, acc[n][2 * half + 1] * inv);
    }
}

// One shared buffer sized for D = 128, shared by both paths (two static arrays would add up).
#define ENTRY(NAME, T)                                                                        \
    extern "C" __global__ void __launch_bounds__(THREADS)                                     \
        NAME(const T* q, const T* k, const T* v, T* o, int seq_len, int head_dim) {           \
        __shared__ alignas(16) T smem[2 * BC * (MAX_D + PAD)];                                \
        if (head_dim == 64)                                                                   \
            attention<T, 64>(q, k, v, o, seq_len, smem, smem + BC * (MAX_D + PAD));           \
        else                                                                                  \
            attention<T, 128>(q, k, v, o, seq_len, smem, smem + BC * (MAX_D + PAD));          \
    }
ENTRY(flash_attention_f16, __half)
ENTRY(flash_attention_bf16, __nv_bfloat16)
