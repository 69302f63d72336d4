//! quantize_q4 (module 09, `.rs`): llama.cpp's Q4_0 and Q4_1, bit for bit. The grader runs the
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
    let names = ["d", "m"];
    for f in 0..fields / 2 {
        let (gv, wv) = (q4::half_at(g, 2 * f), q4::half_at(w, 2 * f));
        if gv.to_bits() != wv.to_bits() {
            details += &format!(
                "{} (bytes {}-{}): yours {gv}, expected {wv}\n",
                names[f],
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
