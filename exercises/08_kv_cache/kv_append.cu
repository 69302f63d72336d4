// kv_append: write each sequence's new key and value into its KV cache, at its own length.
//
// Layout (what module 10's server passes):
//   k_new, v_new [B, n_kv_heads, 64] f32: this decode step's K (already rotated) and V
//   k_cache, v_cache [B, n_kv_heads, max_len, 64] f16 (__half), contiguous: sequence b,
//       head h, slot s starts at ((b * n_kv_heads + h) * max_len + s) * 64
//   lens [B] int: how many tokens sequence b has cached; its new token goes to slot lens[b].
//       Sequences differ: one may be empty (slot 0), another one slot from full.
// The kernel writes only the new slots. Updating lens is the host's job, after the launch.
// Launch (fixed by the harness): grid = (n_kv_heads, B), block = 64 threads: block (h, b)
// writes head h of sequence b, thread d element d.
//
// Everything else in the caches belongs to other tokens and must keep its bits: kernlings
// fills the caches with earlier tokens' values and a pattern of NaNs, and compares every entry.
// f32 to f16: round to nearest even (__float2half_rn), as the harness does.

#include <cuda_fp16.h>

#define HEAD_DIM 64

extern "C" __global__ void kv_append(const float* k_new, const float* v_new, __half* k_cache,
                                     __half* v_cache, const int* lens, int n_kv_heads,
                                     int max_len)
{
    const int h = blockIdx.x, b = blockIdx.y, d = threadIdx.x;
    // TODO: element d of head h of sequence b: where it is in k_new / v_new, and where its
    // slot is in the caches (this sequence's own length picks the slot). Write both, as f16.
}
