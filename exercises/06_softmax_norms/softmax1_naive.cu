// Exercise: softmax over the rows of a matrix, one thread per row.
//
// Launch (fixed by the harness): blockDim = 128, gridDim = ceil(rows / 128); thread r owns
// row r (threads past the last row do nothing). Element (r, c) of x and of y is at
// [r * stride + c], c < C; columns C .. stride - 1 are padding: do not read or write them.
//
// Goal: y(r, c) = exp(x(r, c) - m) / sum_j exp(x(r, j) - m), with m the row's maximum.
// Subtracting m changes nothing mathematically and keeps every exp() at or below 1:
// expf(1000) is inf, and kernlings' rows include [1000, 1, 2, 3] and values of +-80.
// Contract: a row that is entirely -inf (fully masked) gives zeros; a NaN gives NaN.
//
// Plan: three loops over the row: the max, the sum of exps, the outputs.
// What it runs into: each thread walks its own row, so the 32 lanes of a warp read 32
// addresses a whole row apart, and the row is read three times. Correct first; the next
// exercises fix both.

extern "C" __global__ void softmax_naive(const float* x, float* y, int rows, int C, int stride)
{
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    const float* in = x + (size_t)r * stride;
    float* out = y + (size_t)r * stride;

    // TODO: the row's max, the sum of expf(in[c] - max), then out[c] for every c < C.
    // A row that is all -inf: write zeros (max - max would be NaN).
}
