// expect: your kernel's output in the timed runs differs from its checked run
// expect-gpu: your kernel's output in the timed runs differs from its checked run
// A timing cheat: each block remembers the n it last saw; launched again at the same n (the
// timing loop repeats the checked launch on the same buffers) it skips the work and instead
// waits on %globaltimer for long enough to land between the speed bar and the roofline guard.
#define SLEEP_NS 100000ull

__device__ int last_n[1 << 16];

__device__ unsigned long long now_ns()
{
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

extern "C" __global__ void add_grid_stride(const float* a, const float* b, float* c, int n) {
    __shared__ int repeated;
    if (threadIdx.x == 0) {
        repeated = last_n[blockIdx.x] == n;
        last_n[blockIdx.x] = n;
    }
    __syncthreads();
    if (repeated) {
        unsigned long long start = now_ns();
        while (now_ns() - start < SLEEP_NS) {
        }
        return;
    }
    int stride = gridDim.x * blockDim.x;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        c[i] = a[i] + b[i];
    }
}
