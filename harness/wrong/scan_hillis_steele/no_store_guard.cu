// expect: one past the end of out
// expect-gpu: wrote past the end of out
// The store has no bounds check: the last block writes past the end of out.
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
        __syncthreads();
    }
    out[i] = buf[src][t];
}
