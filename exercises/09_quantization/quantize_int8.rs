//! Exercise 09.1 — int8: a scale, a zero point, and where to clip.
//!
//! A weight matrix W is `rows x cols`, row-major; a row is one output channel. Quantizing
//! replaces each w by a small integer q and keeps a float scale to turn it back.
//!
//! Symmetric (q in -127..=127, w ~ q * scale):
//!     amax = max |w|; scale = amax / 127.0; q = round(w / scale), clamped to -127..=127.
//! Asymmetric (q in 0..=255, w ~ (q - zero_point) * scale; the range always contains 0):
//!     lo = min(min w, 0.0); hi = max(max w, 0.0); scale = (hi - lo) / 255.0;
//!     zero_point = round(-lo / scale), clamped to 0..=255;
//!     q = round(w / scale) + zero_point, clamped to 0..=255.
//! `per_channel = false`: one scale (and zero point) for the whole tensor; `true`: one per
//! row. Where the scale is 0 (all zeros), q and the zero point are 0.
//!
//! round() here is round half to EVEN (`f32::round_ties_even`: 2.5 -> 2, 3.5 -> 4,
//! -2.5 -> -2), on the f32 quotient `w / scale` (a division, not a multiplication by
//! 1 / scale). Every q, scale and zero point is compared exactly.
//!
//! Calibration, for activations, which have outliers: a clip value c, then the symmetric
//! rule with scale = c / 127 (values beyond c clamp to +-127).
//!     clip_percentile(x, p): sort |x| ascending; the value at 1-based rank ceil(p / 100 * n)
//!     (at least 1). p = 100 is min-max calibration: c = max |x|.
//!     quantization_error(x, c): with x_hat = q * scale in f32, return (MSE, SNR in dB), in
//!     f64: MSE = mean of (x - x_hat)^2, SNR = 10 log10(sum x^2 / sum (x - x_hat)^2).
//! kernlings prints both calibrations' MSE and SNR beside its own.

pub struct Symmetric {
    pub q: Vec<i8>,
    pub scales: Vec<f32>,
}

pub struct Asymmetric {
    pub q: Vec<u8>,
    pub scales: Vec<f32>,
    pub zero_points: Vec<u8>,
}

pub fn quantize_symmetric(w: &[f32], rows: usize, cols: usize, per_channel: bool) -> Symmetric {
    // TODO: one group (the whole tensor) or `rows` groups of `cols`; for each, amax, the
    //       scale, and the q of its elements, in order.
    let _ = (w, rows, cols, per_channel);
    Symmetric { q: Vec::new(), scales: Vec::new() }
}

pub fn quantize_asymmetric(w: &[f32], rows: usize, cols: usize, per_channel: bool) -> Asymmetric {
    // TODO: as above, with lo, hi, the scale and the zero point of each group.
    let _ = (w, rows, cols, per_channel);
    Asymmetric { q: Vec::new(), scales: Vec::new(), zero_points: Vec::new() }
}

pub fn clip_percentile(x: &[f32], percentile: f64) -> f32 {
    // TODO: the |x| at rank ceil(percentile / 100 * n) of the sorted magnitudes.
    let _ = (x, percentile);
    todo!("clip_percentile")
}

pub fn quantization_error(x: &[f32], clip: f32) -> (f64, f64) {
    // TODO: quantize with scale = clip / 127, dequantize, and measure.
    let _ = (x, clip);
    todo!("quantization_error")
}
