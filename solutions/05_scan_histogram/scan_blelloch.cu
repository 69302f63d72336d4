// Inclusive scan of each block's 512 elements, work-efficient (Blelloch).
//
// Launch (fixed by the harness): blockDim = 256, gridDim = ceil(n / 512). Block b writes
// out[i] = in[512*b] + ... + in[i] for every i of its 512-element segment below n.
//
// A balanced tree over the segment: the up-sweep leaves partial sums at the tree's nodes
// (511 additions), the down-sweep pushes prefixes back down (another 511). O(n) work in
// 2*log2(512) = 18 steps, where Hillis-Steele needs 9 steps but n*log2(n) work. The
// down-sweep yields the exclusive scan; adding each input gives the inclusive one.

#define BLOCK 256
#define SEG (2 * BLOCK)

extern "C" __global__ void scan_block(const int* in, int* out, int n)
{
    __shared__ int s[SEG];
    int t = threadIdx.x;
    int base = blockIdx.x * SEG;

    // Two elements per thread, each load coalesced; 0 past n leaves every sum unchanged.
    int a = base + t < n ? in[base + t] : 0;
    int b = base + t + BLOCK < n ? in[base + t + BLOCK] : 0;
    s[t] = a;
    s[t + BLOCK] = b;

    // Up-sweep: at level `stride`, node k (1-based, a multiple of 2*stride) adds in its left
    // child, stride places before it. s[SEG - 1] ends with the segment's total.
    for (int stride = 1; stride < SEG; stride *= 2) {
        __syncthreads();
        int k = (t + 1) * 2 * stride - 1;
        if (k < SEG) s[k] += s[k - stride];
    }

    // Down-sweep: the root gets 0 (nothing comes before the segment); each node hands its
    // value to its left child and the left child's old sum plus its value to its right child.
    if (t == 0) s[SEG - 1] = 0;
    for (int stride = SEG / 2; stride > 0; stride /= 2) {
        __syncthreads();
        int k = (t + 1) * 2 * stride - 1;
        if (k < SEG) {
            int left = s[k - stride];
            s[k - stride] = s[k];
            s[k] += left;
        }
    }
    __syncthreads();

    // s holds the exclusive scan; inclusive = exclusive + the element itself.
    if (base + t < n) out[base + t] = s[t] + a;
    if (base + t + BLOCK < n) out[base + t + BLOCK] = s[t + BLOCK] + b;
}
