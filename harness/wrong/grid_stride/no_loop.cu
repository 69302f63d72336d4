// expect: were never written — does your grid cover all
// One element per thread: with a fixed grid, the tail of c is never reached.
extern "C" __global__ void add_grid_stride(const float* a, const float* b, float* c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) c[i] = a[i] + b[i];
}
