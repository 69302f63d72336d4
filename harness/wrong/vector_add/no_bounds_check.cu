// expect: one past the end of a
// expect-gpu: wrote past the end of c
// The extra threads of the last block write past the end of c.
extern "C" __global__ void vector_add(const float* a, const float* b, float* c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    c[i] = a[i] + b[i];
}
