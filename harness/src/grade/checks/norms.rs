//! Module 06, row normalisations: layernorm (affine, writes mean and rstd) and
//! rmsnorm_residual (the residual add fused in, writes h = x + residual and y).
//!
//! Layout (stated in the stubs): element (r, c) of every row-major buffer is at
//! [r * stride + c], c < C, stride a multiple of 4 (x's padding NaN, outputs' poisoned);
//! weight and bias hold C floats. Launch: one block of 256 threads per row. `size = [rows, C]`.
//!
//! Every case has a row with mean 1e4 and spread 1e-2 besides random ones: E[x^2] - E[x]^2
//! in f32 cancels every digit there. The reference is in f64 from the f32 inputs; the bound
//! of each output comes from the error a correct f32 kernel makes (see `layer_row`).

use cudarc::driver::LaunchConfig;

use crate::args;
use crate::grade::{CheckCtx, Launch, Work};

const EPS: f64 = f32::EPSILON as f64;
const BLOCK: u32 = 256;
/// The kernels' epsilon inside the square root.
pub const NORM_EPS: f32 = 1e-5;

/// A row whose mean is far from zero and whose spread is tiny.
fn offset_row(ctx: &mut CheckCtx, c: usize) -> Vec<f32> {
    let u = ctx.random_f32(c);
    offset_from(&u)
}

/// 1e4 + 1e-2 * (u rescaled to [-1, 1]): the spread is 1e-2 whatever u's own offset.
fn offset_from(u: &[f32]) -> Vec<f32> {
    let lo = u.iter().fold(f32::INFINITY, |a, &x| a.min(x));
    let hi = u.iter().fold(f32::NEG_INFINITY, |a, &x| a.max(x));
    let half = ((hi - lo) / 2.0).max(f32::MIN_POSITIVE);
    u.iter()
        .map(|&v| 1e4 + 1e-2 * ((v - lo) / half - 1.0))
        .collect()
}

/// Rows alternate random and offset ones, starting with the offset row.
fn rows_of(ctx: &mut CheckCtx, rows: usize, c: usize, offset: bool) -> Vec<Vec<f32>> {
    (0..rows)
        .map(|r| {
            if offset && r % 2 == 0 {
                offset_row(ctx, c)
            } else {
                ctx.random_f32(c)
            }
        })
        .collect()
}

fn padded(c: usize) -> usize {
    c.div_ceil(4) * 4 + 4
}

/// Rows laid out at `stride`, padding NaN.
fn lay_out(rows: &[Vec<f32>], stride: usize) -> Vec<f32> {
    let mut x = vec![f32::NAN; rows.len() * stride];
    for (r, v) in rows.iter().enumerate() {
        x[r * stride..r * stride + v.len()].copy_from_slice(v);
    }
    x
}

/// LayerNorm of one row in f64: (y, mean, rstd) and bounds for each.
///
/// A correct f32 kernel's mean is off by up to about eps (|mean| + sqrt(C) spread) (its
/// rounding to f32 alone is eps/2 |mean|, and the sum's error grows like sqrt(C)); every
/// centred value x - mean inherits that error, so y is off by it times rstd |w|, plus a
/// few roundings of y itself. rstd inherits the mean's error squared through the variance,
/// and the variance's own sum error.
pub struct Norm {
    pub y: Vec<f64>,
    pub y_bound: Vec<f64>,
    pub mean: f64,
    pub mean_bound: f64,
    pub rstd: f64,
    pub rstd_bound: f64,
}

pub fn layer_row(x: &[f32], w: &[f32], b: &[f32]) -> Norm {
    let c = x.len() as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / c;
    let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / c;
    let spread = x
        .iter()
        .map(|&v| (v as f64 - mean).abs())
        .fold(0.0, f64::max);
    let rstd = 1.0 / (var + NORM_EPS as f64).sqrt();
    let dm = EPS * (mean.abs() + 2.0 * c.sqrt() * spread);
    // A mean off by dm adds dm^2 to the variance (the cross term sums to zero).
    let rel_rstd = 4.0 * EPS * c.sqrt() + 4.0 * EPS + dm * dm * rstd * rstd;
    let mut y = Vec::with_capacity(x.len());
    let mut y_bound = Vec::with_capacity(x.len());
    for ((&v, &wi), &bi) in x.iter().zip(w).zip(b) {
        let centred = v as f64 - mean;
        let yi = centred * rstd * wi as f64 + bi as f64;
        y.push(yi);
        y_bound.push(
            2.0 * dm * rstd * (wi as f64).abs()
                + rel_rstd * (centred * rstd * wi as f64).abs()
                + 4.0 * EPS * (yi.abs() + (bi as f64).abs()),
        );
    }
    Norm {
        y,
        y_bound,
        mean,
        mean_bound: 2.0 * dm,
        rstd,
        rstd_bound: 2.0 * rel_rstd * rstd,
    }
}

pub fn layernorm(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let kernel = ctx.kernel("layernorm")?;
    let mut cases: Vec<(Vec<usize>, bool)> = ctx.sizes().into_iter().map(|s| (s, false)).collect();
    cases.extend(ctx.speed_size().map(|t| (t, true)));
    for (size, timed) in cases {
        let (rows, c) = (size[0], size[1]);
        ctx.case(format!(
            "{}{rows} rows x C = {c}",
            if timed { "timed, " } else { "" }
        ));
        let stride = if timed { c } else { padded(c) };
        let xs = rows_of(ctx, rows, c, !timed);
        let w = ctx.random_f32(c);
        let b = ctx.random_f32(c);
        let [want, bounds, means, mean_b, rstds, rstd_b] = layer_refs(&xs, &w, &b, stride);
        let dx = ctx.input_2d("x", rows, stride, &lay_out(&xs, stride))?;
        let dw = ctx.input("weight", &w)?;
        let db = ctx.input("bias", &b)?;
        let dy = ctx.output_2d::<f32>("y", rows, stride)?;
        let dmean = ctx.output::<f32>("mean", rows)?;
        let drstd = ctx.output::<f32>("rstd", rows)?;
        let cfg = row_launch(rows);
        let (ri, ci, si) = (rows as i32, c as i32, stride as i32);
        let a = args![&dx, &dw, &db, &dy, &dmean, &drstd, ri, ci, si, NORM_EPS];
        ctx.launch(&kernel, cfg, a)?;
        let rule = "the error a correct f32 kernel can make: the f32 mean's error times rstd \
                    |weight|, rstd's relative error, a few roundings (see layer_row)";
        let f32s = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<f32>>();
        ctx.expect_bounded(&dmean, &f32s(means), mean_b, rule.to_string())?;
        ctx.expect_bounded(&drstd, &f32s(rstds), rstd_b, rule.to_string())?;
        ctx.expect_bounded(&dy, &f32s(want), bounds, rule.to_string())?;
        if timed {
            // A second version of x (see `CheckCtx::vary_input`): replaying a remembered y fails.
            let varied = vary_rows(ctx, &xs);
            ctx.vary_input(&dx, &lay_out(&varied, stride))?;
            let [want, bounds, means, mean_b, rstds, rstd_b] = layer_refs(&varied, &w, &b, stride);
            ctx.hold_varied_bounded(&dmean, &f32s(means), mean_b, rule.to_string());
            ctx.hold_varied_bounded(&drstd, &f32s(rstds), rstd_b, rule.to_string());
            ctx.hold_varied_bounded(&dy, &f32s(want), bounds, rule.to_string());
            let learner = Launch {
                kernel: &kernel,
                cfg,
                args: a,
            };
            ctx.measure_speed(learner, Work::Bytes(8 * (rows * c) as u64), None)?;
        }
    }
    Ok(())
}

/// The references of every row laid out at `stride` (NaN in the padding), in f64:
/// y, its bounds, mean, its bounds, rstd, its bounds.
fn layer_refs(xs: &[Vec<f32>], w: &[f32], b: &[f32], stride: usize) -> [Vec<f64>; 6] {
    let mut out: [Vec<f64>; 6] = Default::default();
    out[0] = vec![f64::NAN; xs.len() * stride];
    out[1] = vec![0.0; xs.len() * stride];
    for (r, v) in xs.iter().enumerate() {
        let n = layer_row(v, w, b);
        out[0][r * stride..r * stride + v.len()].copy_from_slice(&n.y);
        out[1][r * stride..r * stride + v.len()].copy_from_slice(&n.y_bound);
        out[2].push(n.mean);
        out[3].push(n.mean_bound);
        out[4].push(n.rstd);
        out[5].push(n.rstd_bound);
    }
    out
}

/// The rows with three elements changed: the timed launches' second version of an input.
fn vary_rows(ctx: &mut CheckCtx, xs: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let c = xs[0].len();
    let flat = ctx.vary(&xs.concat(), |v| v + 1.0);
    flat.chunks(c).map(<[f32]>::to_vec).collect()
}

fn row_launch(rows: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (rows as u32, 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// RMSNorm of h = x + residual (the f32 sum, exactly what a kernel's add gives): y and its
/// bounds. rs = 1 / sqrt(mean h^2 + eps): a sum of C squares is off by about
/// eps sqrt(C) relative, halved by the square root, plus rsqrtf's 2 ulp.
pub fn rms_row(h: &[f32], w: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let c = h.len() as f64;
    let ms = h.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / c;
    let rs = 1.0 / (ms + NORM_EPS as f64).sqrt();
    let rel = EPS * (2.0 * c.sqrt() + 8.0);
    h.iter()
        .zip(w)
        .map(|(&v, &wi)| {
            let y = v as f64 * rs * wi as f64;
            (y, rel * y.abs() + 1e-30)
        })
        .unzip()
}

/// h = x + residual, y and y's bounds of every row laid out at `stride` (NaN in the padding).
fn rms_refs(
    xs: &[Vec<f32>],
    res: &[Vec<f32>],
    w: &[f32],
    stride: usize,
) -> (Vec<f32>, Vec<f32>, Vec<f64>) {
    let rows = xs.len();
    let mut h_want = vec![f32::NAN; rows * stride];
    let mut want = vec![f32::NAN; rows * stride];
    let mut bounds = vec![0.0; rows * stride];
    for r in 0..rows {
        let h: Vec<f32> = xs[r].iter().zip(&res[r]).map(|(a, b)| a + b).collect();
        let (y, b) = rms_row(&h, w);
        let at = r * stride;
        h_want[at..at + h.len()].copy_from_slice(&h);
        for (i, (yi, bi)) in y.iter().zip(b).enumerate() {
            want[at + i] = *yi as f32;
            bounds[at + i] = bi;
        }
    }
    (h_want, want, bounds)
}

pub fn rmsnorm(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let kernel = ctx.kernel("rmsnorm_residual")?;
    let mut cases: Vec<(Vec<usize>, bool)> = ctx.sizes().into_iter().map(|s| (s, false)).collect();
    cases.extend(ctx.speed_size().map(|t| (t, true)));
    for (size, timed) in cases {
        let (rows, c) = (size[0], size[1]);
        ctx.case(format!(
            "{}{rows} rows x C = {c}",
            if timed { "timed, " } else { "" }
        ));
        let stride = if timed { c } else { padded(c) };
        let xs = rows_of(ctx, rows, c, !timed);
        let res = rows_of(ctx, rows, c, false);
        let w = ctx.random_f32(c);
        let (h_want, want, bounds) = rms_refs(&xs, &res, &w, stride);
        let dx = ctx.input_2d("x", rows, stride, &lay_out(&xs, stride))?;
        let dres = ctx.input_2d("residual", rows, stride, &lay_out(&res, stride))?;
        let dw = ctx.input("weight", &w)?;
        let dh = ctx.output_2d::<f32>("h_out", rows, stride)?;
        let dy = ctx.output_2d::<f32>("y", rows, stride)?;
        let cfg = row_launch(rows);
        let (ri, ci, si) = (rows as i32, c as i32, stride as i32);
        let a = args![&dx, &dres, &dw, &dh, &dy, ri, ci, si, NORM_EPS];
        ctx.launch(&kernel, cfg, a)?;
        // h is one f32 addition: exact.
        let exact = crate::curriculum::Tolerance {
            rtol: 0.0,
            atol: 0.0,
        };
        ctx.expect_within(&dh, &h_want, exact)?;
        let rule = "|got - expected| <= expected * eps * (2 sqrt(C) + 8), eps = 2^-23: the \
                    error of a correct f32 sum of squares and rsqrtf";
        ctx.expect_bounded(&dy, &want, bounds, rule.to_string())?;
        if timed {
            // A second version of x (see `CheckCtx::vary_input`): replaying a remembered y fails.
            let varied = vary_rows(ctx, &xs);
            ctx.vary_input(&dx, &lay_out(&varied, stride))?;
            let (h_want, want, bounds) = rms_refs(&varied, &res, &w, stride);
            ctx.hold_varied_to(&dh, &h_want, exact);
            ctx.hold_varied_bounded(&dy, &want, bounds, rule.to_string());
            let learner = Launch {
                kernel: &kernel,
                cfg,
                args: a,
            };
            ctx.measure_speed(learner, Work::Bytes(16 * (rows * c) as u64), None)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::inputs;

    /// A block of 256 threads in f32: each adds its strided elements, then a pairwise tree.
    fn block_sum(v: &[f32]) -> f32 {
        let mut part: Vec<f32> = (0..256)
            .map(|t| v.iter().skip(t).step_by(256).sum())
            .collect();
        while part.len() > 1 {
            let half = part.len() / 2;
            part = (0..half).map(|i| part[i] + part[i + half]).collect();
        }
        part[0]
    }

    /// (mean, rstd, y) as the two-pass solution computes them, or with E[x^2] - E[x]^2.
    fn kernel(x: &[f32], w: &[f32], b: &[f32], naive: bool) -> (f32, f32, Vec<f32>) {
        let c = x.len() as f32;
        let mu = block_sum(x) / c;
        let var = if naive {
            let sq: Vec<f32> = x.iter().map(|v| v * v).collect();
            block_sum(&sq) / c - mu * mu
        } else {
            let sq: Vec<f32> = x.iter().map(|v| (v - mu) * (v - mu)).collect();
            block_sum(&sq) / c
        };
        let rs = 1.0 / (var + NORM_EPS).sqrt();
        let y = x
            .iter()
            .zip(w)
            .zip(b)
            .map(|((v, wi), bi)| (v - mu) * rs * wi + bi)
            .collect();
        (mu, rs, y)
    }

    /// Largest error / bound over mean, rstd and y of one row (a NaN counts as infinite).
    fn worst(x: &[f32], w: &[f32], b: &[f32], naive: bool) -> f64 {
        let want = layer_row(x, w, b);
        let (mu, rs, y) = kernel(x, w, b, naive);
        let ratio = |got: f32, want: f64, bound: f64| {
            let r = (got as f64 - want).abs() / bound;
            if r.is_nan() {
                f64::INFINITY
            } else {
                r
            }
        };
        let mut r =
            ratio(mu, want.mean, want.mean_bound).max(ratio(rs, want.rstd, want.rstd_bound));
        for ((&g, &w), &b) in y.iter().zip(&want.y).zip(&want.y_bound) {
            r = r.max(ratio(g, w, b));
        }
        r
    }

    #[test]
    fn two_pass_passes_with_margin_and_mean_of_squares_fails_offset_rows() {
        for seed in 0..4 {
            let mut rng = inputs::rng(seed);
            for c in [31, 1024, 4097, 9000] {
                let w = inputs::f32s(&mut rng, c);
                let b = inputs::f32s(&mut rng, c);
                let random = inputs::f32s(&mut rng, c);
                let offset = offset_from(&inputs::f32s(&mut rng, c));
                for x in [&random, &offset] {
                    let r = worst(x, &w, &b, false);
                    assert!(
                        r < 0.5,
                        "seed {seed}, C = {c}: two-pass uses {r} of the bound"
                    );
                }
                let r = worst(&offset, &w, &b, true);
                let want = layer_row(&offset, &w, &b);
                let got = kernel(&offset, &w, &b, true);
                eprintln!(
                    "C={c} want mean {} rstd {} bound {} got {} {}",
                    want.mean, want.rstd, want.rstd_bound, got.0, got.1
                );
                assert!(
                    r > 10.0,
                    "seed {seed}, C = {c}: E[x^2] - E[x]^2 only {r}x the bound"
                );
            }
        }
    }
}
