// Exercise: sum n floats into *sum.
//
// Launch (fixed by the harness): blockDim = 256, gridDim = ceil(n / 256); *sum is 0.0f before
// the launch, and each thread owns at most one element x[i].
//
// The kernel below runs and is wrong: grade it and look at the sum it returns. Tens of
// thousands of threads all do "read *sum, add, write *sum" at once; think about what happens
// when two of them read the same old value.
//
// What to aim for: the exact sum (within float rounding) for every n the harness tries, from 1
// to a few million. This version is not meant to be fast: every element is one update of the
// same address, and those updates happen one at a time. Remember how slow it is; the next
// three exercises fix that.

extern "C" __global__ void reduce_atomic(const float* x, float* sum, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        // TODO: make this update indivisible, so that no thread's addition is lost.
        *sum += x[i];
    }
}
