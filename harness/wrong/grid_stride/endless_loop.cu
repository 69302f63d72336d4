// expect: an endless loop?
// The stride is computed as 0, so i never moves. (volatile: the loop must stay.)
extern "C" __global__ void add_grid_stride(const float* a, const float* b, float* c, int n) {
    int stride = gridDim.x * blockDim.x * 0;
    volatile float* out = c;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        out[i] = a[i] + b[i];
    }
}
