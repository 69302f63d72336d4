// expect: kept in 16 bits
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

#define TILE 64
#define KT 8 // ints (32 bytes of k) per shared-memory step
#define PAD 1

extern "C" __global__ void gemm_int8(const signed char* A, const signed char* B, int* C, int m, int n, int k)
{
    __shared__ int As[TILE][KT + PAD];
    __shared__ int Bs[TILE][KT + PAD];
    int tx = threadIdx.x, ty = threadIdx.y;
    int t = ty * 16 + tx;
    int row0 = blockIdx.y * TILE, col0 = blockIdx.x * TILE;
    int k4 = k / 4;
    const int* A4 = reinterpret_cast<const int*>(A);
    const int* B4 = reinterpret_cast<const int*>(B);
    short acc[4][4] = {}; // too narrow: the sums overflow
    for (int p0 = 0; p0 < k4; p0 += KT) {
        // 64 rows x 8 ints of each operand: two ints per thread each, zero past the edges.
        for (int l = t; l < TILE * KT; l += 256) {
            int r = l / KT, c = l % KT;
            int p = p0 + c;
            As[r][c] = (row0 + r < m && p < k4) ? A4[(size_t)(row0 + r) * k4 + p] : 0;
            Bs[r][c] = (col0 + r < n && p < k4) ? B4[(size_t)(col0 + r) * k4 + p] : 0;
        }
        __syncthreads();
#pragma unroll
        for (int c = 0; c < KT; c++) {
            int a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                a[i] = As[ty + 16 * i][c];
                b[i] = Bs[tx + 16 * i][c];
            }
#pragma unroll
            for (int i = 0; i < 4; i++) {
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    acc[i][j] = __dp4a(a[i], b[j], acc[i][j]);
                }
            }
        }
        __syncthreads();
    }
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
            int r = row0 + ty + 16 * i, c = col0 + tx + 16 * j;
            if (r < m && c < n) {
                C[(size_t)r * n + c] = acc[i][j];
            }
        }
    }
}
