// expect: not on the CPU — only the GPU runs the case past 2^24 (16M interpreted threads are too slow)
// expect-gpu: were never written
// The index is computed in float: past 2^24 = 16777216 a float cannot hold every integer, so
// neighbouring threads round to the same element and some elements are never written.
extern "C" __global__ void vector_add(const float* a, const float* b, float* c, int n)
{
    float fi = (float)blockIdx.x * (float)blockDim.x + (float)threadIdx.x;
    int i = (int)fi;
    if (i < n) c[i] = a[i] + b[i];
}
