// expect: elements of y are wrong
// Rounds the row up to whole float4s: reads the padding (NaN) and writes past C.
// Softmax over rows, step 3: rows kept in registers, a warp per short row, a block per long one.
//
// Launch (fixed by the harness): blockDim = 256 (8 warps). Rows of C <= WARP_ROW_MAX = 1024
// floats: gridDim = ceil(rows / 8), warp w of block b owns row 8 * b + w. Longer rows:
// gridDim = rows, block r owns row r. Element (r, c) of x and of y is at [r * stride + c],
// c < C; stride is a multiple of 4, so every row starts on a 16-byte boundary and can be
// read as float4.
//
// A short row is 8 float4 per lane at most: the warp reduces it with shuffles alone, no
// barrier, and eight rows per block keep eight times the loads in flight that a block per
// row would. Rows up to BLOCK * 4 * VECS = 8192 floats are read once into registers (8 float4
// per thread), reduced across the block (warp shuffles, then one value per warp through
// shared memory), and written once: the row crosses the memory bus twice, as a copy does.
// Longer rows do not fit: each thread keeps an online (max, sum) over its part, the block
// merges the pairs, and a second read writes the output.

#define BLOCK 256
#define WARPS (BLOCK / 32)
#define VECS 8
#define WARP_ROW_MAX 1024
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

// Two online states (max m, sum d of exp(x - m)) merged into one. Both empty (-inf): the
// rescale factors would be exp(-inf - -inf) = NaN, so only d2 is carried over (0, or the
// NaN of a NaN element, which fmaxf leaves out of m).
__device__ void merge(float& m, float& d, float m2, float d2)
{
    float m_new = fmaxf(m, m2);
    if (m_new == NEG_INF) {
        d += d2;
        return;
    }
    d = d * expf(m - m_new) + d2 * expf(m2 - m_new);
    m = m_new;
}

__device__ float4 exp_minus(float4 v, float m)
{
    return make_float4(expf(v.x - m), expf(v.y - m), expf(v.z - m), expf(v.w - m));
}

// A row of at most WARP_ROW_MAX floats, owned by one warp: lane l holds float4s l, l + 32, ...
__device__ void warp_row(const float* in, float* out, int C)
{
    const float4* in4 = reinterpret_cast<const float4*>(in);
    float4* out4 = reinterpret_cast<float4*>(out);
    int lane = threadIdx.x % 32;
    int n4 = (C + 3) / 4;
    int tail = 4 * n4 + lane;
    bool has_tail = false;
    float4 v[VECS];
    float m = NEG_INF;
#pragma unroll
    for (int k = 0; k < VECS; k++) {
        int i = lane + 32 * k;
        v[k] = i < n4 ? in4[i] : make_float4(NEG_INF, NEG_INF, NEG_INF, NEG_INF);
        m = fmaxf(m, fmaxf(fmaxf(v[k].x, v[k].y), fmaxf(v[k].z, v[k].w)));
    }
    float vt = has_tail ? in[tail] : NEG_INF;
    m = warp_max(fmaxf(m, vt));
    // m is the warp's: all its lanes take the same branch.
    if (m == NEG_INF) {
        for (int i = lane; i < n4; i += 32) out4[i] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (has_tail) out[tail] = 0.0f;
        return;
    }
    float s = 0.0f;
#pragma unroll
    for (int k = 0; k < VECS; k++) {
        v[k] = exp_minus(v[k], m);
        s += (v[k].x + v[k].y) + (v[k].z + v[k].w);
    }
    vt = expf(vt - m);
    float inv = 1.0f / warp_sum(s + vt);
#pragma unroll
    for (int k = 0; k < VECS; k++) {
        int i = lane + 32 * k;
        if (i < n4) out4[i] = make_float4(v[k].x * inv, v[k].y * inv, v[k].z * inv, v[k].w * inv);
    }
    if (has_tail) out[tail] = vt * inv;
}

extern "C" __global__ void softmax_fused(const float* x, float* y, int rows, int C, int stride)
{
    if (C <= WARP_ROW_MAX) {
        // The whole warp leaves together, so no shuffle waits on an exited lane.
        int row = blockIdx.x * WARPS + threadIdx.x / 32;
        if (row < rows) warp_row(x + (size_t)row * stride, y + (size_t)row * stride, C);
        return;
    }
    const float* in = x + (size_t)blockIdx.x * stride;
    float* out = y + (size_t)blockIdx.x * stride;
    const float4* in4 = reinterpret_cast<const float4*>(in);
    float4* out4 = reinterpret_cast<float4*>(out);
    int t = threadIdx.x;
    int n4 = (C + 3) / 4;
    // The last C % 4 elements (at most 3) are not a whole float4: threads 0..2 take one each.
    int tail = 4 * n4 + t;
    bool has_tail = false;

    if (C <= BLOCK * 4 * VECS) {
        float4 v[VECS];
        float m = NEG_INF;
#pragma unroll
        for (int k = 0; k < VECS; k++) {
            int i = t + k * BLOCK;
            v[k] = i < n4 ? in4[i] : make_float4(NEG_INF, NEG_INF, NEG_INF, NEG_INF);
            m = fmaxf(m, fmaxf(fmaxf(v[k].x, v[k].y), fmaxf(v[k].z, v[k].w)));
        }
        float vt = has_tail ? in[tail] : NEG_INF;
        m = block_max(fmaxf(m, vt));
        // m is the block's: every thread takes the same branch.
        if (m == NEG_INF) {
            for (int i = t; i < n4; i += BLOCK) out4[i] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            if (has_tail) out[tail] = 0.0f;
            return;
        }
        float s = 0.0f;
#pragma unroll
        for (int k = 0; k < VECS; k++) {
            v[k] = exp_minus(v[k], m);
            s += (v[k].x + v[k].y) + (v[k].z + v[k].w);
        }
        vt = expf(vt - m);
        float inv = 1.0f / block_sum(s + vt);
#pragma unroll
        for (int k = 0; k < VECS; k++) {
            int i = t + k * BLOCK;
            if (i < n4) {
                out4[i] = make_float4(v[k].x * inv, v[k].y * inv, v[k].z * inv, v[k].w * inv);
            }
        }
        if (has_tail) out[tail] = vt * inv;
        return;
    }

    // Too long for registers: an online pass, merged across the block, then the output.
    float m = NEG_INF, d = 0.0f;
    for (int i = t; i < n4; i += BLOCK) {
        float4 q = in4[i];
        float qm = fmaxf(fmaxf(q.x, q.y), fmaxf(q.z, q.w));
        if (qm != NEG_INF) {
            float4 e = exp_minus(q, qm);
            merge(m, d, qm, (e.x + e.y) + (e.z + e.w));
        }
    }
    if (has_tail) {
        float v = in[tail];
        // One element is the state (v, 1); a NaN stays NaN in d.
        if (v != NEG_INF) merge(m, d, v, v == v ? 1.0f : v);
    }
    for (int o = 16; o > 0; o /= 2) {
        float m2 = __shfl_xor_sync(FULL_MASK, m, o);
        float d2 = __shfl_xor_sync(FULL_MASK, d, o);
        merge(m, d, m2, d2);
    }
    __shared__ float pm[WARPS], pd[WARPS];
    if (t % 32 == 0) {
        pm[t / 32] = m;
        pd[t / 32] = d;
    }
    __syncthreads();
    m = NEG_INF;
    d = 0.0f;
    for (int w = 0; w < WARPS; w++) merge(m, d, pm[w], pd[w]);

    if (m == NEG_INF) {
        for (int i = t; i < n4; i += BLOCK) out4[i] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (has_tail) out[tail] = 0.0f;
        return;
    }
    float inv = 1.0f / d;
    for (int i = t; i < n4; i += BLOCK) {
        float4 e = exp_minus(in4[i], m);
        out4[i] = make_float4(e.x * inv, e.y * inv, e.z * inv, e.w * inv);
    }
    if (has_tail) out[tail] = expf(in[tail] - m) * inv;
}
