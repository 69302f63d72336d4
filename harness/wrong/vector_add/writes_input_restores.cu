// expect: wrote to the input a
// expect-gpu: not on a GPU — a kernel that restores its input leaves no trace on a GPU
// Uses a as scratch and puts it back: the inputs look untouched after the launch, but another
// kernel reading a at the same time would have seen the scratch values.
extern "C" __global__ void vector_add(float* a, const float* b, float* c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float saved = a[i];
        a[i] = saved + b[i];
        c[i] = a[i];
        a[i] = saved;
    }
}
