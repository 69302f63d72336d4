//! Grader for the module-00 matmul exercises: runs the learner's `matmul` on inputs kernlings
//! chose, and, for the timed case, times it against the naive triple loop in this same
//! process, interleaved, so both see the same machine state. Generated into
//! target/kernlings-graders/; the learner's file is included below by path.

mod protocol;

#[path = {{LEARNER}}]
mod learner;

use std::hint::black_box;
use std::time::Instant;

use protocol::Case;

/// The baseline: the loop the exercise header shows, column walk over B and all.
fn naive(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
    for i in 0..m {
        for j in 0..n {
            let mut sum = 0.0f32;
            for p in 0..k {
                sum += a[i * k + p] * b[p * n + j];
            }
            c[i * n + j] = sum;
        }
    }
}

/// Microseconds one call of `f` takes.
fn time(f: &mut dyn FnMut()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64() * 1e6
}

fn main() {
    let case = Case::from_args();
    let dim = |name: &str| case.param(name) as usize;
    let (m, k, n) = (dim("m"), dim("k"), dim("n"));
    let (a, b) = (case.f32s("a"), case.f32s("b"));
    if a.len() != m * k || b.len() != k * n {
        protocol::harness_error("input sizes do not match m, k, n");
    }
    // kernlings' poison: a NaN that arithmetic never produces, so unwritten elements show.
    let mut c = vec![f32::from_bits(0x7fba_dbad); m * n];
    learner::matmul(&a, &b, &mut c, m, k, n);
    case.write_f32s("c", &c);

    // Later calls get fresh inputs each, copied into the same buffers: a result remembered
    // from an earlier call (keyed by pointer or by value) is the wrong answer for these, and
    // kernlings checks every call's C. In the timed case, these are the timed calls.
    let calls = case.param("calls") as usize;
    let timed = case.param("timed") != 0.0;
    let (mut a, mut b) = (a, b);
    let (mut learner_us, mut naive_us) = (Vec::new(), Vec::new());
    let mut c_naive = vec![0.0f32; m * n];
    for s in 1..=calls {
        a.copy_from_slice(&case.f32s(&format!("a{s}")));
        b.copy_from_slice(&case.f32s(&format!("b{s}")));
        c.fill(f32::from_bits(0x7fba_dbad));
        if timed {
            naive_us.push(time(&mut || naive(black_box(&a), black_box(&b), &mut c_naive, m, k, n)));
            learner_us.push(time(&mut || learner::matmul(black_box(&a), black_box(&b), &mut c, m, k, n)));
            black_box(&c_naive);
        } else {
            learner::matmul(&a, &b, &mut c, m, k, n);
        }
        case.write_f32s(&format!("c{s}"), &c);
    }
    if timed {
        case.write_timings(&learner_us, &naive_us);
    }
    case.done();
}
