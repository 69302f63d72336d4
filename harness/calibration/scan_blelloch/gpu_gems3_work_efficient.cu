// calibrate: pass
// source: Harris, Sengupta & Owens, GPU Gems 3 ch. 39, Example 39-2 (work-efficient prescan, up-sweep and down-sweep over 2 elements per thread, no bank-conflict padding); made inclusive by adding each element back on the store
// This rung's kernel: O(n) additions, twice as many levels as Hillis-Steele.

#define BLOCK 256
#define SEG (2 * BLOCK)

extern "C" __global__ void scan_block(const int* in, int* out, int n)
{
    __shared__ int temp[SEG];
    const int thid = threadIdx.x;
    const int base = blockIdx.x * SEG;
    const int a = base + 2 * thid < n ? in[base + 2 * thid] : 0;
    const int b = base + 2 * thid + 1 < n ? in[base + 2 * thid + 1] : 0;
    temp[2 * thid] = a;
    temp[2 * thid + 1] = b;

    int offset = 1;
    for (int d = SEG >> 1; d > 0; d >>= 1) {
        __syncthreads();
        if (thid < d) {
            const int ai = offset * (2 * thid + 1) - 1;
            const int bi = offset * (2 * thid + 2) - 1;
            temp[bi] += temp[ai];
        }
        offset *= 2;
    }
    if (thid == 0) temp[SEG - 1] = 0;
    for (int d = 1; d < SEG; d *= 2) {
        offset >>= 1;
        __syncthreads();
        if (thid < d) {
            const int ai = offset * (2 * thid + 1) - 1;
            const int bi = offset * (2 * thid + 2) - 1;
            const int t = temp[ai];
            temp[ai] = temp[bi];
            temp[bi] += t;
        }
    }
    __syncthreads();
    if (base + 2 * thid < n) out[base + 2 * thid] = temp[2 * thid] + a;
    if (base + 2 * thid + 1 < n) out[base + 2 * thid + 1] = temp[2 * thid + 1] + b;
}
