//! Grader for host_launch: runs the learner's `saxpy_on_gpu` on inputs kernlings chose and
//! hands the result back. Generated into target/kernlings-graders/; the learner's file is
//! included below by path.

mod protocol;

#[path = {{LEARNER}}]
mod learner;

use cudarc::driver::CudaContext;
use cudarc::nvrtc::compile_ptx;
use protocol::{harness_error, learner_error, Case};

/// The kernel the learner launches; it is given, the host side is the exercise.
const SAXPY: &str = r#"
extern "C" __global__ void saxpy(float alpha, const float* x, const float* y, float* out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = alpha * x[i] + y[i];
}
"#;

fn main() {
    let case = Case::from_args();
    let (x, y) = (case.f32s("x"), case.f32s("y"));
    let alpha = case.param("alpha") as f32;
    let ctx = CudaContext::new(0).unwrap_or_else(|e| harness_error(&format!("CUDA device: {e:?}")));
    let ptx = compile_ptx(SAXPY).unwrap_or_else(|e| harness_error(&format!("NVRTC: {e}")));
    let module = ctx.load_module(ptx).unwrap_or_else(|e| harness_error(&format!("module: {e:?}")));
    let saxpy = module.load_function("saxpy").unwrap_or_else(|e| harness_error(&format!("{e:?}")));
    match learner::saxpy_on_gpu(&ctx, &saxpy, alpha, &x, &y) {
        Ok(out) => case.write_f32s("out", &out),
        Err(e) => learner_error(&format!("{e:?}")),
    }
    case.done();
}
