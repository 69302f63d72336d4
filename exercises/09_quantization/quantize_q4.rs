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

/// Q4_0: 18 bytes a block (d, then qs).
pub fn quantize_q4_0(x: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(x.len() / QK * 18);
    for block in x.chunks_exact(QK) {
        // TODO: max (signed), d, id; push d's two bytes; then the 16 qs bytes.
        let _ = (block, f16::ZERO);
    }
    out
}

/// Q4_1: 20 bytes a block (d, m, then qs).
pub fn quantize_q4_1(x: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(x.len() / QK * 20);
    for block in x.chunks_exact(QK) {
        // TODO: min, max, d, id; push d's and m's bytes; then the 16 qs bytes.
        let _ = block;
    }
    out
}

/// 32 floats for every 18 bytes.
pub fn dequantize_q4_0(blocks: &[u8]) -> Vec<f32> {
    // TODO: read d back with f16::from_bits(u16::from_le_bytes(..)), then (q - 8) * d.
    let _ = blocks;
    todo!("dequantize Q4_0")
}

/// 32 floats for every 20 bytes.
pub fn dequantize_q4_1(blocks: &[u8]) -> Vec<f32> {
    // TODO: d, m, then q * d + m for the 32 elements, in element order.
    let _ = blocks;
    todo!("dequantize Q4_1")
}
