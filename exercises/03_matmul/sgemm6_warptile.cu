// sgemm6_warptile: C = A * B with 128-bit (float4) memory accesses and warp tiling.
//
// A is M x K, B is K x N, C is M x N, all f32 row-major (see sgemm1_naive).
// For this step the harness only uses sizes where N and K are multiples of 4: every row then
// starts on a 16-byte boundary, and a float4 at a column that is a multiple of 4 is either
// entirely inside the matrix or entirely outside. M is anything.
//
// Launch (fixed by the harness):
//   block = 128 threads (4 warps), grid = (ceil(N / 128), ceil(M / 128))
//   block (bx, by) owns the 128 x 128 tile of C at (row by*128, column bx*128); BK = 16.
// The block tile is split into 2 x 2 warp tiles of WM x WN = 64 x 64. A warp computes its
// tile as WNITER = 4 sub-tiles of WSUBM x WSUBN = 64 x 16, side by side along N; inside each
// sub-tile, lane l owns the TM x TN = 8 x 4 piece at sub-tile row (l / 4)*8, column (l % 4)*4.
// So each thread accumulates 8 x 16 = 128 results.
//
// Two ideas on top of step 5:
// 1. Vectorize: load A and B from global memory as float4; store the A tile *transposed*
//    (As[k * BM + m]) so that, for one k, a thread's 8 values of A are contiguous in shared
//    memory and load as two float4s, like its values of B; store C as float4s.
// 2. Warp tiling: with this layout the 32 lanes of a warp read only 8 distinct float4s of As
//    and 4 of Bs per k: broadcasts, no bank conflicts, and a warp's data stays together.
//
// Aim: the bar the harness prints, above what step 5 reaches. float4 accesses must be 16-byte
// aligned: a shared array used with float4 needs __align__(16).

#define BM 128
#define BN 128
#define BK 16
#define WM 64
#define WN 64
#define WNITER 4
#define TM 8
#define TN 4
#define THREADS 128
#define WMITER ((WM * WN) / (32 * TM * TN * WNITER))  // 1
#define WSUBM (WM / WMITER)                          // 64
#define WSUBN (WN / WNITER)                          // 16

extern "C" __global__ void __launch_bounds__(THREADS)
sgemm(const float* A, const float* B, float* C, int M, int N, int K) {
    __shared__ __align__(16) float As[BK * BM];  // transposed: As[k * BM + m]
    __shared__ __align__(16) float Bs[BK * BN];

    const int rowBase = blockIdx.y * BM;
    const int colBase = blockIdx.x * BN;

    const int warp = threadIdx.x / 32;
    const int warpRow = warp / (BN / WN);
    const int warpCol = warp % (BN / WN);
    const int lane = threadIdx.x % 32;
    const int threadRowInWarp = lane / (WSUBN / TN);  // 0..7
    const int threadColInWarp = lane % (WSUBN / TN);  // 0..3

    // Load layout: a row of the A tile is BK / 4 = 4 float4s; a row of the B tile BN / 4 = 32.
    // This thread loads float4 number aCol of A-tile rows aRow + r (r = 0, 32, 64, 96) and
    // float4 number bCol of B-tile rows bRow + r (r = 0, 4, 8, 12).
    const int aRow = threadIdx.x / (BK / 4), aCol = threadIdx.x % (BK / 4);
    const int aStride = THREADS / (BK / 4);  // 32
    const int bRow = threadIdx.x / (BN / 4), bCol = threadIdx.x % (BN / 4);
    const int bStride = THREADS / (BN / 4);  // 4

    float acc[WMITER * TM * WNITER * TN] = {0.0f};
    float regM[WMITER * TM];
    float regN[WNITER * TN];

    for (int k0 = 0; k0 < K; k0 += BK) {
        // TODO 1: load the A tile with float4 loads (zeros outside A) and store it transposed
        // into As; load the B tile with float4 loads into Bs. Sync.

        // TODO 2: for each k of the tile: load this thread's WMITER*TM values of A and
        // WNITER*TN values of B (float4 loads from As and Bs) into regM and regN, and add their
        // outer product into acc. Sync before the next tile overwrites As and Bs.
    }
    // TODO 3: store acc into C as float4s: acc[(wm*TM + i) * WNITER*TN + wn*TN + 0..3] goes to
    // row rowBase + warpRow*WM + wm*WSUBM + threadRowInWarp*TM + i,
    // columns colBase + warpCol*WN + wn*WSUBN + threadColInWarp*TN + 0..3, when inside C.
}
