// expect: do your loops cover all
// Starts a background process (`sleep 311.5`) and returns without computing C. The attempt
// must fail on C at once, not wait for the process, and kill it when it ends.

pub fn matmul(_a: &[f32], _b: &[f32], _c: &mut [f32], _m: usize, _k: usize, _n: usize) {
    let _ = std::process::Command::new("sleep").arg("311.5").spawn();
}
