// expect: data race on shared memory
// expect-gpu: not on a GPU — the in-place race gave right prefix sums on an H200
// One buffer updated in place: thread t reads s[t - d] while thread t - d may be overwriting it.
#define BLOCK 256
extern "C" __global__ void scan_block(const int* in, int* out, int n)
{
    __shared__ int s[BLOCK];
    int t = threadIdx.x;
    int i = blockIdx.x * BLOCK + t;
    s[t] = i < n ? in[i] : 0;
    __syncthreads();
    for (int d = 1; d < BLOCK; d *= 2) {
        if (t >= d) s[t] += s[t - d];
        __syncthreads();
    }
    if (i < n) out[i] = s[t];
}
