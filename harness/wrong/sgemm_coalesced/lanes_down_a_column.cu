// expect: not coalesced
// expect-gpu: too slow
// Known-wrong: maps consecutive threads to consecutive rows: correct, but every warp access is uncoalesced.
// SGEMM, step 2: the same arithmetic, with the lanes of a warp on neighbouring columns.
//
// Launch: block = 1024 threads (1D), grid = (ceil(N / 32), ceil(M / 32)); a block owns a
// 32x32 tile of C. Mapping threadIdx.x % 32 to the column makes the 32 lanes of a warp share
// one row: their loads of B[k][col..col+31] and stores to C are 128 contiguous bytes (4
// sectors, coalesced), and their load of A[row][k] is a single broadcast.

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
