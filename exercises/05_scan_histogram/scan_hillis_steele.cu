// Exercise: inclusive prefix sum of each block's 256 elements (Hillis-Steele).
//
// Launch (fixed by the harness): blockDim = 256, gridDim = ceil(n / 256). Block b handles the
// segment in[256*b .. 256*b + 255] and writes
//     out[i] = in[256*b] + in[256*b + 1] + ... + in[i]        (inclusive, for each i < n)
// Each segment starts again from zero: joining segments is the multi-block exercise's job.
// The integers are checked exactly (overflow wraps around, as on the GPU).
//
// Plan: load the segment into shared memory (0 past n). Then 8 steps, d = 1, 2, 4, ..., 128:
// every element with t >= d adds the element d places to its left. After step d, element t
// holds the sum of the 2d elements ending at t.
//
// The trap: in one step, thread t reads element t - d while thread t - d may be writing it.
// Each step has to read the values of the previous step only. Two buffers, one read and one
// written, swapped after every step (with a barrier), make that so.
//
// What it runs into: 8 steps of 256 additions = 2048 additions for 255 needed. Fine for a
// block; the next exercise does the same scan with O(n) additions.

#define BLOCK 256

extern "C" __global__ void scan_block(const int* in, int* out, int n)
{
    __shared__ int buf[2][BLOCK];
    int t = threadIdx.x;
    int i = blockIdx.x * BLOCK + t;

    buf[0][t] = i < n ? in[i] : 0;
    __syncthreads();

    int src = 0;
    // TODO: the 8 steps. Read from buf[src], write to buf[1 - src], then swap and wait.

    if (i < n) out[i] = buf[src][t];
}
