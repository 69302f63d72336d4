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
    if x.is_nan() {
        // The GPU's canonical f16/bf16 NaN.
        0x7fff
    } else if bf {
        bf16::from_f64(x).to_bits() as u64
    } else {
        f16::from_f64(x).to_bits() as u64
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

/// An f64 result stored as `ty`, rounded as `r` says (f64 NaNs are quieted, payload kept).
#[inline(always)]
pub fn from_f64(x: f64, ty: Ty, r: Round) -> u64 {
    match ty {
        Ty::F64 if x.is_nan() => quiet64(db(x)),
        Ty::F32 | Ty::F64 | Ty::F16 | Ty::Bf16 => round_exact(x, 0.0, ty, r),
        _ => 0,
    }
}

/// `.sat`: [0, 1], NaN and -0 to +0.
fn sat_float(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        0.0
    } else {
        x.min(1.0)
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
            if dst == Ty::S8 {
                // An s8 result is sign-extended to its (16- or 32-bit) register.
                zx(sx(wide as u64, dst) as u64, Ty::U32)
            } else {
                zx(wide as u64, dst)
            }
        }
        (true, false) => {
            // The exact integer as hi + lo, so that one rounding (in any mode) gives the result.
            let w: i128 = if src.signed() {
                sx(v, src) as i128
            } else {
                zx(v, src) as i128
            };
            let hi = w as f64;
            let lo = (w - hi as i128) as f64;
            round_exact(hi, lo, dst, r)
        }
        (false, true) => {
            let x = to_f64(v, src);
            if x.is_nan() {
                // What the H200 wrote: the integer indefinite for f64 sources and 64-bit
                // results, 0 for f32/f16 sources to narrower integers.
                let bits = dst.bytes() as u32 * 8;
                return if src == Ty::F64 || bits == 64 {
                    1 << (bits - 1)
                } else {
                    0
                };
            }
            let i = clamp_int(round_int(x, r) as i128, dst);
            zx(i as u64, dst)
        }
        (true, true) => {
            let x = to_f64(v, src);
            if src == Ty::Bf16 && dst == Ty::F32 && x.is_nan() {
                // bf16 is f32's top half: the H200 widens a NaN bit for bit.
                return (v & 0xffff) << 16;
            }
            if src == Ty::F64 && x.is_nan() && dst != Ty::F64 {
                // From f64 a NaN keeps its sign and top payload bits, quieted (as on x86).
                return match dst {
                    Ty::F32 => fb(x as f32),
                    Ty::Bf16 => bf16::from_f64(x).to_bits() as u64,
                    _ => f16::from_f64(x).to_bits() as u64,
                };
            }
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

/// The NaN the GPU writes when an f32, f16 or bf16 result is NaN, whatever the inputs' payloads.
/// f64 keeps payloads (quieted), so it has none.
pub fn canonical_nan(ty: Ty) -> Option<u64> {
    match ty {
        Ty::F32 => Some(0x7fff_ffff),
        Ty::F16 | Ty::Bf16 | Ty::F16x2 | Ty::Bf16x2 => Some(0x7fff),
        _ => None,
    }
}

/// An f32 result as bits, NaN canonical.
#[inline(always)]
pub fn nan32(x: f32) -> u64 {
    if x.is_nan() {
        0x7fff_ffff
    } else {
        fb(x)
    }
}

/// The NaN an f64 result passes on, as the H200 does: the first NaN operand of `order`,
/// quieted (b, a, c for most instructions; a first for div). None when no operand is NaN.
#[inline(always)]
pub fn first_nan64(order: [u64; 3]) -> Option<u64> {
    order.into_iter().find(|&v| d(v).is_nan()).map(quiet64)
}

/// An f64 result as bits. A NaN is `first_nan64(order)` when an operand is NaN: host
/// arithmetic's choice between NaN operands varies by instruction (x86's vfmadd keeps
/// whichever operand the compiler put first).
#[inline(always)]
pub fn nan64(x: f64, order: [u64; 3]) -> u64 {
    match x.is_nan() {
        true => first_nan64(order).unwrap_or_else(|| db(x)),
        false => db(x),
    }
}

/// An f64 NaN operand as the GPU passes it on: quieted, payload and sign kept.
#[inline(always)]
pub fn quiet64(v: u64) -> u64 {
    v | 1 << 51
}

/// `a + b` as an unevaluated sum `hi + lo`, `hi` the rounded sum (Knuth's TwoSum).
#[inline(always)]
pub fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    let e = (a - (s - bb)) + (b - bb);
    (s, if e.is_finite() { e } else { 0.0 })
}

/// `a * b` as `hi + lo` exactly (barring underflow of `lo`).
#[inline(always)]
pub fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    let e = a.mul_add(b, -p);
    if p == 0.0 && a != 0.0 && b != 0.0 {
        // Underflowed to zero: the rest is below the smallest subnormal, of the product's sign.
        return (p, 5e-324 * a.signum() * b.signum());
    }
    (p, if e.is_finite() { e } else { 0.0 })
}

/// An overflowed `hi` from finite terms as hi + lo: beyond f64's largest finite value, so that
/// round_exact gives MAX or infinity as the mode says.
#[inline(always)]
pub fn past_max(hi: f64, lo: f64) -> (f64, f64) {
    if hi.is_infinite() {
        (f64::MAX.copysign(hi), f64::MAX.copysign(hi))
    } else {
        (hi, lo)
    }
}

/// `a * b + c` as `hi + lo`, `hi` the f64 fma; `lo` carries the sign of the residual, which is
/// all directed rounding needs (exact unless the partial terms cancel deeply).
pub fn fma_exact(a: f64, b: f64, c: f64) -> (f64, f64) {
    let hi = a.mul_add(b, c);
    if !hi.is_finite() {
        return if a.is_finite() && b.is_finite() && c.is_finite() {
            past_max(hi, 0.0)
        } else {
            (hi, 0.0)
        };
    }
    let (p, pe) = two_prod(a, b);
    let (s, se) = two_sum(p, c);
    // exact - hi = (s - hi) + se + pe, and s is within an ulp of hi.
    let (t, te) = two_sum(s - hi, se);
    let (u, ue) = two_sum(t, pe);
    (hi, u + (ue + te))
}

/// The nearest `ty` value to `x` (f32, f64, f16, bf16), as bits.
fn nearest_bits(x: f64, ty: Ty) -> u64 {
    match ty {
        Ty::F32 => fb(x as f32),
        Ty::F64 => db(x),
        Ty::F16 | Ty::F16x2 => half_put(x, false),
        _ => half_put(x, true),
    }
}

/// The next value of `ty` up (`up`) or down from the non-NaN value `v`.
fn step_bits(v: u64, ty: Ty, up: bool) -> u64 {
    match ty {
        Ty::F32 => fb(if up { f(v).next_up() } else { f(v).next_down() }),
        Ty::F64 => db(if up { d(v).next_up() } else { d(v).next_down() }),
        _ => {
            // Sign-magnitude 16-bit formats: one step of the magnitude's bits.
            let (negative, mag) = (v & 0x8000 != 0, v & 0x7fff);
            let inf = if matches!(ty, Ty::Bf16 | Ty::Bf16x2) {
                0x7f80
            } else {
                0x7c00
            };
            if mag == 0 {
                if up {
                    1
                } else {
                    0x8001
                }
            } else if negative != up {
                // Away from zero.
                if mag == inf {
                    v
                } else {
                    v + 1
                }
            } else {
                v - 1
            }
        }
    }
}

/// Rounds the exact value `hi + lo` (`hi` its f64 rounding, `lo` the rest) to `ty` as `r` says.
/// NaN gives `ty`'s canonical NaN (f64: the default NaN).
pub fn round_exact(hi: f64, lo: f64, ty: Ty, r: Round) -> u64 {
    if hi.is_nan() {
        return canonical_nan(ty).unwrap_or(0xfff8_0000_0000_0000);
    }
    let n = if hi.is_finite() && (hi + lo).is_infinite() {
        // Past f64's range (see past_max): the nearest value is infinity.
        nearest_bits(hi + lo, ty)
    } else {
        nearest_bits(hi, ty)
    };
    // Where the nearest value lies from the exact one (NaN for infinite hi: no step).
    let diff = to_f64(n, ty) - hi;
    let above = diff > lo;
    let below = diff < lo;
    let positive = hi > 0.0 || hi == 0.0 && lo > 0.0;
    match r {
        Round::Rz | Round::Rzi if above && positive => step_bits(n, ty, false),
        Round::Rz | Round::Rzi if below && !positive => step_bits(n, ty, true),
        Round::Rm | Round::Rmi if above => step_bits(n, ty, false),
        Round::Rp | Round::Rpi if below => step_bits(n, ty, true),
        Round::Rn | Round::None if lo != 0.0 && diff != 0.0 && diff.is_finite() => {
            // hi exactly halfway between n and its neighbour m is a tie only for hi: the exact
            // value lies on lo's side of it.
            let m = step_bits(n, ty, diff < 0.0);
            if to_f64(m, ty) - hi == -diff && (lo > 0.0) != (diff > 0.0) {
                m
            } else {
                n
            }
        }
        _ => n,
    }
}
