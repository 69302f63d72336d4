//! Module 06, cross_entropy: log-softmax and the negative log-likelihood of each row's
//! target, fused; out come each row's logsumexp and the mean loss (one atomicAdd per row
//! into a zeroed *loss).
//!
//! Layout (stated in the stub): logits(r, v) at [r * stride + v], v < V, stride a multiple
//! of 4, padding NaN; one block of 256 threads per row. `size = [rows, V]`; the vocabulary
//! of GPT-2 (50257) does not fit in shared memory, so the statistics are online.
//! Rows cycle through random, +-80 and one-1000-among-small-values logits (no -inf or NaN
//! here: the loss of a fully masked row is not defined).

use cudarc::driver::LaunchConfig;

use super::softmax::{row, Kind};
use crate::args;
use crate::curriculum::Tolerance;
use crate::grade::{CheckCtx, Launch, Work};

const EPS: f64 = f32::EPSILON as f64;
const BLOCK: u32 = 256;
const KINDS: [Kind; 3] = [Kind::Random, Kind::PlusMinus80, Kind::Spike];

/// logsumexp of a row in f64, and what a correct f32 kernel may be off by: the sum of
/// exps' relative error (as softmax's, `softmax::softmax_row`), which log turns into an
/// absolute one, plus the rounding of lse itself.
pub fn lse_row(x: &[f32]) -> (f64, f64) {
    let m = x.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(v as f64));
    let s: f64 = x.iter().map(|&v| (v as f64 - m).exp()).sum();
    let spread = x
        .iter()
        .map(|&v| m - v as f64)
        .fold(0.0, f64::max)
        .min(100.0);
    let lse = m + s.ln();
    let err = EPS * (4.0 + 3.0 * spread + 2.0 * (x.len() as f64).sqrt()) + 2.0 * EPS * lse.abs();
    (lse, err)
}

/// Each row's logsumexp and its bound, the mean loss and its bound, for rows of `v` logits
/// laid out at `stride`.
fn reference(
    logits: &[f32],
    targets: &[i32],
    v: usize,
    stride: usize,
) -> (Vec<f32>, Vec<f64>, f64, f64) {
    let rows = targets.len();
    let (mut lse, mut lse_b) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
    let (mut loss, mut loss_b) = (0.0f64, 0.0f64);
    for (r, &t) in targets.iter().enumerate() {
        let x = &logits[r * stride..r * stride + v];
        let (l, e) = lse_row(x);
        let nll = l - x[t as usize] as f64;
        loss += nll / rows as f64;
        // Each row's share carries its lse error and one rounding; the atomic adds,
        // in any order, one rounding of the running total each.
        loss_b += (e + 2.0 * EPS * nll.abs()) / rows as f64;
        lse.push(l as f32);
        lse_b.push(e);
    }
    loss_b += EPS * rows as f64 * loss.abs();
    (lse, lse_b, loss, loss_b)
}

pub fn check(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let kernel = ctx.kernel("cross_entropy")?;
    let mut cases: Vec<(Vec<usize>, bool)> = ctx.sizes().into_iter().map(|s| (s, false)).collect();
    cases.extend(ctx.speed_size().map(|t| (t, true)));
    for (size, timed) in cases {
        let (rows, v) = (size[0], size[1]);
        ctx.case(format!(
            "{}{rows} rows x V = {v}",
            if timed { "timed, " } else { "" }
        ));
        let stride = if timed {
            v.div_ceil(4) * 4
        } else {
            v.div_ceil(4) * 4 + 4
        };
        let mut logits = vec![f32::NAN; rows * stride];
        let targets = ctx.random_i32(rows, 0, v as i32);
        let kinds: &[Kind] = if timed { &[Kind::Random] } else { &KINDS };
        for r in 0..rows {
            let x = row(ctx, kinds[r % kinds.len()], v);
            logits[r * stride..r * stride + v].copy_from_slice(&x);
        }
        let (lse, lse_b, loss, loss_b) = reference(&logits, &targets, v, stride);
        let dl = ctx.input_2d("logits", rows, stride, &logits)?;
        let dt = ctx.input("targets", &targets)?;
        let dloss = ctx.accumulator::<f32>("loss", 1)?;
        let dlse = ctx.output::<f32>("lse", rows)?;
        let cfg = LaunchConfig {
            grid_dim: (rows as u32, 1, 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: 0,
        };
        let (ri, vi, si) = (rows as i32, v as i32, stride as i32);
        let a = args![&dl, &dt, &dloss, &dlse, ri, vi, si];
        ctx.launch(&kernel, cfg, a)?;
        let rule = "|got - expected| <= eps (4 + 3 spread + 2 sqrt(V)) + 2 eps |lse|, eps = \
                    2^-23: a correct f32 online logsumexp's error";
        ctx.expect_bounded(&dlse, &lse, lse_b, rule.to_string())?;
        let tol = Tolerance {
            rtol: 0.0,
            atol: loss_b,
        };
        ctx.expect_within(&dloss, &[loss as f32], tol)?;
        if timed {
            // A second version of the logits (see `CheckCtx::vary_input`): replaying a
            // remembered loss and lse fails.
            let varied = ctx.vary(&logits, |x| x + 1.0);
            ctx.vary_input(&dl, &varied)?;
            let (lse, lse_b, loss, loss_b) = reference(&varied, &targets, v, stride);
            ctx.hold_varied_bounded(&dlse, &lse, lse_b, rule.to_string());
            let tol = Tolerance {
                rtol: 0.0,
                atol: loss_b,
            };
            ctx.hold_varied_to(&dloss, &[loss as f32], tol);
            let learner = Launch {
                kernel: &kernel,
                cfg,
                args: a,
            };
            ctx.measure_speed(learner, Work::Bytes(4 * (rows * v) as u64), None)?;
        }
    }
    Ok(())
}
