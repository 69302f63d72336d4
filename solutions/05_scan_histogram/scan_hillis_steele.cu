// Inclusive scan of each block's 256 elements, Hillis-Steele style.
//
// Launch (fixed by the harness): blockDim = 256, gridDim = ceil(n / 256). Block b writes
// out[i] = in[256*b] + ... + in[i] for every i of its segment below n.
//
// log2(256) = 8 steps; in the step with offset d every element adds the one d places to its
// left. Simple and shallow, but it does n*log2(n) additions where a serial loop does n: the
// work-efficient Blelloch scan (next exercise) fixes that.

#define BLOCK 256

extern "C" __global__ void scan_block(const int* in, int* out, int n)
{
    // Two buffers: each step reads one and writes the other, so no thread overwrites a value
    // that a neighbour has yet to read in the same step.
    __shared__ int buf[2][BLOCK];
    int t = threadIdx.x;
    int i = blockIdx.x * BLOCK + t;

    // Past the end of the input, 0 is the neutral element: it changes no sum to its right.
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

    if (i < n) out[i] = buf[src][t];
}
