//! Per-lane arithmetic: pure functions of an instruction and its source values.

use super::num::*;
use crate::ptx::ir::*;

/// Applies a float operation to each float lane of `ty` (both halves of packed pairs).
#[inline(always)]
fn float_op(
    ty: Ty,
    round: Round,
    sat: bool,
    a: u64,
    b: u64,
    c: u64,
    op: impl Fn(f64, f64, f64) -> f64,
) -> u64 {
    match ty {
        Ty::F64 => db(sat01(op(d(a), d(b), d(c)), sat)),
        Ty::F32 => fb(round_f32(
            sat01(op(f(a) as f64, f(b) as f64, f(c) as f64), sat),
            round,
        )),
        Ty::F16 | Ty::Bf16 => {
            let bf = ty == Ty::Bf16;
            half_put(
                sat01(
                    op(
                        half_get(a, bf, false),
                        half_get(b, bf, false),
                        half_get(c, bf, false),
                    ),
                    sat,
                ),
                bf,
            )
        }
        Ty::F16x2 | Ty::Bf16x2 => {
            let bf = ty == Ty::Bf16x2;
            let lo = half_put(
                sat01(
                    op(
                        half_get(a, bf, false),
                        half_get(b, bf, false),
                        half_get(c, bf, false),
                    ),
                    sat,
                ),
                bf,
            );
            let hi = half_put(
                sat01(
                    op(
                        half_get(a, bf, true),
                        half_get(b, bf, true),
                        half_get(c, bf, true),
                    ),
                    sat,
                ),
                bf,
            );
            lo | hi << 16
        }
        _ => 0,
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
    if ty == Ty::F32 && matches!(r, Round::None | Round::Rn) && !ins.sat {
        let (x, y) = (f(a), f(b));
        match ins.op {
            Op::Add => return Some(fb(x + y)),
            Op::Sub => return Some(fb(x - y)),
            Op::MulLo => return Some(fb(x * y)),
            Op::Fma | Op::MadLo => return Some(fb(x.mul_add(y, f(c)))),
            _ => {}
        }
    }
    let v = match ins.op {
        Op::Add if float => float_op(ty, r, ins.sat, a, b, c, |x, y, _| x + y),
        Op::Sub if float => float_op(ty, r, ins.sat, a, b, c, |x, y, _| x - y),
        Op::MulLo if float => float_op(ty, r, ins.sat, a, b, c, |x, y, _| x * y),
        Op::Fma | Op::MadLo if float => {
            if ty == Ty::F64 {
                db(d(a).mul_add(d(b), d(c)))
            } else {
                float_op(ty, r, ins.sat, a, b, c, |x, y, z| x.mul_add(y, z))
            }
        }
        Op::Div if float => float_op(ty, r, false, a, b, c, |x, y, _| x / y),
        Op::Min if float => float_op(ty, r, false, a, b, c, fmin),
        Op::Max if float => float_op(ty, r, false, a, b, c, fmax),
        Op::Abs if float => float_bits(ty, a, |s| s & !sign_bit(ty)),
        Op::Neg if float => float_bits(ty, a, |s| s ^ sign_bit(ty)),
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
        Op::Mul24Lo => {
            (sx(a, Ty::S32) as i32 as i64 & 0xff_ffff).wrapping_mul(sx(b, ty) & 0xff_ffff) as u64
        }
        Op::Mad24Lo => {
            ((sx(a, ty) & 0xff_ffff).wrapping_mul(sx(b, ty) & 0xff_ffff) as u64).wrapping_add(c)
        }
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
                a
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
            let bits = ty.bytes() as u64 * 8;
            let pos = b & 0xff;
            let len = c & 0xff;
            let x = zx(a, ty);
            let field = if len == 0 || pos >= bits {
                0
            } else {
                (x >> pos)
                    & if len >= 64 {
                        u64::MAX
                    } else {
                        (1u64 << len) - 1
                    }
            };
            if ty.signed() && len > 0 {
                let top = (pos + len).min(bits) - 1;
                let neg = if pos >= bits {
                    (x >> (bits - 1)) & 1
                } else {
                    (x >> top) & 1
                };
                let l = len.min(bits);
                if neg == 1 && l < 64 {
                    field | (u64::MAX << l)
                } else {
                    field
                }
            } else {
                field
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
                Op::Rcp => 1.0 / x,
                Op::Rsqrt => 1.0 / x.sqrt(),
                Op::Sqrt => x.sqrt(),
                Op::Sin => x.sin(),
                Op::Cos => x.cos(),
                _ => x.tanh(),
            };
            if ty == Ty::F32 && ins.op == Op::Sqrt && matches!(r, Round::Rn | Round::None) {
                fb(f(a).sqrt())
            } else {
                float_op(ty, r, false, a, a, a, |x, _, _| g(x))
            }
        }
        _ => return None,
    };
    Some(zx(v, ty))
}

fn fmin(x: f64, y: f64, _: f64) -> f64 {
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

fn fmax(x: f64, y: f64, _: f64) -> f64 {
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
        Ty::F64 => 1 << 63,
        Ty::F32 => 1 << 31,
        Ty::F16x2 | Ty::Bf16x2 => 0x8000_8000,
        _ => 0x8000,
    }
}

fn float_bits(_ty: Ty, a: u64, op: impl Fn(u64) -> u64) -> u64 {
    op(a)
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
        TestpKind::Normal => x.is_finite() && x != 0.0 && !sub,
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
