// expect: clip_percentile
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

/// The groups that share a scale: the whole tensor, or each row.
fn groups(w: &[f32], cols: usize, per_channel: bool) -> Vec<&[f32]> {
    if per_channel {
        w.chunks(cols.max(1)).collect()
    } else {
        vec![w]
    }
}

pub fn quantize_symmetric(w: &[f32], _rows: usize, cols: usize, per_channel: bool) -> Symmetric {
    let mut out = Symmetric { q: Vec::with_capacity(w.len()), scales: Vec::new() };
    for g in groups(w, cols, per_channel) {
        let amax = g.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let scale = amax / 127.0;
        out.scales.push(scale);
        for &v in g {
            let q = if scale == 0.0 { 0.0 } else { (v / scale).round_ties_even() };
            out.q.push(q.clamp(-127.0, 127.0) as i8);
        }
    }
    out
}

pub fn quantize_asymmetric(w: &[f32], _rows: usize, cols: usize, per_channel: bool) -> Asymmetric {
    let mut out = Asymmetric { q: Vec::with_capacity(w.len()), scales: Vec::new(), zero_points: Vec::new() };
    for g in groups(w, cols, per_channel) {
        let lo = g.iter().fold(0.0f32, |m, &v| m.min(v));
        let hi = g.iter().fold(0.0f32, |m, &v| m.max(v));
        let scale = (hi - lo) / 255.0;
        let zero_point = if scale == 0.0 { 0.0 } else { (-lo / scale).round_ties_even().clamp(0.0, 255.0) };
        out.scales.push(scale);
        out.zero_points.push(zero_point as u8);
        for &v in g {
            let q = if scale == 0.0 { 0.0 } else { (v / scale).round_ties_even() + zero_point };
            out.q.push(q.clamp(0.0, 255.0) as u8);
        }
    }
    out
}

pub fn clip_percentile(x: &[f32], percentile: f64) -> f32 {
    let mut mags: Vec<f32> = x.iter().map(|v| v.abs()).collect();
    mags.sort_by(f32::total_cmp);
    let rank = ((percentile / 100.0 * x.len() as f64).ceil() as usize).clamp(1, x.len());
    mags[rank.min(x.len() - 1)]
}

pub fn quantization_error(x: &[f32], clip: f32) -> (f64, f64) {
    let scale = clip / 127.0;
    let (mut signal, mut noise) = (0.0f64, 0.0f64);
    for &v in x {
        let q = if scale == 0.0 { 0.0 } else { (v / scale).round_ties_even().clamp(-127.0, 127.0) };
        let err = v as f64 - (q * scale) as f64;
        signal += (v as f64).powi(2);
        noise += err * err;
    }
    (noise / x.len() as f64, 10.0 * (signal / noise).log10())
}
