// expect: elements of bins are wrong
// Two bins share one 32-bit shared counter (16 bits each) to halve shared memory: a block that
// sees more than 65535 copies of one value carries into the neighbouring bin.
#define BINS 256

extern "C" __global__ void histogram(const unsigned int* data, unsigned int* bins, int n)
{
    __shared__ unsigned int packed[BINS / 2];
    if (threadIdx.x < BINS / 2) packed[threadIdx.x] = 0;
    __syncthreads();
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        unsigned int v = data[i];
        atomicAdd(&packed[v / 2], (v % 2) ? 0x10000u : 1u);
    }
    __syncthreads();
    unsigned int word = packed[threadIdx.x / 2];
    unsigned int c = (threadIdx.x % 2) ? (word >> 16) : (word & 0xffffu);
    if (c > 0) atomicAdd(&bins[threadIdx.x], c);
}
