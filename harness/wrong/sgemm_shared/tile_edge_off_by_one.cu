// expect: one past the end of A
// expect-gpu: every element of C is wrong
// Known-wrong: tests k0 + tx <= K at the tile edge: one element past each row of A sneaks in (past the last row: the poison kernlings keeps around A).
// SGEMM, step 3: stage 32x32 tiles of A and B in shared memory.
//
// Launch: block = 1024 threads (1D), grid = (ceil(N / 32), ceil(M / 32)), as in step 2.
// Each element of A and B is now read from global memory once per block instead of once per
// thread: every thread loads one element of each tile, and the 32 multiply-adds per tile read
// shared memory. Tiles that hang over the edge of A or B are padded with zeros, which add
// nothing to the dot products.

#define BLOCK 32

extern "C" __global__ void sgemm(const float* A, const float* B, float* C, int M, int N, int K) {
    __shared__ float As[BLOCK * BLOCK];
    __shared__ float Bs[BLOCK * BLOCK];

    const int ty = threadIdx.x / BLOCK;  // this thread's row within the tile
    const int tx = threadIdx.x % BLOCK;  // ... and column: consecutive lanes, consecutive columns
    const int row = blockIdx.y * BLOCK + ty;
    const int col = blockIdx.x * BLOCK + tx;

    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += BLOCK) {
        // Every thread loads, even those whose (row, col) is outside C: their elements of the
        // tiles are needed by the others.
        As[ty * BLOCK + tx] = (row < M && k0 + tx <= K) ? A[row * K + k0 + tx] : 0.0f;
        Bs[ty * BLOCK + tx] = (k0 + ty < K && col < N) ? B[(k0 + ty) * N + col] : 0.0f;
        __syncthreads();  // the tiles are complete before anyone reads them

        for (int k = 0; k < BLOCK; ++k) acc += As[ty * BLOCK + k] * Bs[k * BLOCK + tx];
        __syncthreads();  // everyone is done reading before the next iteration overwrites them
    }
    if (row < M && col < N) C[row * N + col] = acc;
}
