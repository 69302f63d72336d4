//! Bit-level helpers: register values are raw bits in a u64, interpreted by the instruction's type.

use crate::ptx::ir::{Round, Ty};
use half::{bf16, f16};

#[inline(always)]
pub fn f(v: u64) -> f32 {
    f32::from_bits(v as u32)
}
#[inline(always)]
pub fn fb(x: f32) -> u64 {
    x.to_bits() as u64
}
#[inline(always)]
pub fn d(v: u64) -> f64 {
    f64::from_bits(v)
}
#[inline(always)]
pub fn db(x: f64) -> u64 {
    x.to_bits()
}

/// Zero-extends the low `ty.bytes()` bytes.
#[inline(always)]
pub fn zx(v: u64, ty: Ty) -> u64 {
    match ty.bytes() {
        1 => v & 0xff,
        2 => v & 0xffff,
        4 => v & 0xffff_ffff,
        _ => v,
    }
}

/// Sign-extends the low `ty.bytes()` bytes.
#[inline(always)]
pub fn sx(v: u64, ty: Ty) -> i64 {
    match ty.bytes() {
        1 => v as u8 as i8 as i64,
        2 => v as u16 as i16 as i64,
        4 => v as u32 as i32 as i64,
        _ => v as i64,
    }
}

/// Reads a half-precision lane (`hi` selects the upper half of a packed pair) as f64.
#[inline(always)]
pub fn half_get(v: u64, bf: bool, hi: bool) -> f64 {
    let bits = if hi { (v >> 16) as u16 } else { v as u16 };
    if bf {
        bf16::from_bits(bits).to_f64()
    } else {
        f16::from_bits(bits).to_f64()
    }
}

#[inline(always)]
pub fn half_put(x: f64, bf: bool) -> u64 {
    if bf {
        bf16::from_f64(x).to_bits() as u64
    } else {
        f16::from_f64(x).to_bits() as u64
    }
}

/// Rounds an f64 to f32 in the given direction (round-to-nearest unless told otherwise).
pub fn round_f32(x: f64, r: Round) -> f32 {
    let n = x as f32;
    if n.is_nan() || n.is_infinite() && x.is_infinite() {
        return n;
    }
    let nd = n as f64;
    match r {
        Round::Rz | Round::Rzi if nd.abs() > x.abs() => {
            if n > 0.0 {
                n.next_down()
            } else {
                n.next_up()
            }
        }
        Round::Rm | Round::Rmi if nd > x => n.next_down(),
        Round::Rp | Round::Rpi if nd < x => n.next_up(),
        _ => n,
    }
}

/// Rounds to an integral value as cvt's `.rni/.rzi/.rmi/.rpi` say.
pub fn round_int(x: f64, r: Round) -> f64 {
    match r {
        Round::Rni | Round::Rn => x.round_ties_even(),
        Round::Rzi | Round::Rz | Round::None => x.trunc(),
        Round::Rmi | Round::Rm => x.floor(),
        Round::Rpi | Round::Rp => x.ceil(),
    }
}

/// A float operand of any float type, as f64 (exact for every narrower type).
#[inline(always)]
pub fn to_f64(v: u64, ty: Ty) -> f64 {
    match ty {
        Ty::F32 => f(v) as f64,
        Ty::F64 => d(v),
        Ty::F16 | Ty::F16x2 => half_get(v, false, false),
        Ty::Bf16 | Ty::Bf16x2 => half_get(v, true, false),
        _ => f64::NAN,
    }
}

/// An f64 result stored as `ty`, rounded as `r` says.
#[inline(always)]
pub fn from_f64(x: f64, ty: Ty, r: Round) -> u64 {
    match ty {
        Ty::F32 => fb(round_f32(x, r)),
        Ty::F64 => db(x),
        Ty::F16 => half_put(x, false),
        Ty::Bf16 => half_put(x, true),
        _ => 0,
    }
}

fn sat_float(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(0.0, 1.0)
    }
}

/// `cvt.<round><sat>.dst.src`.
pub fn cvt(v: u64, dst: Ty, src: Ty, r: Round, sat: bool) -> u64 {
    match (dst.is_float(), src.is_float()) {
        (false, false) => {
            let wide: i128 = if src.signed() {
                sx(v, src) as i128
            } else {
                zx(v, src) as i128
            };
            let wide = if sat { clamp_int(wide, dst) } else { wide };
            zx(wide as u64, dst)
        }
        (true, false) => {
            let x = if src.signed() {
                sx(v, src) as f64
            } else {
                zx(v, src) as f64
            };
            // i64/u64 to f32 must round once from the integer, not through f64.
            if dst == Ty::F32 && src.bytes() == 8 {
                let y = if src.signed() {
                    sx(v, src) as f32
                } else {
                    v as f32
                };
                return fb(y);
            }
            from_f64(x, dst, r)
        }
        (false, true) => {
            let x = to_f64(v, src);
            if x.is_nan() {
                return 0;
            }
            let i = clamp_int(round_int(x, r) as i128, dst);
            zx(i as u64, dst)
        }
        (true, true) => {
            let x = to_f64(v, src);
            let x = if matches!(r, Round::Rni | Round::Rzi | Round::Rmi | Round::Rpi) {
                round_int(x, r)
            } else {
                x
            };
            let x = if sat { sat_float(x) } else { x };
            from_f64(x, dst, r)
        }
    }
}

fn clamp_int(x: i128, ty: Ty) -> i128 {
    let bits = ty.bytes() as u32 * 8;
    let (lo, hi) = if ty.signed() {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    x.clamp(lo, hi)
}

pub fn sat01(x: f64, sat: bool) -> f64 {
    if sat {
        sat_float(x)
    } else {
        x
    }
}
