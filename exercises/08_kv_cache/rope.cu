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
    const int pairs = (n_heads + n_kv_heads) * (HEAD_DIM / 2);
    for (int j = threadIdx.x; j < pairs; j += blockDim.x) {
        // TODO: pair j of this token: which head (a query head first, then the key heads),
        // which pair i inside it, and where that head's 64 floats start in q or k. Then turn
        // (x[2i], x[2i+1]) by pos[t] * base^(-2i/64) as the header says.
    }
}
