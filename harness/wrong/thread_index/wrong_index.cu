// expect: data race on global memory
// expect-gpu: were never written
// Adds the block index instead of multiplying it by the block size: threads collide.
extern "C" __global__ void thread_index(int* block_of, int* thread_of, int* global_id) {
    int i = blockIdx.x + threadIdx.x;
    block_of[i] = blockIdx.x;
    thread_of[i] = threadIdx.x;
    global_id[i] = i;
}
