// sgemm1_naive: matrix multiplication, C = A * B, one thread per element of C.
//
// All matrices are f32 and row-major:
//   A is M x K: element (i, k) is A[i * K + k]
//   B is K x N: element (k, j) is B[k * N + j]
//   C is M x N: element (i, j) is C[i * N + j] = sum over k of A(i, k) * B(k, j)
// The checks use non-square shapes that are not multiples of anything (e.g. M=33, N=17, K=45),
// and compare every element with a CPU reference summed in f64 (relative tolerance 1e-4).
//
// Launch (fixed by the harness):
//   block = (32, 32)
//   grid  = (ceil(M / 32), ceil(N / 32))
// so the x dimension (blockIdx.x, threadIdx.x) walks down the rows of C and y across its
// columns. The grid is rounded up to whole blocks: some threads fall outside C.
//
// The limit: each multiply-add loads two floats from global memory, so this kernel is bound by
// memory traffic, and with this mapping the 32 lanes of a warp sit on 32 different rows.
// Step 2 is about what that costs.
// Aim: correct. On a GPU the harness times you against cuBLAS SGEMM on the same 2048 x 2048
// matrices, in the same run, and prints your fraction of it with this step's bar.

extern "C" __global__ void sgemm(const float* A, const float* B, float* C, int M, int N, int K) {
    // TODO: find this thread's (row, col) of C from the x and y indices, skip it if it is
    // outside C, and write the dot product of row `row` of A with column `col` of B.
}
