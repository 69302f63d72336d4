// expect: of block_of are wrong
// Right places, wrong values: block and thread swapped.
extern "C" __global__ void thread_index(int* block_of, int* thread_of, int* global_id) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    block_of[i] = threadIdx.x;
    thread_of[i] = blockIdx.x;
    global_id[i] = i;
}
