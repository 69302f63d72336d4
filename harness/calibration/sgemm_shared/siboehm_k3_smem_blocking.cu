// calibrate: pass
// source: siboehm/SGEMM_CUDA, kernel 3 (sgemm_shared_mem_block), 32x32 tiles of A and B in shared memory; zero-filled edge tiles instead of its multiple-of-32 assumption
// This rung's kernel: each value of A and B fetched once per tile, then read 32 times from shared memory.

#define BLOCK 32

extern "C" __global__ void sgemm(const float* A, const float* B, float* C, int M, int N, int K) {
    __shared__ float As[BLOCK * BLOCK];
    __shared__ float Bs[BLOCK * BLOCK];

    const int ty = threadIdx.x / BLOCK;
    const int tx = threadIdx.x % BLOCK;
    const int row = blockIdx.y * BLOCK + ty;
    const int col = blockIdx.x * BLOCK + tx;

    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += BLOCK) {
        As[ty * BLOCK + tx] = (row < M && k0 + tx < K) ? A[row * K + k0 + tx] : 0.0f;
        Bs[ty * BLOCK + tx] = (k0 + ty < K && col < N) ? B[(k0 + ty) * N + col] : 0.0f;
        __syncthreads();
        for (int k = 0; k < BLOCK; ++k) acc += As[ty * BLOCK + k] * Bs[k * BLOCK + tx];
        __syncthreads();
    }
    if (row < M && col < N) C[row * N + col] = acc;
}
