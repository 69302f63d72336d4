// expect: elements of rstd are wrong
// expect-gpu: of rstd
// var = E[x^2] - E[x]^2 in f32: with a mean of 1e4 both terms are near 1e8 and cancel.
// LayerNorm over rows, with affine weight and bias; writes each row's mean and rstd too.
//
// Launch (fixed by the harness): blockDim = 256, gridDim = rows; block r owns row r.
// Element (r, c) of x and of y is at [r * stride + c], c < C; stride is a multiple of 4.
//   mean[r] = sum_c x / C,  var = sum_c (x - mean)^2 / C,  rstd[r] = 1 / sqrt(var + eps)
//   y(r, c) = (x(r, c) - mean[r]) * rstd[r] * weight[c] + bias[c]
//
// Rows up to 8192 floats stay in registers: the mean first, then the variance from the
// cached values (two passes over registers, one over memory). E[x^2] - E[x]^2 would need
// one pass too, but with a mean of 1e4 and a spread of 1e-2 it subtracts two numbers near
// 1e8 that agree in all the digits an f32 has. Longer rows use Welford's update per thread
// and Chan's formula to merge the threads' (count, mean, M2).

#define BLOCK 256
#define WARPS (BLOCK / 32)
#define VECS 8
#define FULL_MASK 0xffffffffu

__device__ float block_sum(float v)
{
    __shared__ float part[WARPS];
    for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(FULL_MASK, v, o);
    if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = v;
    __syncthreads();
    v = threadIdx.x % 32 < WARPS ? part[threadIdx.x % 32] : 0.0f;
    for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(FULL_MASK, v, o);
    __syncthreads();
    return v;
}

// Chan et al.: the statistics of two disjoint sets from those of each.
__device__ void merge(float& n, float& mean, float& m2, float nb, float meanb, float m2b)
{
    float total = n + nb;
    if (total == 0.0f) return;
    float delta = meanb - mean;
    float wb = nb / total;
    mean += delta * wb;
    m2 += m2b + delta * delta * n * wb;
    n = total;
}

__device__ float4 load4(const float* p, int c, int C)
{
    if (c + 3 < C) return *reinterpret_cast<const float4*>(p + c);
    float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (c < C) v.x = p[c];
    if (c + 1 < C) v.y = p[c + 1];
    if (c + 2 < C) v.z = p[c + 2];
    return v;
}

__device__ void store4(float* p, int c, int C, float4 v)
{
    if (c + 3 < C) {
        *reinterpret_cast<float4*>(p + c) = v;
        return;
    }
    if (c < C) p[c] = v.x;
    if (c + 1 < C) p[c + 1] = v.y;
    if (c + 2 < C) p[c + 2] = v.z;
}

// weight and bias are dense (C floats from a 16-byte boundary): c, a multiple of 4, is
// aligned in them too.
__device__ float4 affine(float4 v, float mu, float rs, const float* w, const float* b, int c,
                         int C)
{
    float4 wv = load4(w, c, C);
    float4 bv = load4(b, c, C);
    return make_float4((v.x - mu) * rs * wv.x + bv.x, (v.y - mu) * rs * wv.y + bv.y,
                       (v.z - mu) * rs * wv.z + bv.z, (v.w - mu) * rs * wv.w + bv.w);
}

extern "C" __global__ void layernorm(const float* x, const float* weight, const float* bias,
                                     float* y, float* mean, float* rstd, int rows, int C,
                                     int stride, float eps)
{
    const float* in = x + (size_t)blockIdx.x * stride;
    float* out = y + (size_t)blockIdx.x * stride;
    int t = threadIdx.x;
    float mu, rs;

    if (C <= BLOCK * 4 * VECS) {
        float4 v[VECS];
        float s = 0.0f;
#pragma unroll
        for (int k = 0; k < VECS; k++) {
            int c = 4 * (t + k * BLOCK);
            v[k] = load4(in, c, C);
            s += (v[k].x + v[k].y) + (v[k].z + v[k].w);
        }
        mu = block_sum(s) / C;
        float sq = 0.0f;
#pragma unroll
        for (int k = 0; k < VECS; k++) {
            int c = 4 * (t + k * BLOCK);
            // Padding lanes (c >= C) hold 0, not x: they must not add (0 - mu)^2.
            float4 d = v[k];
            sq += (d.x * d.x + d.y * d.y) + (d.z * d.z + d.w * d.w);
        }
        rs = rsqrtf(block_sum(sq) / C - mu * mu + eps);
#pragma unroll
        for (int k = 0; k < VECS; k++) {
            int c = 4 * (t + k * BLOCK);
            if (c < C) store4(out, c, C, affine(v[k], mu, rs, weight, bias, c, C));
        }
    } else {
        float n = 0.0f, mu_t = 0.0f, m2 = 0.0f;
        for (int c = t; c < C; c += BLOCK) {
            float v = in[c];
            n += 1.0f;
            float delta = v - mu_t;
            mu_t += delta / n;
            m2 += delta * (v - mu_t);
        }
        for (int o = 16; o > 0; o /= 2) {
            float nb = __shfl_xor_sync(FULL_MASK, n, o);
            float mb = __shfl_xor_sync(FULL_MASK, mu_t, o);
            float m2b = __shfl_xor_sync(FULL_MASK, m2, o);
            merge(n, mu_t, m2, nb, mb, m2b);
        }
        __shared__ float pn[WARPS], pmu[WARPS], pm2[WARPS];
        if (t % 32 == 0) {
            pn[t / 32] = n;
            pmu[t / 32] = mu_t;
            pm2[t / 32] = m2;
        }
        __syncthreads();
        n = 0.0f;
        mu_t = 0.0f;
        m2 = 0.0f;
        for (int w = 0; w < WARPS; w++) merge(n, mu_t, m2, pn[w], pmu[w], pm2[w]);
        mu = mu_t;
        rs = rsqrtf(m2 / C + eps);
        for (int c = t; c < C; c += BLOCK) out[c] = (in[c] - mu) * rs * weight[c] + bias[c];
    }
    if (t == 0) {
        mean[blockIdx.x] = mu;
        rstd[blockIdx.x] = rs;
    }
}
