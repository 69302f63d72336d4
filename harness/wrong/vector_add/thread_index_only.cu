// expect: were never written — does your grid cover all
// Uses threadIdx.x alone: every block works on the same first 256 elements.
extern "C" __global__ void vector_add(const float* a, const float* b, float* c, int n) {
    int i = threadIdx.x;
    if (i < n) c[i] = a[i] + b[i];
}
