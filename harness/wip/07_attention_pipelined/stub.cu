// flash_attention_pipelined: your flash_attention_tc with the K/V tiles copied by cp.async into two
// stages, so the next tile streams in while this one is computed, and an XOR swizzle in
// place of the padding (16-byte chunk c of row r sits at chunk c ^ (r % 8)).
//
// Same contract as flash_attention_tc: Q, K, V, O [B, H, S, D] fp16 or bf16 row-major, D 64
// or 128, entry points flash_attention_f16 and flash_attention_bf16; grid (ceil(S / 64), B*H),
// block 128 threads, warp w owning query rows q0 + 16w .. q0 + 16w + 15. The fragment layouts
// are flash_attention_tc's header. A K/V tile holds 64 keys at D = 64 and 32 at D = 128, so
// that two stages of K and V fit in 32 KB of shared memory either way.
//
// Aim: faster than a good flash_attention_tc; kernlings times yours against its unfused fp16
// attention and cuBLAS HGEMM in the same run.
#include <cuda_fp16.h>
#include <cuda_bf16.h>
typedef unsigned int uint32_t;

constexpr int BR = 64;       // query rows per block
constexpr int THREADS = 128;
// Keys per K/V tile: two stages of K and V in 32 KB for either D.
template <int D> __device__ constexpr int bc() { return D == 64 ? 64 : 32; }
constexpr int SMEM = 2 * 2 * 64 * 64;  // elements
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

// Element offset of (row, col) in a swizzled [rows][D] tile; col is a multiple of 8.
template <int D> __device__ int swz(int row, int col) {
    // TODO 3: this is the plain row-major layout, and the 8 rows an ldmatrix reads then sit
    // in the same banks. Move chunk col / 8 of the row so that they do not.
    return row * D + col;
}

// Queue the copy of rows r0..r0+ROWS-1 of a [S][D] matrix; rows past S are zero-filled
// (src-size 0) from a valid address, so nothing past the buffer is read.
template <typename T, int D, int ROWS>
__device__ void issue_tile(T* s, const T* g, int r0, int seq_len) {
    // TODO 1: every thread queues 16-byte chunks of the tile with cp.async.cg.shared.global
    // (the shared address from __cvta_generic_to_shared, placed by swz). A row past seq_len
    // must come out as zeros without reading past the matrix.
}
__device__ void commit() { asm volatile("cp.async.commit_group;"); }
template <int N> __device__ void wait_groups() { asm volatile("cp.async.wait_group %0;" :: "n"(N)); }

template <typename T, int D>
__device__ void attention(const T* q, const T* k, const T* v, T* o, int seq_len,
                          T* smem) {
    constexpr int BC = bc<D>();
    constexpr int TILE = BC * D;
    // stage s: K at smem + 2*s*TILE, V right after it.
    const size_t head = (size_t)blockIdx.y * seq_len * D;
    q += head; k += head; v += head; o += head;
    const int q0 = blockIdx.x * BR;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int g = lane / 4, t = lane % 4;
    const int tiles = (seq_len + BC - 1) / BC;

    // Q into stage 1 (free until tile 1 is queued), tile 0 into stage 0: one group.
    issue_tile<T, D, BR>(smem + 2 * TILE, q, q0, seq_len);
    issue_tile<T, D, BC>(smem, k, 0, seq_len);
    issue_tile<T, D, BC>(smem + TILE, v, 0, seq_len);
    commit();
    wait_groups<0>();
    __syncthreads();
    uint32_t qf[D / 16][4];
    for (int kk = 0; kk < D / 16; kk++)
        ldmatrix_x4(qf[kk], smem + 2 * TILE + swz<D>(warp * 16 + lane % 16, kk * 16 + (lane / 16) * 8));
    __syncthreads();

    float acc[D / 8][4] = {};
    float m[2] = {NEG_INF, NEG_INF}, l[2] = {0.f, 0.f};
    // exp(x / sqrt(D)) = exp2(x * log2(e) / sqrt(D)): one multiply folds both in.
    const float sl2 = rsqrtf((float)D) * 1.4426950408889634f;

    for (int j = 0; j < tiles; j++) {
        // TODO 2: tile j was queued one iteration ago (tile 0 before the loop). Queue tile j + 1
        // into the other stage now, then wait until tile j, and only tile j, has landed, and
        // make it visible to the whole block.
        const T* sK = smem + 2 * (j & 1) * TILE;
        const T* sV = sK + TILE;
        const int kv0 = j * BC;
        // S = Q K^T: K rows are keys, so K's row-major tile is already B's column-major one.
        float s[BC / 8][4] = {};
        for (int kk = 0; kk < D / 16; kk++)
            for (int np = 0; np < BC / 16; np++) {
                uint32_t b[4];
                ldmatrix_x4(b, sK + swz<D>(np * 16 + lane % 8 + 8 * (lane / 16),
                                          kk * 16 + 8 * ((lane / 8) & 1)));
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

        // O += P V: the S accumulators of two n-tiles are one A fragment; V needs .trans.
        for (int kc = 0; kc < BC / 16; kc++) {
            uint32_t pa[4] = {Half<T>::pack(s[2 * kc][0], s[2 * kc][1]),
                              Half<T>::pack(s[2 * kc][2], s[2 * kc][3]),
                              Half<T>::pack(s[2 * kc + 1][0], s[2 * kc + 1][1]),
                              Half<T>::pack(s[2 * kc + 1][2], s[2 * kc + 1][3])};
            for (int dp = 0; dp < D / 16; dp++) {
                uint32_t b[4];
                ldmatrix_x4_trans(b, sV + swz<D>(kc * 16 + lane % 8 + 8 * ((lane / 8) & 1),
                                                dp * 16 + 8 * (lane / 16)));
                Half<T>::mma(acc[2 * dp], pa, b[0], b[1]);
                Half<T>::mma(acc[2 * dp + 1], pa, b[2], b[3]);
            }
        }
        __syncthreads();  // every warp is done with this stage before it is refilled
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

#define ENTRY(NAME, T)                                                                        \
    extern "C" __global__ void __launch_bounds__(THREADS)                                     \
        NAME(const T* q, const T* k, const T* v, T* o, int seq_len, int head_dim) {           \
        __shared__ alignas(128) T smem[SMEM];                                                 \
        if (head_dim == 64)                                                                   \
            attention<T, 64>(q, k, v, o, seq_len, smem);                                      \
        else                                                                                  \
            attention<T, 128>(q, k, v, o, seq_len, smem);                                     \
    }
ENTRY(flash_attention_f16, __half)
ENTRY(flash_attention_bf16, __nv_bfloat16)
