// expect: harness/wrong/vector_add/compile_error.cu(7): error
// A typo the compiler reports with the file's path and line.
extern "C" __global__ void vector_add(const float* a, const float* b, float* c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        // `idx` is not declared: this is line 7.
        c[idx] = a[i] + b[i];
    }
}
