// expect: one past the end of C
// expect-gpu: wrote past the end of C
// Known-wrong: skips a float4 of C only when col > N: at col == N it writes past the end of the row.
// SGEMM, step 6: float4 (128-bit) loads and warp tiling.
//
// Launch: block = 128 threads (4 warps), grid = (ceil(N / 128), ceil(M / 128)).
// The harness only uses sizes where N and K are multiples of 4, so every row of A, B and C
// starts on a 16-byte boundary and a float4 never straddles the edge of a matrix.
//
// Two ideas on top of step 5:
// 1. Vectorized memory access: global loads, shared loads, the B tile's shared stores and
//    the stores of C move 4 floats per instruction. The A tile is stored transposed
//    (As[k][m], 4 scalar stores per float4) so that a thread's TM values of A for one k are
//    contiguous and load as two float4s.
// 2. Warp tiling: the block's 128x128 tile of C is split into four 64x64 warp tiles; a warp
//    computes its tile in WNITER = 4 sub-tiles of 64x16, each thread an 8x4 piece of each.
//    The lanes of a warp then read only a few distinct addresses of As and Bs per step
//    (broadcasts, no bank conflicts), and a warp's working set stays small.

#define BM 128
#define BN 128
#define BK 16
#define WM 64                                        // warp tile: WM x WN of C
#define WN 64
#define WNITER 4                                     // sub-tiles per warp tile along N
#define TM 8                                         // per-thread piece of a sub-tile: TM x TN
#define TN 4
#define THREADS 128
#define WMITER ((WM * WN) / (32 * TM * TN * WNITER))  // 1 sub-tile along M
#define WSUBM (WM / WMITER)                          // 64
#define WSUBN (WN / WNITER)                          // 16

extern "C" __global__ void __launch_bounds__(THREADS)
sgemm(const float* A, const float* B, float* C, int M, int N, int K) {
    // 16-byte alignment so that float4 accesses to shared memory are legal.
    __shared__ __align__(16) float As[BK * BM];  // transposed: As[k * BM + m]
    __shared__ __align__(16) float Bs[BK * BN];

    const int rowBase = blockIdx.y * BM;
    const int colBase = blockIdx.x * BN;

    // Which warp tile of the block's C tile this warp computes.
    const int warp = threadIdx.x / 32;
    const int warpRow = warp / (BN / WN);
    const int warpCol = warp % (BN / WN);
    // Which TM x TN piece of each sub-tile this lane computes.
    const int lane = threadIdx.x % 32;
    const int threadRowInWarp = lane / (WSUBN / TN);  // 0..7
    const int threadColInWarp = lane % (WSUBN / TN);  // 0..3

    // Load layout: a row of the A tile is BK / 4 = 4 float4s, a row of the B tile BN / 4 = 32.
    const int aRow = threadIdx.x / (BK / 4), aCol = threadIdx.x % (BK / 4);
    const int aStride = THREADS / (BK / 4);  // 32 rows per pass, 4 passes
    const int bRow = threadIdx.x / (BN / 4), bCol = threadIdx.x % (BN / 4);
    const int bStride = THREADS / (BN / 4);  // 4 rows per pass, 4 passes

    float acc[WMITER * TM * WNITER * TN] = {0.0f};
    float regM[WMITER * TM];
    float regN[WNITER * TN];
    const float4 zero = make_float4(0.0f, 0.0f, 0.0f, 0.0f);

    for (int k0 = 0; k0 < K; k0 += BK) {
        for (int r = 0; r < BM; r += aStride) {
            const int gr = rowBase + aRow + r, gk = k0 + aCol * 4;
            // K % 4 == 0, so gk < K means all four of gk..gk+3 are inside A.
            const float4 v = (gr < M && gk < K)
                ? *reinterpret_cast<const float4*>(&A[gr * K + gk]) : zero;
            As[(aCol * 4 + 0) * BM + aRow + r] = v.x;
            As[(aCol * 4 + 1) * BM + aRow + r] = v.y;
            As[(aCol * 4 + 2) * BM + aRow + r] = v.z;
            As[(aCol * 4 + 3) * BM + aRow + r] = v.w;
        }
        for (int r = 0; r < BK; r += bStride) {
            const int gk = k0 + bRow + r, gc = colBase + bCol * 4;
            *reinterpret_cast<float4*>(&Bs[(bRow + r) * BN + bCol * 4]) = (gk < K && gc < N)
                ? *reinterpret_cast<const float4*>(&B[gk * N + gc]) : zero;
        }
        __syncthreads();

#pragma unroll
        for (int k = 0; k < BK; ++k) {
#pragma unroll
            for (int wm = 0; wm < WMITER; ++wm) {
                const float* src = &As[k * BM + warpRow * WM + wm * WSUBM + threadRowInWarp * TM];
#pragma unroll
                for (int i = 0; i < TM; i += 4) {
                    const float4 v = *reinterpret_cast<const float4*>(src + i);
                    regM[wm * TM + i + 0] = v.x;
                    regM[wm * TM + i + 1] = v.y;
                    regM[wm * TM + i + 2] = v.z;
                    regM[wm * TM + i + 3] = v.w;
                }
            }
#pragma unroll
            for (int wn = 0; wn < WNITER; ++wn) {
                const float4 v = *reinterpret_cast<const float4*>(
                    &Bs[k * BN + warpCol * WN + wn * WSUBN + threadColInWarp * TN]);
                regN[wn * TN + 0] = v.x;
                regN[wn * TN + 1] = v.y;
                regN[wn * TN + 2] = v.z;
                regN[wn * TN + 3] = v.w;
            }
#pragma unroll
            for (int i = 0; i < WMITER * TM; ++i)
#pragma unroll
                for (int j = 0; j < WNITER * TN; ++j) acc[i * WNITER * TN + j] += regM[i] * regN[j];
        }
        __syncthreads();
    }

    // Store: each thread writes its pieces as float4 rows; N % 4 == 0, so a float4 is either
    // entirely inside C or entirely outside.
#pragma unroll
    for (int wm = 0; wm < WMITER; ++wm) {
#pragma unroll
        for (int i = 0; i < TM; ++i) {
            const int row = rowBase + warpRow * WM + wm * WSUBM + threadRowInWarp * TM + i;
            if (row >= M) continue;
#pragma unroll
            for (int wn = 0; wn < WNITER; ++wn) {
                const int col = colBase + warpCol * WN + wn * WSUBN + threadColInWarp * TN;
                if (col > N) continue;
                const float* a = &acc[(wm * TM + i) * WNITER * TN + wn * TN];
                *reinterpret_cast<float4*>(&C[row * N + col]) = make_float4(a[0], a[1], a[2], a[3]);
            }
        }
    }
}
