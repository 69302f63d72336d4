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
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    // Both edges need their own test: a thread can be past the right edge, the bottom, or both.
    if (x < width && y < height) {
        int i = y * width + x;
        gray[i] = 0.299f * rgb[3 * i] + 0.587f * rgb[3 * i + 1] + 0.114f * rgb[3 * i + 2];
    }
}
