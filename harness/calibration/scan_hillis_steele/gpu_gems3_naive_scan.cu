// calibrate: pass
// source: Harris, Sengupta & Owens, GPU Gems 3 ch. 39 "Parallel Prefix Sum (Scan) with CUDA", Example 39-1 (double-buffered naive scan); made inclusive (no shift on load), one 256-element segment per block
// This rung's kernel: log2(256) steps, two buffers swapped by index (pout/pin), one barrier each.

#define BLOCK 256

extern "C" __global__ void scan_block(const int* in, int* out, int n)
{
    __shared__ int temp[2 * BLOCK];
    const int thid = threadIdx.x;
    const int i = blockIdx.x * BLOCK + thid;
    int pout = 0, pin = 1;

    temp[pout * BLOCK + thid] = i < n ? in[i] : 0;
    __syncthreads();
    for (int offset = 1; offset < BLOCK; offset *= 2) {
        pout = 1 - pout;
        pin = 1 - pout;
        if (thid >= offset)
            temp[pout * BLOCK + thid] = temp[pin * BLOCK + thid] + temp[pin * BLOCK + thid - offset];
        else
            temp[pout * BLOCK + thid] = temp[pin * BLOCK + thid];
        __syncthreads();
    }
    if (i < n) out[i] = temp[pout * BLOCK + thid];
}
