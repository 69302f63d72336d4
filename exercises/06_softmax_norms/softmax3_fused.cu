// Exercise: a fused softmax, the row kept on chip: a warp per short row, a block per long one.
//
// Launch (fixed by the harness): blockDim = 256 (8 warps). Rows of C <= WARP_ROW_MAX = 1024
// floats: gridDim = ceil(rows / 8), warp w of block b owns row 8 * b + w. Longer rows:
// gridDim = rows, block r owns row r. Element (r, c) of x and of y is at [r * stride + c],
// c < C; stride is a multiple of 4, so every row starts on a 16-byte boundary and can be
// read as float4.
//
// Goal: the softmax of softmax_naive at the speed of a copy: read each row once, write it
// once, with coalesced float4 loads. kernlings times it against the device's copy
// bandwidth at two shapes, 8192 x 8192 and 32768 x 1024, and the bar holds at both; on the
// CPU backend it counts the bytes and sectors your loads and stores touch.
// Why two launch shapes: a block of 256 threads on a 1024-float row has one float4 per
// thread in flight and then waits at barriers; a warp per row needs no barrier, and a
// block then has eight rows' loads in flight.
//
// Plan:
//   1. warp_max / warp_sum with __shfl_xor_sync, then block_max / block_sum: one value per
//      warp through shared memory, every thread gets the result;
//   2. short rows (warp_row): lane l loads float4s l, l + 32, ... into v[VECS], the warp
//      finds the max and the sum of exps with shuffles alone, and writes from the registers;
//   3. rows up to BLOCK * 4 * VECS = 8192 floats: the same with the whole block
//      (i = t, t + BLOCK, ...), reduced with block_max / block_sum;
//   4. longer rows do not fit: each thread keeps an online (max, sum) over its part (as in
//      softmax_online), the block merges the pairs, and a second read writes the output.
// C % 4 tail elements (at most 3) are not a whole float4: handle them one by one.
// Contract, as before: a row entirely -inf gives zeros, a NaN gives NaN.

#define BLOCK 256
#define WARPS (BLOCK / 32)
#define VECS 8
#define WARP_ROW_MAX 1024
#define FULL_MASK 0xffffffffu
#define NEG_INF __int_as_float(0xff800000)

__device__ float warp_max(float v)
{
    // TODO: five __shfl_xor_sync steps (16, 8, 4, 2, 1); every lane ends with the max.
    return v;
}

__device__ float warp_sum(float v)
{
    // TODO: the same with +.
    return v;
}

__device__ float block_max(float v)
{
    __shared__ float part[WARPS];
    // TODO: warp_max, lane 0 writes part[warp], a barrier, each warp reduces part, and a
    // barrier before anyone can call this again and overwrite part.
    return v;
}

__device__ float block_sum(float v)
{
    __shared__ float part[WARPS];
    // TODO: as block_max, with sums.
    return v;
}

// A row of at most WARP_ROW_MAX floats, owned by one warp.
__device__ void warp_row(const float* in, float* out, int C)
{
    int lane = threadIdx.x % 32;
    float4 v[VECS];
    // TODO: step 2 — load float4s lane + 32 * k, warp max, exps and warp sum, write from v.
}

extern "C" __global__ void softmax_fused(const float* x, float* y, int rows, int C, int stride)
{
    if (C <= WARP_ROW_MAX) {
        // TODO: this warp's row from blockIdx.x and threadIdx.x / 32; a warp past the last
        // row returns (the whole warp: no shuffle may wait on a lane that left).
        return;
    }
    const float* in = x + (size_t)blockIdx.x * stride;
    float* out = y + (size_t)blockIdx.x * stride;
    const float4* in4 = reinterpret_cast<const float4*>(in);
    float4* out4 = reinterpret_cast<float4*>(out);
    int t = threadIdx.x;
    int n4 = C / 4;

    if (C <= BLOCK * 4 * VECS) {
        float4 v[VECS];
        // TODO: step 3 — load, block max, exps and block sum, write from v.
        return;
    }
    // TODO: step 4 — online (max, sum) per thread, merged across the block, then the output.
}
