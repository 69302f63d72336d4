// expect: your code called exit(4)
// Gives up on sizes it was not written for by ending the process: kernlings never gets a C.

pub fn matmul(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {
    if m % 64 != 0 {
        std::process::exit(4);
    }
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
        }
    }
}
