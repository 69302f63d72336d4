// Exercise: inclusive prefix sum of each block's 512 elements, work-efficient (Blelloch).
//
// Launch (fixed by the harness): blockDim = 256, gridDim = ceil(n / 512). Each thread owns two
// elements. Block b handles in[512*b .. 512*b + 511] and writes
//     out[i] = in[512*b] + ... + in[i]        (inclusive, for each i < n; checked exactly)
//
// Think of the segment as the leaves of a balanced binary tree:
//   up-sweep   stride = 1, 2, ..., 256: the element at k = (t+1)*2*stride - 1 (if k < 512)
//              adds in the element stride places to its left. Afterwards s[511] holds the
//              segment's total and other positions hold partial sums of subtrees.
//   down-sweep set s[511] = 0, then stride = 256, ..., 1: the same k swaps in the left child
//              s[k - stride] and adds: (left, right) <- (right, left + right).
//              Afterwards s[j] holds in[0] + ... + in[j-1]: the EXCLUSIVE scan.
// Every level reads what the level before wrote: a barrier between levels.
//
// What it runs into: 2*511 additions for a segment of 512 instead of 512*9 with Hillis-Steele;
// the price is twice as many steps. (Neighbouring k are 2*stride apart: at large strides many
// threads hit the same shared-memory bank. GPU Gems 3, ch. 39 pads the indices to avoid it.)

#define BLOCK 256
#define SEG (2 * BLOCK)

extern "C" __global__ void scan_block(const int* in, int* out, int n)
{
    __shared__ int s[SEG];
    int t = threadIdx.x;
    int base = blockIdx.x * SEG;

    int a = base + t < n ? in[base + t] : 0;
    int b = base + t + BLOCK < n ? in[base + t + BLOCK] : 0;
    s[t] = a;
    s[t + BLOCK] = b;

    // TODO: the up-sweep.

    // TODO: the down-sweep, starting from s[SEG - 1] = 0.

    __syncthreads();
    // TODO: s now holds the exclusive scan; turn it into the inclusive one as you write out.
    if (base + t < n) out[base + t] = s[t];
    if (base + t + BLOCK < n) out[base + t + BLOCK] = s[t + BLOCK];
}
