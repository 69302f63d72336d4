// calibrate: too slow
// source: siboehm/SGEMM_CUDA, kernel 2 (sgemm_global_mem_coalesce), the previous rung, in the same launch as this one
// expect-cpu: does not reuse what it loads
// The previous rung: coalesced, but every thread fetches a whole row of A and column of B.
#define BLOCK 32

extern "C" __global__ void sgemm(const float* A, const float* B, float* C, int M, int N, int K) {
    const int row = blockIdx.y * BLOCK + threadIdx.x / BLOCK;
    const int col = blockIdx.x * BLOCK + threadIdx.x % BLOCK;
    if (row < M && col < N) {
        float acc = 0.0f;
        for (int k = 0; k < K; ++k) acc += A[row * K + k] * B[k * N + col];
        C[row * N + col] = acc;
    }
}
