//! cpu_matmul (module 00, `.rs` exercises): `C = A * B`, row-major f32, on shapes that are
//! not multiples of any tile. The grader binary (harness/rust-graders/cpu_matmul.rs) runs the
//! learner's `matmul`; this side draws the inputs and checks every element against an f64
//! reference. The timed case compares the learner with the naive loop in the grader's one
//! process; the bar is that speed-up. Every case calls the learner again on new values in the
//! same buffers (the timed case: every timed call) and checks that C too, so remembering an
//! earlier result fails instead of winning.

use ndarray::{Array2, ArrayView2};

use crate::curriculum::Tolerance;
use crate::grade::compare::{self, Failure, Shape};
use crate::grade::{Element, RustCtx};

/// Interleaved learner/naive pairs in the timed case: at 512 the naive loop takes a quarter
/// of a second, and the median of 7 rides out a busy moment of the machine.
const SAMPLES: usize = 7;
/// Elements of each later call's C checked, at positions drawn after the call: a result that
/// is wrong anywhere but a sliver of C fails; the first call's C is checked everywhere.
const TIMED_CHECKS: usize = 4096;

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
        let samples = if is_timed { SAMPLES } else { 1 };
        // Set 0 is the fully checked call; sets 1..=samples the later (timed) calls.
        let sets: Vec<(Vec<f32>, Vec<f32>)> = (0..=samples)
            .map(|_| (ctx.random_f32(m * k), ctx.random_f32(k * n)))
            .collect();
        let names: Vec<(String, String)> = (0..=samples)
            .map(|s| match s {
                0 => ("a".into(), "b".into()),
                s => (format!("a{s}"), format!("b{s}")),
            })
            .collect();
        let mut inputs: Vec<(&str, &[f32])> = Vec::new();
        for ((an, bn), (a, b)) in names.iter().zip(&sets) {
            inputs.push((an, a));
            inputs.push((bn, b));
        }
        let params = [
            ("m", m as f64),
            ("k", k as f64),
            ("n", n as f64),
            ("calls", samples as f64),
            ("timed", f64::from(u8::from(is_timed))),
        ];
        let run = ctx.run(&params, &inputs)?;
        let (a, b) = &sets[0];
        let c = run.f32s("c")?;
        let line = compare::compare(
            "C",
            Shape::Grid { rows: m, cols: n },
            &c,
            &reference(a, b, m, k, n),
            tolerance(a, b, k),
        )
        .map_err(|f| cpu_words(f, &c))?;
        ctx.cases.push(format!("{}: {line}", ctx.case));
        for s in 1..=samples {
            let c = run.f32s(&format!("c{s}"))?;
            check_later(ctx, &sets, s, &c, (m, k, n))?;
        }
        if is_timed {
            ctx.cases.push(format!(
                "{}: each of {samples} timed calls on inputs of its own, up to {TIMED_CHECKS} \
                 elements of its C checked",
                ctx.case
            ));
            let flops = 2.0 * (m * k * n) as f64;
            ctx.record_cpu_speed(&run, |us| format!("{:.2} GFLOP/s", flops / us / 1e3))?;
        }
    }
    Ok(())
}

/// Call `s`'s C at positions the grader could not know, against its own inputs. When it is
/// instead the answer for an earlier call's inputs, the learner's code remembered it.
fn check_later(
    ctx: &mut RustCtx,
    sets: &[(Vec<f32>, Vec<f32>)],
    s: usize,
    c: &[f32],
    (m, k, n): (usize, usize, usize),
) -> anyhow::Result<()> {
    if c.len() != m * n {
        anyhow::bail!(Failure::new(
            format!(
                "call {}: C has {} elements, expected {}",
                s + 1,
                c.len(),
                m * n
            ),
            ""
        ));
    }
    let picks: Vec<usize> = (0..TIMED_CHECKS.min(m * n))
        .map(|_| ctx.random_index(m * n))
        .collect();
    let at = |(a, b): &(Vec<f32>, Vec<f32>), i: usize| -> f64 {
        let (row, col) = (i / n, i % n);
        (0..k)
            .map(|p| a[row * k + p] as f64 * b[p * n + col] as f64)
            .sum()
    };
    let matches = |set: &(Vec<f32>, Vec<f32>)| {
        let tol = tolerance(&set.0, &set.1, k);
        picks
            .iter()
            .all(|&i| (c[i] as f64 - at(set, i)).abs() <= tol.atol)
    };
    if matches(&sets[s]) {
        return Ok(());
    }
    if let Some(earlier) = (0..s).find(|&e| matches(&sets[e])) {
        anyhow::bail!(Failure::new(
            format!(
                "call {} returned the C for call {}'s inputs: your code remembered an earlier \
                 result instead of computing this one",
                s + 1,
                earlier + 1
            ),
            "Every call gets new values of A and B (in the same buffers): compute C from the \
             A and B you are given, every time.\n"
        ));
    }
    let wrong: Vec<usize> = picks
        .iter()
        .copied()
        .filter(|&i| {
            let tol = tolerance(&sets[s].0, &sets[s].1, k);
            (c[i] as f64 - at(&sets[s], i)).abs() > tol.atol || c[i].is_nan()
        })
        .collect();
    let i = wrong[0];
    anyhow::bail!(Failure::new(
        format!(
            "call {} (new values in the same buffers): {} of {} checked elements of C are wrong",
            s + 1,
            wrong.len(),
            picks.len()
        ),
        format!(
            "C(row {}, col {}): expected {:.6}, got {}. The first call was right: does your \
             code do less work when it is called again?\n",
            i / n,
            i % n,
            at(&sets[s], i),
            c[i]
        ),
    ))
}

/// The comparison's words are a kernel's; these are loops on the CPU.
fn cpu_words(mut f: Failure, c: &[f32]) -> Failure {
    for text in [&mut f.summary, &mut f.details] {
        *text = text.replace("does your grid cover", "do your loops cover");
    }
    if c.iter().any(|v| v.is_nan() && !v.is_poison()) {
        f.details += "NaN in C: C arrives filled with NaN, and NaN plus anything is NaN. \
                      Does every element start from 0 before you add into it?\n";
    }
    f
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

/// The product in f64, rounded once: the learner's f32 sums of k products land within the
/// exercise's tolerance of it whatever order they add in.
fn reference(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    let wide = |xs: &[f32], rows, cols| -> Array2<f64> {
        let view = ArrayView2::from_shape((rows, cols), xs).expect("input sizes match m, k, n");
        view.mapv(f64::from)
    };
    let c = wide(a, m, k).dot(&wide(b, k, n));
    c.iter().map(|&x| x as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_is_row_major_a_times_b() {
        // [1 2 3; 4 5 6] * [1 0; 0 1; 1 1] = [4 5; 10 11]
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        assert_eq!(reference(&a, &b, 2, 3, 2), vec![4.0, 5.0, 10.0, 11.0]);
    }
}
