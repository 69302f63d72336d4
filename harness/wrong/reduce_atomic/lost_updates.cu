// expect: data race on global memory
// expect-gpu: the sum is wrong
// A plain read-add-write: threads that read the same old *sum overwrite each other's updates.
extern "C" __global__ void reduce_atomic(const float* x, float* sum, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) *sum += x[i];
}
