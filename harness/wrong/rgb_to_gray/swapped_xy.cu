// expect: were never written
// x from the .y dimension and y from the .x: the grid no longer matches the image.
extern "C" __global__ void rgb_to_gray(const float* rgb, float* gray, int width, int height) {
    int x = blockIdx.y * blockDim.y + threadIdx.y;
    int y = blockIdx.x * blockDim.x + threadIdx.x;
    if (x < width && y < height) {
        int i = y * width + x;
        gray[i] = 0.299f * rgb[3 * i] + 0.587f * rgb[3 * i + 1] + 0.114f * rgb[3 * i + 2];
    }
}
