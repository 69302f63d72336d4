// expect: one past the end of A
// expect-gpu: wrote past the end of C
// Known-wrong: no bounds check: threads of the rounded-up grid read and write past A, B and C.
// SGEMM, step 1: one thread per element of C, every operand straight from global memory.
//
// C = A * B, row-major: A is M x K, B is K x N, C is M x N.
// Launch: block = (32, 32), grid = (ceil(M / 32), ceil(N / 32)): x walks down the rows of C.
// That mapping is the slow part: the 32 lanes of a warp (consecutive threadIdx.x) own 32
// different rows, so each load of A touches 32 sectors and each store of C another 32.

extern "C" __global__ void sgemm(const float* A, const float* B, float* C, int M, int N, int K) {
    const int row = blockIdx.x * blockDim.x + threadIdx.x;
    const int col = blockIdx.y * blockDim.y + threadIdx.y;
    // The grid is rounded up to whole blocks: threads past the edge of C have nothing to do.
    {
        float acc = 0.0f;
        for (int k = 0; k < K; ++k) acc += A[row * K + k] * B[k * N + col];
        C[row * N + col] = acc;
    }
}
