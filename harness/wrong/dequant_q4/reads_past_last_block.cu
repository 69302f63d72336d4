// expect: blocks
// expect-gpu: not on a GPU — a read past the buffer whose value is never stored lands in the guard zone unseen; the CPU backend stops at it
// Exercise: turn Q4_1 blocks (llama.cpp's format, as a GGUF model file stores them) into f32.
//
// A block is 20 bytes for 32 weights:
//   bytes 0-1   d, an fp16 (little-endian)
//   bytes 2-3   m, an fp16
//   bytes 4-19  qs[16]: element j (j < 16) is the LOW nibble of qs[j], element j + 16 its
//               HIGH nibble (not elements 2j and 2j + 1)
// and weight e of block b is out[32 b + e] = q_e * d + m.
//
// Launch (fixed by the harness): blockDim = 256, gridDim = ceil(16 * n_blocks / 256).
// Thread t owns byte t % 16 of block t / 16 and writes the two weights stored in it; the
// last grid block has threads past the last Q4_1 block.
//
// What to aim for: the bar is a fraction of the device's copy bandwidth on the bytes read
// and written (kernlings prints both). 32 weights in 20 bytes become 128 bytes of floats,
// so this is mostly a write stream: consecutive threads writing consecutive floats is
// what matters.

#include <cuda_fp16.h>

#define QK 32
#define BLOCK_BYTES 20

extern "C" __global__ void dequant_q4_1(const unsigned char* blocks, float* out, int n_blocks)
{
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    int b = t / 16;
    int j = t % 16;
    // Reads first, tests only before the stores: the last grid block reads past the end.
    const unsigned char* block = blocks + (size_t)b * BLOCK_BYTES;
    float d = __half2float(*reinterpret_cast<const __half*>(block));
    float m = __half2float(*reinterpret_cast<const __half*>(block + 2));
    unsigned char q = block[4 + j];
    if (b < n_blocks) {
        out[(size_t)b * QK + j] = (float)(q & 0x0f) * d + m;
        out[(size_t)b * QK + j + 16] = (float)(q >> 4) * d + m;
    }
}
