// expect: of q
// Known-wrong: pairs (i, i + 32), the Hugging Face layout, where GGUF Llama pairs adjacent elements (2i, 2i + 1).
// rope: rotate the query and key heads of a batch of tokens in place (rotary position
// embedding), as a Llama model stored in GGUF (SmolLM2-135M) expects them.
//
// Layout (what module 10's server passes):
//   q   [n_tokens, n_heads,    64] f32, rotated in place
//   k   [n_tokens, n_kv_heads, 64] f32, rotated in place
//   pos [n_tokens] int: the absolute position of each token in its own sequence. A prompt
//       gives 0, 1, 2, ...; a decode step gives each sequence's current length, so pos is
//       never simply the row index t.
//   base: the model's rope base (SmolLM2: 100000), from the launch arguments.
// Launch (fixed by the harness): grid = n_tokens blocks, block = 128 threads; block t owns
// token t, and its threads share the (n_heads + n_kv_heads) * 32 pairs of that token.
//
// The rotation: in every head, pair i (i = 0 .. 31) is the two ADJACENT elements
// (x[2i], x[2i+1]), turned by the angle pos * base^(-2i/64):
//   x[2i]   = x[2i] cos(angle) - x[2i+1] sin(angle)
//   x[2i+1] = x[2i] sin(angle) + x[2i+1] cos(angle)
// (Hugging Face's Llama code pairs i with i + 32 instead; the GGUF converter permutes the
// weights so that adjacent pairs give the same model. Here the pairs are adjacent.)
//
// Aim: one read and one write of q and k: kernlings times it against copy bandwidth.

#define HEAD_DIM 64

extern "C" __global__ void rope(float* q, float* k, const int* pos, int n_tokens, int n_heads,
                                int n_kv_heads, float base)
{
    const int t = blockIdx.x;
    if (t >= n_tokens) return;
    const float p = (float)pos[t];
    const int pairs = (n_heads + n_kv_heads) * (HEAD_DIM / 2);
    for (int j = threadIdx.x; j < pairs; j += blockDim.x) {
        const int head = j / (HEAD_DIM / 2), i = j % (HEAD_DIM / 2);
        float* x = head < n_heads
            ? q + ((size_t)t * n_heads + head) * HEAD_DIM
            : k + ((size_t)t * n_kv_heads + (head - n_heads)) * HEAD_DIM;
        const float angle = p * powf(base, -2.0f * i / HEAD_DIM);
        float s, c;
        sincosf(angle, &s, &c);
        const float x0 = x[i], x1 = x[i + HEAD_DIM / 2];
        x[i] = x0 * c - x1 * s;
        x[i + HEAD_DIM / 2] = x0 * s + x1 * c;
    }
}
