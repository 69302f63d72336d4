//! Module 08, rope and kv_append: the two small kernels of a decode step that write the
//! attention inputs, in the formats SmolLM2-135M uses (GGUF Llama: head dim 64, 9 query heads,
//! 3 KV heads, RoPE on adjacent pairs (2i, 2i + 1) with base 100000).
//!
//! rope: Q [T, Hq, 64] and K [T, Hkv, 64] f32 rotated in place, token t at position pos[t]
//! (positions continue sequences: runs of consecutive positions from random starts, never the
//! row index). `size = [T, Hq, Hkv]`. Timed against copy on the bytes read and written.
//!
//! kv_append: each sequence's new K and V ([B, Hkv, 64] f32) go, rounded to f16, into slot
//! lens[b] of contiguous caches [B, Hkv, L_max, 64] f16; every other entry of the caches must
//! keep its bits. `size = [B, Hkv, L_max]`. The caches hold f16 pairs packed in u32 on the
//! harness side (D = 64 is even), compared bit for bit and reported per half.

use cudarc::driver::LaunchConfig;

use crate::args;
use crate::grade::{CheckCtx, DevBuf, Failure, Launch, Work};

pub(super) const HEAD_DIM: usize = 64;
const EPS: f64 = f32::EPSILON as f64;
/// Bases a case may use: SmolLM2's 100000 most of the time, others so a hard-coded one fails.
const BASES: [f32; 3] = [100_000.0, 10_000.0, 500_000.0];
/// Highest position a case draws: SmolLM2's context is 8192 tokens.
const MAX_POSITION: i32 = 8192;
const ROPE_BLOCK: u32 = 128;

/// Token positions for `t` tokens: runs of consecutive positions (a prompt, or one decode
/// token per sequence), each run starting at a random position.
fn positions(ctx: &mut CheckCtx, t: usize) -> Vec<i32> {
    let mut pos = Vec::with_capacity(t);
    while pos.len() < t {
        let knobs = ctx.random_i32(2, 0, MAX_POSITION);
        let run = (1 + knobs[0] as usize % 40).min(t - pos.len());
        let start = knobs[1].min(MAX_POSITION - run as i32);
        pos.extend((0..run as i32).map(|j| start + j));
    }
    pos
}

/// Rotated heads in f64 (rounded to f32) and each element's bound: a correct f32 kernel
/// rounds the angle pos * base^(-2i/64) (relative error a few eps, up to 32 for llama.cpp's
/// running product of frequencies), so the bound grows with the angle, plus a few ulps of
/// the rotation itself.
fn rope_reference(x: &[f32], pos: &[i32], heads: usize, base: f32) -> (Vec<f32>, Vec<f64>) {
    let mut want = vec![0.0f32; x.len()];
    let mut bounds = vec![0.0f64; x.len()];
    for (t, &p) in pos.iter().enumerate() {
        for h in 0..heads {
            for i in 0..HEAD_DIM / 2 {
                let at = (t * heads + h) * HEAD_DIM + 2 * i;
                let angle = p as f64 * (base as f64).powf(-2.0 * i as f64 / HEAD_DIM as f64);
                let (s, c) = angle.sin_cos();
                let (x0, x1) = (x[at] as f64, x[at + 1] as f64);
                want[at] = (x0 * c - x1 * s) as f32;
                want[at + 1] = (x0 * s + x1 * c) as f32;
                let b = (x0.abs() + x1.abs()) * EPS * (32.0 * angle + 8.0) + 1e-37;
                bounds[at] = b;
                bounds[at + 1] = b;
            }
        }
    }
    (want, bounds)
}

const ROPE_RULE: &str = "|got - expected| <= (|x0| + |x1|) eps (32 angle + 8), eps = 2^-23: an \
                         f32 angle pos * base^(-2i/64) and its sine and cosine are that far from \
                         exact; pairs are (2i, 2i + 1) of each head";

pub fn rope(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let kernel = ctx.kernel("rope")?;
    let timed = ctx.speed_size();
    let mut sizes = ctx.sizes();
    ctx.append_timed(&mut sizes, &timed);
    for (n, size) in sizes.iter().enumerate() {
        let [t, hq, hkv] = size[..] else {
            anyhow::bail!("rope sizes are [T, Hq, Hkv]; curriculum.toml gives {size:?}");
        };
        let is_timed = timed.as_ref() == Some(size);
        // The first cases use SmolLM2's base; later ones vary it.
        let base = BASES[if n < 2 { 0 } else { n % BASES.len() }];
        ctx.case(format!(
            "{}T={t} Hq={hq} Hkv={hkv} base={base}",
            if is_timed { "timed, " } else { "" }
        ));
        let q = ctx.random_f32(t * hq * HEAD_DIM);
        let k = ctx.random_f32(t * hkv * HEAD_DIM);
        let pos = positions(ctx, t);
        let dq = ctx.in_out("q", &q)?;
        let dk = ctx.in_out("k", &k)?;
        let dpos = ctx.input("pos", &pos)?;
        let cfg = LaunchConfig {
            grid_dim: (t as u32, 1, 1),
            block_dim: (ROPE_BLOCK, 1, 1),
            shared_mem_bytes: 0,
        };
        let a = args![&dq, &dk, &dpos, t as i32, hq as i32, hkv as i32, base];
        ctx.launch(&kernel, cfg, a)?;
        let (want_q, bounds_q) = rope_reference(&q, &pos, hq, base);
        let (want_k, bounds_k) = rope_reference(&k, &pos, hkv, base);
        ctx.expect_bounded(&dq, &want_q, bounds_q, ROPE_RULE.into())?;
        ctx.expect_bounded(&dk, &want_k, bounds_k, ROPE_RULE.into())?;
        if is_timed {
            let varied = ctx.vary(&pos, |p| if p > 0 { p - 1 } else { p + 1 });
            ctx.vary_input(&dpos, &varied)?;
            let (vq, bq) = rope_reference(&q, &varied, hq, base);
            let (vk, bk) = rope_reference(&k, &varied, hkv, base);
            ctx.hold_varied_bounded(&dq, &vq, bq, ROPE_RULE.into());
            ctx.hold_varied_bounded(&dk, &vk, bk, ROPE_RULE.into());
            let bytes = 8 * (t * (hq + hkv) * HEAD_DIM) + 4 * t;
            let learner = Launch {
                kernel: &kernel,
                cfg,
                args: a,
            };
            ctx.measure_speed(learner, Work::Bytes(bytes as u64), None)?;
        }
    }
    Ok(())
}

// ---- kv_append ----------------------------------------------------------------------------

/// f16 pairs packed as the device sees them: element 2j in the low half of word j.
pub(super) fn pack(halves: &[half::f16]) -> Vec<u32> {
    halves
        .chunks_exact(2)
        .map(|p| u32::from(p[0].to_bits()) | (u32::from(p[1].to_bits()) << 16))
        .collect()
}

fn unpack(words: &[u32]) -> Vec<u16> {
    words
        .iter()
        .flat_map(|w| [*w as u16, (*w >> 16) as u16])
        .collect()
}

/// What the caches hold before the launch: earlier tokens' values below each length, and
/// after it a pattern of NaNs with payloads (never what the kernel writes), so an entry the
/// kernel touches outside its slot shows.
fn cache_start(ctx: &mut CheckCtx, lens: &[i32], hkv: usize, l_max: usize) -> Vec<half::f16> {
    let values = ctx.random_f32(lens.len() * hkv * l_max * HEAD_DIM);
    let mut out = Vec::with_capacity(values.len());
    for (i, v) in values.into_iter().enumerate() {
        let slot = (i / HEAD_DIM) % l_max;
        let b = i / (HEAD_DIM * l_max * hkv);
        out.push(if (slot as i32) < lens[b] {
            half::f16::from_f32(v)
        } else {
            half::f16::from_bits(0x7c01 | (i as u16 & 0x1ff))
        });
    }
    out
}

/// Compare a cache half by half and say which entry is wrong, and whether it is the new
/// token's slot or one the kernel had to leave alone.
fn expect_cache(
    ctx: &mut CheckCtx,
    buf: &DevBuf<u32>,
    want: &[u32],
    (hkv, l_max): (usize, usize),
    lens: &[i32],
) -> anyhow::Result<()> {
    let got = unpack(&ctx.read(buf)?);
    let exp = unpack(want);
    let name = buf.name().to_string();
    let wrong: Vec<usize> = (0..exp.len()).filter(|&i| got[i] != exp[i]).collect();
    if let Some(&i) = wrong.first() {
        let (d, slot) = (i % HEAD_DIM, (i / HEAD_DIM) % l_max);
        let (h, b) = ((i / (HEAD_DIM * l_max)) % hkv, i / (HEAD_DIM * l_max * hkv));
        let show = |bits: u16| {
            let v = half::f16::from_bits(bits);
            if v.is_nan() {
                format!("NaN 0x{bits:04x}")
            } else {
                format!("{v} (0x{bits:04x})")
            }
        };
        let at = format!("{name}[b={b}][h={h}][slot {slot}][d={d}]");
        let own = slot as i32 == lens[b];
        let summary = if own {
            format!("{at} is wrong: the new token's value is not there")
        } else {
            format!(
                "your kernel changed {at}, which is not sequence {b}'s new slot: everything \
                 else in the cache must stay as it was"
            )
        };
        let details = format!(
            "{at} is {}, expected {}. Sequence {b}'s new token goes to slot lens[{b}] = {}; \
             {} of {} halves differ. Layout: [B, Hkv, L_max = {l_max}, 64] f16.\n",
            show(got[i]),
            show(exp[i]),
            lens[b],
            wrong.len(),
            exp.len()
        );
        return Err(Failure::new(summary, details).into());
    }
    ctx.hold_timed_to(buf, want, ctx.tolerance());
    ctx.cases
        .push(format!("{}: {name}: every entry bit for bit", ctx.case));
    Ok(())
}

pub fn kv_append(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let kernel = ctx.kernel("kv_append")?;
    for size in ctx.sizes() {
        let [b, hkv, l_max] = size[..] else {
            anyhow::bail!("kv_append sizes are [B, Hkv, L_max]; curriculum.toml gives {size:?}");
        };
        ctx.case(format!("B={b} Hkv={hkv} L_max={l_max}"));
        // Every sequence its own length; the first is 0 (an empty cache) and one is full but
        // for its last slot.
        let mut lens = ctx.random_i32(b, 0, l_max as i32);
        lens[0] = 0;
        if b > 1 {
            lens[b - 1] = l_max as i32 - 1;
        }
        let k_new = ctx.random_f32(b * hkv * HEAD_DIM);
        let v_new = ctx.random_f32(b * hkv * HEAD_DIM);
        let k_start = cache_start(ctx, &lens, hkv, l_max);
        let v_start = cache_start(ctx, &lens, hkv, l_max);
        let place = |start: &[half::f16], new: &[f32]| {
            let mut out = start.to_vec();
            for (i, &x) in new.iter().enumerate() {
                let (d, h, s) = (i % HEAD_DIM, (i / HEAD_DIM) % hkv, i / (HEAD_DIM * hkv));
                let slot = lens[s] as usize;
                out[((s * hkv + h) * l_max + slot) * HEAD_DIM + d] = half::f16::from_f32(x);
            }
            pack(&out)
        };
        let (want_k, want_v) = (place(&k_start, &k_new), place(&v_start, &v_new));
        let dkn = ctx.input("k_new", &k_new)?;
        let dvn = ctx.input("v_new", &v_new)?;
        let dkc = ctx.in_out("k_cache", &pack(&k_start))?;
        let dvc = ctx.in_out("v_cache", &pack(&v_start))?;
        let dlens = ctx.input("lens", &lens)?;
        let cfg = LaunchConfig {
            grid_dim: (hkv as u32, b as u32, 1),
            block_dim: (HEAD_DIM as u32, 1, 1),
            shared_mem_bytes: 0,
        };
        let a = args![&dkn, &dvn, &dkc, &dvc, &dlens, hkv as i32, l_max as i32];
        ctx.launch(&kernel, cfg, a)?;
        expect_cache(ctx, &dkc, &want_k, (hkv, l_max), &lens)?;
        expect_cache(ctx, &dvc, &want_v, (hkv, l_max), &lens)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rope_at_position_zero_is_the_identity() {
        let x: Vec<f32> = (0..HEAD_DIM).map(|i| i as f32 - 7.5).collect();
        let (want, _) = rope_reference(&x, &[0], 1, 100_000.0);
        assert_eq!(want, x);
    }

    #[test]
    fn rope_rotates_adjacent_pairs() {
        let mut x = vec![0.0f32; HEAD_DIM];
        x[0] = 1.0;
        let (want, _) = rope_reference(&x, &[1], 1, 100_000.0);
        // Pair 0 has frequency 1: (1, 0) turns by one radian into (cos 1, sin 1).
        assert!((want[0] as f64 - 1f64.cos()).abs() < 1e-7);
        assert!((want[1] as f64 - 1f64.sin()).abs() < 1e-7);
        assert!(want[2..].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn packing_puts_the_even_half_low() {
        let h = [half::f16::from_f32(1.0), half::f16::from_f32(-2.0)];
        let w = pack(&h);
        assert_eq!(unpack(&w), vec![0x3c00, 0xc000]);
    }
}
