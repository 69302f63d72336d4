// thread_index: who am I?
//
// A kernel runs once per thread. Threads come in blocks, blocks make up the grid, and every
// thread can read where it sits: blockIdx.x (which block), threadIdx.x (which thread inside
// its block) and blockDim.x (how many threads each block has).
//
// kernlings launches this kernel with exactly as many threads as there are elements: a few
// blocks of a few threads each (for example 3 blocks of 31 threads: 93 threads, 93 elements).
//
// Goal: each thread computes its global index, the position of the thread in the whole
// grid, and at that index writes
//     block_of[i]  = the index of its block,
//     thread_of[i] = its index inside the block,
//     global_id[i] = i itself.
// Thread 5 of block 2, with 31 threads per block, has global index 2 * 31 + 5 = 67.

extern "C" __global__ void thread_index(int* block_of, int* thread_of, int* global_id) {
    // All the blocks before mine, each full of threads, then my place in my own block.
    int i = blockIdx.x * blockDim.x + threadIdx.x;

    block_of[i] = blockIdx.x;
    thread_of[i] = threadIdx.x;
    global_id[i] = i;
}
