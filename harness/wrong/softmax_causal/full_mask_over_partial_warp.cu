// expect: names lanes that do not take part
// expect-gpu: not on a GPU — shuffling with exited lanes is undefined: a GPU may hang or return garbage
// A full-mask shuffle over a partial warp: lanes with nothing to load return before the
// reductions, whose __shfl_xor_sync(0xffffffff, ...) still names them.
// Causal softmax: the triangular mask applied inside the kernel, no mask tensor.
//
// Launch (fixed by the harness): blockDim = 256, gridDim = rows; block r owns row r.
// x holds B square S x S score matrices stacked (rows = B * S, C = S); element (r, c) of x
// and of y is at [r * stride + c]. Row r is query i = r % S: it keeps columns 0..i, and the
// rest of the row is masked: y there is 0, and x there is never read. S <= 8192.
//
// softmax_fused's on-chip path with the row length set to the kept length k = i + 1:
// the reductions and the loads stop at k, and the stores run over all S columns, writing
// zeros past k. A mask tensor (torch's masked_fill, then softmax) reads and writes the
// whole matrix twice; this kernel reads half of it once.

#define BLOCK 256
#define WARPS (BLOCK / 32)
#define VECS 8
#define FULL_MASK 0xffffffffu
#define NEG_INF __int_as_float(0xff800000)

__device__ float warp_max(float v)
{
    for (int o = 16; o > 0; o /= 2) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

__device__ float warp_sum(float v)
{
    for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

// Every thread gets the block's maximum. The second barrier lets the next call reuse part.
__device__ float block_max(float v)
{
    __shared__ float part[WARPS];
    v = warp_max(v);
    if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = v;
    __syncthreads();
    v = warp_max(threadIdx.x % 32 < WARPS ? part[threadIdx.x % 32] : NEG_INF);
    __syncthreads();
    return v;
}

__device__ float block_sum(float v)
{
    __shared__ float part[WARPS];
    v = warp_sum(v);
    if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = v;
    __syncthreads();
    v = warp_sum(threadIdx.x % 32 < WARPS ? part[threadIdx.x % 32] : 0.0f);
    __syncthreads();
    return v;
}

__device__ float4 exp_minus(float4 v, float m)
{
    return make_float4(expf(v.x - m), expf(v.y - m), expf(v.z - m), expf(v.w - m));
}

extern "C" __global__ void softmax_causal(const float* x, float* y, int rows, int S, int stride)
{
    const float* in = x + (size_t)blockIdx.x * stride;
    float* out = y + (size_t)blockIdx.x * stride;
    const float4* in4 = reinterpret_cast<const float4*>(in);
    float4* out4 = reinterpret_cast<float4*>(out);
    int t = threadIdx.x;
    int k = blockIdx.x % S + 1;
    // Loads: k / 4 whole float4s, then the last k % 4 kept elements one by one, so no
    // load touches a masked element. Stores: S / 4 float4s and S % 4 tail elements.
    int k4 = k / 4;
    int ktail = 4 * k4 + t;
    bool has_ktail = t < k % 4;
    int n4 = S / 4;
    int stail = 4 * n4 + t;
    bool has_stail = t < S % 4;
    // Threads with no kept element leave early: in the first rows most of warp 0 is gone
    // before the block's reductions shuffle with FULL_MASK over all 32 lanes.
    if (4 * t >= k) return;

    float4 v[VECS];
    float m = NEG_INF;
#pragma unroll
    for (int j = 0; j < VECS; j++) {
        int i = t + j * BLOCK;
        v[j] = i < k4 ? in4[i] : make_float4(NEG_INF, NEG_INF, NEG_INF, NEG_INF);
        m = fmaxf(m, fmaxf(fmaxf(v[j].x, v[j].y), fmaxf(v[j].z, v[j].w)));
    }
    float vt = has_ktail ? in[ktail] : NEG_INF;
    m = block_max(fmaxf(m, vt));
    float s = 0.0f;
    bool empty = m == NEG_INF;
#pragma unroll
    for (int j = 0; j < VECS; j++) {
        v[j] = empty ? make_float4(0.0f, 0.0f, 0.0f, 0.0f) : exp_minus(v[j], m);
        s += (v[j].x + v[j].y) + (v[j].z + v[j].w);
    }
    vt = empty ? 0.0f : expf(vt - m);
    float total = block_sum(s + vt);
    float inv = empty ? 0.0f : 1.0f / total;
    // The kept tail sits in the float4 after the last whole one, lane k % 4 onwards
    // masked: the tail values (and exact zeros, even when inv is NaN) go through shared
    // memory to the thread that stores that float4.
    __shared__ float tail_vals[4];
    if (t < 4) tail_vals[t] = has_ktail ? vt * inv : 0.0f;
    __syncthreads();
#pragma unroll
    for (int j = 0; j < VECS; j++) {
        int i = t + j * BLOCK;
        if (i < k4) {
            out4[i] = make_float4(v[j].x * inv, v[j].y * inv, v[j].z * inv, v[j].w * inv);
        }
    }
    for (int i = k4 + t; i < n4; i += BLOCK) {
        float4 z = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (i == k4) {
            z = make_float4(tail_vals[0], tail_vals[1], tail_vals[2], tail_vals[3]);
        }
        out4[i] = z;
    }
    // S % 4 columns past the last whole float4 of the row: kept only in the last rows.
    if (has_stail) out[stail] = stail < k ? tail_vals[stail - 4 * k4] : 0.0f;
}
