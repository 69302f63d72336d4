// One partial sum per block, added up as a tree in shared memory.
//
// Launch (fixed by the harness): blockDim = 256, gridDim = ceil(n / 512); block b sums
// x[512*b .. 512*b + 511] (the part of it below n) into partial[b].
//
// 256 threads add 512 numbers in 1 + 8 steps instead of 511: each step halves the number of
// live values. Global memory sees one coalesced read per element and one write per block.

#define BLOCK 256

extern "C" __global__ void block_sum(const float* x, float* partial, int n)
{
    __shared__ float s[BLOCK];
    int t = threadIdx.x;
    int i = blockIdx.x * (2 * BLOCK) + t;

    // The first addition happens during the load, so no thread sits idle in step one.
    // Elements past n count as 0: the last block is usually only partly full.
    float v = 0.0f;
    if (i < n) v += x[i];
    if (i + BLOCK < n) v += x[i + BLOCK];
    s[t] = v;
    __syncthreads();

    // Sequential addressing: the live values stay packed in s[0..stride), so active threads
    // are contiguous (whole warps retire together) and neighbours hit different banks.
    // Each thread keeps its running sum in a register, so a step costs one shared read and
    // one write, not two reads and a write.
    for (int stride = BLOCK / 2; stride > 0; stride /= 2) {
        if (t < stride) s[t] = v = v + s[t + stride];
        // Every write of this step must land before anyone reads in the next one.
        __syncthreads();
    }

    if (t == 0) partial[blockIdx.x] = v;
}
