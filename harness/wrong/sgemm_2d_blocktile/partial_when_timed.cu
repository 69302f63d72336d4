// expect: your kernel's output in the timed runs differs from its checked run
// expect-gpu: your kernel's output in the timed runs differs from its checked run
// A timing cheat: partial work when timed. Each block remembers the C it last wrote; launched
// again on the same buffers (the timing loop's repeats), three blocks in four skip their tile,
// so the kernel looks four times faster than it is and stays under the 2x-cuBLAS guard.
__device__ const float* last_c[1 << 16];
__device__ int last_k[1 << 16];

#define BM 128
#define BN 128
#define BK 8
#define TM 8
#define TN 8
#define THREADS ((BM / TM) * (BN / TN))  // 256

// The 64 accumulators take ~160 registers per thread, so only one block of 256 threads would
// fit on an SM; (THREADS, 2) caps registers at 128 so that two blocks overlap their loads
// with each other's arithmetic.
extern "C" __global__ void __launch_bounds__(THREADS, 2)
sgemm(const float* A, const float* B, float* C, int M, int N, int K) {
    __shared__ float As[BM * BK];
    __shared__ float Bs[BK * BN];
    __shared__ int repeated;
    const int block = blockIdx.y * gridDim.x + blockIdx.x;
    if (threadIdx.x == 0) {
        // The pointer alone is not enough: a freed buffer's address comes back in a later case.
        repeated = last_c[block % (1 << 16)] == C && last_k[block % (1 << 16)] == K;
        last_c[block % (1 << 16)] = C;
        last_k[block % (1 << 16)] = K;
    }
    __syncthreads();
    if (repeated && block % 4 != 0) return;

    const int rowBase = blockIdx.y * BM;
    const int colBase = blockIdx.x * BN;

    // Compute layout: a 16 x 16 grid of threads, each owning a TM x TN block of the C tile.
    const int threadRow = threadIdx.x / (BN / TN);
    const int threadCol = threadIdx.x % (BN / TN);

    // Load layout: each tile has 1024 elements, so each of the 256 threads loads 4, walking
    // down in strides of (256 / row length) rows; consecutive threads read consecutive columns.
    const int aRow = threadIdx.x / BK, aCol = threadIdx.x % BK;
    const int aStride = THREADS / BK;  // 32 rows
    const int bRow = threadIdx.x / BN, bCol = threadIdx.x % BN;
    const int bStride = THREADS / BN;  // 2 rows

    float acc[TM * TN] = {0.0f};
    float regM[TM];
    float regN[TN];

    for (int k0 = 0; k0 < K; k0 += BK) {
        for (int r = 0; r < BM; r += aStride) {
            const int gr = rowBase + aRow + r, gk = k0 + aCol;
            As[(aRow + r) * BK + aCol] = (gr < M && gk < K) ? A[gr * K + gk] : 0.0f;
        }
        for (int r = 0; r < BK; r += bStride) {
            const int gk = k0 + bRow + r, gc = colBase + bCol;
            Bs[(bRow + r) * BN + bCol] = (gk < K && gc < N) ? B[gk * N + gc] : 0.0f;
        }
        __syncthreads();

        // Fully unrolled (constant trip counts), so acc, regM and regN live in registers.
#pragma unroll
        for (int k = 0; k < BK; ++k) {
            for (int i = 0; i < TM; ++i) regM[i] = As[(threadRow * TM + i) * BK + k];
            for (int j = 0; j < TN; ++j) regN[j] = Bs[k * BN + threadCol * TN + j];
            for (int i = 0; i < TM; ++i)
                for (int j = 0; j < TN; ++j) acc[i * TN + j] += regM[i] * regN[j];
        }
        __syncthreads();
    }

    for (int i = 0; i < TM; ++i) {
        const int row = rowBase + threadRow * TM + i;
        for (int j = 0; j < TN; ++j) {
            const int col = colBase + threadCol * TN + j;
            if (row < M && col < N) C[row * N + col] = acc[i * TN + j];
        }
    }
}
