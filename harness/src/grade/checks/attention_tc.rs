//! Tensor-core attention (module 07, rungs 4 and 5): flash_attention_tc and
//! flash_attention_pipelined. Q, K, V, O are [B, H, S, D] fp16 or bf16 row-major, D 64 or 128,
//! accumulated in f32; `size = [B, H, S, D]`. Each case runs both entry points,
//! `flash_attention_f16` and `flash_attention_bf16` (the timed case only the fp16 one).
//!
//! Judged as the f32 rungs are (attention.rs), against a plain attention in the same
//! precision: the f64 reference sees the inputs as stored (rounded to fp16 or bf16), and the
//! plain attention stores its scores, probabilities and output in that precision as PyTorch
//! does. Speed: against the harness's unfused fp16 attention (cuBLAS HGEMM, a softmax, HGEMM)
//! and, as a fraction, against cuBLAS HGEMM's rate, both measured in the same run.

use cudarc::driver::LaunchConfig;

use super::attention::{
    cap_device_heap, cases, draw_inputs, expect_attention, judged_rows, on_gpu, unfused_baseline,
    vary_queries, Inputs, Precision, Shape,
};
use crate::args;
use crate::grade::{CheckCtx, Kernel, Launch};

/// The head dimensions the kernels are compiled for.
const DIMS: [usize; 2] = [64, 128];
/// Query rows per block: four warps of 16 rows, one m16 tile each.
const BLOCK_M: u32 = 64;
const THREADS: u32 = 128;

fn config(shape: Shape) -> LaunchConfig {
    LaunchConfig {
        grid_dim: ((shape.n as u32).div_ceil(BLOCK_M), shape.heads() as u32, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    }
}

pub fn check_tc(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    check(ctx)
}

/// Rung 5 is held to rung 4's check; only its bar differs.
pub fn check_pipelined(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    check(ctx)
}

fn check(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let f16 = ctx.kernel("flash_attention_f16")?;
    let bf16 = ctx.kernel("flash_attention_bf16")?;
    cap_device_heap(ctx)?;
    for (shape, large, timed) in cases(ctx, false, &DIMS)? {
        case::<half::f16>(ctx, &f16, shape, large, timed)?;
        // Timing one precision is enough: the bf16 path is the same kernel.
        if !timed {
            case::<half::bf16>(ctx, &bf16, shape, large, false)?;
        }
    }
    Ok(())
}

fn case<T: Precision>(
    ctx: &mut CheckCtx,
    kernel: &Kernel,
    shape: Shape,
    large: bool,
    timed: bool,
) -> anyhow::Result<()> {
    ctx.case(format!("{} {}", T::NAME, shape.label(large)));
    let x = stored::<T>(draw_inputs(ctx, shape, large));
    let device = |v: &[f32]| -> Vec<T> { v.iter().map(|&e| T::from_f64(e as f64)).collect() };
    let dq = ctx.input("Q", &device(&x.q))?;
    let dk = ctx.input("K", &device(&x.k))?;
    let dv = ctx.input("V", &device(&x.v))?;
    let o = ctx.output::<T>("O", shape.elems())?;
    let args = args![&dq, &dk, &dv, &o, shape.n as i32, shape.d as i32];
    ctx.launch(kernel, config(shape), args)?;
    let judged = judged_rows(ctx, shape, !timed);
    let held = expect_attention(ctx, &x, shape, &judged, &o, None)?;
    if timed {
        ctx.case(format!("timed, {} {}", T::NAME, shape.label(false)));
        vary_queries(ctx, &x, shape, (&dq, &o, None), held)?;
        let learner = [Launch {
            kernel,
            cfg: config(shape),
            args,
        }];
        let baseline = on_gpu(ctx, |ctx| unfused_baseline::<half::f16>(ctx, shape))?;
        ctx.measure_speed_with(&learner, shape.work(true), baseline)?;
    }
    Ok(())
}

/// The inputs as the device holds them: rounded to `T`, so the references see what the
/// kernel sees.
fn stored<T: Precision>(x: Inputs) -> Inputs {
    let round = |v: Vec<f32>| v.into_iter().map(T::round).collect();
    Inputs {
        q: round(x.q),
        k: round(x.k),
        v: round(x.v),
    }
}

#[cfg(test)]
mod tests {
    use super::super::attention::{naive_row, reference_row};
    use super::*;

    /// The plain fp16 attention the tolerance is built on is off the f64 reference by about
    /// fp16's rounding of the output, far more than f32's, and bf16's more still.
    #[test]
    fn plain_half_attention_errs_by_its_rounding() {
        let shape = Shape {
            b: 1,
            h: 1,
            n: 100,
            d: 64,
            causal: false,
        };
        let mut rng = crate::grade::inputs::rng(4);
        let mut one = || crate::grade::inputs::f32s(&mut rng, shape.elems());
        let raw = Inputs {
            q: one(),
            k: one(),
            v: one(),
        };
        let err = |x: &Inputs, o: Vec<f32>| {
            let (want, _) = reference_row(x, shape, 0, 3);
            want.iter()
                .zip(o)
                .fold(0.0f64, |m, (a, b)| m.max((a - b as f64).abs()))
        };
        let xh = stored::<half::f16>(raw);
        let e32 = err(&xh, naive_row::<f32>(&xh, shape, 0, 3).0);
        let e16 = err(&xh, naive_row::<half::f16>(&xh, shape, 0, 3).0);
        assert!(e16 > 10.0 * e32, "{e16} vs {e32}");
        let xb = stored::<half::bf16>(xh);
        let eb = err(&xb, naive_row::<half::bf16>(&xb, shape, 0, 3).0);
        assert!(eb > e16, "{eb} vs {e16}");
    }
}
