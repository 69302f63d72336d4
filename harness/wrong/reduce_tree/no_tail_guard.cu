// expect: past the end of x
// expect-gpu: outside x was added
// The second load has no bounds check: the last block reads past the end of x.
#define BLOCK 256
extern "C" __global__ void block_sum(const float* x, float* partial, int n)
{
    __shared__ float s[BLOCK];
    int t = threadIdx.x;
    int i = blockIdx.x * (2 * BLOCK) + t;
    s[t] = i < n ? x[i] + x[i + BLOCK] : 0.0f;
    __syncthreads();
    for (int stride = BLOCK / 2; stride > 0; stride /= 2) {
        if (t < stride) s[t] += s[t + stride];
        __syncthreads();
    }
    if (t == 0) partial[blockIdx.x] = s[0];
}
