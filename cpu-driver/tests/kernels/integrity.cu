// Kernels for tests/integrity.rs: cheats and mistakes a GPU would punish, which the interpreter
// must not let through. The tests find lines by the `// @name` marks.

// A naive transpose (n x n, blocks of 32 x 8) whose strided store is diluted by 16 redundant
// coalesced loads per element: the launch's totals look coalesced, the store is not.
extern "C" __global__ void diluted_transpose(const float* in, float* out, int n) {
    const int col = blockIdx.x * 32 + threadIdx.x;
    const int row0 = blockIdx.y * 32 + threadIdx.y;
    const volatile float* again = in;
    for (int j = 0; j < 32; j += 8) {
        const int row = row0 + j;
        float pad = 0.0f;
        for (int k = 0; k < 16; ++k) pad += again[row * n + col];
        const float v = in[row * n + col] + pad * 0.0f;
        out[col * n + row] = v;  // @strided_store
    }
}

// Every redux.sync form, over the whole warp and over each half (16 results per lane).
extern "C" __global__ void redux_all(const unsigned* in, unsigned* out) {
    const unsigned v = in[threadIdx.x];
    const int s = (int)v;
    const unsigned half = threadIdx.x < 16 ? 0x0000ffffu : 0xffff0000u;
    unsigned* o = out + threadIdx.x * 16;
    o[0] = __reduce_add_sync(0xffffffffu, v);
    o[1] = __reduce_min_sync(0xffffffffu, v);
    o[2] = __reduce_max_sync(0xffffffffu, v);
    o[3] = (unsigned)__reduce_add_sync(0xffffffffu, s);
    o[4] = (unsigned)__reduce_min_sync(0xffffffffu, s);
    o[5] = (unsigned)__reduce_max_sync(0xffffffffu, s);
    o[6] = __reduce_and_sync(0xffffffffu, v);
    o[7] = __reduce_or_sync(0xffffffffu, v);
    o[8] = __reduce_xor_sync(0xffffffffu, v);
    o[9] = __reduce_add_sync(half, v);
    o[10] = (unsigned)__reduce_min_sync(half, s);
    o[11] = __reduce_max_sync(half, v);
    o[12] = __reduce_and_sync(half, v);
    o[13] = __reduce_or_sync(half, v);
    o[14] = __reduce_xor_sync(half, v);
    o[15] = (unsigned)__reduce_max_sync(half, s);
}

// Lanes 20-31 return, then the full-mask reduction names them.
extern "C" __global__ void redux_after_return(const unsigned* in, unsigned* out) {
    if (threadIdx.x >= 20) return;
    out[threadIdx.x] = __reduce_add_sync(0xffffffffu, in[threadIdx.x]);  // @redux_after_return
}

// One cp.async per thread, then (mode) 0: commit + wait_group 0; 1: commit, no wait;
// 2: no commit, wait_group 0 (which waits for committed groups only); 3: wait_all alone.
extern "C" __global__ void cp_async_modes(const float4* in, float4* out, int mode) {
    __shared__ float4 s[32];
    const unsigned d = (unsigned)__cvta_generic_to_shared(&s[threadIdx.x]);
    asm volatile("cp.async.ca.shared.global [%0], [%1], 16;" ::"r"(d), "l"(in + threadIdx.x));  // @cp_async_issue
    if (mode <= 1) asm volatile("cp.async.commit_group;");
    if (mode == 0 || mode == 2) asm volatile("cp.async.wait_group 0;");
    if (mode == 3) asm volatile("cp.async.wait_all;");
    __syncthreads();
    out[threadIdx.x] = s[31 - threadIdx.x];  // @cp_async_read
}

// Two stages: tile t + 1 streams in while tile t is summed. Waiting with wait_group 1 leaves
// only the newest group in flight (right); `wrong` waits with wait_group 2, so tile t may still
// be in flight when it is read.
__device__ void issue_tile(float4* stage, const float4* src) {
    const unsigned d = (unsigned)__cvta_generic_to_shared(stage + threadIdx.x);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(d), "l"(src + threadIdx.x));
}

extern "C" __global__ void cp_async_pipeline(const float4* in, float4* out, int tiles, int wrong) {
    __shared__ float4 s[2][32];
    float4 acc = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    issue_tile(s[0], in);
    asm volatile("cp.async.commit_group;");
    for (int t = 0; t < tiles; ++t) {
        if (t + 1 < tiles) issue_tile(s[(t + 1) % 2], in + (t + 1) * 32);
        asm volatile("cp.async.commit_group;");
        if (wrong)
            asm volatile("cp.async.wait_group 2;");
        else
            asm volatile("cp.async.wait_group 1;");
        __syncthreads();
        const float4 v = s[t % 2][31 - threadIdx.x];  // @pipeline_read
        acc.x += v.x;
        acc.y += v.y;
        acc.z += v.z;
        acc.w += v.w;
        __syncthreads();
    }
    out[threadIdx.x] = acc;
}

// A few lanes of a row's tail, contiguous but across a sector boundary.
extern "C" __global__ void tail_store(float* out, int start, int count) {
    if (threadIdx.x < count) out[start + threadIdx.x] = 1.0f;
}
