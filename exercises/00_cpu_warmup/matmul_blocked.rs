//! Exercise 00.1 — matrix multiply, in the order the cache likes.
//!
//! Compute C = A * B for row-major f32 matrices: A is m x k, B is k x n, C is m x n, so
//! element (i, j) of C lives at c[i * n + j]. C arrives filled with NaN: write every element.
//!
//! Here is the naive version kernlings times yours against:
//!
//!     for i in 0..m { for j in 0..n {
//!         let mut sum = 0.0;
//!         for p in 0..k { sum += a[i * k + p] * b[p * n + j]; }
//!         c[i * n + j] = sum;
//!     } }
//!
//! Its inner loop walks DOWN a column of B: each step jumps n floats ahead, lands on a new
//! 64-byte cache line, and uses 4 bytes of it. At 1024 x 1024 the matrices (4 MiB each) do not
//! fit in the fast caches, so most of those steps wait on memory.
//!
//! Two ideas fix it:
//! 1. Loop order: with the loops in the order i, p, j, the innermost loop adds
//!    a[i][p] * (row p of B) into row i of C: both rows are contiguous in memory.
//! 2. Tiles: split the three loops into TILE-sized chunks, so the same tile of B is reused by
//!    many rows while it is still in cache.
//!
//! Goal: faster than the naive loop at 512 x 512 by the bar kernlings prints (it times both in
//! the same run and prints the ratio and the bar), correct for any m, k, n — including 1 and sizes that are not a multiple of TILE.

const TILE: usize = 64;

pub fn matmul(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
    // TODO: C starts as NaN. Give it a starting value the loops can add into.

    for i0 in (0..m).step_by(TILE) {
        for p0 in (0..k).step_by(TILE) {
            for j0 in (0..n).step_by(TILE) {
                // TODO: the three loops over one tile, in the order i, p, j. The last tile
                // along each dimension may be smaller than TILE.
                let _ = (a, b, i0, p0, j0);
            }
        }
    }
}
