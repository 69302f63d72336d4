// expect: outside any buffer
// An index scaled far past any allocation: the GPU faults.
extern "C" __global__ void thread_index(int* block_of, int* thread_of, int* global_id) {
    long long i = blockIdx.x * blockDim.x + threadIdx.x;
    global_id[(i + 1) << 32] = (int)i;
}
