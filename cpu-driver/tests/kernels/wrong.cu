// Known-wrong kernels: each must fail with its own diagnostic.
extern "C" __global__ void oob_write(const float* a, float* c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    c[i] = a[i] * 2.0f;  // no bounds check
}

extern "C" __global__ void race_missing_sync(const float* in, float* out, int n) {
    __shared__ float s[256];
    int t = threadIdx.x;
    s[t] = in[blockIdx.x * blockDim.x + t];
    // missing __syncthreads()
    out[blockIdx.x * blockDim.x + t] = s[(t + 1) % blockDim.x];
}

extern "C" __global__ void divergent_barrier(float* out, int n) {
    __shared__ float s[256];
    int t = threadIdx.x;
    if (t < 100) {
        s[t] = t;
        __syncthreads();
        out[t] = s[(t + 1) % 100];
    }
}

extern "C" __global__ void uninit_shared(float* out, int n) {
    __shared__ float s[256];
    int t = threadIdx.x;
    if (t < 128) s[t] = 1.0f;
    __syncthreads();
    out[t] = s[t];  // the upper half was never written
}

extern "C" __global__ void endless(int* out, int n) {
    int i = threadIdx.x;
    while (i < n) {
        out[i % 64] = i;
        i += 0;  // never advances
    }
}

// Hillis-Steele in place: a thread reads s[t - off] while its neighbour overwrites it.
extern "C" __global__ void scan_in_place_race(const int* in, int* out, int n) {
    __shared__ int s[256];
    int t = threadIdx.x;
    s[t] = t < n ? in[t] : 0;
    __syncthreads();
    for (int off = 1; off < blockDim.x; off <<= 1) {
        if (t >= off) s[t] += s[t - off];
        __syncthreads();
    }
    if (t < n) out[t] = s[t];
}

// assert() needs no include in NVRTC; a failed one calls __assertfail.
extern "C" __global__ void failing_assert(const int* a, int n) {
    int i = threadIdx.x;
    if (i < n) assert(a[i] >= 0);
}
