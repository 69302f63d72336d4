// expect: one past the end of rgb
// expect-gpu: wrote past the end of gray
// Only the bottom edge is checked: threads past the right edge spill into the next row,
// and on the last row past the end of the image.
extern "C" __global__ void rgb_to_gray(const float* rgb, float* gray, int width, int height) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (y < height) {
        int i = y * width + x;
        gray[i] = 0.299f * rgb[3 * i] + 0.587f * rgb[3 * i + 1] + 0.114f * rgb[3 * i + 2];
    }
}
