//! host_launch: the host side of a CUDA program, in Rust with cudarc.
//!
//! So far kernlings did the host's work for you: it put the inputs on the GPU, chose the
//! grid, launched your kernel and read the result back. Here you do it. The kernel is given
//! (kernlings compiles and loads it):
//!
//! ```cuda
//! extern "C" __global__ void saxpy(float alpha, const float* x, const float* y, float* out, int n) {
//!     int i = blockIdx.x * blockDim.x + threadIdx.x;
//!     if (i < n) out[i] = alpha * x[i] + y[i];
//! }
//! ```
//!
//! Goal: return `alpha * x[i] + y[i]` for every i, computed by that kernel on the GPU.
//! x and y have the same length n, which is not a multiple of any block size you might pick.
//!
//! cudarc's pieces: a `CudaStream` orders the work (`ctx.default_stream()`); `clone_htod`
//! copies a slice to a new device buffer, `alloc_zeros` makes an empty one, `clone_dtoh`
//! copies a device buffer back into a `Vec`; `launch_builder` collects a kernel's arguments.

use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaFunction, DriverError, LaunchConfig, PushKernelArg};

pub fn saxpy_on_gpu(
    ctx: &Arc<CudaContext>,
    saxpy: &CudaFunction,
    alpha: f32,
    x: &[f32],
    y: &[f32],
) -> Result<Vec<f32>, DriverError> {
    let stream = ctx.default_stream();
    let n = x.len();

    // TODO: copy x and y to the device.

    // TODO: allocate the output on the device: n floats.

    // TODO: a LaunchConfig: 256 threads per block, and enough blocks that every one of the
    // n elements has a thread.

    // TODO: launch `saxpy` on the stream with its arguments in the kernel's order:
    // alpha, x, y, out, n (as an i32). Launching is `unsafe`: the compiler cannot check
    // that the arguments match the kernel.

    // TODO: copy the output back to the host and return it.
    todo!("the host side of saxpy")
}
