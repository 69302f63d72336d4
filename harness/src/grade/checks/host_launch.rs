//! host_launch (a `.rs` exercise): the learner writes the host side in Rust with cudarc:
//! copy the inputs to the device, allocate the output, choose a launch configuration for
//! the given `saxpy` kernel, launch it, copy the result back. The grader binary
//! (harness/rust-graders/host_launch.rs) calls the learner's function on these inputs.

use crate::grade::RustCtx;

pub fn check(ctx: &mut RustCtx) -> anyhow::Result<()> {
    for size in ctx.sizes() {
        let n = size[0];
        ctx.case(format!("n = {n}"));
        let alpha = ctx.random_f32(1)[0];
        let (x, y) = (ctx.random_f32(n), ctx.random_f32(n));
        // f64 product and sum rounded once: what a fused multiply-add gives.
        let want: Vec<f32> = x
            .iter()
            .zip(&y)
            .map(|(&x, &y)| (alpha as f64 * x as f64 + y as f64) as f32)
            .collect();
        let run = ctx.run(&[("alpha", alpha as f64)], &[("x", &x), ("y", &y)])?;
        let out = run.f32s("out")?;
        ctx.expect("out", &out, &want)?;
    }
    Ok(())
}
