// expect: of gray are wrong
// Reads pixel (y, x) correctly but stores it at x * height + y, the column-major place:
// every element is written, most of them with another pixel's value.
extern "C" __global__ void rgb_to_gray(const float* rgb, float* gray, int width, int height) {
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x < width && y < height) {
        int i = y * width + x;
        gray[x * height + y] = 0.299f * rgb[3 * i] + 0.587f * rgb[3 * i + 1] + 0.114f * rgb[3 * i + 2];
    }
}
