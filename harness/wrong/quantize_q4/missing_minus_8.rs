// expect: (q - 8) * d
//! Exercise 09.2 — llama.cpp's 4-bit blocks, Q4_0 and Q4_1, byte for byte.
//!
//! Weights are cut into blocks of QK = 32 (x.len() is a multiple of 32). Each block stores
//! its 32 values as 4-bit integers q in 0..=15, two to a byte, and what turns them back:
//!
//!   Q4_0, 18 bytes: d as fp16 (little-endian, bytes 0-1), then qs[16]; value = (q - 8) * d.
//!   Q4_1, 20 bytes: d as fp16 (bytes 0-1), m as fp16 (bytes 2-3), then qs[16];
//!                   value = q * d + m.
//!
//! In qs, element j of the block (j < 16) is the LOW nibble of qs[j] and element j + 16 the
//! HIGH nibble: qs[j] = q[j] | q[j + 16] << 4. (Not q[2j] and q[2j + 1].)
//!
//! The rules, as ggml-quants.c's quantize_row_q4_0_ref and quantize_row_q4_1_ref compute
//! them, in f32, each step rounded as written (kernlings compares your bytes with its own):
//!
//!   Q4_0: max = the value of largest |value| in the block, WITH its sign (the first one,
//!         if two tie); d = max / -8; id = 1 / d (0 when d is 0);
//!         q = min(15, trunc(x * id + 8.5)).
//!   Q4_1: min, max of the block; d = (max - min) / 15; id = 1 / d (0 when d is 0);
//!         q = min(15, trunc((x - min) * id + 0.5)); m = min.
//!
//! id comes from the f32 d, before d is rounded to fp16 for storage. `half::f16::from_f32`
//! rounds to fp16 as llama.cpp does; `.to_bits().to_le_bytes()` gives its two bytes.
//! Dequantize with the stored (fp16) d and m, in f32.
//!
//! Goal: every byte equal to the harness's, on random blocks and on the blocks that catch
//! the classic slips: all zeros, one outlier, a negative maximum, values exactly halfway
//! between two q. kernlings prints the bits per weight and the error each format makes.

use half::f16;

pub const QK: usize = 32;

fn store(q: &[u8; QK], out: &mut Vec<u8>) {
    for j in 0..QK / 2 {
        out.push(q[j] | (q[j + QK / 2] << 4));
    }
}

fn fp16_at(bytes: &[u8], at: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([bytes[at], bytes[at + 1]])).to_f32()
}

/// The 32 nibbles of 16 qs bytes, in element order.
fn nibbles(qs: &[u8]) -> [u8; QK] {
    std::array::from_fn(|e| {
        if e < QK / 2 {
            qs[e] & 0x0f
        } else {
            qs[e - QK / 2] >> 4
        }
    })
}

pub fn quantize_q4_0(x: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(x.len() / QK * 18);
    for block in x.chunks_exact(QK) {
        let (mut amax, mut max) = (0.0f32, 0.0f32);
        for &v in block {
            if amax < v.abs() {
                amax = v.abs();
                max = v;
            }
        }
        let d = max / -8.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend(f16::from_f32(d).to_bits().to_le_bytes());
        let mut q = [0u8; QK];
        for (q, &v) in q.iter_mut().zip(block) {
            // `as i32` truncates, as C's cast does; the argument is never negative here.
            *q = ((v * id + 8.5) as i32).min(15) as u8;
        }
        store(&q, &mut out);
    }
    out
}

pub fn quantize_q4_1(x: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(x.len() / QK * 20);
    for block in x.chunks_exact(QK) {
        let min = block.iter().copied().fold(f32::MAX, f32::min);
        let max = block.iter().copied().fold(-f32::MAX, f32::max);
        let d = (max - min) / 15.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend(f16::from_f32(d).to_bits().to_le_bytes());
        out.extend(f16::from_f32(min).to_bits().to_le_bytes());
        let mut q = [0u8; QK];
        for (q, &v) in q.iter_mut().zip(block) {
            *q = (((v - min) * id + 0.5) as i32).min(15) as u8;
        }
        store(&q, &mut out);
    }
    out
}

pub fn dequantize_q4_0(blocks: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(blocks.len() / 18 * QK);
    for block in blocks.chunks_exact(18) {
        let d = fp16_at(block, 0);
        out.extend(nibbles(&block[2..]).iter().map(|&q| q as f32 * d));
    }
    out
}

pub fn dequantize_q4_1(blocks: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(blocks.len() / 20 * QK);
    for block in blocks.chunks_exact(20) {
        let (d, m) = (fp16_at(block, 0), fp16_at(block, 2));
        out.extend(nibbles(&block[4..]).iter().map(|&q| q as f32 * d + m));
    }
    out
}
