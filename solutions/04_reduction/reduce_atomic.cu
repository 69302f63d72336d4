// Sum n floats with one atomicAdd per element.
//
// Launch (fixed by the harness): blockDim = 256, gridDim = ceil(n / 256); *sum is 0.0f before
// the launch. Every thread owns at most one element.
//
// Correct, and slow on purpose: every thread of the grid updates the same 4 bytes, and the
// memory system can only apply those updates one after another. The next exercises keep the
// additions on the chip and leave one atomic per block (then per grid) instead of one per element.

extern "C" __global__ void reduce_atomic(const float* x, float* sum, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        // A read-modify-write done by the memory system as one indivisible step: no other
        // thread's update can slip in between the read and the write, so none is lost.
        atomicAdd(sum, x[i]);
    }
}
