//! Whole-warp loops for the instructions NVRTC emits most: the same operation on 32 lanes at
//! once, written so the compiler can vectorize it. Inactive lanes are computed and discarded,
//! so only operations that cannot fault belong here (no integer division).

use super::alu::compare;
use super::num::*;
use crate::ptx::ir::*;

pub type Lanes = [u64; 32];

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

/// A whole-warp operation, decoded once from its instruction: the type's masks and the
/// comparison are fixed, so running it is one loop over the lanes.
#[derive(Clone, Copy, Debug)]
pub enum AluOp {
    AddInt(u64),
    SubInt(u64),
    MulLoInt(u64),
    MadLoInt(u64),
    AddF32,
    SubF32,
    MulF32,
    FmaF32,
    AddF64,
    SubF64,
    MulF64,
    FmaF64,
    MulWideS32,
    MulWideU32,
    And,
    Or,
    Xor,
    Shl { bits: u64, m: u64 },
    ShrU { bits: u64, m: u64 },
    ShrS32,
    ShrS64,
    MinS32,
    MaxS32,
    MinU32(u64),
    MaxU32(u64),
    Setp(Ty, Cmp),
    Selp,
    Mov(u64),
    Copy,
    CvtSx(Ty, u64),
    CvtZx(u64),
}

/// The whole-warp form of `ins`, or None when it needs the general per-lane path.
pub fn decode(ins: &Instr) -> Option<AluOp> {
    use AluOp::*;
    let ty = ins.ty;
    let plain_f32 =
        ty == Ty::F32 && matches!(ins.round, Round::None | Round::Rn) && !ins.sat && !ins.ftz;
    let plain_f64 = ty == Ty::F64 && matches!(ins.round, Round::None | Round::Rn);
    let int = !ty.is_float() && ty != Ty::Pred && ty.bytes() <= 8;
    let m = int_mask(ty);
    let bits = ty.bytes() as u64 * 8;
    Some(match ins.op {
        Op::Add if int && !ins.sat => AddInt(m),
        Op::Sub if int && !ins.sat => SubInt(m),
        Op::MulLo if int => MulLoInt(m),
        Op::MadLo if int => MadLoInt(m),
        Op::Add if plain_f32 => AddF32,
        Op::Sub if plain_f32 => SubF32,
        Op::MulLo if plain_f32 => MulF32,
        Op::Fma | Op::MadLo if plain_f32 => FmaF32,
        Op::Add if plain_f64 => AddF64,
        Op::Sub if plain_f64 => SubF64,
        Op::MulLo if plain_f64 => MulF64,
        Op::Fma | Op::MadLo if plain_f64 => FmaF64,
        Op::MulWide if ty == Ty::S32 => MulWideS32,
        Op::MulWide if ty == Ty::U32 => MulWideU32,
        Op::And if int || ty == Ty::Pred => And,
        Op::Or if int || ty == Ty::Pred => Or,
        Op::Xor if int || ty == Ty::Pred => Xor,
        Op::Shl if int => Shl { bits, m },
        Op::Shr if int && !ty.signed() => ShrU { bits, m },
        Op::Shr if ty == Ty::S32 => ShrS32,
        Op::Shr if ty == Ty::S64 => ShrS64,
        Op::Min if ty == Ty::S32 => MinS32,
        Op::Max if ty == Ty::S32 => MaxS32,
        Op::Min if ty == Ty::U32 => MinU32(m),
        Op::Max if ty == Ty::U32 => MaxU32(m),
        Op::Setp => {
            let Extra::Cmp(cmp, None) = ins.extra else {
                return None;
            };
            if ins.dst.len() != 1 {
                return None;
            }
            Setp(ty, cmp)
        }
        Op::Selp => Selp,
        Op::Mov
            if ty != Ty::Pred
                && ins.dst.len() == 1
                && !matches!(ins.dst[0], Operand::Vector(_)) =>
        {
            Mov(m)
        }
        Op::Cvta { .. } if matches!(ins.space, Space::Global | Space::Const) => Copy,
        // s8 results are sign-extended to the register (num::cvt).
        Op::Cvt if !ty.is_float() && !ins.ty2.is_float() && !ins.sat && ty != Ty::S8 => {
            let src = ins.ty2;
            if src.signed() {
                CvtSx(src, m)
            } else {
                CvtZx(int_mask(src) & m)
            }
        }
        _ => return None,
    })
}

/// Computes `ins` for all lanes into `out`; false when it needs the general per-lane path.
#[inline(always)]
pub fn compute(ins: &Instr, a: &Lanes, b: &Lanes, c: &Lanes, out: &mut Lanes) -> bool {
    match decode(ins) {
        Some(op) => {
            run(op, a, b, c, out);
            true
        }
        None => false,
    }
}

/// Runs `op` on all 32 lanes of its sources (lanes that do not execute are computed and
/// dropped by the caller).
#[inline(always)]
pub fn run(op: AluOp, a: &Lanes, b: &Lanes, c: &Lanes, out: &mut Lanes) {
    use AluOp::*;
    match op {
        AddInt(m) => map2(out, a, b, |x, y| x.wrapping_add(y) & m),
        SubInt(m) => map2(out, a, b, |x, y| x.wrapping_sub(y) & m),
        MulLoInt(m) => map2(out, a, b, |x, y| x.wrapping_mul(y) & m),
        MadLoInt(m) => map3(out, a, b, c, |x, y, z| {
            x.wrapping_mul(y).wrapping_add(z) & m
        }),
        AddF32 => map2(out, a, b, |x, y| nan32(f(x) + f(y))),
        SubF32 => map2(out, a, b, |x, y| nan32(f(x) - f(y))),
        MulF32 => map2(out, a, b, |x, y| nan32(f(x) * f(y))),
        FmaF32 => fma_f32(out, a, b, c),
        AddF64 => map2(out, a, b, |x, y| nan64(d(x) + d(y), [y, x, y])),
        SubF64 => map2(out, a, b, |x, y| nan64(d(x) - d(y), [y, x, y])),
        MulF64 => map2(out, a, b, |x, y| nan64(d(x) * d(y), [y, x, y])),
        FmaF64 => fma_f64(out, a, b, c),
        MulWideS32 => map2(out, a, b, |x, y| {
            (x as i32 as i64).wrapping_mul(y as i32 as i64) as u64
        }),
        MulWideU32 => map2(out, a, b, |x, y| (x & 0xffff_ffff) * (y & 0xffff_ffff)),
        And => map2(out, a, b, |x, y| x & y),
        Or => map2(out, a, b, |x, y| x | y),
        Xor => map2(out, a, b, |x, y| x ^ y),
        Shl { bits, m } => map2(out, a, b, |x, n| {
            if (n & 0xffff_ffff) >= bits {
                0
            } else {
                (x << n) & m
            }
        }),
        ShrU { bits, m } => map2(out, a, b, |x, n| {
            if (n & 0xffff_ffff) >= bits {
                0
            } else {
                (x & m) >> n
            }
        }),
        ShrS32 => map2(out, a, b, |x, n| {
            ((x as i32) >> (n & 0xffff_ffff).min(31)) as u32 as u64
        }),
        ShrS64 => map2(out, a, b, |x, n| {
            ((x as i64) >> (n & 0xffff_ffff).min(63)) as u64
        }),
        MinS32 => map2(out, a, b, |x, y| (x as i32).min(y as i32) as u32 as u64),
        MaxS32 => map2(out, a, b, |x, y| (x as i32).max(y as i32) as u32 as u64),
        MinU32(m) => map2(out, a, b, |x, y| (x & m).min(y & m)),
        MaxU32(m) => map2(out, a, b, |x, y| (x & m).max(y & m)),
        Setp(ty, cmp) => setp(out, a, b, ty, cmp),
        Selp => map3(out, a, b, c, |x, y, p| if p & 1 == 1 { x } else { y }),
        Mov(m) => map1(out, a, |x| x & m),
        Copy => map1(out, a, |x| x),
        CvtSx(src, m) => map1(out, a, |x| (sx(x, src) as u64) & m),
        CvtZx(m) => map1(out, a, |x| x & m),
    }
}

/// The comparisons loops run most, with the type and comparison fixed; the rest through
/// `compare` for each lane.
#[inline(always)]
fn setp(out: &mut Lanes, a: &Lanes, b: &Lanes, ty: Ty, cmp: Cmp) {
    macro_rules! each {
        ($conv:expr) => {{
            let conv = $conv;
            match cmp {
                Cmp::Lt => map2(out, a, b, |x, y| (conv(x) < conv(y)) as u64),
                Cmp::Le => map2(out, a, b, |x, y| (conv(x) <= conv(y)) as u64),
                Cmp::Gt => map2(out, a, b, |x, y| (conv(x) > conv(y)) as u64),
                Cmp::Ge => map2(out, a, b, |x, y| (conv(x) >= conv(y)) as u64),
                Cmp::Eq => map2(out, a, b, |x, y| (conv(x) == conv(y)) as u64),
                Cmp::Ne => map2(out, a, b, |x, y| (conv(x) != conv(y)) as u64),
                _ => map2(out, a, b, |x, y| compare(ty, cmp, x, y) as u64),
            }
        }};
    }
    match ty {
        Ty::S32 => each!(|x: u64| x as i32),
        Ty::U32 | Ty::B32 => each!(|x: u64| x as u32),
        Ty::S64 => each!(|x: u64| x as i64),
        Ty::U64 | Ty::B64 => each!(|x: u64| x),
        _ => map2(out, a, b, |x, y| compare(ty, cmp, x, y) as u64),
    }
}

/// Whether the CPU has AVX2 and FMA (checked once; then a load).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// Fused multiply-add with the CPU's FMA unit where it has one (one rounding, as the PTX
/// instruction and `f32::mul_add` both round), else through `mul_add`'s software fallback.
#[inline(always)]
fn fma_f32(out: &mut Lanes, a: &Lanes, b: &Lanes, c: &Lanes) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has FMA.
        unsafe { fma_f32_hw(out, a, b, c) };
        return;
    }
    map3(out, a, b, c, |x, y, z| nan32(f(x).mul_add(f(y), f(z))))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
unsafe fn fma_f32_hw(out: &mut Lanes, a: &Lanes, b: &Lanes, c: &Lanes) {
    map3(out, a, b, c, |x, y, z| nan32(f(x).mul_add(f(y), f(z))))
}

#[inline(always)]
fn fma_f64(out: &mut Lanes, a: &Lanes, b: &Lanes, c: &Lanes) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has FMA.
        unsafe { fma_f64_hw(out, a, b, c) };
        return;
    }
    map3(out, a, b, c, |x, y, z| {
        nan64(d(x).mul_add(d(y), d(z)), [y, x, z])
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
unsafe fn fma_f64_hw(out: &mut Lanes, a: &Lanes, b: &Lanes, c: &Lanes) {
    map3(out, a, b, c, |x, y, z| {
        nan64(d(x).mul_add(d(y), d(z)), [y, x, z])
    })
}
