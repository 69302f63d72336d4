// calibrate: pass
// source: siboehm/SGEMM_CUDA, kernel 1 (sgemm_naive): x walks rows of C, y columns; alpha = 1, beta = 0 dropped
// This rung's kernel: one thread per element of C, a warp's lanes on 32 rows of C.

extern "C" __global__ void sgemm(const float* A, const float* B, float* C, int M, int N, int K) {
    const int row = blockIdx.x * blockDim.x + threadIdx.x;
    const int col = blockIdx.y * blockDim.y + threadIdx.y;
    if (row < M && col < N) {
        float acc = 0.0f;
        for (int k = 0; k < K; ++k) acc += A[row * K + k] * B[k * N + col];
        C[row * N + col] = acc;
    }
}
