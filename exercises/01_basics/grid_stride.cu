// grid_stride: fewer threads than elements.
//
// kernlings launches this kernel with a grid that does not depend on n: 256 threads per
// block and a few blocks per streaming multiprocessor (SM) of the GPU, so the grid fits the
// device, not the data. n goes up to millions of elements, far more than there are threads.
//
// Goal: c[i] = a[i] + b[i] for every i in [0, n), whatever the grid size.
// Speed: on a GPU the kernel is timed against a device-to-device copy of the same number of
// bytes (a reads 4 bytes, b 4, c writes 4 per element). A kernel that reads and writes each
// byte once, with neighbouring threads touching neighbouring elements, comes close to it.
//
// Below is the vector_add solution: it handles the first gridDim.x * blockDim.x elements
// and leaves the rest unwritten.

extern "C" __global__ void add_grid_stride(const float* a, const float* b, float* c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    // TODO: turn this `if` into a loop: after element i, the thread moves on by the number
    // of threads in the whole grid, until it passes n.
    if (i < n) {
        c[i] = a[i] + b[i];
    }
}
