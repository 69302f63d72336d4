// Shared memory, barriers, warp primitives and atomics, as the curriculum's later modules use.
#include <cuda_fp16.h>
#define TILE 32

extern "C" __global__ void transpose_tiled(const float* in, float* out, int rows, int cols) {
    __shared__ float tile[TILE][TILE + 1];
    int x = blockIdx.x * TILE + threadIdx.x;
    int y = blockIdx.y * TILE + threadIdx.y;
    for (int j = 0; j < TILE; j += blockDim.y)
        if (x < cols && y + j < rows) tile[threadIdx.y + j][threadIdx.x] = in[(y + j) * cols + x];
    __syncthreads();
    x = blockIdx.y * TILE + threadIdx.x;
    y = blockIdx.x * TILE + threadIdx.y;
    for (int j = 0; j < TILE; j += blockDim.y)
        if (x < rows && y + j < cols) out[(y + j) * rows + x] = tile[threadIdx.x][threadIdx.y + j];
}

// The same without padding: every column read hits one bank.
extern "C" __global__ void transpose_conflicts(const float* in, float* out, int rows, int cols) {
    __shared__ float tile[TILE][TILE];
    int x = blockIdx.x * TILE + threadIdx.x;
    int y = blockIdx.y * TILE + threadIdx.y;
    for (int j = 0; j < TILE; j += blockDim.y)
        if (x < cols && y + j < rows) tile[threadIdx.y + j][threadIdx.x] = in[(y + j) * cols + x];
    __syncthreads();
    x = blockIdx.y * TILE + threadIdx.x;
    y = blockIdx.x * TILE + threadIdx.y;
    for (int j = 0; j < TILE; j += blockDim.y)
        if (x < rows && y + j < cols) out[(y + j) * rows + x] = tile[threadIdx.x][threadIdx.y + j];
}

#define MT 16
extern "C" __global__ void matmul_tiled(const float* A, const float* B, float* C, int M, int N, int K) {
    __shared__ float As[MT][MT];
    __shared__ float Bs[MT][MT];
    int row = blockIdx.y * MT + threadIdx.y, col = blockIdx.x * MT + threadIdx.x;
    float acc = 0.f;
    for (int t = 0; t < K; t += MT) {
        As[threadIdx.y][threadIdx.x] = (row < M && t + threadIdx.x < K) ? A[row * K + t + threadIdx.x] : 0.f;
        Bs[threadIdx.y][threadIdx.x] = (col < N && t + threadIdx.y < K) ? B[(t + threadIdx.y) * N + col] : 0.f;
        __syncthreads();
        for (int k = 0; k < MT; ++k) acc += As[threadIdx.y][k] * Bs[k][threadIdx.x];
        __syncthreads();
    }
    if (row < M && col < N) C[row * N + col] = acc;
}

extern "C" __global__ void reduce_tree(const float* in, float* partial, int n) {
    __shared__ float s[256];
    int t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
    s[t] = i < n ? in[i] : 0.f;
    __syncthreads();
    for (int k = blockDim.x / 2; k > 0; k >>= 1) {
        if (t < k) s[t] += s[t + k];
        __syncthreads();
    }
    if (t == 0) partial[blockIdx.x] = s[0];
}

extern "C" __global__ void reduce_shfl(const float* in, float* out, int n) {
    float v = 0.f;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) v += in[i];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffff, v, o);
    __shared__ float warp_sums[32];
    int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < blockDim.x / 32 ? warp_sums[lane] : 0.f;
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffff, v, o);
        if (lane == 0) atomicAdd(out, v);
    }
}

extern "C" __global__ void atomics(const int* in, int* isum, float* fsum, unsigned* maxv, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        atomicAdd(isum, in[i]);
        atomicAdd(fsum, (float)(in[i] % 100) * 0.5f);
        atomicMax(maxv, (unsigned)in[i]);
    }
}

// Inclusive scan of one block (n <= blockDim.x), double-buffered Hillis-Steele.
extern "C" __global__ void scan_hillis_steele(const int* in, int* out, int n) {
    extern __shared__ int buf[];
    int t = threadIdx.x;
    int pout = 0, pin = 1;
    buf[t] = t < n ? in[t] : 0;
    __syncthreads();
    for (int off = 1; off < blockDim.x; off <<= 1) {
        pout = 1 - pout;
        pin = 1 - pout;
        int v = buf[pin * blockDim.x + t];
        if (t >= off) v += buf[pin * blockDim.x + t - off];
        buf[pout * blockDim.x + t] = v;
        __syncthreads();
    }
    if (t < n) out[t] = buf[pout * blockDim.x + t];
}

// Exclusive work-efficient scan of 2*blockDim.x elements.
extern "C" __global__ void scan_blelloch(const int* in, int* out, int n) {
    extern __shared__ int temp[];
    int t = threadIdx.x, m = 2 * blockDim.x;
    temp[2 * t] = 2 * t < n ? in[2 * t] : 0;
    temp[2 * t + 1] = 2 * t + 1 < n ? in[2 * t + 1] : 0;
    int off = 1;
    for (int d = m >> 1; d > 0; d >>= 1) {
        __syncthreads();
        if (t < d) {
            int ai = off * (2 * t + 1) - 1, bi = off * (2 * t + 2) - 1;
            temp[bi] += temp[ai];
        }
        off *= 2;
    }
    if (t == 0) temp[m - 1] = 0;
    for (int d = 1; d < m; d *= 2) {
        off >>= 1;
        __syncthreads();
        if (t < d) {
            int ai = off * (2 * t + 1) - 1, bi = off * (2 * t + 2) - 1;
            int x = temp[ai];
            temp[ai] = temp[bi];
            temp[bi] += x;
        }
    }
    __syncthreads();
    if (2 * t < n) out[2 * t] = temp[2 * t];
    if (2 * t + 1 < n) out[2 * t + 1] = temp[2 * t + 1];
}

extern "C" __global__ void histogram(const unsigned* in, unsigned* bins, int n) {
    __shared__ unsigned h[256];
    for (int i = threadIdx.x; i < 256; i += blockDim.x) h[i] = 0;
    __syncthreads();
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
        atomicAdd(&h[in[i] & 255], 1u);
    __syncthreads();
    for (int i = threadIdx.x; i < 256; i += blockDim.x) atomicAdd(&bins[i], h[i]);
}

extern "C" __global__ void half_math(const __half* a, const __half* b, __half* c, float* f, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        __half x = __hfma(a[i], b[i], __float2half(0.5f));
        c[i] = __hmul(x, __hsub(a[i], b[i]));
        __half2 p = __halves2half2(a[i], b[i]);
        __half2 q = __hadd2(p, p);
        f[i] = __half2float(__low2half(q)) + __half2float(__high2half(q));
    }
}

extern "C" __global__ void vote_ballot(const int* in, unsigned* out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int v = i < n ? in[i] : 0;
    unsigned b = __ballot_sync(0xffffffff, v > 0);
    int all = __all_sync(0xffffffff, v > -1000000);
    int any = __any_sync(0xffffffff, v > 1000);
    // Shuffled by the whole warp, before the branch: a full-mask shuffle inside `if (i < n)`
    // names lanes that have left (undefined on a GPU; the driver reports it).
    unsigned s = (unsigned)__shfl_sync(0xffffffff, v, 3) ^ (unsigned)__shfl_up_sync(0xffffffff, v, 1);
    if (i < n) out[i] = b ^ (all << 1) ^ any ^ s;
}

// The last warp of a tree reduction, synchronised with __syncwarp(): correct, so no race.
extern "C" __global__ void reduce_syncwarp(const float* in, float* partial) {
    __shared__ float s[64];
    int t = threadIdx.x;
    s[t] = in[blockIdx.x * 64 + t];
    __syncthreads();
    if (t < 32) {
        float v = s[t] + s[t + 32];
        for (int o = 16; o > 0; o >>= 1) {
            __syncwarp();
            s[t] = v;
            __syncwarp();
            if (t < o) v += s[t + o];
        }
        if (t == 0) partial[blockIdx.x] = v;
    }
}

// Packed half comparisons: true only when both halves compare true.
extern "C" __global__ void half2_compare(const __half2* a, const __half2* b, int* out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = __hbgt2(a[i], b[i]) ? 1 : 0;
}

// __syncthreads_count/and/or: a barrier that also counts, ands or ors a predicate.
extern "C" __global__ void barrier_reductions(const int* in, int* out) {
    int v = in[blockIdx.x * blockDim.x + threadIdx.x];
    int count = __syncthreads_count(v > 0);
    int all = __syncthreads_and(v > -50);
    int any = __syncthreads_or(v > 45);
    if (threadIdx.x == 0) {
        out[3 * blockIdx.x] = count;
        out[3 * blockIdx.x + 1] = all;
        out[3 * blockIdx.x + 2] = any;
    }
}
