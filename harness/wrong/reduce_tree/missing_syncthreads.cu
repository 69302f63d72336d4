// expect: data race on shared memory
// expect-gpu: first mismatches in partial
// No barrier between the tree's steps: a thread may read s[t + stride] before its owner wrote it.
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
        if (t < stride) s[t] += s[t + stride];
    }
    if (t == 0) partial[blockIdx.x] = s[0];
}
