// expect: first mismatches in C
// Reads B as if it were column-major: b[j * k + p] instead of b[p * n + j].
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
                            c[i * n + j] += a_ip * b[j * k + p];
                        }
                    }
                }
            }
        }
    }
}
