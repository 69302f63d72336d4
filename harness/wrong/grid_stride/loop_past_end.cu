// expect: one past the end of b
// expect-gpu: wrote past the end of c
// `<=` instead of `<`: the thread that lands on n writes one element too many.
extern "C" __global__ void add_grid_stride(const float* a, const float* b, float* c, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i <= n; i += gridDim.x * blockDim.x) {
        c[i] = a[i] + b[i];
    }
}
