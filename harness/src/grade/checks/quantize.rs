//! Module 09's `.rs` exercises. quantize_int8 is at the end. quantize_q4: llama.cpp's Q4_0 and Q4_1, bit for bit. The grader runs the
//! learner's quantizers on weights drawn here and its dequantizers on blocks made here (by
//! `quant::q4`, the harness's reading of ggml-quants.c), so each half is judged on its own.
//!
//! Each case's weights mix random blocks with the blocks that catch the classic slips: all
//! zeros (d = 0: no division by it), one outlier, the largest magnitude negative (Q4_0's d
//! keeps the sign), and values exactly halfway between two q (llama.cpp adds 0.5 and
//! truncates: halves go up, not to even).

use super::quant::q4::{self, QK};
use crate::grade::compare::{self, Failure, Shape};
use crate::grade::RustCtx;

const EPS: f64 = f32::EPSILON as f64;

pub fn check_q4(ctx: &mut RustCtx) -> anyhow::Result<()> {
    for size in ctx.sizes() {
        let nb = size[0];
        ctx.case(format!("{nb} blocks of 32"));
        let x = weights(ctx, nb);
        let want0 = q4::quantize_q4_0(&x);
        let want1 = q4::quantize_q4_1(&x);
        let f32s = |b: &[u8]| b.iter().map(|&v| v as f32).collect::<Vec<_>>();
        // The dequantizers get blocks the learner's quantizer did not make, with every byte
        // value in qs.
        let mut blocks0 = want0.clone();
        let mut blocks1 = want1.clone();
        for (b, block) in blocks0.chunks_exact_mut(q4::Q4_0_BYTES).enumerate() {
            if b % 3 == 1 {
                block[2..].copy_from_slice(&random_bytes(ctx, 16));
            }
        }
        for (b, block) in blocks1.chunks_exact_mut(q4::Q4_1_BYTES).enumerate() {
            if b % 3 == 1 {
                block[4..].copy_from_slice(&random_bytes(ctx, 16));
            }
        }
        let run = ctx.run(
            &[("n", x.len() as f64)],
            &[
                ("x", &x),
                ("blocks_q4_0", &f32s(&blocks0)),
                ("blocks_q4_1", &f32s(&blocks1)),
            ],
        )?;
        let got0 = bytes(&run.f32s("q4_0")?);
        let got1 = bytes(&run.f32s("q4_1")?);
        compare_blocks("Q4_0", &got0, &want0, &x, q4::Q4_0_BYTES)?;
        compare_blocks("Q4_1", &got1, &want1, &x, q4::Q4_1_BYTES)?;
        let (w0, b0): (Vec<f32>, Vec<f64>) = blocks0
            .chunks_exact(q4::Q4_0_BYTES)
            .flat_map(q4::q4_0_weights)
            .map(|w| (w as f32, EPS * w.abs()))
            .unzip();
        let (w1, b1): (Vec<f32>, Vec<f64>) = blocks1
            .chunks_exact(q4::Q4_1_BYTES)
            .flat_map(q4::q4_1_weights)
            .map(|(w, _)| (w as f32, EPS * w.abs()))
            .unzip();
        let rule = "within one rounding of the exact value (eps = 2^-23 relative)";
        for (name, got, want, bound, hint) in [
            ("dequant_q4_0", run.f32s("dequant_q4_0")?, w0, b0, Q4_0_HINT),
            ("dequant_q4_1", run.f32s("dequant_q4_1")?, w1, b1, Q4_1_HINT),
        ] {
            if got.len() != want.len() {
                anyhow::bail!(Failure::new(
                    format!(
                        "{name} returned {} floats for {nb} blocks, expected {}",
                        got.len(),
                        want.len()
                    ),
                    "32 floats for every block.\n"
                ));
            }
            compare::compare_bounded(name, Shape::Linear, &got, &want, |i| bound[i], rule)
                .map_err(|mut f| {
                    f.details += hint;
                    f
                })?;
        }
        let n = x.len() as f64;
        let rms = |blocks: &[u8], per: usize, q4_1: bool| {
            let mut err = 0.0;
            for (b, block) in blocks.chunks_exact(per).enumerate() {
                let w: Vec<f64> = if q4_1 {
                    q4::q4_1_weights(block).iter().map(|p| p.0).collect()
                } else {
                    q4::q4_0_weights(block).to_vec()
                };
                for (e, w) in w.into_iter().enumerate() {
                    err += (w - x[b * QK + e] as f64).powi(2);
                }
            }
            (err / n).sqrt()
        };
        let spread = (x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / n).sqrt();
        ctx.cases.push(format!(
            "{}: Q4_0 and Q4_1 bytes identical to llama.cpp's rule; Q4_0 {:.1} bits a weight, \
             rms error {:.2e}; Q4_1 {:.1} bits a weight, rms error {:.2e} (weights' rms {:.2e}); \
             both dequantizers right",
            ctx.case,
            8.0 * got0.len() as f64 / n,
            rms(&want0, q4::Q4_0_BYTES, false),
            8.0 * got1.len() as f64 / n,
            rms(&want1, q4::Q4_1_BYTES, true),
            spread,
        ));
    }
    Ok(())
}

const Q4_0_HINT: &str = "A Q4_0 weight is (q - 8) * d: q is stored with 8 added, so that -8..7 \
                         fits in 0..15.\n";
const Q4_1_HINT: &str = "A Q4_1 weight is q * d + m, with d the fp16 at bytes 0-1 and m the one \
                         at bytes 2-3.\n";

fn bytes(values: &[f32]) -> Vec<u8> {
    values.iter().map(|&v| v as u8).collect()
}

fn random_bytes(ctx: &mut RustCtx, n: usize) -> Vec<u8> {
    (0..n).map(|_| ctx.random_index(256) as u8).collect()
}

/// `nb` blocks: block 0 all zeros when there are several, then in turn a random block, one
/// outlier, a negative maximum, values on rounding boundaries (for each format's rule).
fn weights(ctx: &mut RustCtx, nb: usize) -> Vec<f32> {
    let mut x = Vec::with_capacity(nb * QK);
    for b in 0..nb {
        let mut block = ctx.random_f32(QK);
        let kind = if nb == 1 { 1 } else { b % 5 };
        match kind {
            0 => block.fill(0.0),
            // A block whose Q4_1 bytes depend on taking id from the f32 d, as llama.cpp does,
            // not from the fp16 d it stores (one random block in five has such a value).
            1 if nb > 1 => {
                for _ in 0..1000 {
                    if id_rule_matters(&block) {
                        break;
                    }
                    block = ctx.random_f32(QK);
                }
            }
            1 => {}
            2 => {
                let at = ctx.random_index(QK);
                block[at] *= 100.0;
            }
            3 => {
                // The largest magnitude negative: Q4_0's d = max / -8 is then positive.
                let big = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                let at = ctx.random_index(QK);
                block[at] = -2.0 * big;
            }
            _ => {
                // s a power of two: q + 0.5 steps are exact, and every x * id + 0.5 (Q4_1, min 0,
                // max 15 s) or x * id + 8.5 (Q4_0, max -8 s) lands exactly on a half.
                let s = 2f32.powi(ctx.random_index(9) as i32 - 4);
                for (e, v) in block.iter_mut().enumerate() {
                    *v = ((e % 15) as f32 + 0.5) * s;
                }
                block[0] = 0.0;
                block[1] = 15.0 * s;
                if b % 2 == 0 {
                    // Q4_0's boundaries: max -8 s, the rest halfway steps below 7.5 s.
                    block[1] = -8.0 * s;
                    for (e, v) in block.iter_mut().enumerate().skip(2) {
                        *v = ((e % 15) as f32 - 7.5) * s;
                    }
                }
            }
        }
        x.extend(block);
    }
    x
}

/// Whether some q of this block's Q4_1 quantization differs between id = 1 / d (d in f32, the
/// llama.cpp rule) and id = 1 / fp16(d).
fn id_rule_matters(block: &[f32]) -> bool {
    let (min, max) = block
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let d = (max - min) / 15.0;
    if d == 0.0 {
        return false;
    }
    let d16 = half::f16::from_f32(d).to_f32();
    let q = |v: f32, id: f32| ((v - min) * id + 0.5).trunc().min(15.0);
    block.iter().any(|&v| q(v, 1.0 / d) != q(v, 1.0 / d16))
}

/// Bytes equal, or words for the first block that differs and what in it differs.
fn compare_blocks(
    format: &str,
    got: &[u8],
    want: &[u8],
    x: &[f32],
    per: usize,
) -> anyhow::Result<()> {
    if got.len() != want.len() {
        anyhow::bail!(Failure::new(
            format!(
                "{format}: your quantizer returned {} bytes for {} blocks, expected {} ({per} a block)",
                got.len(),
                want.len() / per,
                want.len()
            ),
            "Push the block's fp16 field(s) first, then its 16 bytes of nibbles.\n"
        ));
    }
    let Some(b) = (0..want.len() / per)
        .find(|&b| got[b * per..(b + 1) * per] != want[b * per..(b + 1) * per])
    else {
        return Ok(());
    };
    let (g, w) = (&got[b * per..(b + 1) * per], &want[b * per..(b + 1) * per]);
    let block = &x[b * QK..(b + 1) * QK];
    let fields = per - QK / 2;
    let shown: Vec<String> = block.iter().map(|v| format!("{v}")).collect();
    let mut details = format!("block {b}'s weights: [{}]\n", shown.join(", "));
    for (f, name) in ["d", "m"].into_iter().enumerate().take(fields / 2) {
        let (gv, wv) = (q4::half_at(g, 2 * f), q4::half_at(w, 2 * f));
        if gv.to_bits() != wv.to_bits() {
            details += &format!(
                "{name} (bytes {}-{}): yours {gv}, expected {wv}\n",
                2 * f,
                2 * f + 1
            );
            if format == "Q4_0" && gv == -wv {
                details += "d has the wrong sign: max is the value of largest magnitude WITH its \
                            sign, and d = max / -8 (a block whose largest value is negative has \
                            a positive d).\n";
            }
        }
    }
    let (gq, wq) = (&g[fields..], &w[fields..]);
    let swapped: Vec<u8> = wq.iter().map(|q| q.rotate_left(4)).collect();
    let pairs: Vec<u8> = (0..QK / 2)
        .map(|j| q4::nibble(wq, 2 * j) | (q4::nibble(wq, 2 * j + 1) << 4))
        .collect();
    if gq != wq && gq == swapped.as_slice() {
        details += "Your qs bytes hold the high and low nibbles swapped: element j (j < 16) is \
                    the LOW nibble of qs[j], element j + 16 the HIGH one.\n";
    } else if gq != wq && gq == pairs.as_slice() {
        details += "Your qs bytes hold elements 2j and 2j + 1 in qs[j] (adjacent pairs); \
                    llama.cpp puts element j and element j + 16 there.\n";
    } else if let Some(e) = (0..QK).find(|&e| q4::nibble(gq, e) != q4::nibble(wq, e)) {
        details += &format!(
            "element {e} (the {} nibble of qs[{}]), weight {}: your q is {}, expected {}.\n",
            if e < QK / 2 { "low" } else { "high" },
            e % (QK / 2),
            block[e],
            q4::nibble(gq, e),
            q4::nibble(wq, e)
        );
        if (q4::nibble(gq, e) as i32 - q4::nibble(wq, e) as i32).abs() == 1 {
            details += "One step off: compute x * id + 8.5 (Q4_0) or (x - min) * id + 0.5 (Q4_1) \
                        in f32, with id = 1 / d from the f32 d, and truncate (`as i32`). A value \
                        exactly halfway rounds UP there, not to even, and not away from zero.\n";
        }
    }
    Err(Failure::new(
        format!("{format}: block {b} differs from llama.cpp's bytes"),
        details,
    )
    .into())
}

/// quantize_int8: symmetric and asymmetric int8, per tensor and per row, compared exactly;
/// then min-max against percentile calibration on activations with outliers. Sizes are
/// `[rows, cols]`; each runs per tensor and per channel. The second and fourth sizes put
/// every value exactly halfway between two q (a power-of-two scale), where round half to
/// even and `round()` disagree.
pub fn check_int8(ctx: &mut RustCtx) -> anyhow::Result<()> {
    for (index, size) in ctx.sizes().into_iter().enumerate() {
        let [rows, cols] = size[..] else {
            anyhow::bail!("quantize_int8 sizes are [rows, cols], got {size:?}");
        };
        for per_channel in [false, true] {
            let how = if per_channel {
                "per channel"
            } else {
                "per tensor"
            };
            ctx.case(format!("W {rows} x {cols}, {how}"));
            let w = int8_weights(ctx, rows, cols, index);
            let mut x = ctx.random_f32(ACTIVATIONS);
            for _ in 0..ACTIVATIONS / 200 {
                let at = ctx.random_index(ACTIVATIONS);
                x[at] *= 30.0;
            }
            let run = ctx.run(
                &[
                    ("rows", rows as f64),
                    ("cols", cols as f64),
                    ("per_channel", f64::from(u8::from(per_channel))),
                    ("percentile", PERCENTILE),
                ],
                &[("w", &w), ("activations", &x)],
            )?;
            let want = int8::symmetric(&w, cols, per_channel);
            expect_same("symmetric scales", &run.f32s("sym_scales")?, &want.1, "")
                .map_err(|f| scale_words(f, rows, cols, per_channel))?;
            expect_q(
                "symmetric q",
                &run.f32s("sym_q")?,
                &want.0,
                &w,
                &want.1,
                cols,
                per_channel,
            )?;
            let (aq, ascale, azp) = int8::asymmetric(&w, cols, per_channel);
            expect_same("asymmetric scales", &run.f32s("asym_scales")?, &ascale, "")
                .map_err(|f| scale_words(f, rows, cols, per_channel))?;
            expect_same(
                "asymmetric zero points",
                &run.f32s("asym_zero_points")?,
                &azp,
                "zero_point = round(-lo / scale), half to even, clamped to 0..=255.\n",
            )?;
            let got_aq = run.f32s("asym_q")?;
            let no_zp: Vec<f32> = aq
                .iter()
                .enumerate()
                .map(|(i, q)| (q - azp[group(i, cols, per_channel)]).clamp(0.0, 255.0))
                .collect();
            if got_aq == no_zp && no_zp != aq {
                anyhow::bail!(Failure::new(
                    "asymmetric q: the zero point is missing",
                    "q = round(w / scale) + zero_point, then clamped to 0..=255: the zero point \
                     moves 0.0 to an integer inside the range.\n"
                ));
            }
            expect_q("asymmetric q", &got_aq, &aq, &w, &ascale, cols, per_channel)?;
            let cal = run.f32s("calibration")?;
            let mut line = String::new();
            for (c, (name, p)) in [("min-max", 100.0), ("percentile", PERCENTILE)]
                .into_iter()
                .enumerate()
            {
                let clip = int8::clip(&x, p);
                let (mse, snr) = int8::error(&x, clip);
                let got = cal.get(3 * c..3 * c + 3).unwrap_or_default();
                let [gc, gm, gs] = got[..] else {
                    anyhow::bail!(Failure::new("your calibration returned nothing", ""));
                };
                if gc != clip {
                    anyhow::bail!(Failure::new(
                        format!("clip_percentile(x, {p}) is {gc}, expected {clip}"),
                        format!("{n} activations: the clip is the |x| at 1-based rank ceil({p} / 100 * {n}) of the sorted magnitudes (p = 100: max |x|).\n", n = x.len()),
                    ));
                }
                let close = |g: f32, w: f64| (g as f64 - w).abs() <= 1e-5 * w.abs();
                if !close(gm, mse) || !close(gs, snr) {
                    anyhow::bail!(Failure::new(
                        format!("{name} calibration (clip {clip}): your MSE {gm:.6e} and SNR {gs:.4} dB, expected {mse:.6e} and {snr:.4} dB"),
                        "x_hat = q * scale with scale = clip / 127 and q clamped to -127..=127 \
                         (values past the clip saturate); MSE and SNR in f64.\n",
                    ));
                }
                line += &format!("{name} clip {clip:.3}: MSE {mse:.3e}, SNR {snr:.1} dB; ");
            }
            ctx.cases.push(format!(
                "{}: every q, scale and zero point exact; {}on activations with outliers",
                ctx.case, line
            ));
        }
    }
    Ok(())
}

const ACTIVATIONS: usize = 4000;
const PERCENTILE: f64 = 99.9;

fn group(i: usize, cols: usize, per_channel: bool) -> usize {
    if per_channel {
        i / cols
    } else {
        0
    }
}

/// Random weights, or (sizes 2 and 4) values exactly halfway between two q: each row's
/// first element 127 s, s a power of two, so the symmetric scale is s (size 2); with a
/// second element -128 s the asymmetric scale is s too (size 4).
fn int8_weights(ctx: &mut RustCtx, rows: usize, cols: usize, index: usize) -> Vec<f32> {
    let mut w = ctx.random_f32(rows * cols);
    if index == 1 || index == 3 {
        let s = 2f32.powi(ctx.random_index(9) as i32 - 6);
        for (i, v) in w.iter_mut().enumerate() {
            *v = match (i % cols, index) {
                (0, _) => 127.0 * s,
                (1, 3) => -128.0 * s,
                _ => ((i % 200) as f32 - 99.5) * s,
            };
        }
    }
    w
}

fn expect_same(name: &str, got: &[f32], want: &[f32], hint: &str) -> Result<(), Failure> {
    if got.len() != want.len() {
        return Err(Failure::new(
            format!("{name}: {} values, expected {}", got.len(), want.len()),
            format!("One per tensor, or one per row (output channel) when per_channel.\n{hint}"),
        ));
    }
    match (0..got.len()).find(|&i| got[i].to_bits() != want[i].to_bits()) {
        None => Ok(()),
        Some(i) => Err(Failure::new(
            format!("{name}[{i}] is {}, expected {}", got[i], want[i]),
            hint.to_string(),
        )),
    }
}

fn scale_words(mut f: Failure, rows: usize, cols: usize, per_channel: bool) -> Failure {
    f.details += &if per_channel {
        format!(
            "Per channel: one scale for each of the {rows} rows (output channels), from the {cols} \
             values of that row, w[r * cols .. (r + 1) * cols]; not one per column.\n"
        )
    } else {
        "Per tensor: one scale, from all the values.\n".to_string()
    };
    f
}

fn expect_q(
    name: &str,
    got: &[f32],
    want: &[f32],
    w: &[f32],
    scales: &[f32],
    cols: usize,
    per_channel: bool,
) -> Result<(), Failure> {
    expect_same(name, got, want, "").map_err(|mut f| {
        if let Some(i) = (0..got.len().min(want.len())).find(|&i| got[i] != want[i]) {
            let scale = scales[group(i, cols, per_channel)];
            let ratio = w[i] / scale;
            f.details += &format!("w[{i}] = {}, scale {scale}: w / scale = {ratio}.\n", w[i]);
            if ratio.fract().abs() == 0.5 {
                f.details += "That is exactly halfway: round half to EVEN (f32::round_ties_even), \
                              so 2.5 -> 2 and -2.5 -> -2; `round()` goes away from zero.\n";
            }
        }
        f
    })
}

/// The harness's int8 rules (the stub states them), in f32 as the learner computes them.
mod int8 {
    fn groups(w: &[f32], cols: usize, per_channel: bool) -> Vec<&[f32]> {
        if per_channel {
            w.chunks(cols).collect()
        } else {
            vec![w]
        }
    }

    pub fn symmetric(w: &[f32], cols: usize, per_channel: bool) -> (Vec<f32>, Vec<f32>) {
        let (mut q, mut scales) = (Vec::new(), Vec::new());
        for g in groups(w, cols, per_channel) {
            let scale = g.iter().fold(0.0f32, |m, v| m.max(v.abs())) / 127.0;
            scales.push(scale);
            q.extend(g.iter().map(|&v| quantize(v, scale, -127.0, 127.0, 0.0)));
        }
        (q, scales)
    }

    pub fn asymmetric(w: &[f32], cols: usize, per_channel: bool) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let (mut q, mut scales, mut zps) = (Vec::new(), Vec::new(), Vec::new());
        for g in groups(w, cols, per_channel) {
            let lo = g.iter().fold(0.0f32, |m, &v| m.min(v));
            let hi = g.iter().fold(0.0f32, |m, &v| m.max(v));
            let scale = (hi - lo) / 255.0;
            let zp = if scale == 0.0 {
                0.0
            } else {
                // + 0.0: an integer has no -0, and the values are compared bit for bit.
                (-lo / scale).round_ties_even().clamp(0.0, 255.0) + 0.0
            };
            scales.push(scale);
            zps.push(zp);
            q.extend(g.iter().map(|&v| quantize(v, scale, 0.0, 255.0, zp)));
        }
        (q, scales, zps)
    }

    fn quantize(v: f32, scale: f32, lo: f32, hi: f32, zp: f32) -> f32 {
        if scale == 0.0 {
            return 0.0;
        }
        ((v / scale).round_ties_even() + zp).clamp(lo, hi) + 0.0
    }

    pub fn clip(x: &[f32], p: f64) -> f32 {
        let mut mags: Vec<f32> = x.iter().map(|v| v.abs()).collect();
        mags.sort_by(f32::total_cmp);
        let rank = ((p / 100.0 * x.len() as f64).ceil() as usize).clamp(1, x.len());
        mags[rank - 1]
    }

    pub fn error(x: &[f32], clip: f32) -> (f64, f64) {
        let scale = clip / 127.0;
        let (mut signal, mut noise) = (0.0f64, 0.0f64);
        for &v in x {
            let err = v as f64 - (quantize(v, scale, -127.0, 127.0, 0.0) * scale) as f64;
            signal += (v as f64).powi(2);
            noise += err * err;
        }
        (noise / x.len() as f64, 10.0 * (signal / noise).log10())
    }
}
