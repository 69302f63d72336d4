// Exercise: sum each block's slice of x with a tree in shared memory.
//
// Launch (fixed by the harness): blockDim = 256, gridDim = ceil(n / 512). Block b sums the
// 512 elements x[512*b .. 512*b + 511] (only those below n: the last block is usually partly
// full) and writes the result to partial[b]. The harness checks every partial against its
// own f64 sum of that slice.
//
// Plan:
//   1. each thread loads TWO elements (i and i + 256), adds them, and stores the sum in s[t];
//   2. then, while more than one value is live, the lower half of the live threads adds the
//      upper half's values to its own: 256 -> 128 -> ... -> 1;
//   3. thread 0 writes s[0].
// Threads only see each other's shared-memory writes after a barrier.
//
// What it runs into: with one atomic per element gone, this kernel only reads global memory
// once per element. On a GPU the harness prints your fraction of the copy bandwidth and this
// step's bar.

#define BLOCK 256

extern "C" __global__ void block_sum(const float* x, float* partial, int n)
{
    __shared__ float s[BLOCK];
    int t = threadIdx.x;
    int i = blockIdx.x * (2 * BLOCK) + t;

    // TODO: step 1 — load x[i] and x[i + BLOCK] (where they exist), store their sum in s[t].

    // TODO: step 2 — the tree: halve the number of live values until s[0] holds the total.

    if (t == 0) partial[blockIdx.x] = s[0];
}
