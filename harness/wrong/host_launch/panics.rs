// expect: your code panicked
//! Reads one element past the end of x on the host: Rust panics, and the attempt fails.

use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaFunction, DriverError};

pub fn saxpy_on_gpu(
    _ctx: &Arc<CudaContext>,
    _saxpy: &CudaFunction,
    alpha: f32,
    x: &[f32],
    y: &[f32],
) -> Result<Vec<f32>, DriverError> {
    Ok((0..=x.len()).map(|i| alpha * x[i] + y[i]).collect())
}
