// expect: first mismatches in out
// Writes the down-sweep's result as it is: an exclusive scan, every element missing itself.
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
    for (int stride = 1; stride < SEG; stride *= 2) {
        __syncthreads();
        int k = (t + 1) * 2 * stride - 1;
        if (k < SEG) s[k] += s[k - stride];
    }
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
    if (base + t < n) out[base + t] = s[t];
    if (base + t + BLOCK < n) out[base + t + BLOCK] = s[t + BLOCK];
}
