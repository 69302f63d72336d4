// expect: of static shared memory; a block may use at most 48 KiB statically
// expect-gpu: not on a GPU — the H200's driver loaded and ran these 64 KiB of static shared memory (2026-12-02): only the CPU backend's 48 KiB rule catches it
// Known-wrong: stages 8 K-tiles of A and of B per barrier (two 8 x 32 x 32 float arrays, 64 KiB
// of static shared memory) to cut the number of __syncthreads. CUDA documents 48 KiB as the
// most static shared memory a block may declare (nvcc's ptxas refuses more; beyond it, dynamic
// shared memory with cudaFuncSetAttribute); the H200's driver JIT nevertheless loaded this
// kernel from NVRTC's PTX and it passed there, so the rule is the CPU backend's alone.

#define BLOCK 32
#define STAGES 8

extern "C" __global__ void sgemm(const float* A, const float* B, float* C, int M, int N, int K) {
    __shared__ float As[STAGES][BLOCK * BLOCK];
    __shared__ float Bs[STAGES][BLOCK * BLOCK];

    const int ty = threadIdx.x / BLOCK;
    const int tx = threadIdx.x % BLOCK;
    const int row = blockIdx.y * BLOCK + ty;
    const int col = blockIdx.x * BLOCK + tx;

    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += STAGES * BLOCK) {
        for (int s = 0; s < STAGES; ++s) {
            const int kk = k0 + s * BLOCK;
            As[s][ty * BLOCK + tx] = (row < M && kk + tx < K) ? A[row * K + kk + tx] : 0.0f;
            Bs[s][ty * BLOCK + tx] = (kk + ty < K && col < N) ? B[(kk + ty) * N + col] : 0.0f;
        }
        __syncthreads();
        for (int s = 0; s < STAGES; ++s)
            for (int k = 0; k < BLOCK; ++k) acc += As[s][ty * BLOCK + k] * Bs[s][k * BLOCK + tx];
        __syncthreads();
    }
    if (row < M && col < N) C[row * N + col] = acc;
}
