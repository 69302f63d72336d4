// expect: wrote to the input a
// expect-gpu: changed the input a
// Accumulates into a, then copies: c is right, but a is not an input any more.
extern "C" __global__ void vector_add(float* a, const float* b, float* c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        a[i] += b[i];
        c[i] = a[i];
    }
}
