// calibrate: pass
// source: siboehm/SGEMM_CUDA, kernel 2 (sgemm_global_mem_coalesce), BLOCKSIZE 32 in a 1D block of 1024; grid axes as the harness launches them (x over columns)
// This rung's kernel: lanes of a warp on 32 neighbouring columns of C: B and C coalesced, A broadcast.

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
