// sgemm5_2d_blocktile: C = A * B, each thread computing an 8 x 8 block of C.
//
// A is M x K, B is K x N, C is M x N, all f32 row-major (see sgemm1_naive).
//
// Launch (fixed by the harness):
//   block = 256 threads (1D), grid = (ceil(N / 128), ceil(M / 128))
//   block (bx, by) owns the BM x BN = 128 x 128 tile of C at (row by*128, column bx*128).
// Along K the block walks in steps of BK = 8: a 128 x 8 tile of A and an 8 x 128 tile of B,
// 1024 elements each, so every thread loads 4 elements of each tile.
// The 256 threads form a 16 x 16 grid; thread (threadRow, threadCol) computes the TM x TN =
// 8 x 8 block of C at rows threadRow*8 .. +7, columns threadCol*8 .. +7 of the C tile.
//
// The limit you hit in step 4: still about one shared-memory load per multiply-add.
// Here, for each k of the tile, a thread copies its 8 values of A (a column slice of As) and
// its 8 values of B (a row slice of Bs) into registers, then does all 64 products of the
// outer product: 16 loads for 64 multiply-adds. Now the arithmetic units set the pace.
//
// Aim: well above step 4 (the harness prints the bar: siboehm's kernel 5, written in this
// frame, clears it).
// acc, regM and regN must stay in registers: index them only with loop counters of loops
// with constant trip counts, which the compiler unrolls (`#pragma unroll` asks it to).

#define BM 128
#define BN 128
#define BK 8
#define TM 8
#define TN 8
#define THREADS ((BM / TM) * (BN / TN))  // 256

// The 64 accumulators take ~160 registers per thread, so only one block of 256 threads would
// fit on an SM; (THREADS, 2) caps registers at 128 so that two blocks overlap their loads
// with each other's arithmetic.
extern "C" __global__ void __launch_bounds__(THREADS, 2)
sgemm(const float* A, const float* B, float* C, int M, int N, int K) {
    __shared__ float As[BM * BK];
    __shared__ float Bs[BK * BN];

    const int rowBase = blockIdx.y * BM;
    const int colBase = blockIdx.x * BN;

    const int threadRow = threadIdx.x / (BN / TN);  // 0..15
    const int threadCol = threadIdx.x % (BN / TN);  // 0..15

    // Load layout: this thread loads A-tile elements (aRow + r, aCol) for r = 0, 32, 64, 96
    // and B-tile elements (bRow + r, bCol) for r = 0, 2, 4, 6.
    const int aRow = threadIdx.x / BK, aCol = threadIdx.x % BK;
    const int aStride = THREADS / BK;  // 32
    const int bRow = threadIdx.x / BN, bCol = threadIdx.x % BN;
    const int bStride = THREADS / BN;  // 2

    float acc[TM * TN] = {0.0f};
    float regM[TM];
    float regN[TN];

    for (int k0 = 0; k0 < K; k0 += BK) {
        // TODO 1: load this thread's 4 elements of each tile (zero outside A and B), then sync.

        // TODO 2: for each k of the tile: fill regM from As and regN from Bs, then add the
        // outer product regM x regN into acc. Sync before the next tile overwrites As and Bs.
    }
    // TODO 3: write the 8 x 8 results that fall inside C.
}
