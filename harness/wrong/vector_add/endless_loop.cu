// expect: an endless loop?
// The loop's bound never becomes false. (volatile: the compiler may not drop the loop.)
extern "C" __global__ void vector_add(const float* a, const float* b, float* c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    volatile float* out = c;
    for (unsigned k = 0; k < 4294967295u; k += 0) {
        if (i < n) out[i] = a[i] + b[i];
    }
}
