// expect: one past the end of C
// expect-gpu: wrote past the end of C
// Known-wrong: stores all 8 results without checking that they fall inside C.
// SGEMM, step 4: 1D block tiling: each thread computes TM = 8 elements of a column of C.
//
// Launch: block = 512 threads (1D), grid = (ceil(N / 64), ceil(M / 64)).
// Tiles: BM x BK = 64 x 8 of A and BK x BN = 8 x 64 of B per step along K.
// Step 3 issued two shared-memory loads per multiply-add. Here a thread keeps one value of
// B in a register and reuses it for TM = 8 rows of A: 9 shared loads for 8 multiply-adds,
// and each block computes a 64x64 tile with half the threads of step 3.

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

    // Compute layout: a warp covers 32 consecutive columns of the block's tile of C;
    // thread t owns rows threadRow*TM .. threadRow*TM + 7 of column threadCol.
    const int threadCol = threadIdx.x % BN;
    const int threadRow = threadIdx.x / BN;

    // Load layout: 512 threads load the 512 elements of each tile, one each, along rows.
    const int aRow = threadIdx.x / BK, aCol = threadIdx.x % BK;
    const int bRow = threadIdx.x / BN, bCol = threadIdx.x % BN;

    float acc[TM] = {0.0f};
    for (int k0 = 0; k0 < K; k0 += BK) {
        const int ar = rowBase + aRow, ak = k0 + aCol;
        const int bk = k0 + bRow, bc = colBase + bCol;
        As[aRow * BK + aCol] = (ar < M && ak < K) ? A[ar * K + ak] : 0.0f;
        Bs[bRow * BN + bCol] = (bk < K && bc < N) ? B[bk * N + bc] : 0.0f;
        __syncthreads();

#pragma unroll
        for (int k = 0; k < BK; ++k) {
            const float b = Bs[k * BN + threadCol];  // one load, reused TM times
            for (int i = 0; i < TM; ++i) acc[i] += As[(threadRow * TM + i) * BK + k] * b;
        }
        __syncthreads();
    }

    const int col = colBase + threadCol;
    for (int i = 0; i < TM; ++i) {
        const int row = rowBase + threadRow * TM + i;
        C[row * N + col] = acc[i];
    }
}
