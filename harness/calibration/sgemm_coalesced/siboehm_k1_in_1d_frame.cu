// calibrate: too slow
// source: siboehm/SGEMM_CUDA, kernel 1 (sgemm_naive), its lane-to-row mapping written in this rung's 1D block of 1024
// expect-cpu: not coalesced
// The previous rung: consecutive threadIdx.x walk down a column of C, so every load of B and
// store of C touches 32 rows.

#define BLOCK 32

extern "C" __global__ void sgemm(const float* A, const float* B, float* C, int M, int N, int K) {
    const int row = blockIdx.y * BLOCK + threadIdx.x % BLOCK;
    const int col = blockIdx.x * BLOCK + threadIdx.x / BLOCK;
    if (row < M && col < N) {
        float acc = 0.0f;
        for (int k = 0; k < K; ++k) acc += A[row * K + k] * B[k * N + col];
        C[row * N + col] = acc;
    }
}
