// expect: outside any buffer
// A pointer-sized mistake: the index is scaled far past any allocation.
extern "C" __global__ void vector_add(const float* a, const float* b, float* c, int n) {
    long long i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) c[(i + 1) << 32] = a[i] + b[i];
}
