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

    let x_dev = stream.clone_htod(x)?;
    let y_dev = stream.clone_htod(y)?;
    let mut out = stream.alloc_zeros::<f32>(n)?;

    // Round up: the kernel's `if (i < n)` stops the extra threads of the last block.
    const THREADS: u32 = 256;
    let cfg = LaunchConfig {
        grid_dim: ((n as u32).div_ceil(THREADS), 1, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    };
    let n_arg = n as i32;
    let mut launch = stream.launch_builder(saxpy);
    launch.arg(&alpha).arg(&x_dev).arg(&y_dev).arg(&mut out).arg(&n_arg);
    // Safety: the arguments match the kernel's signature, and out holds n floats.
    unsafe { launch.launch(cfg) }?;

    // clone_dtoh waits for the kernel: the stream runs the copy after it.
    stream.clone_dtoh(&out)
}
