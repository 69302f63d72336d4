// calibrate: pass
// source: siboehm/SGEMM_CUDA, kernel 4 (sgemm1DBlocktiling), BM = BN = 64, BK = 8, TM = 8, 512 threads; zero-filled edge tiles and guarded stores added
// This rung's kernel: per k, one value of B in a register serves TM = 8 multiply-adds.

#define BM 64
#define BN 64
#define BK 8
#define TM 8

extern "C" __global__ void __launch_bounds__(BM * BN / TM)
sgemm(const float* A, const float* B, float* C, int M, int N, int K) {
    __shared__ float As[BM * BK];
    __shared__ float Bs[BK * BN];

    const int rowBase = blockIdx.y * BM;
    const int colBase = blockIdx.x * BN;
    const int threadCol = threadIdx.x % BN;
    const int threadRow = threadIdx.x / BN;
    const int aRow = threadIdx.x / BK, aCol = threadIdx.x % BK;
    const int bRow = threadIdx.x / BN, bCol = threadIdx.x % BN;

    float acc[TM] = {0.0f};
    for (int k0 = 0; k0 < K; k0 += BK) {
        const int ar = rowBase + aRow, ak = k0 + aCol;
        As[aRow * BK + aCol] = (ar < M && ak < K) ? A[ar * K + ak] : 0.0f;
        const int bk = k0 + bRow, bc = colBase + bCol;
        Bs[bRow * BN + bCol] = (bk < K && bc < N) ? B[bk * N + bc] : 0.0f;
        __syncthreads();
        // siboehm's loop order: the value of B outside, the TM rows of A inside.
#pragma unroll
        for (int k = 0; k < BK; ++k) {
            const float b = Bs[k * BN + threadCol];
#pragma unroll
            for (int i = 0; i < TM; ++i) acc[i] += As[(threadRow * TM + i) * BK + k] * b;
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int row = rowBase + threadRow * TM + i, col = colBase + threadCol;
        if (row < M && col < N) C[row * N + col] = acc[i];
    }
}
