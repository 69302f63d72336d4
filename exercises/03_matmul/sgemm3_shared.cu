// sgemm3_shared: C = A * B with 32 x 32 tiles of A and B staged in shared memory.
//
// A is M x K, B is K x N, C is M x N, all f32 row-major (see sgemm1_naive).
//
// Launch (fixed by the harness), the same as step 2:
//   block = 1024 threads (1D), grid = (ceil(N / 32), ceil(M / 32)),
//   block (bx, by) owns the 32 x 32 tile of C at (row by*32, column bx*32).
//
// The limit you hit in step 2: every thread still loads a full row of A and column of B
// from global memory: 2K loads per element of C, and each value of A and B is fetched by 32
// different threads of the block. Instead, walk along K in steps of 32: the block loads a
// 32 x 32 tile of A and one of B into shared memory (one element each per thread,
// coalesced), then each thread does 32 multiply-adds reading only shared memory.
// The edges: K, M and N are not multiples of 32, so the last tiles hang over the matrices.
// A tile element outside A or B must still be *something* the dot product can use safely.
//
// Aim: faster than step 2, by the bar the harness prints. Careful: on an H100/H200 the big L1
// cache already catches much of step 2's reuse, so plain 32 x 32 tiling gains less than
// textbooks promise. On the CPU backend the harness counts the sectors your kernel moves
// through global memory: a tiled kernel moves an order of magnitude fewer than step 2.

#define BLOCK 32

extern "C" __global__ void sgemm(const float* A, const float* B, float* C, int M, int N, int K) {
    __shared__ float As[BLOCK * BLOCK];
    __shared__ float Bs[BLOCK * BLOCK];

    const int ty = threadIdx.x / BLOCK;  // this thread's row within the tile
    const int tx = threadIdx.x % BLOCK;  // ... and its column
    const int row = blockIdx.y * BLOCK + ty;
    const int col = blockIdx.x * BLOCK + tx;

    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += BLOCK) {
        // TODO 1: load element (ty, tx) of this step's tile of A (rows of C's tile, columns
        // k0..k0+31) and of B (rows k0..k0+31, columns of C's tile) into As and Bs.

        // TODO 2: accumulate this tile's contribution to C(row, col) into acc.
        // Think about when each thread may read the tiles, and when they may be overwritten.
    }
    // TODO 3: write acc to C if (row, col) is inside C.
}
