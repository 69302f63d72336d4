//! Module 06, bias_gelu: y = gelu(x + bias[c]) with GELU's tanh form, fused in one kernel.
//!
//! Layout (stated in the stub): x and y dense rows x C, bias C floats; 256 threads per
//! block, each thread 4 consecutive elements, ceil(rows * C / 1024) blocks. `size = [rows, C]`.
//! Timed against the harness's unfused pair (a bias kernel writing t, then a GELU kernel
//! reading it), on buffers of its own.
//!
//! The tanh form and the erf form differ by up to 4.7e-4 (at |v| = 2.7): the bound of each
//! element, a few ulp of v and of y, is far inside that, so an erf GELU fails.

use cudarc::driver::LaunchConfig;

use crate::args;
use cudarc::driver::PushKernelArg;

use crate::grade::speed::Timed;
use crate::grade::{CheckCtx, Launch, Work};

const EPS: f64 = f32::EPSILON as f64;
const BLOCK: u32 = 256;
const PER_THREAD: usize = 4;

/// GELU, tanh form, in f64.
pub fn gelu_tanh(v: f64) -> f64 {
    let k = (2.0 / std::f64::consts::PI).sqrt();
    0.5 * v * (1.0 + (k * (v + 0.044715 * v * v * v)).tanh())
}

/// What a correct f32 kernel may be off by at v = x + b (itself one f32 rounding): the
/// derivative (at most 1.13) times a few roundings of v and of the cubic, and a few ulp of y.
pub fn bound(v: f64) -> f64 {
    let y = gelu_tanh(v);
    8.0 * EPS * (v.abs() + y.abs()) + 1e-37
}

/// The harness's unfused baseline: vectorised like a library's elementwise kernels.
const UNFUSED: &str = r#"
extern "C" __global__ void bias_add(const float* x, const float* bias, float* t, int n, int C)
{
    int i = 4 * (blockIdx.x * blockDim.x + threadIdx.x);
    if (i + 3 < n) {
        float4 v = *reinterpret_cast<const float4*>(x + i);
        v.x += bias[i % C]; v.y += bias[(i + 1) % C]; v.z += bias[(i + 2) % C]; v.w += bias[(i + 3) % C];
        *reinterpret_cast<float4*>(t + i) = v;
    } else {
        for (; i < n; i++) t[i] = x[i] + bias[i % C];
    }
}
__device__ float g(float v) { return 0.5f * v * (1.0f + tanhf(0.7978845608f * (v + 0.044715f * v * v * v))); }
extern "C" __global__ void gelu(const float* t, float* y, int n)
{
    int i = 4 * (blockIdx.x * blockDim.x + threadIdx.x);
    if (i + 3 < n) {
        float4 v = *reinterpret_cast<const float4*>(t + i);
        *reinterpret_cast<float4*>(y + i) = make_float4(g(v.x), g(v.y), g(v.z), g(v.w));
    } else {
        for (; i < n; i++) y[i] = g(t[i]);
    }
}
"#;

/// y = gelu_tanh(x + bias) of rows of `bias.len()` columns, and each element's bound.
fn reference(x: &[f32], bias: &[f32]) -> (Vec<f32>, Vec<f64>) {
    x.iter()
        .enumerate()
        .map(|(i, &xi)| {
            let v = (xi + bias[i % bias.len()]) as f64;
            (gelu_tanh(v) as f32, bound(v))
        })
        .unzip()
}

pub fn check(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let kernel = ctx.kernel("bias_gelu")?;
    let mut cases: Vec<(Vec<usize>, bool)> = ctx.sizes().into_iter().map(|s| (s, false)).collect();
    cases.extend(ctx.speed_size().map(|t| (t, true)));
    for (size, timed) in cases {
        let (rows, c) = (size[0], size[1]);
        let n = rows * c;
        ctx.case(format!(
            "{}{rows} rows x C = {c}",
            if timed { "timed, " } else { "" }
        ));
        let x = ctx.random_f32(n);
        let b = ctx.random_f32(c);
        let (want, bounds) = reference(&x, &b);
        let dx = ctx.input_2d("x", rows, c, &x)?;
        let db = ctx.input("bias", &b)?;
        let dy = ctx.output_2d::<f32>("y", rows, c)?;
        let threads = n.div_ceil(PER_THREAD);
        let cfg = LaunchConfig {
            grid_dim: (threads.div_ceil(BLOCK as usize) as u32, 1, 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: 0,
        };
        let (ri, ci) = (rows as i32, c as i32);
        ctx.launch(&kernel, cfg, args![&dx, &db, &dy, ri, ci])?;
        let rule = "|got - expected| <= 8 eps (|v| + |gelu(v)|), v = x + bias, eps = 2^-23: a \
                    few roundings of a correct f32 tanh-form GELU (the erf form is up to 4.7e-4 \
                    away)";
        ctx.expect_bounded(&dy, &want, bounds, rule.to_string())?;
        if timed {
            // A second version of x (see `CheckCtx::vary_input`): replaying a remembered y fails.
            let varied = ctx.vary(&x, |v| v + 1.0);
            ctx.vary_input(&dx, &varied)?;
            let (want, bounds) = reference(&varied, &b);
            ctx.hold_varied_bounded(&dy, &want, bounds, rule.to_string());
            let bias_add = ctx.harness_kernel(UNFUSED, "bias_add")?;
            let gelu = ctx.harness_kernel(UNFUSED, "gelu")?;
            // The baseline's own buffers: the learner's kernel may rewrite its inputs.
            let stream = ctx.stream.clone();
            let bx = stream.clone_htod(&x)?;
            let bb = stream.clone_htod(&b)?;
            let mut bt = stream.alloc_zeros::<f32>(n)?;
            let mut by = stream.alloc_zeros::<f32>(n)?;
            let ni = n as i32;
            let learner = Launch {
                kernel: &kernel,
                cfg,
                args: args![&dx, &db, &dy, ri, ci],
            };
            let baseline: Timed = Box::new(move || {
                let mut first = stream.launch_builder(&bias_add.func);
                first.arg(&bx).arg(&bb).arg(&mut bt).arg(&ni).arg(&ci);
                // SAFETY: the harness's kernels, with the argument types they declare.
                unsafe { first.launch(cfg) }?;
                let mut second = stream.launch_builder(&gelu.func);
                second.arg(&bt).arg(&mut by).arg(&ni);
                unsafe { second.launch(cfg) }?;
                Ok(())
            });
            ctx.measure_speed_with(
                std::slice::from_ref(&learner),
                Work::Bytes(8 * n as u64),
                baseline,
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// What the solution computes, in f32.
    fn gelu_f32(v: f32) -> f32 {
        let k = 0.797_884_6_f32;
        0.5 * v * (1.0 + (k * (v + 0.044715 * v * v * v)).tanh())
    }

    /// erf by Abramowitz & Stegun 7.1.26 (error below 1.5e-7): enough to show a 4.7e-4 gap.
    fn erf(x: f64) -> f64 {
        let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
        let p = t
            * (0.254_829_592
                + t * (-0.284_496_736
                    + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
        (1.0 - p * (-x * x).exp()).copysign(x)
    }

    #[test]
    fn the_tanh_form_passes_with_margin_and_the_erf_form_fails() {
        for seed in 0..5 {
            let mut rng = crate::grade::inputs::rng(seed);
            let (mut worst_ok, mut erf_wrong) = (0.0f64, 0);
            for _ in 0..20_000 {
                let v: f32 = rng.gen_range(-12.0..12.0);
                let b = bound(v as f64);
                worst_ok = worst_ok.max((gelu_f32(v) as f64 - gelu_tanh(v as f64)).abs() / b);
                let erf_form = (0.5 * v as f64 * (1.0 + erf(v as f64 / 2f64.sqrt()))) as f32;
                if (erf_form as f64 - gelu_tanh(v as f64)).abs() > b {
                    erf_wrong += 1;
                }
            }
            assert!(
                worst_ok < 0.5,
                "seed {seed}: a correct kernel uses {worst_ok} of the bound"
            );
            assert!(
                erf_wrong > 5_000,
                "seed {seed}: only {erf_wrong} erf values fail"
            );
        }
    }
}
