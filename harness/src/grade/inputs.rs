//! Seeded random inputs. Each call draws a fresh offset and scale, so an input is never all
//! zeros, never `0, 1, 2, ...`, and no two buffers share a range: a kernel that writes
//! `out[i] = i`, or reads the wrong buffer, cannot pass by luck.

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub type InputRng = ChaCha8Rng;

pub fn rng(seed: u64) -> InputRng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `offset + scale * u` with `u` uniform in [-1, 1): offset in [-4, 4), scale in [0.5, 4).
/// Never exactly zero.
pub fn f32s(rng: &mut InputRng, n: usize) -> Vec<f32> {
    let offset: f32 = rng.gen_range(-4.0..4.0);
    let scale: f32 = rng.gen_range(0.5..4.0);
    (0..n)
        .map(|_| loop {
            let v = offset + scale * rng.gen_range(-1.0f32..1.0);
            if v != 0.0 {
                break v;
            }
        })
        .collect()
}

/// Strictly positive values (intensities, probabilities): uniform in
/// `[offset, offset + scale)` with offset in [0.05, 1) and scale in [0.5, 2).
pub fn positive_f32s(rng: &mut InputRng, n: usize) -> Vec<f32> {
    let offset: f32 = rng.gen_range(0.05..1.0);
    let scale: f32 = rng.gen_range(0.5..2.0);
    (0..n).map(|_| offset + scale * rng.gen::<f32>()).collect()
}

/// Integers uniform in `lo..hi`, e.g. histogram keys or scan inputs.
pub fn i32s(rng: &mut InputRng, n: usize, lo: i32, hi: i32) -> Vec<i32> {
    (0..n).map(|_| rng.gen_range(lo..hi)).collect()
}

/// FNV-1a: a hash that never changes between Rust releases or platforms.
pub fn fnv1a(start: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(start ^ 0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The seed of one case's input stream: the run's seed mixed with the case's label, stable
/// across runs, platforms and backends.
pub fn case_seed(seed: u64, label: &str) -> u64 {
    fnv1a(seed, label.as_bytes())
}

/// A fresh seed for a grading run (printed, so `--seed` can replay it).
pub fn fresh_seed() -> u64 {
    rand::thread_rng().gen()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_inputs_other_seed_other_inputs() {
        assert_eq!(f32s(&mut rng(7), 100), f32s(&mut rng(7), 100));
        assert_ne!(f32s(&mut rng(7), 100), f32s(&mut rng(8), 100));
    }

    #[test]
    fn no_zeros_and_not_an_index_ramp() {
        let mut r = rng(1);
        for _ in 0..50 {
            let v = f32s(&mut r, 1000);
            assert!(v.iter().all(|&x| x != 0.0 && x.is_finite()));
            assert!(v.iter().enumerate().any(|(i, &x)| x != i as f32));
            assert!(v.iter().any(|&x| x != v[0]), "not constant");
        }
    }

    #[test]
    fn each_buffer_gets_its_own_offset_and_scale() {
        let mut r = rng(3);
        let mean = |v: &[f32]| v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
        let (a, b) = (f32s(&mut r, 10_000), f32s(&mut r, 10_000));
        assert!((mean(&a) - mean(&b)).abs() > 1e-3);
    }

    #[test]
    fn positive_and_integer_ranges_hold() {
        let mut r = rng(5);
        assert!(positive_f32s(&mut r, 1000).iter().all(|&x| x > 0.0));
        assert!(i32s(&mut r, 1000, -3, 9)
            .iter()
            .all(|&x| (-3..9).contains(&x)));
    }
}
