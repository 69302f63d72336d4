// Exercise: C = A B^T in int8 with int32 results, exactly, four multiply-adds an instruction.
//
// A is m x k int8, B is n x k int8 (row j of B is column j of the product: the layout of a
// weight matrix, [out, in]), both row-major, k a multiple of 4; C is m x n int32 and
// C[i][j] = sum over p of A[i][p] * B[j][p]. Integer sums are exact: C must be too.
//
// Launch (fixed by the harness): blockDim = (16, 16), gridDim = (ceil(n / 64), ceil(m / 64)).
// Block (bx, by) owns the 64 x 64 tile of C at rows 64 by, columns 64 bx; thread (tx, ty)
// owns the 16 elements at tile rows ty + 16 i and tile columns tx + 16 j, for i, j in 0..3.
//
// __dp4a(a, b, c) treats the ints a and b as four signed bytes each and returns
// c + a0 b0 + a1 b1 + a2 b2 + a3 b3: four consecutive k at once, when a row's bytes are read
// as ints (k is a multiple of 4, so every row starts 4-byte aligned).
//
// What to aim for: the bar compares your time with the harness's cuBLAS SGEMM (f32) of the
// same shape in the same run: one dp4a does four multiply-adds where an FFMA does one.
// First make it right with one byte at a time; then dp4a; then tiles in shared memory
// (module 03), so each byte of A and B is read from global memory once per block.

#define TILE 64

extern "C" __global__ void gemm_int8(const signed char* A, const signed char* B, int* C, int m, int n, int k)
{
    int tx = threadIdx.x, ty = threadIdx.y;
    int row0 = blockIdx.y * TILE, col0 = blockIdx.x * TILE;
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
            int r = row0 + ty + 16 * i, c = col0 + tx + 16 * j;
            if (r < m && c < n) {
                int acc = 0;
                // TODO: acc = the dot product of row r of A and row c of B. What type must
                //       the sum of k products of two int8 have?
                C[(size_t)r * n + c] = acc;
            }
        }
    }
}
