// expect: first mismatches in C
// Takes the row of B at i instead of p: the wrong row is multiplied in.
const TILE: usize = 64;
/// Column strips are wider than TILE: a longer inner loop amortizes the loop setup.
const STRIP: usize = 256;

pub fn matmul(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
    c.fill(0.0);
    for i0 in (0..m).step_by(TILE) {
        for p0 in (0..k).step_by(TILE) {
            for j0 in (0..n).step_by(STRIP) {
                let j1 = (j0 + STRIP).min(n);
                for i in i0..(i0 + TILE).min(m) {
                    // Slicing once per row hoists the bounds checks out of the inner loop.
                    let c_row = &mut c[i * n + j0..i * n + j1];
                    for p in p0..(p0 + TILE).min(k) {
                        let a_ip = a[i * k + p];
                        let b_row = &b[(i % k) * n + j0..(i % k) * n + j1];
                        for (c_ij, b_pj) in c_row.iter_mut().zip(b_row) {
                            *c_ij += a_ip * b_pj;
                        }
                    }
                }
            }
        }
    }
}
