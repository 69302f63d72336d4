// expect: one past the end of x
// expect-gpu: outside x was added
// The last block has threads past n: they read beyond the end of x.
extern "C" __global__ void reduce_atomic(const float* x, float* sum, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    atomicAdd(sum, x[i]);
}
