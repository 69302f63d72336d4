//! Per-lane arithmetic: pure functions of an instruction and its source values.

use super::num::*;
use crate::ptx::ir::*;

/// A subnormal of the lane type `ty` as a zero of its sign (`.ftz`).
#[inline(always)]
fn flush(x: f64, ty: Ty) -> f64 {
    let tiny = match ty {
        Ty::F16 => 6.103515625e-5,
        _ => f32::MIN_POSITIVE as f64,
    };
    if x != 0.0 && x.abs() < tiny {
        0.0f64.copysign(x)
    } else {
        x
    }
}

/// Applies a float operation to each float lane of `ty` (both halves of packed pairs). `op`
/// gives the exact result as `hi + lo` (see num::round_exact); the lane is then saturated or
/// clamped (`.relu`), rounded as `ins.round` says and flushed (`.ftz`).
#[inline(always)]
fn float_op(ins: &Instr, a: u64, b: u64, c: u64, op: impl Fn(f64, f64, f64) -> (f64, f64)) -> u64 {
    let relu = matches!(ins.extra, Extra::Relu);
    let lane = |va: u64, vb: u64, vc: u64, lt: Ty| -> u64 {
        let get = |v: u64| {
            let x = to_f64(v, lt);
            if ins.ftz {
                flush(x, lt)
            } else {
                x
            }
        };
        let (mut hi, mut lo) = op(get(va), get(vb), get(vc));
        if lt == Ty::F64 && hi.is_nan() {
            // f64 passes a NaN operand on, quieted; of two, the H200 keeps b's (a's for div).
            let order = if ins.op == Op::Div {
                [va, vb, vc]
            } else {
                [vb, va, vc]
            };
            if let Some(v) = first_nan64(order) {
                return v;
            }
        }
        if ins.sat && !hi.is_nan() {
            if hi < 0.0 || hi == 0.0 && lo <= 0.0 {
                (hi, lo) = (0.0, 0.0);
            } else if hi > 1.0 || hi == 1.0 && lo >= 0.0 {
                (hi, lo) = (1.0, 0.0);
            }
        } else if ins.sat {
            (hi, lo) = (0.0, 0.0);
        }
        if relu && (hi < 0.0 || hi == 0.0 && lo <= 0.0) {
            (hi, lo) = (0.0, 0.0);
        }
        let v = round_exact(hi, lo, lt, ins.round);
        if ins.ftz && flush(to_f64(v, lt), lt) == 0.0 {
            v & sign_bit(lt)
        } else {
            v
        }
    };
    match ins.ty {
        Ty::F64 | Ty::F32 | Ty::F16 | Ty::Bf16 => lane(a, b, c, ins.ty),
        Ty::F16x2 | Ty::Bf16x2 => {
            let lt = if ins.ty == Ty::F16x2 {
                Ty::F16
            } else {
                Ty::Bf16
            };
            let (lo, hi) = (|v: u64| v & 0xffff, |v: u64| v >> 16 & 0xffff);
            lane(lo(a), lo(b), lo(c), lt) | lane(hi(a), hi(b), hi(c), lt) << 16
        }
        _ => 0,
    }
}

/// `x + y` exactly; an exact zero from terms not both +0 is -0 when rounding down (IEEE 754).
fn sum_exact(x: f64, y: f64, r: Round) -> (f64, f64) {
    let (hi, lo) = two_sum(x, y);
    if hi.is_infinite() && x.is_finite() && y.is_finite() {
        return past_max(hi, lo);
    }
    if hi == 0.0
        && lo == 0.0
        && r == Round::Rm
        && !(x == 0.0 && y == 0.0 && x.is_sign_positive() && y.is_sign_positive())
    {
        return (-0.0, 0.0);
    }
    (hi, lo)
}

/// `x * y + z` exactly, with sum_exact's zero sign.
fn fma3(x: f64, y: f64, z: f64, r: Round) -> (f64, f64) {
    let (hi, lo) = fma_exact(x, y, z);
    let product_pos_zero = (x == 0.0 || y == 0.0) && x.is_sign_negative() == y.is_sign_negative();
    if hi == 0.0
        && lo == 0.0
        && r == Round::Rm
        && !(product_pos_zero && z == 0.0 && z.is_sign_positive())
    {
        return (-0.0, 0.0);
    }
    (hi, lo)
}

/// `x / y` as hi + lo: the remainder x - q*y is exact, and (x/y - q) = rem / y.
fn div_exact(x: f64, y: f64) -> (f64, f64) {
    let q = x / y;
    if q.is_infinite() && x.is_finite() && y != 0.0 {
        return past_max(q, 0.0);
    }
    if !q.is_finite() || q == 0.0 && x == 0.0 {
        return (q, 0.0);
    }
    let rem = (-q).mul_add(y, x);
    if rem == 0.0 {
        return (q, 0.0);
    }
    (q, tiny_keep_sign(rem / y, rem.signum() * y.signum()))
}

/// `sqrt(x)` as hi + lo: x - s*s is exact, and sqrt(x) - s ~ rem / 2s.
fn sqrt_exact(x: f64) -> (f64, f64) {
    if x > 0.0 && x < 1e-290 {
        // Scaled by 2^108 first, so that the remainder below does not underflow.
        let (s, lo) = sqrt_exact(x * 2f64.powi(108));
        return (s * 2f64.powi(-54), lo * 2f64.powi(-54));
    }
    let s = x.sqrt();
    if !s.is_finite() || s == 0.0 {
        return (s, 0.0);
    }
    let rem = (-s).mul_add(s, x);
    if rem == 0.0 {
        return (s, 0.0);
    }
    (s, tiny_keep_sign(rem / (2.0 * s), rem.signum()))
}

/// `v`, or the smallest value of `sign`'s sign where `v` underflowed to zero but is not.
fn tiny_keep_sign(v: f64, sign: f64) -> f64 {
    if v == 0.0 && sign != 0.0 && !sign.is_nan() {
        5e-324 * sign
    } else {
        v
    }
}

fn int_sat_add(ty: Ty, x: i64) -> u64 {
    if ty == Ty::S32 {
        (x.clamp(i32::MIN as i64, i32::MAX as i64) as i32 as u32) as u64
    } else {
        x as u64
    }
}

/// Two- and three-operand arithmetic and logic. `None` when the type makes no sense for `op`.
#[inline(always)]
pub fn compute(ins: &Instr, a: u64, b: u64, c: u64) -> Option<u64> {
    let ty = ins.ty;
    let float = ty.is_float();
    let r = ins.round;
    // f32 add/sub/mul in round-to-nearest are done in f32 itself: exact IEEE semantics, fast.
    if ty == Ty::F32 && matches!(r, Round::None | Round::Rn) && !ins.sat && !ins.ftz {
        let (x, y) = (f(a), f(b));
        match ins.op {
            Op::Add => return Some(nan32(x + y)),
            Op::Sub => return Some(nan32(x - y)),
            Op::MulLo => return Some(nan32(x * y)),
            Op::Fma | Op::MadLo => return Some(nan32(x.mul_add(y, f(c)))),
            _ => {}
        }
    }
    let v = match ins.op {
        Op::Add if float => float_op(ins, a, b, c, |x, y, _| sum_exact(x, y, r)),
        Op::Sub if float => float_op(ins, a, b, c, |x, y, _| sum_exact(x, -y, r)),
        Op::MulLo if float => float_op(ins, a, b, c, |x, y, _| {
            let (p, e) = two_prod(x, y);
            if x.is_finite() && y.is_finite() {
                past_max(p, e)
            } else {
                (p, e)
            }
        }),
        Op::Fma | Op::MadLo if float => float_op(ins, a, b, c, |x, y, z| fma3(x, y, z, r)),
        Op::Div if float => {
            let approx = matches!(ins.extra, Extra::ApproxDiv);
            float_op(ins, a, b, c, |x, y, _| {
                if approx && y.is_finite() && y.abs() > 2f64.powi(126) {
                    // __fdividef's documented range: 1/b is 0 there, so a * 0 (NaN for a inf).
                    (x * 0.0f64.copysign(y), 0.0)
                } else {
                    div_exact(x, y)
                }
            })
        }
        Op::Min | Op::Max if float => {
            let keep_nan = matches!(ins.extra, Extra::PropagateNan);
            let max = ins.op == Op::Max;
            float_op(ins, a, b, c, |x, y, _| {
                if keep_nan && (x.is_nan() || y.is_nan()) {
                    (f64::NAN, 0.0)
                } else if max {
                    (fmax(x, y), 0.0)
                } else {
                    (fmin(x, y), 0.0)
                }
            })
        }
        Op::Abs if float => float_sign_op(ty, a, |s| s & !sign_bit(ty)),
        Op::Neg if float => float_sign_op(ty, a, |s| s ^ sign_bit(ty)),
        Op::Copysign => {
            // copysign d, a, b: b's magnitude with a's sign.
            let sb = sign_bit(ty);
            (b & !sb) | (a & sb)
        }
        Op::Add => {
            if ins.sat {
                int_sat_add(ty, sx(a, ty).saturating_add(sx(b, ty)))
            } else {
                a.wrapping_add(b)
            }
        }
        Op::Sub => {
            if ins.sat {
                int_sat_add(ty, sx(a, ty).saturating_sub(sx(b, ty)))
            } else {
                a.wrapping_sub(b)
            }
        }
        Op::MulLo => a.wrapping_mul(b),
        Op::MadLo => a.wrapping_mul(b).wrapping_add(c),
        Op::MulHi | Op::MadHi => {
            let hi = mul_hi(ty, a, b);
            if ins.op == Op::MadHi {
                hi.wrapping_add(c)
            } else {
                hi
            }
        }
        Op::MulWide | Op::MadWide => {
            let p = if ty.signed() {
                (sx(a, ty) as i128 * sx(b, ty) as i128) as u64
            } else {
                (zx(a, ty) as u128 * zx(b, ty) as u128) as u64
            };
            let wide = match ty.bytes() {
                2 => Ty::B32,
                _ => Ty::B64,
            };
            let v = if ins.op == Op::MadWide {
                p.wrapping_add(c)
            } else {
                p
            };
            return Some(zx(v, wide));
        }
        Op::Mul24Lo => mul24(ty, a, b),
        Op::Mad24Lo => mul24(ty, a, b).wrapping_add(c),
        Op::Div => {
            if zx(b, ty) == 0 {
                u64::MAX
            } else if ty.signed() {
                sx(a, ty).wrapping_div(sx(b, ty)) as u64
            } else {
                zx(a, ty) / zx(b, ty)
            }
        }
        Op::Rem => {
            if zx(b, ty) == 0 {
                // All ones, as the H200 writes (like div by zero).
                u64::MAX
            } else if ty.signed() {
                sx(a, ty).wrapping_rem(sx(b, ty)) as u64
            } else {
                zx(a, ty) % zx(b, ty)
            }
        }
        Op::Min => {
            if ty.signed() {
                sx(a, ty).min(sx(b, ty)) as u64
            } else {
                zx(a, ty).min(zx(b, ty))
            }
        }
        Op::Max => {
            if ty.signed() {
                sx(a, ty).max(sx(b, ty)) as u64
            } else {
                zx(a, ty).max(zx(b, ty))
            }
        }
        Op::Abs => sx(a, ty).wrapping_abs() as u64,
        Op::Neg => sx(a, ty).wrapping_neg() as u64,
        Op::And => a & b,
        Op::Or => a | b,
        Op::Xor => a ^ b,
        Op::Not => {
            if ty == Ty::Pred {
                (a & 1) ^ 1
            } else {
                !a
            }
        }
        Op::Cnot => (zx(a, ty) == 0) as u64,
        Op::Shl => {
            let n = zx(b, Ty::U32);
            if n >= ty.bytes() as u64 * 8 {
                0
            } else {
                a << n
            }
        }
        Op::Shr => {
            let bits = ty.bytes() as u64 * 8;
            let n = zx(b, Ty::U32).min(bits - 1 + (!ty.signed()) as u64);
            if ty.signed() {
                (sx(a, ty) >> n.min(63)) as u64
            } else if n >= bits {
                0
            } else {
                zx(a, ty) >> n
            }
        }
        Op::Popc => zx(a, ty).count_ones() as u64,
        Op::Clz => {
            let bits = ty.bytes() as u32 * 8;
            (zx(a, ty).leading_zeros() - (64 - bits)) as u64
        }
        Op::Bfind { shift } => {
            let bits = ty.bytes() as u32 * 8;
            // For negative signed values the search is for the highest 0 bit.
            let x = if ty.signed() && sx(a, ty) < 0 {
                !a & zx(u64::MAX, ty)
            } else {
                zx(a, ty)
            };
            if x == 0 {
                return Some(0xffff_ffff);
            }
            let pos = 63 - x.leading_zeros();
            (if shift { bits - 1 - pos } else { pos }) as u64 & 0xffff_ffff
        }
        Op::Brev => {
            let bits = ty.bytes() as u32 * 8;
            zx(a, ty).reverse_bits() >> (64 - bits)
        }
        Op::Bfe => {
            // PTX ISA: bit i is a[pos + i] for i < len and pos + i <= msb, else the sign bit
            // a[min(pos + len - 1, msb)] (0 for unsigned types).
            let msb = ty.bytes() as u64 * 8 - 1;
            let (pos, len) = (bitfield_operand(b, ty), bitfield_operand(c, ty));
            let x = zx(a, ty);
            if len == 0 {
                0
            } else {
                let sbit = if ty.signed() {
                    x >> (pos + len - 1).min(msb) & 1
                } else {
                    0
                };
                let take = if pos > msb { 0 } else { len.min(msb + 1 - pos) };
                let field = if take == 0 {
                    0
                } else {
                    (x >> pos) & (u64::MAX >> (64 - take))
                };
                if sbit == 1 && take < 64 {
                    field | u64::MAX << take
                } else {
                    field
                }
            }
        }
        Op::Prmt => {
            let bytes = (zx(b, Ty::U32) << 32 | zx(a, Ty::U32)).to_le_bytes();
            let mut out = 0u64;
            for k in 0..4 {
                let sel = (c >> (4 * k)) & 0xf;
                let mut byte = bytes[(sel & 7) as usize] as u64;
                if sel & 8 != 0 {
                    byte = if byte & 0x80 != 0 { 0xff } else { 0 };
                }
                out |= byte << (8 * k);
            }
            out
        }
        Op::Sad => {
            let diff = if ty.signed() {
                sx(a, ty).abs_diff(sx(b, ty))
            } else {
                zx(a, ty).abs_diff(zx(b, ty))
            };
            diff.wrapping_add(c)
        }
        Op::Dp4a => {
            // Each operand's signedness is its own type's (ty for a, ty2 for b).
            let byte = |v: u64, i: u32, t: Ty| {
                let x = (v >> (8 * i)) & 0xff;
                if t.signed() {
                    x as u8 as i8 as i64
                } else {
                    x as i64
                }
            };
            let dot: i64 = (0..4).map(|i| byte(a, i, ty) * byte(b, i, ins.ty2)).sum();
            (c as u32 as i64).wrapping_add(dot) as u32 as u64
        }
        Op::Ex2 | Op::Lg2 | Op::Rcp | Op::Rsqrt | Op::Sqrt | Op::Sin | Op::Cos | Op::Tanh => {
            let g = |x: f64| match ins.op {
                Op::Ex2 => x.exp2(),
                Op::Lg2 => x.log2(),
                Op::Rsqrt => 1.0 / x.sqrt(),
                Op::Sin => (turns_rz(x) * std::f64::consts::TAU).sin(),
                Op::Cos => (turns_rz(x) * std::f64::consts::TAU).cos(),
                _ => x.tanh(),
            };
            match ins.op {
                Op::Sqrt => float_op(ins, a, a, a, |x, _, _| sqrt_exact(x)),
                Op::Rcp => float_op(ins, a, a, a, |x, _, _| div_exact(1.0, x)),
                _ => float_op(ins, a, a, a, |x, _, _| (g(x), 0.0)),
            }
        }
        _ => return None,
    };
    Some(zx(v, ty))
}

fn fmin(x: f64, y: f64) -> f64 {
    if x.is_nan() {
        y
    } else if y.is_nan() {
        x
    } else if x == y {
        // -0 < +0 for min.
        if x.is_sign_negative() {
            x
        } else {
            y
        }
    } else {
        x.min(y)
    }
}

fn fmax(x: f64, y: f64) -> f64 {
    if x.is_nan() {
        y
    } else if y.is_nan() {
        x
    } else if x == y {
        if x.is_sign_positive() {
            x
        } else {
            y
        }
    } else {
        x.max(y)
    }
}

fn sign_bit(ty: Ty) -> u64 {
    match ty {
        Ty::F16 | Ty::Bf16 => 0x8000,
        Ty::F64 => 1 << 63,
        Ty::F32 => 1 << 31,
        Ty::F16x2 | Ty::Bf16x2 => 0x8000_8000,
        _ => 0x8000,
    }
}

/// abs/neg: a bit operation on the sign; NaN lanes give the canonical NaN (f32, f16, bf16) or
/// pass on quieted (f64), as the H200 does.
fn float_sign_op(ty: Ty, a: u64, op: impl Fn(u64) -> u64) -> u64 {
    match ty {
        Ty::F64 if d(a).is_nan() => quiet64(a),
        Ty::F32 if f(a).is_nan() => 0x7fff_ffff,
        Ty::F16x2 | Ty::Bf16x2 => {
            let lt = if ty == Ty::F16x2 { Ty::F16 } else { Ty::Bf16 };
            let lane = |v: u64| {
                if to_f64(v, lt).is_nan() {
                    0x7fff
                } else {
                    op(v) & 0xffff
                }
            };
            lane(a & 0xffff) | lane(a >> 16 & 0xffff) << 16
        }
        Ty::F16 | Ty::Bf16 if to_f64(a, ty).is_nan() => 0x7fff,
        _ => op(a),
    }
}

/// mul24.lo: the low 32 bits of the product of the operands' low 24 bits (sign-extended for s32).
fn mul24(ty: Ty, a: u64, b: u64) -> u64 {
    let low24 = |v: u64| {
        if ty.signed() {
            ((v as u32) << 8) as i32 as i64 >> 8
        } else {
            (v & 0xff_ffff) as i64
        }
    };
    low24(a).wrapping_mul(low24(b)) as u64
}

fn mul_hi(ty: Ty, a: u64, b: u64) -> u64 {
    let bits = ty.bytes() as u32 * 8;
    if ty.signed() {
        ((sx(a, ty) as i128 * sx(b, ty) as i128) >> bits) as u64
    } else {
        ((zx(a, ty) as u128 * zx(b, ty) as u128) >> bits) as u64
    }
}

/// `setp`'s comparison.
#[inline(always)]
pub fn compare(ty: Ty, cmp: Cmp, a: u64, b: u64) -> bool {
    if ty.is_float() {
        let (x, y) = (to_f64(a, ty), to_f64(b, ty));
        let unordered = x.is_nan() || y.is_nan();
        return match cmp {
            Cmp::Eq => !unordered && x == y,
            Cmp::Ne => !unordered && x != y,
            Cmp::Lt => !unordered && x < y,
            Cmp::Le => !unordered && x <= y,
            Cmp::Gt => !unordered && x > y,
            Cmp::Ge => !unordered && x >= y,
            Cmp::Equ => unordered || x == y,
            Cmp::Neu => unordered || x != y,
            Cmp::Ltu => unordered || x < y,
            Cmp::Leu => unordered || x <= y,
            Cmp::Gtu => unordered || x > y,
            Cmp::Geu => unordered || x >= y,
            Cmp::Num => !unordered,
            Cmp::Nan => unordered,
            Cmp::Lo | Cmp::Ls | Cmp::Hi | Cmp::Hs => false,
        };
    }
    let signed = ty.signed() && !matches!(cmp, Cmp::Lo | Cmp::Ls | Cmp::Hi | Cmp::Hs);
    let o = if signed {
        sx(a, ty).cmp(&sx(b, ty))
    } else {
        zx(a, ty).cmp(&zx(b, ty))
    };
    use std::cmp::Ordering::*;
    match cmp {
        Cmp::Eq | Cmp::Equ => o == Equal,
        Cmp::Ne | Cmp::Neu => o != Equal,
        Cmp::Lt | Cmp::Lo | Cmp::Ltu => o == Less,
        Cmp::Le | Cmp::Ls | Cmp::Leu => o != Greater,
        Cmp::Gt | Cmp::Hi | Cmp::Gtu => o == Greater,
        Cmp::Ge | Cmp::Hs | Cmp::Geu => o != Less,
        Cmp::Num => true,
        Cmp::Nan => false,
    }
}

pub fn testp(ty: Ty, k: TestpKind, a: u64) -> bool {
    let x = to_f64(a, ty);
    let sub = if ty == Ty::F32 {
        f(a).is_subnormal()
    } else {
        x.is_subnormal()
    };
    match k {
        TestpKind::Finite => x.is_finite(),
        TestpKind::Infinite => x.is_infinite(),
        TestpKind::Number => !x.is_nan(),
        TestpKind::NotANumber => x.is_nan(),
        // The H200 counts zeros as normal.
        TestpKind::Normal => x.is_finite() && !sub,
        TestpKind::Subnormal => sub,
    }
}

/// `lop3.b32 d, a, b, c, lut`: any three-input logic function given by its truth table.
pub fn lop3(a: u64, b: u64, c: u64, lut: u64) -> u64 {
    let mut out = 0u64;
    for k in 0..8 {
        if lut >> k & 1 == 1 {
            let ta = if k & 4 != 0 { a } else { !a };
            let tb = if k & 2 != 0 { b } else { !b };
            let tc = if k & 1 != 0 { c } else { !c };
            out |= ta & tb & tc;
        }
    }
    out & 0xffff_ffff
}

/// `shf.{l,r}.{wrap,clamp}.b32 d, a, b, n`: a funnel shift of the 64-bit value b:a.
pub fn shf(left: bool, clamp: bool, a: u64, b: u64, n: u64) -> u64 {
    let n = if clamp {
        (n & 0xffff_ffff).min(32)
    } else {
        n & 31
    };
    let wide = (zx(b, Ty::U32) << 32) | zx(a, Ty::U32);
    if left {
        ((wide << n) >> 32) & 0xffff_ffff
    } else {
        (wide >> n) & 0xffff_ffff
    }
}

/// A bfe/bfi position or length as a GPU reads it. The PTX ISA restricts both to 0..255, and
/// the 32-bit forms on the H200 use bits 0..7 of the operand; the 64-bit forms (emulated by
/// ptxas) use the whole 32-bit value, so a position of 256 or more extracts past bit 63
/// (tests/fixtures/gpu_parity.txt, int64/int64_ops, rows bfe.u64, bfe.s64, bfi.b64).
pub fn bitfield_operand(v: u64, ty: Ty) -> u64 {
    if ty.bytes() == 8 {
        v & 0xffff_ffff
    } else {
        v & 0xff
    }
}

/// The argument of sin.approx/cos.approx in turns, as the H200 reduces it: ptxas emits one
/// f32 multiply by 1/2π rounded toward zero (FMUL.RZ) ahead of the SFU, which then takes the
/// sine of whole turns. That rounding is the error that grows with |x| (7e-6 at x = 100,
/// 3e-5 at -314 in tests/fixtures/gpu_parity.txt); computing sin(x) exactly would hide it.
fn turns_rz(x: f64) -> f64 {
    const INV_TAU: f32 = 0.159_154_94;
    // Exact in f64: two 24-bit significands make at most 48 bits.
    let p = x * INV_TAU as f64;
    let r = p as f32;
    // Round toward zero: one step back when rounding to nearest went up in magnitude (the
    // bit pattern's magnitude and the value's grow together for either sign).
    if (r as f64).abs() > p.abs() {
        f32::from_bits(r.to_bits() - 1) as f64
    } else {
        r as f64
    }
}
