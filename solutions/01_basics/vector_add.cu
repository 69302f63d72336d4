// vector_add: one thread per element, and a grid a little too big.
//
// kernlings launches this kernel with 256 threads per block and ceil(n / 256) blocks. n is
// rarely a multiple of 256, so the last block has threads with no element to work on: with
// n = 1000 there are 4 blocks, 1024 threads, and 24 of them must do nothing.
//
// Goal: c[i] = a[i] + b[i] for every i in [0, n), and no access outside the vectors.

extern "C" __global__ void vector_add(const float* a, const float* b, float* c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    // The bounds check: the extra threads of the last block stop here.
    if (i < n) {
        c[i] = a[i] + b[i];
    }
}
