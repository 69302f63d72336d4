//! Whole-warp loops for the instructions NVRTC emits most: the same operation on 32 lanes at
//! once, written so the compiler can vectorize it. Inactive lanes are computed and discarded,
//! so only operations that cannot fault belong here (no integer division).

use super::alu::compare;
use super::num::*;
use crate::ptx::ir::*;

type Lanes = [u64; 32];

#[inline(always)]
fn map1(out: &mut Lanes, a: &Lanes, f: impl Fn(u64) -> u64) {
    for l in 0..32 {
        out[l] = f(a[l]);
    }
}

#[inline(always)]
fn map2(out: &mut Lanes, a: &Lanes, b: &Lanes, f: impl Fn(u64, u64) -> u64) {
    for l in 0..32 {
        out[l] = f(a[l], b[l]);
    }
}

#[inline(always)]
fn map3(out: &mut Lanes, a: &Lanes, b: &Lanes, c: &Lanes, f: impl Fn(u64, u64, u64) -> u64) {
    for l in 0..32 {
        out[l] = f(a[l], b[l], c[l]);
    }
}

fn int_mask(ty: Ty) -> u64 {
    match ty.bytes() {
        1 => 0xff,
        2 => 0xffff,
        4 => 0xffff_ffff,
        _ => u64::MAX,
    }
}

/// Computes `ins` for all lanes into `out`; false when it needs the general per-lane path.
#[inline(always)]
pub fn compute(ins: &Instr, a: &Lanes, b: &Lanes, c: &Lanes, out: &mut Lanes) -> bool {
    let ty = ins.ty;
    let plain_f32 =
        ty == Ty::F32 && matches!(ins.round, Round::None | Round::Rn) && !ins.sat && !ins.ftz;
    let plain_f64 = ty == Ty::F64 && matches!(ins.round, Round::None | Round::Rn);
    let int = !ty.is_float() && ty != Ty::Pred && ty.bytes() <= 8;
    let m = int_mask(ty);
    match ins.op {
        Op::Add if int && !ins.sat => map2(out, a, b, |x, y| x.wrapping_add(y) & m),
        Op::Sub if int && !ins.sat => map2(out, a, b, |x, y| x.wrapping_sub(y) & m),
        Op::MulLo if int => map2(out, a, b, |x, y| x.wrapping_mul(y) & m),
        Op::MadLo if int => map3(out, a, b, c, |x, y, z| {
            x.wrapping_mul(y).wrapping_add(z) & m
        }),
        Op::Add if plain_f32 => map2(out, a, b, |x, y| nan32(f(x) + f(y))),
        Op::Sub if plain_f32 => map2(out, a, b, |x, y| nan32(f(x) - f(y))),
        Op::MulLo if plain_f32 => map2(out, a, b, |x, y| nan32(f(x) * f(y))),
        Op::Fma | Op::MadLo if plain_f32 => {
            map3(out, a, b, c, |x, y, z| nan32(f(x).mul_add(f(y), f(z))))
        }
        Op::Add if plain_f64 => map2(out, a, b, |x, y| nan64(d(x) + d(y), x, y)),
        Op::Sub if plain_f64 => map2(out, a, b, |x, y| nan64(d(x) - d(y), x, y)),
        Op::MulLo if plain_f64 => map2(out, a, b, |x, y| nan64(d(x) * d(y), x, y)),
        Op::Fma | Op::MadLo if plain_f64 => map3(out, a, b, c, |x, y, z| {
            nan64(d(x).mul_add(d(y), d(z)), x, y)
        }),
        Op::MulWide if ty == Ty::S32 => map2(out, a, b, |x, y| {
            (x as i32 as i64).wrapping_mul(y as i32 as i64) as u64
        }),
        Op::MulWide if ty == Ty::U32 => {
            map2(out, a, b, |x, y| (x & 0xffff_ffff) * (y & 0xffff_ffff))
        }
        Op::And if int || ty == Ty::Pred => map2(out, a, b, |x, y| x & y),
        Op::Or if int || ty == Ty::Pred => map2(out, a, b, |x, y| x | y),
        Op::Xor if int || ty == Ty::Pred => map2(out, a, b, |x, y| x ^ y),
        Op::Shl if int => {
            let bits = ty.bytes() as u64 * 8;
            map2(out, a, b, |x, n| {
                if (n & 0xffff_ffff) >= bits {
                    0
                } else {
                    (x << n) & m
                }
            })
        }
        Op::Shr if int && !ty.signed() => {
            let bits = ty.bytes() as u64 * 8;
            map2(out, a, b, |x, n| {
                if (n & 0xffff_ffff) >= bits {
                    0
                } else {
                    (x & m) >> n
                }
            })
        }
        Op::Shr if ty == Ty::S32 => map2(out, a, b, |x, n| {
            ((x as i32) >> (n & 0xffff_ffff).min(31)) as u32 as u64
        }),
        Op::Shr if ty == Ty::S64 => map2(out, a, b, |x, n| {
            ((x as i64) >> (n & 0xffff_ffff).min(63)) as u64
        }),
        Op::Min if ty == Ty::S32 => map2(out, a, b, |x, y| (x as i32).min(y as i32) as u32 as u64),
        Op::Max if ty == Ty::S32 => map2(out, a, b, |x, y| (x as i32).max(y as i32) as u32 as u64),
        Op::Min if ty == Ty::U32 => map2(out, a, b, |x, y| (x & m).min(y & m)),
        Op::Max if ty == Ty::U32 => map2(out, a, b, |x, y| (x & m).max(y & m)),
        Op::Setp => {
            let Extra::Cmp(cmp, None) = ins.extra else {
                return false;
            };
            if ins.dst.len() != 1 {
                return false;
            }
            map2(out, a, b, |x, y| compare(ty, cmp, x, y) as u64)
        }
        Op::Selp => map3(out, a, b, c, |x, y, p| if p & 1 == 1 { x } else { y }),
        Op::Mov
            if ty != Ty::Pred
                && ins.dst.len() == 1
                && !matches!(ins.dst[0], Operand::Vector(_)) =>
        {
            map1(out, a, |x| x & m)
        }
        Op::Cvta { .. } if matches!(ins.space, Space::Global | Space::Const) => map1(out, a, |x| x),
        // s8 results are sign-extended to the register (num::cvt).
        Op::Cvt if !ty.is_float() && !ins.ty2.is_float() && !ins.sat && ty != Ty::S8 => {
            let src = ins.ty2;
            if src.signed() {
                map1(out, a, |x| (sx(x, src) as u64) & m)
            } else {
                let sm = int_mask(src);
                map1(out, a, |x| x & sm & m)
            }
        }
        _ => return false,
    }
    true
}
