//! cpu_matmul (module 00, `.rs` exercises): `C = A * B`, row-major f32, on shapes that are
//! not multiples of any tile. The grader binary (harness/rust-graders/cpu_matmul.rs) runs the
//! learner's `matmul`; this side draws the inputs and checks every element against an f64
//! reference. The timed case compares the learner with the naive loop in the grader's one
//! process; the bar is that speed-up.

use crate::curriculum::Tolerance;
use crate::grade::compare::{self, Shape};
use crate::grade::{Element, RustCtx};

/// Interleaved learner/naive pairs in the timed case: at 512 the naive loop takes a quarter
/// of a second, and the median of 7 rides out a busy moment of the machine.
const SAMPLES: usize = 7;

pub fn check(ctx: &mut RustCtx) -> anyhow::Result<()> {
    let timed = ctx.speed_size();
    let mut cases: Vec<(Vec<usize>, bool)> = ctx.sizes().into_iter().map(|s| (s, false)).collect();
    cases.extend(timed.map(|s| (s, true)));
    for (size, is_timed) in cases {
        let [m, k, n] = size[..] else {
            anyhow::bail!("cpu_matmul sizes are [m, k, n], got {size:?}");
        };
        ctx.case(if is_timed {
            format!("timed, {m} x {k} times {k} x {n}")
        } else {
            format!("{m} x {k} times {k} x {n}")
        });
        let (a, b) = (ctx.random_f32(m * k), ctx.random_f32(k * n));
        let samples = if is_timed { SAMPLES } else { 0 };
        let params = [
            ("m", m as f64),
            ("k", k as f64),
            ("n", n as f64),
            ("samples", samples as f64),
        ];
        let run = ctx.run(&params, &[("a", &a), ("b", &b)])?;
        let c = run.f32s("c")?;
        let line = compare::compare(
            "C",
            Shape::Grid { rows: m, cols: n },
            &c,
            &reference(&a, &b, m, k, n),
            tolerance(&a, &b, k),
        )
        .map_err(|mut f| {
            if c.iter().any(|v| v.is_nan() && !v.is_poison()) {
                f.details += "NaN in C: C arrives filled with NaN, and NaN plus anything is NaN. \
                              Does every element start from 0 before you add into it?\n";
            }
            f
        })?;
        ctx.cases.push(format!("{}: {line}", ctx.case));
        if is_timed {
            let flops = 2.0 * (m * k * n) as f64;
            ctx.record_cpu_speed(&run, |us| format!("{:.2} GFLOP/s", flops / us / 1e3))?;
        }
    }
    Ok(())
}

/// Any order of k f32 multiply-adds stays within about k * eps * sum|a_ip * b_pj| of the exact
/// result; bounding that sum by k * max|a| * max|b| gives one atol per case. It is still far
/// below one product, so a kernel that skips a term (or a tile edge) fails.
fn tolerance(a: &[f32], b: &[f32], k: usize) -> Tolerance {
    let max = |xs: &[f32]| xs.iter().fold(0.0f64, |m, &x| m.max(x.abs() as f64));
    let k = k as f64;
    Tolerance {
        rtol: 0.0,
        atol: (k + 1.0) * f32::EPSILON as f64 * k * max(a) * max(b),
    }
}

/// Each element summed in f64 and rounded once: the learner's f32 sums of k products land
/// within the exercise's tolerance of it whatever order they add in.
fn reference(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    let mut c = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let sum: f64 = (0..k)
                .map(|p| a[i * k + p] as f64 * b[p * n + j] as f64)
                .sum();
            c[i * n + j] = sum as f32;
        }
    }
    c
}
