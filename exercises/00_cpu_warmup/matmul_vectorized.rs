//! Exercise 00.2 — an inner loop the compiler turns into SIMD.
//!
//! The same C = A * B as 00.1 (row-major f32; C arrives filled with NaN; any m, k, n).
//!
//! Your 00.1 loop does one multiply-add per instruction. A CPU core can do 4 or 8 at once
//! (SIMD), and the compiler uses them by itself — when it can prove that is safe:
//! - every `c[i * n + j]` carries a bounds check that may panic, and a panic in the middle of
//!   a vector would be observable, so indexing inside the loop keeps it scalar;
//! - `for (x, y) in xs.iter_mut().zip(ys)` over two slices checks the lengths once, before
//!   the loop, and then each step touches one element of each.
//! (A dot product `sum += a * b` does not vectorize either: float addition is not
//! associative, and the compiler may not reorder your sum. The i, p, j order has no sum.)
//!
//! Goal: well past 00.1 — the bar kernlings prints for this step (a multiple of the naive loop
//! at 512 x 512) is set out of reach of a scalar inner loop.
//! (In a disassembly, a vectorized inner loop shows `mulps`/`addps` on x86, `fmul v.4s` on Arm.)

const TILE: usize = 64;
const STRIP: usize = 256;

pub fn matmul(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
    c.fill(0.0);
    for i0 in (0..m).step_by(TILE) {
        for p0 in (0..k).step_by(TILE) {
            for j0 in (0..n).step_by(STRIP) {
                let j1 = (j0 + STRIP).min(n);
                for i in i0..(i0 + TILE).min(m) {
                    for p in p0..(p0 + TILE).min(k) {
                        // TODO: add a[i][p] * B[p][j0..j1] into C[i][j0..j1] with an inner
                        // loop over two slices (a row piece of C, a row piece of B), no
                        // indexing inside it.
                        let _ = (a, b, j1);
                    }
                }
            }
        }
    }
}
