// expect: data race on shared memory
// expect-gpu: elements of out are wrong
// Two buffers but no barrier: a fast warp starts the next step before a slow one finished this one.
#define BLOCK 256
extern "C" __global__ void scan_block(const int* in, int* out, int n)
{
    __shared__ int buf[2][BLOCK];
    int t = threadIdx.x;
    int i = blockIdx.x * BLOCK + t;
    buf[0][t] = i < n ? in[i] : 0;
    __syncthreads();
    int src = 0;
    for (int d = 1; d < BLOCK; d *= 2) {
        int v = buf[src][t];
        if (t >= d) v += buf[src][t - d];
        buf[1 - src][t] = v;
        src = 1 - src;
    }
    __syncthreads();
    if (i < n) out[i] = buf[src][t];
}
