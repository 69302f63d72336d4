// expect: your file has no kernel named `vector_add`
// Without extern "C" the compiler mangles the name (_Z10vector_addPKfS0_Pfi), and
// kernlings cannot find the kernel it launches.
__global__ void vector_add(const float* a, const float* b, float* c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) c[i] = a[i] + b[i];
}
