// expect: not reached by every thread
// expect-gpu: not on a GPU — a __syncthreads() inside a divergent branch is undefined behaviour, and on an H200 it happened to give right sums
// The barrier sits inside `if (t < stride)`: the other threads never reach it.
#define BLOCK 256
extern "C" __global__ void block_sum(const float* x, float* partial, int n)
{
    __shared__ float s[BLOCK];
    int t = threadIdx.x;
    int i = blockIdx.x * (2 * BLOCK) + t;
    float v = 0.0f;
    if (i < n) v += x[i];
    if (i + BLOCK < n) v += x[i + BLOCK];
    s[t] = v;
    __syncthreads();
    for (int stride = BLOCK / 2; stride > 0; stride /= 2) {
        if (t < stride) {
            s[t] += s[t + stride];
            __syncthreads();
        }
    }
    if (t == 0) partial[blockIdx.x] = s[0];
}
