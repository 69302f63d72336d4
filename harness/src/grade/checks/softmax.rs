//! Module 06, softmax over rows: softmax_naive, softmax_online, softmax_fused (one check
//! with a variant each) and softmax_causal.
//!
//! Layout (stated in the stubs): element (r, c) of x and y is at [r * stride + c], c < C;
//! the harness picks stride >= C, a multiple of 4, and fills x's padding with NaN (a kernel
//! that reads past C gets NaN) and leaves y's poisoned (a kernel that writes there fails).
//! `size = [rows, C]` (causal: `[B, S]`, B stacked S x S matrices); the fused bar is held
//! at two timed shapes, `size = [rows1, C1, rows2, C2]`.
//!
//! Rows of every case cycle through the classic failures: random, +-80, one 1000 among small
//! values (exp overflows without the max), all equal, partly -inf, entirely -inf (contract:
//! output 0), one NaN (the whole row is NaN). The reference is in f64; each element may be
//! off by what a correct f32 kernel can make there (see `bound`), and each row must sum to 1
//! within `sum_tol`.

use cudarc::driver::LaunchConfig;

use super::access_bars;
use crate::args;
use crate::grade::{blocks_for, CheckCtx, DevBuf, Element, Failure, Kernel, Launch, Work};
use crate::outcome::LaunchCounters;
use crate::toolchain::BackendKind;

const EPS: f64 = f32::EPSILON as f64;
/// Below any output a softmax of these inputs produces except a flushed denormal.
const ATOL: f64 = 1e-30;
/// `|sum_c y(r, c) - 1|` of every row that is neither NaN nor fully masked: 1e-5, growing
/// like sqrt(C) past 4096, where a serial f32 sum of 50257 exps lands 1.3e-5 away.
pub fn sum_tol(c: usize) -> f64 {
    1e-5 * (c as f64 / 4096.0).sqrt().max(1.0)
}
/// softmax_naive and softmax_online: one thread per row.
const THREAD_BLOCK: u32 = 128;
/// softmax_fused and softmax_causal: one block per row.
const ROW_BLOCK: u32 = 256;
/// softmax_fused: rows this short go one per warp (a block per row keeps too few loads in
/// flight for them: 0.38 of copy at 32768 x 1024 on the H200).
const WARP_ROW_MAX: usize = 1024;

/// What one row of a case holds.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Kind {
    Random,
    PlusMinus80,
    Spike,
    Equal,
    PartlyMasked,
    Masked,
    Nan,
}

pub const KINDS: [Kind; 7] = [
    Kind::Random,
    Kind::PlusMinus80,
    Kind::Spike,
    Kind::Equal,
    Kind::PartlyMasked,
    Kind::Masked,
    Kind::Nan,
];

/// A row of `kind`, `c` wide.
pub fn row(ctx: &mut CheckCtx, kind: Kind, c: usize) -> Vec<f32> {
    let mut v = ctx.random_f32(c);
    let at = ctx.random_i32(1, 0, c as i32)[0] as usize;
    match kind {
        Kind::Random => {}
        Kind::PlusMinus80 => {
            let top = v.iter().fold(0.0f32, |a, x| a.max(x.abs()));
            v.iter_mut().for_each(|x| *x *= 80.0 / top);
        }
        Kind::Spike => v[at] = 1000.0,
        Kind::Equal => {
            let first = v[0];
            v.fill(first);
        }
        // The first half masked, so a running max starts at -inf (the online merge's
        // (-inf) - (-inf)); the last element kept.
        Kind::PartlyMasked => {
            for (i, x) in v.iter_mut().enumerate() {
                if (i < c / 2 || i % 3 == 1) && i + 1 < c {
                    *x = f32::NEG_INFINITY;
                }
            }
        }
        Kind::Masked => v.fill(f32::NEG_INFINITY),
        // Among finite values: fmaxf skips a NaN, and a row that is only NaN would look
        // fully masked to a kernel whose max is fmaxf. A row of one element stays finite.
        Kind::Nan if c > 1 => v[at] = f32::NAN,
        Kind::Nan => {}
    }
    v
}

/// The f64 softmax of one row, and how far a correct f32 kernel may land from each element:
/// exp(t) of an f32 t carries t's rounding (relative eps |t|, three times over for x - m and
/// the scaling into exp2), a few roundings of its own, and the row sum's error, which grows
/// like sqrt(C) in any summation order a kernel uses.
pub fn softmax_row(x: &[f32]) -> (Vec<f32>, Vec<f64>) {
    let c = x.len();
    if x.iter().any(|v| v.is_nan()) {
        return (vec![f32::NAN; c], vec![0.0; c]);
    }
    let m = x.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(v as f64));
    if m == f64::NEG_INFINITY {
        return (vec![0.0; c], vec![ATOL; c]);
    }
    let e: Vec<f64> = x.iter().map(|&v| (v as f64 - m).exp()).collect();
    let s: f64 = e.iter().sum();
    let root = (c as f64).sqrt();
    let bounds = x
        .iter()
        .zip(&e)
        .map(|(&v, &ei)| {
            let t = if v == f32::NEG_INFINITY {
                0.0
            } else {
                m - v as f64
            };
            ATOL + ei / s * EPS * (4.0 + 3.0 * t + 2.0 * root)
        })
        .collect();
    (e.iter().map(|&ei| (ei / s) as f32).collect(), bounds)
}

/// The rule `softmax_row`'s bounds follow, in the words a failure prints.
pub const BOUND_RULE: &str = "|got - expected| <= 1e-30 + expected * eps * (4 + 3 |x - max| + \
                              2 sqrt(C)), eps = 2^-23: the error a correct f32 kernel can make";

/// One case's inputs: `rows` rows of width `c` at `stride`, `keep(r)` elements of row r
/// kept (the rest, and the padding, NaN), and the reference for y with its bounds.
struct Case {
    rows: usize,
    c: usize,
    stride: usize,
    x: Vec<f32>,
    want: Vec<f32>,
    bounds: Vec<f64>,
    /// Rows whose reference is NaN (with their kept length), and rows that must sum to 1.
    nan_rows: Vec<(usize, usize)>,
    sum_rows: Vec<usize>,
    /// Elements a kernel must read: the bytes it needs, with the writes of all of y.
    kept: usize,
}

fn build(
    ctx: &mut CheckCtx,
    rows: usize,
    c: usize,
    stride: usize,
    keep: impl Fn(usize) -> usize,
    kinds: &[Kind],
) -> Case {
    let mut case = Case {
        rows,
        c,
        stride,
        x: vec![f32::NAN; rows * stride],
        want: vec![f32::POISON; rows * stride],
        bounds: vec![0.0; rows * stride],
        nan_rows: Vec::new(),
        sum_rows: Vec::new(),
        kept: 0,
    };
    for r in 0..rows {
        let k = keep(r);
        let kind = kinds[r % kinds.len()];
        let v = row(ctx, kind, k);
        let (y, b) = softmax_row(&v);
        let at = r * stride;
        case.x[at..at + k].copy_from_slice(&v);
        case.want[at..at + k].copy_from_slice(&y);
        case.bounds[at..at + k].copy_from_slice(&b);
        // Masked columns: output 0, exactly.
        case.want[at + k..at + c].fill(0.0);
        case.kept += k;
        match kind {
            Kind::Nan if k > 1 => case.nan_rows.push((r, k)),
            Kind::Masked => {}
            _ => case.sum_rows.push(r),
        }
    }
    case
}

#[derive(Clone, Copy, PartialEq)]
enum Step {
    Naive,
    Online,
    Fused,
}

pub fn naive(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    check(ctx, "softmax_naive", Step::Naive)
}

pub fn online(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    check(ctx, "softmax_online", Step::Online)
}

pub fn fused(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    check(ctx, "softmax_fused", Step::Fused)
}

fn launch_cfg(step: Step, rows: usize, c: usize) -> LaunchConfig {
    match step {
        Step::Naive | Step::Online => LaunchConfig {
            grid_dim: (blocks_for(rows, THREAD_BLOCK), 1, 1),
            block_dim: (THREAD_BLOCK, 1, 1),
            shared_mem_bytes: 0,
        },
        Step::Fused if c <= WARP_ROW_MAX => LaunchConfig {
            grid_dim: (blocks_for(rows, ROW_BLOCK / 32), 1, 1),
            block_dim: (ROW_BLOCK, 1, 1),
            shared_mem_bytes: 0,
        },
        Step::Fused => block_per_row(rows),
    }
}

fn block_per_row(rows: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (rows as u32, 1, 1),
        block_dim: (ROW_BLOCK, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// A multiple of 4 past C: x's padding is NaN and y's must stay untouched.
fn padded(c: usize) -> usize {
    c.div_ceil(4) * 4 + 4
}

fn check(ctx: &mut CheckCtx, name: &str, step: Step) -> anyhow::Result<()> {
    let kernel = ctx.kernel(name)?;
    for size in ctx.sizes() {
        let (rows, c) = (size[0], size[1]);
        ctx.case(format!("{rows} rows x C = {c}"));
        let case = build(ctx, rows, c, padded(c), |_| c, &KINDS);
        run(ctx, &kernel, step, &case, false)?;
    }
    // The lesson of each step in the CPU backend's counters, on a case of whole warps.
    let traffic: &[(usize, usize)] = match step {
        Step::Naive => &[],
        Step::Online => &[(64, 1000)],
        // A warp per row, and a block per row.
        Step::Fused => &[(64, 1024), (16, 4096)],
    };
    let on_cpu = ctx.backend() == BackendKind::Cpu;
    for &(rows, c) in traffic.iter().filter(|_| on_cpu) {
        ctx.case(format!("traffic, {rows} rows x C = {c}"));
        let case = build(ctx, rows, c, c, |_| c, &[Kind::Random]);
        run(ctx, &kernel, step, &case, false)?;
        traffic_bar(ctx, step, &case)?;
    }
    if let Some(timed) = ctx.speed_size() {
        for shape in timed.chunks(2) {
            let (rows, c) = (shape[0], shape[1]);
            ctx.case(format!("timed, {rows} rows x C = {c}"));
            let case = build(ctx, rows, c, c, |_| c, &[Kind::Random]);
            run(ctx, &kernel, step, &case, true)?;
        }
    }
    Ok(())
}

/// Launch, compare every element and each row's sum, and (when `timed`) time it.
fn run(
    ctx: &mut CheckCtx,
    kernel: &Kernel,
    step: Step,
    case: &Case,
    timed: bool,
) -> anyhow::Result<()> {
    let dx = ctx.input_2d("x", case.rows, case.stride, &case.x)?;
    let dy = ctx.output_2d::<f32>("y", case.rows, case.stride)?;
    let cfg = launch_cfg(step, case.rows, case.c);
    let (rows, c, stride) = (case.rows as i32, case.c as i32, case.stride as i32);
    ctx.launch(kernel, cfg, args![&dx, &dy, rows, c, stride])?;
    expect_rows(ctx, &dy, case)?;
    if timed {
        vary_rows(ctx, &dx, &dy, case, |_| case.c)?;
        let learner = Launch {
            kernel,
            cfg,
            args: args![&dx, &dy, rows, c, stride],
        };
        let bytes = 8 * (case.rows * case.c) as u64;
        ctx.measure_speed(learner, Work::Bytes(bytes), None)?;
    }
    Ok(())
}

fn expect_rows(ctx: &mut CheckCtx, dy: &DevBuf<f32>, case: &Case) -> anyhow::Result<()> {
    let got = ctx.read(dy)?;
    for &(r, k) in &case.nan_rows {
        let at = r * case.stride;
        if let Some(i) = (at..at + k).find(|&i| !got[i].is_nan() || got[i].is_poison()) {
            let what = if got[i].is_poison() {
                "was never written".to_string()
            } else {
                format!("is {}", got[i])
            };
            return Err(Failure::new(
                format!("row {r} holds a NaN, but y(row {r}, col {}) {what}", i - at),
                "A NaN in the input must come out: every element of that row's softmax is \
                 NaN (the sum over the row is NaN). Does your max skip NaN (fmaxf does) and \
                 your sum too?\n",
            )
            .into());
        }
    }
    ctx.expect_bounded(dy, &case.want, case.bounds.clone(), BOUND_RULE.to_string())?;
    for &r in &case.sum_rows {
        let at = r * case.stride;
        let s: f64 = got[at..at + case.c].iter().map(|&v| v as f64).sum();
        let tol = sum_tol(case.c);
        if (s - 1.0).abs() > tol {
            return Err(Failure::new(
                format!("row {r} of y sums to {s:.9}, not 1 (within {tol:.1e})"),
                "Every element is close to the reference, but together they drift: is the \
                 sum accumulated in f32 over many terms without care, or one term lost?\n",
            )
            .into());
        }
    }
    Ok(())
}

/// A second version of x for the timed launches (see `CheckCtx::vary_input`): three elements
/// changed, and the rows whose kept part (`keep(r)` columns) changed get a new reference, so a
/// kernel that replays a remembered y fails.
fn vary_rows(
    ctx: &mut CheckCtx,
    dx: &DevBuf<f32>,
    dy: &DevBuf<f32>,
    case: &Case,
    keep: impl Fn(usize) -> usize,
) -> anyhow::Result<()> {
    let x = ctx.vary(&case.x, |v| v + 1.0);
    let (mut want, mut bounds) = (case.want.clone(), case.bounds.clone());
    for r in 0..case.rows {
        let (at, k) = (r * case.stride, keep(r));
        if x[at..at + k] != case.x[at..at + k] {
            let (y, b) = softmax_row(&x[at..at + k]);
            want[at..at + k].copy_from_slice(&y);
            bounds[at..at + k].copy_from_slice(&b);
        }
    }
    ctx.vary_input(dx, &x)?;
    ctx.hold_varied_bounded(dy, &want, bounds, BOUND_RULE.to_string());
    Ok(())
}

/// The bytes a launch's loads and stores asked for (the CPU backend's fewest-sectors count,
/// which coalescing does not change) within `budget` sectors of 32 bytes.
pub fn bytes_within(c: &LaunchCounters, budget: u64, advice: &str) -> Option<Failure> {
    (c.global_sectors_min > budget).then(|| {
        Failure::new(
            format!(
                "your loads and stores move at least {} bytes through global memory (bar: at \
                 most {})",
                32 * c.global_sectors_min,
                32 * budget
            ),
            format!(
                "{advice}\n(Counted by the CPU backend on this launch: every byte your loads \
                 and stores asked for, not a speed measurement.)\n"
            ),
        )
    })
}

fn traffic_bar(ctx: &mut CheckCtx, step: Step, case: &Case) -> anyhow::Result<()> {
    let Some(counters) = ctx.cpu_counters()? else {
        return Ok(());
    };
    let pass = (case.rows * case.c * 4 / 32) as u64;
    let failure = match step {
        Step::Naive => None,
        // Two reads and one write of the row; three reads and a write is 4 passes.
        Step::Online => bytes_within(
            &counters,
            pass * 7 / 2,
            "softmax_online reads each row twice (statistics, then output) and writes it \
             once: the max and the sum come out of one loop over the row.",
        ),
        // One read and one write: the row stays on chip between them.
        Step::Fused => access_bars::coalesced(
            &counters,
            "A warp's 32 lanes should read 32 neighbouring float4s of the row, one after \
             another: lane l at 4 * (l + 32 * j) within its warp's part.",
        )
        .or_else(|| {
            bytes_within(
                &counters,
                pass * 9 / 4,
                "Rows of up to 8192 floats fit in the block's registers: read the row once, \
                 keep it, and write it once.",
            )
        }),
    };
    failure.map_or(Ok(()), |f| Err(f.into()))
}

/// softmax_causal: B stacked S x S matrices, row r keeps columns 0..=r % S.
pub fn causal(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let kernel = ctx.kernel("softmax_causal")?;
    let mut cases: Vec<(Vec<usize>, bool)> = ctx.sizes().into_iter().map(|s| (s, false)).collect();
    if let Some(t) = ctx.speed_size() {
        cases.push((t, true));
    }
    for (size, timed) in cases {
        let (b, s) = (size[0], size[1]);
        let rows = b * s;
        let label = if timed { "timed, " } else { "" };
        ctx.case(format!("{label}{b} x {s} x {s}, causal"));
        let stride = if timed { s } else { padded(s) };
        let kinds: &[Kind] = if timed { &[Kind::Random] } else { &KINDS };
        let case = build(ctx, rows, s, stride, |r| r % s + 1, kinds);
        let dx = ctx.input_2d("x", rows, stride, &case.x)?;
        let dy = ctx.output_2d::<f32>("y", rows, stride)?;
        let cfg = block_per_row(rows);
        let (r, si, st) = (rows as i32, s as i32, stride as i32);
        ctx.launch(&kernel, cfg, args![&dx, &dy, r, si, st])?;
        expect_rows(ctx, &dy, &case)?;
        if let Some(counters) = ctx.cpu_counters()? {
            // Each kept element read once, every element written once; the slack covers
            // partial warps at each row's end.
            let needed = ((case.kept + rows * s) * 4).div_ceil(32) as u64;
            let budget = needed * 11 / 10 + 2 * rows as u64;
            if let Some(f) = bytes_within(
                &counters,
                budget,
                "Only columns 0..i of row i (i = r % S) are needed: load nothing past them \
                 (x holds NaN there), keep the kept part on chip, and write zeros for the rest.",
            ) {
                return Err(f.into());
            }
        }
        if timed {
            vary_rows(ctx, &dx, &dy, &case, |r| r % s + 1)?;
            let learner = Launch {
                kernel: &kernel,
                cfg,
                args: args![&dx, &dy, r, si, st],
            };
            let bytes = 4 * (case.kept + rows * s) as u64;
            ctx.measure_speed(learner, Work::Bytes(bytes), None)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::inputs;

    /// Rows of every kind but NaN, made without a CheckCtx.
    fn rows(seed: u64, c: usize) -> Vec<Vec<f32>> {
        let mut rng = inputs::rng(seed);
        let mut out = Vec::new();
        let base = inputs::f32s(&mut rng, c);
        out.push(base.clone());
        let top = base.iter().fold(0.0f32, |a, x| a.max(x.abs()));
        out.push(base.iter().map(|x| x * 80.0 / top).collect());
        let mut spike = base.clone();
        spike[c / 2] = 1000.0;
        out.push(spike);
        out.push(vec![base[0]; c]);
        out
    }

    /// Serial three-pass softmax in f32 (the naive solution), or the online recurrence.
    fn kernel(x: &[f32], online: bool) -> Vec<f32> {
        let (mut m, mut d) = (f32::NEG_INFINITY, 0.0f32);
        if online {
            for &v in x {
                let mn = m.max(v);
                d = d * (m - mn).exp() + (v - mn).exp();
                m = mn;
            }
        } else {
            m = x.iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v));
            d = x.iter().map(|&v| (v - m).exp()).sum();
        }
        let inv = 1.0 / d;
        x.iter().map(|&v| (v - m).exp() * inv).collect()
    }

    #[test]
    fn correct_f32_softmax_is_within_half_the_bound_and_sums_to_one() {
        for seed in 0..3 {
            for c in [1, 31, 1024, 4097, 50257] {
                for x in rows(seed, c) {
                    let (want, bounds) = softmax_row(&x);
                    for online in [false, true] {
                        let got = kernel(&x, online);
                        for i in 0..c {
                            let e = (got[i] as f64 - want[i] as f64).abs();
                            assert!(e <= bounds[i] / 2.0, "C = {c}, {online}: {e} at {i}");
                        }
                        let s: f64 = got.iter().map(|&v| v as f64).sum();
                        assert!((s - 1.0).abs() <= sum_tol(c) / 1.5, "C = {c}: sums to {s}");
                    }
                }
            }
        }
    }

    #[test]
    fn f16_rounded_outputs_fail() {
        let x = rows(1, 1024).remove(0);
        let (want, bounds) = softmax_row(&x);
        // 11 significant bits, as f16 keeps.
        let f16 = |v: f32| f32::from_bits((v.to_bits() + 0x1000) & !0x1fff);
        let wrong = (0..x.len())
            .filter(|&i| (f16(want[i]) as f64 - want[i] as f64).abs() > bounds[i])
            .count();
        assert!(wrong > 512, "{wrong}");
    }
}
