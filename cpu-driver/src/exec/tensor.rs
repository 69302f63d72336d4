//! Tensor-core instructions as plain arithmetic on the warp's fragments: `mma.sync` on
//! f16/bf16 inputs with f32 accumulators, and `ldmatrix` from shared memory. Fragment layouts
//! follow the PTX ISA ("Matrix Fragments for mma.m16n8k16" and "ldmatrix").

use super::num::half_get;

/// D = A * B + C for one m16n8k16 (or m16n8k8) tile; `a`, `b`, `c` are each lane's registers.
pub fn mma(
    k: usize,
    bf: bool,
    a: &[[u64; 4]; 32],
    b: &[[u64; 2]; 32],
    c: &[[u64; 4]; 32],
) -> [[u64; 4]; 32] {
    let mut am = [[0f64; 16]; 16];
    let mut bm = [[0f64; 8]; 16];
    let mut cm = [[0f64; 8]; 16];
    for lane in 0..32 {
        let (g, t) = (lane / 4, lane % 4);
        // A: register r holds two consecutive columns; r&1 picks the lower/upper eight rows,
        // r>>1 the lower/upper eight columns (k16 only).
        for r in 0..k / 4 {
            let row = g + 8 * (r & 1);
            let col = 2 * t + 8 * (r >> 1);
            am[row][col] = half_get(a[lane][r], bf, false);
            am[row][col + 1] = half_get(a[lane][r], bf, true);
        }
        for r in 0..k / 8 {
            let row = 2 * t + 8 * r;
            bm[row][g] = half_get(b[lane][r], bf, false);
            bm[row + 1][g] = half_get(b[lane][r], bf, true);
        }
        for r in 0..4 {
            let row = g + 8 * (r >> 1);
            let col = 2 * t + (r & 1);
            cm[row][col] = f32::from_bits(c[lane][r] as u32) as f64;
        }
    }
    let mut d = [[0u64; 4]; 32];
    for (lane, dl) in d.iter_mut().enumerate() {
        let (g, t) = (lane / 4, lane % 4);
        for (r, out) in dl.iter_mut().enumerate() {
            let row = g + 8 * (r >> 1);
            let col = 2 * t + (r & 1);
            let acc: f64 = cm[row][col] + (0..k).map(|kk| am[row][kk] * bm[kk][col]).sum::<f64>();
            *out = (acc as f32).to_bits() as u64;
        }
    }
    d
}

/// `ldmatrix.m8n8.x{1,2,4}[.trans].b16`: `rows[i]` is the 16-byte row whose address lane i
/// gave (lanes 8j..8j+7 address matrix j). Returns each lane's `num` registers.
pub fn ldmatrix(num: usize, trans: bool, rows: &[[u8; 16]; 32]) -> [[u64; 4]; 32] {
    let elem = |m: usize, r: usize, c: usize| -> u64 {
        let row = &rows[8 * m + r];
        u16::from_le_bytes([row[2 * c], row[2 * c + 1]]) as u64
    };
    let mut out = [[0u64; 4]; 32];
    for (lane, regs) in out.iter_mut().enumerate() {
        let (r, c) = (lane / 4, 2 * (lane % 4));
        for (m, reg) in regs.iter_mut().enumerate().take(num) {
            *reg = if trans {
                elem(m, c, r) | elem(m, c + 1, r) << 16
            } else {
                elem(m, r, c) | elem(m, r, c + 1) << 16
            };
        }
    }
    out
}

/// wmma fragments are opaque to the program, so the CPU backend picks its own layout: element
/// e of the 16x16 tile (row-major) belongs to lane e / 8, slot e % 8. Eight-register fragments
/// hold one element per register; four-register (f16x2) ones hold two.
pub fn wmma_owner(e: usize) -> (usize, usize) {
    (e / 8, e % 8)
}

/// Reads slot `s` of a lane's fragment registers.
pub fn wmma_get(regs: &[u64; 8], nregs: usize, s: usize) -> u64 {
    if nregs == 8 {
        regs[s]
    } else {
        (regs[s / 2] >> (16 * (s % 2))) & 0xffff
    }
}

pub fn wmma_put(regs: &mut [u64; 8], nregs: usize, s: usize, v: u64) {
    if nregs == 8 {
        regs[s] = v;
    } else {
        let shift = 16 * (s % 2);
        regs[s / 2] = (regs[s / 2] & !(0xffff << shift)) | ((v & 0xffff) << shift);
    }
}
