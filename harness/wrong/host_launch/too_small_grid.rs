// expect: returned an error
//! Rounds the block count down: n = 1 gives a grid of 0 blocks, which CUDA refuses (and for
//! larger n, the last elements would have no thread).

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
    let cfg = LaunchConfig {
        grid_dim: (n as u32 / 256, 1, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    };
    let n_arg = n as i32;
    let mut launch = stream.launch_builder(saxpy);
    launch.arg(&alpha).arg(&x_dev).arg(&y_dev).arg(&mut out).arg(&n_arg);
    unsafe { launch.launch(cfg) }?;
    stream.clone_dtoh(&out)
}
