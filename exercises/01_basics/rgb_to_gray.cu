// rgb_to_gray: a 2D grid over an image.
//
// The image is width x height pixels, stored row after row ("row-major"): pixel (row y,
// column x) has index y * width + x. Each pixel of `rgb` is three floats in a row, red,
// green, blue, so its red is rgb[3 * index], green rgb[3 * index + 1], blue rgb[3 * index + 2].
//
// kernlings launches this kernel with 16 x 16 threads per block and
// ceil(width / 16) x ceil(height / 16) blocks: the x dimension runs along a row (columns),
// the y dimension down the image (rows). Images are not square and not multiples of 16.
//
// Goal: gray[y * width + x] = 0.299 * red + 0.587 * green + 0.114 * blue for every pixel.

extern "C" __global__ void rgb_to_gray(const float* rgb, float* gray, int width, int height) {
    // TODO: this thread's column x and row y, from the .x and the .y of blockIdx, blockDim
    // and threadIdx.

    // TODO: threads past the right or the bottom edge of the image do nothing.

    // TODO: read the pixel's three colours and write its gray value.
}
