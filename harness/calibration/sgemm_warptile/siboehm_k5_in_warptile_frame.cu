// calibrate: too slow
// source: siboehm/SGEMM_CUDA, kernel 5 (sgemm2DBlocktiling), the previous rung's idea in this rung's launch: 128 threads on a 128 x 128 tile, BK = 16, each thread a 16 x 8 block of C, scalar loads, A not transposed
// The previous rung: register blocking without float4 accesses or warp tiles.

#define BM 128
#define BN 128
#define BK 16
#define THREADS 128
#define TN 8
#define TM ((BM * BN) / (THREADS * TN))  // 16

extern "C" __global__ void __launch_bounds__(THREADS)
sgemm(const float* A, const float* B, float* C, int M, int N, int K) {
    __shared__ float As[BM * BK];
    __shared__ float Bs[BK * BN];

    const int rowBase = blockIdx.y * BM;
    const int colBase = blockIdx.x * BN;
    const int threadRow = threadIdx.x / (BN / TN);  // 0..7
    const int threadCol = threadIdx.x % (BN / TN);  // 0..15

    const int innerRowA = threadIdx.x / BK, innerColA = threadIdx.x % BK;
    const int strideA = THREADS / BK;  // 8
    const int innerRowB = threadIdx.x / BN, innerColB = threadIdx.x % BN;
    const int strideB = THREADS / BN;  // 1

    float results[TM * TN] = {0.0f};
    float regM[TM];
    float regN[TN];

    for (int bk = 0; bk < K; bk += BK) {
        for (int off = 0; off < BM; off += strideA) {
            const int r = rowBase + innerRowA + off, c = bk + innerColA;
            As[(innerRowA + off) * BK + innerColA] = (r < M && c < K) ? A[r * K + c] : 0.0f;
        }
        for (int off = 0; off < BK; off += strideB) {
            const int r = bk + innerRowB + off, c = colBase + innerColB;
            Bs[(innerRowB + off) * BN + innerColB] = (r < K && c < N) ? B[r * N + c] : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int dot = 0; dot < BK; ++dot) {
#pragma unroll
            for (int i = 0; i < TM; ++i) regM[i] = As[(threadRow * TM + i) * BK + dot];
#pragma unroll
            for (int j = 0; j < TN; ++j) regN[j] = Bs[dot * BN + threadCol * TN + j];
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) results[i * TN + j] += regM[i] * regN[j];
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < TM; ++i) {
#pragma unroll
        for (int j = 0; j < TN; ++j) {
            const int r = rowBase + threadRow * TM + i, c = colBase + threadCol * TN + j;
            if (r < M && c < N) C[r * N + c] = results[i * TN + j];
        }
    }
}
