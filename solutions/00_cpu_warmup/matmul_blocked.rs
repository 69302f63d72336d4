//! Exercise 00.1 — matrix multiply, in the order the cache likes (solution).
//!
//! C (m x n) = A (m x k) * B (k x n), all row-major f32. Two changes from the naive loop:
//! - loop order i, p, j: the innermost loop walks a row of B and a row of C, one cache line
//!   after the other, instead of striding down a column of B (a new cache line per step);
//! - tiles of TILE x TILE: the tile of B that a few rows of A reuse stays in the L1/L2 cache
//!   instead of being fetched again from memory for every row.

/// Tile edge: three 64 x 64 f32 tiles take 48 KiB, the size of a typical L1 + a bit of L2.
const TILE: usize = 64;

pub fn matmul(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
    // The loops below accumulate into C, so it has to start at zero.
    c.fill(0.0);
    for i0 in (0..m).step_by(TILE) {
        for p0 in (0..k).step_by(TILE) {
            for j0 in (0..n).step_by(TILE) {
                // `min` handles the last tile when a size is not a multiple of TILE.
                for i in i0..(i0 + TILE).min(m) {
                    for p in p0..(p0 + TILE).min(k) {
                        let a_ip = a[i * k + p];
                        for j in j0..(j0 + TILE).min(n) {
                            c[i * n + j] += a_ip * b[p * n + j];
                        }
                    }
                }
            }
        }
    }
}
