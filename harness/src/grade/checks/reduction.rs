//! Module 04, sums of f32: one atomic per element (`reduce_atomic`), one partial sum per block
//! (`reduce_block_sum`: the shared-memory tree and the warp-shuffle exercises), and the whole
//! sum in one launch with a fixed grid (`reduce_grid`).
//!
//! The reference adds in f64. The learner's f32 additions happen in an order nobody fixes, so
//! the allowed error grows with n: EPS * (2 sqrt(n) + 8) * sum|x|. Rounding errors of a long
//! sum behave like a random walk (about EPS * sqrt(n) * sum|x| / 6 for a serial sum), so this
//! is a wide margin for a correct kernel, while one missing or doubled element of the small
//! cases is far outside it. Inputs have a random offset, so the expected sum is not near 0
//! and a kernel that adds nothing fails.

use cudarc::driver::LaunchConfig;

use crate::args;
use crate::curriculum::Tolerance;
use crate::grade::compare::{self, Failure, Shape};
use crate::grade::{blocks_for, CheckCtx, DevBuf, Element, Launch, Work};
use crate::toolchain::BackendKind;

const BLOCK: u32 = 256;
/// reduce_block_sum: each block sums two elements per thread.
const PER_BLOCK: usize = 2 * BLOCK as usize;
/// reduce_grid's fixed grid. The CPU backend interprets every thread, so it gets a smaller
/// one; the stub states both. Either way the grid does not depend on n.
const GRID_GPU: u32 = 1024;
const GRID_CPU: u32 = 64;

pub fn check_atomic(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let kernel = ctx.kernel("reduce_atomic")?;
    let sizes = ctx.sizes();
    let largest = largest(&sizes);
    for size in sizes {
        let n = size[0];
        ctx.case(format!("n = {n}"));
        let x = values(ctx, n, n == largest);
        let dx = ctx.input("x", &x)?;
        let sum = ctx.accumulator::<f32>("sum", 1)?;
        let cfg = LaunchConfig {
            grid_dim: (blocks_for(n, BLOCK), 1, 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: 0,
        };
        ctx.launch(&kernel, cfg, args![&dx, &sum, n as i32])?;
        expect_sum(ctx, &x, &sum)?;
    }
    Ok(())
}

pub fn check_block_sum(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let kernel = ctx.kernel("block_sum")?;
    let timed = ctx.speed_size();
    let mut sizes = ctx.sizes();
    let largest = largest(&sizes);
    ctx.append_timed(&mut sizes, &timed);
    for size in sizes {
        let n = size[0];
        let is_timed = timed.as_ref().is_some_and(|t| t[0] == n);
        ctx.case(format!("n = {n}"));
        let x = values(ctx, n, n == largest || is_timed);
        let blocks = n.div_ceil(PER_BLOCK).max(1);
        let dx = ctx.input("x", &x)?;
        let partial = ctx.output::<f32>("partial", blocks)?;
        let cfg = LaunchConfig {
            grid_dim: (blocks as u32, 1, 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: 0,
        };
        ctx.launch(&kernel, cfg, args![&dx, &partial, n as i32])?;

        let chunks: Vec<&[f32]> = x.chunks(PER_BLOCK).collect();
        let want: Vec<f32> = chunks.iter().map(|c| sum_f64(c) as f32).collect();
        let worst = chunks.iter().map(|c| abs_sum(c)).fold(0.0, f64::max);
        let tol = Tolerance {
            rtol: 0.0,
            atol: allowed_error(PER_BLOCK.min(n), worst, &x),
        };
        // n = 0 never happens; n >= 1 gives at least one block and one reference value.
        let got = ctx.read(&partial)?;
        let line =
            compare::compare("partial", Shape::Linear, &got, &want, tol).map_err(|mut f| {
                if got.iter().any(|v| v.is_nan() && !v.is_poison()) {
                    f.details += NAN_ADVICE;
                }
                f.details += &format!(
                "partial[b] must hold the sum of x[{PER_BLOCK}*b .. {PER_BLOCK}*b + {}] (the part \
                 below n = {n}).\n",
                PER_BLOCK - 1
            );
                f
            })?;
        ctx.cases.push(format!("{}: {line}", ctx.case));
        ctx.hold_timed_to(&partial, &want, tol);

        if is_timed {
            ctx.case(format!("timed, n = {n}"));
            let varied = ctx.vary(&x, step_by_one);
            ctx.vary_input(&dx, &varied)?;
            let want: Vec<f32> = varied
                .chunks(PER_BLOCK)
                .map(|c| sum_f64(c) as f32)
                .collect();
            ctx.hold_varied_to(&partial, &want, tol);
            let learner = Launch {
                kernel: &kernel,
                cfg,
                args: args![&dx, &partial, n as i32],
            };
            ctx.measure_speed(learner, Work::Bytes(4 * n as u64), None)?;
        }
    }
    Ok(())
}

pub fn check_grid(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let kernel = ctx.kernel("reduce_sum")?;
    let grid = match ctx.backend() {
        BackendKind::Gpu => GRID_GPU,
        BackendKind::Cpu => GRID_CPU,
    };
    let cfg = LaunchConfig {
        grid_dim: (grid, 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: 0,
    };
    let timed = ctx.speed_size();
    let mut sizes = ctx.sizes();
    let largest = largest(&sizes);
    ctx.append_timed(&mut sizes, &timed);
    for size in sizes {
        let n = size[0];
        let is_timed = timed.as_ref().is_some_and(|t| t[0] == n);
        ctx.case(format!("n = {n} on {} threads", grid * BLOCK));
        let x = values(ctx, n, n == largest || is_timed);
        let dx = ctx.input("x", &x)?;
        let sum = ctx.accumulator::<f32>("sum", 1)?;
        ctx.launch(&kernel, cfg, args![&dx, &sum, n as i32])?;
        expect_sum(ctx, &x, &sum)?;

        if is_timed {
            ctx.case(format!("timed, n = {n}"));
            let varied = ctx.vary(&x, step_by_one);
            ctx.vary_input(&dx, &varied)?;
            let tol = Tolerance {
                rtol: 0.0,
                atol: allowed_error(n, abs_sum(&varied), &varied),
            };
            ctx.hold_varied_to(&sum, &[sum_f64(&varied) as f32], tol);
            let learner = Launch {
                kernel: &kernel,
                cfg,
                args: args![&dx, &sum, n as i32],
            };
            ctx.measure_speed(learner, Work::Bytes(4 * n as u64), None)?;
        }
    }
    Ok(())
}

/// NaN in a sum: an element nothing wrote, or a read past the end of x into the poisoned
/// guard zone around it.
const NAN_ADVICE: &str = "NaN: something outside x was added (kernlings fills the memory around \
                          every buffer with NaN). Does every load check its index against n?\n";

fn sum_f64(x: &[f32]) -> f64 {
    x.iter().map(|&v| v as f64).sum()
}

fn abs_sum(x: &[f32]) -> f64 {
    x.iter().map(|&v| (v as f64).abs()).sum()
}

/// How far a correct f32 sum of `n` values may land from the exact one (see the module doc).
/// Sums of small integers are exact in any order: no error is allowed there.
fn allowed_error(n: usize, abs_sum: f64, x: &[f32]) -> f64 {
    if is_exact(x) {
        return 0.0;
    }
    f32::EPSILON as f64 * (2.0 * (n as f64).sqrt() + 8.0) * abs_sum
}

fn largest(sizes: &[Vec<usize>]) -> usize {
    sizes.iter().map(|s| s[0]).max().unwrap_or(0)
}

/// The largest correctness case and the timed one hold small non-zero integers: every partial
/// sum any summation order forms is an integer far below 2^24, so each f32 addition is exact
/// and the sum must be exact. A kernel that drops a few tail elements or reads 7/8 of a large
/// input cannot hide inside a rounding tolerance. The other cases are random floats.
fn values(ctx: &mut CheckCtx, n: usize, exact: bool) -> Vec<f32> {
    if !exact {
        return ctx.random_f32(n);
    }
    // A small bias keeps the expected sum away from 0 (about 4 * bias * n) yet below 2^23
    // up to n = 2^26 for bias <= 0.03.
    let bias = ctx.random_i32(1, 5, 31)[0] as f64 / 1000.0;
    let signs = ctx.random_i32(n, 0, 1 << 20);
    let mags = ctx.random_i32(n, 1, 4);
    let cut = ((0.5 + bias) * (1 << 20) as f64) as i32;
    signs
        .into_iter()
        .zip(mags)
        .map(|(s, m)| if s < cut { m as f32 } else { -(m as f32) })
        .collect()
}

/// The change `vary` makes to an integer input: +-1, staying within -3..=3 so the sum stays
/// exact. Three changes of +-1 add up to an odd number, never 0, so the total always moves
/// (sign flips did not: flipping a 1 and a -1 leaves it where it was).
fn step_by_one(v: f32) -> f32 {
    if v >= 3.0 {
        v - 1.0
    } else {
        v + 1.0
    }
}

fn is_exact(x: &[f32]) -> bool {
    x.len() > 1 && x.iter().all(|v| v.fract() == 0.0 && v.abs() <= 3.0)
}

/// Compare a single sum with the f64 reference, and say what the difference looks like.
fn expect_sum(ctx: &mut CheckCtx, x: &[f32], sum: &DevBuf<f32>) -> anyhow::Result<()> {
    let got = ctx.read(sum)?[0];
    let n = x.len();
    let want = sum_f64(x);
    let tol = allowed_error(n, abs_sum(x), x);
    let got64 = got as f64;
    if (got64 - want).abs() <= tol {
        ctx.cases
            .push(format!("{}: sum {got} matches {want:.6}", ctx.case));
        let tol = Tolerance {
            rtol: 0.0,
            atol: tol,
        };
        ctx.hold_timed_to(sum, &[want as f32], tol);
        return Ok(());
    }
    let mut details = if tol == 0.0 {
        format!(
            "expected {want}, got {got}. These {n} inputs are small integers, so every partial \
             sum is exact in f32 and a correct kernel gets exactly {want}, in any order.\n"
        )
    } else {
        format!(
            "expected {want:.6} (summed in f64), got {got}; a correct f32 sum of {n} values \
             lands within {tol:.3e} of it.\n"
        )
    };
    details += &if got.is_nan() {
        NAN_ADVICE.to_string()
    } else if got == 0.0 {
        "*sum is still 0, as the harness set it: nothing was added to it.\n".to_string()
    } else if n > 1 && (got64 - (want - x[n - 1] as f64)).abs() <= tol {
        format!(
            "That is the sum of x[0..{}]: the last element is missing.\n",
            n - 2
        )
    } else {
        format!(
            "Your sum is {:.2}% of the expected one: are some additions lost (two threads \
             updating *sum at once), or some elements added twice or never?\n",
            100.0 * got64 / want
        )
    };
    Err(Failure::new(format!("the sum is wrong for n = {n}"), details).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tolerance_catches_one_missing_element_in_small_cases() {
        // 1000 values of about 1: one of them is far outside the allowed error.
        assert!(allowed_error(1000, 1000.0, &[0.5]) < 0.01);
    }

    #[test]
    fn integer_cases_sum_exactly_in_any_order_and_one_dropped_element_shows() {
        let mut ctx_rng = crate::grade::inputs::rng(9);
        let n = 1 << 22;
        let x: Vec<f32> = (0..n)
            .map(|i| {
                let m = (crate::grade::inputs::i32s(&mut ctx_rng, 1, 1, 4)[0]) as f32;
                if i % 2 == 0 {
                    m
                } else {
                    -m
                }
            })
            .collect();
        assert!(is_exact(&x));
        let exact = sum_f64(&x);
        let serial: f32 = x.iter().sum();
        let strided: f32 = (0..1024)
            .map(|t| x.iter().skip(t).step_by(1024).sum::<f32>())
            .sum();
        assert_eq!(serial as f64, exact);
        assert_eq!(strided as f64, exact);
        assert_eq!(allowed_error(n, abs_sum(&x), &x), 0.0);
        assert_ne!(sum_f64(&x[..n - 1]), exact);
    }

    #[test]
    fn a_serial_f32_sum_of_random_inputs_is_within_the_tolerance() {
        // The worst order a correct kernel can add in: one after another (reduce_atomic, whose
        // cases stop at 65537). Past a million values the serial error grows faster than
        // sqrt(n), and the margin shrinks: the tree and grid exercises do not add serially.
        let mut rng = crate::grade::inputs::rng(3);
        for (n, margin) in [(1000, 3.0), (65537, 3.0), (1 << 20, 1.5)] {
            for _ in 0..5 {
                let x = crate::grade::inputs::f32s(&mut rng, n);
                let serial: f32 = x.iter().sum();
                let err = ((serial as f64) - sum_f64(&x)).abs();
                assert!(
                    err * margin <= allowed_error(n, abs_sum(&x), &x),
                    "n = {n}: error {err}"
                );
            }
        }
    }
}
