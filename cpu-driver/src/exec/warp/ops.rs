//! Executing one instruction for a warp's active lanes: arithmetic, data movement, warp-wide
//! exchanges. Memory, matrix and printf instructions live in their own files.

use super::{BlockRunner, Res, Warp};
use crate::exec::memory::{LOCAL_WINDOW, PARAM_WINDOW, SHARED_WINDOW};
use crate::exec::num::*;
use crate::exec::{alu, fast};
use crate::ptx::ir::*;

impl BlockRunner<'_> {
    pub(super) fn exec(&mut self, ins: &Instr, exec: u32, active: u32, w: &mut Warp) -> Res<()> {
        let ty = ins.ty;
        // The commonest data movement and comparisons take the whole-warp path when they can.
        if matches!(
            ins.op,
            Op::Mov | Op::Cvta { .. } | Op::Cvt | Op::Setp | Op::Selp
        ) && matches!(ins.dst.first(), Some(Operand::Reg(_)))
            && ins
                .src
                .iter()
                .all(|o| matches!(o, Operand::Reg(_) | Operand::Imm(_)))
        {
            let zero = [0u64; 32];
            let a = ins.src.first().map(|o| self.gather(w, o)).unwrap_or(zero);
            let b = ins.src.get(1).map(|o| self.gather(w, o)).unwrap_or(zero);
            let c = ins.src.get(2).map(|o| self.gather(w, o)).unwrap_or(zero);
            let mut out = [0u64; 32];
            if fast::compute(ins, &a, &b, &c, &mut out) {
                Self::scatter(w, &ins.dst[0], exec, &out);
                return Ok(());
            }
        }
        match ins.op {
            Op::Mov => self.mov(ins, exec, w),
            Op::Ld => return self.load(ins, exec, w),
            Op::St => return self.store(ins, exec, w),
            Op::Atom | Op::Red => return self.atomic(ins, exec, w),
            Op::CpAsync => return self.cp_async(ins, exec, w),
            Op::CpAsyncCommit => self.cp_async_commit(exec, w),
            Op::CpAsyncWait { all } => return self.cp_async_wait(ins, all, exec, w),
            Op::Cvta { to } => {
                let (win, space_match) = match ins.space {
                    Space::Shared => (SHARED_WINDOW, true),
                    Space::Local => (LOCAL_WINDOW, true),
                    Space::Param => (PARAM_WINDOW, true),
                    _ => (0, false),
                };
                lanes!(exec, l, {
                    let v = self.val(w, &ins.src[0], l);
                    let r = if !space_match {
                        v
                    } else if to {
                        if v >= win {
                            v - win
                        } else {
                            v
                        }
                    } else {
                        v.wrapping_add(win)
                    };
                    Self::set(w, &ins.dst[0], l, zx(r, ty));
                });
            }
            Op::Cvt => {
                if matches!(ty, Ty::F16x2 | Ty::Bf16x2) && ins.src.len() == 2 {
                    let bf = ty == Ty::Bf16x2;
                    lanes!(exec, l, {
                        let hi = to_f64(self.val(w, &ins.src[0], l), ins.ty2);
                        let lo = to_f64(self.val(w, &ins.src[1], l), ins.ty2);
                        Self::set(w, &ins.dst[0], l, half_put(hi, bf) << 16 | half_put(lo, bf));
                    });
                } else {
                    lanes!(exec, l, {
                        let v = self.val(w, &ins.src[0], l);
                        Self::set(w, &ins.dst[0], l, cvt(v, ty, ins.ty2, ins.round, ins.sat));
                    });
                }
            }
            Op::Setp | Op::Set => {
                let Extra::Cmp(cmp, bop) = ins.extra else {
                    unreachable!("setp without comparison")
                };
                if matches!(ins.ty2, Ty::F16x2 | Ty::Bf16x2) && ins.op == Op::Set {
                    // set on packed pairs writes each half: all ones where the comparison holds.
                    let half = if ins.ty2 == Ty::F16x2 {
                        Ty::F16
                    } else {
                        Ty::Bf16
                    };
                    lanes!(exec, l, {
                        let a = self.val(w, &ins.src[0], l);
                        let b = self.val(w, &ins.src[1], l);
                        let one = |t: bool| if ty.is_float() { 0x3c00 } else { 0xffff } * t as u64;
                        let lo = one(alu::compare(half, cmp, a & 0xffff, b & 0xffff));
                        let hi = one(alu::compare(
                            half,
                            cmp,
                            (a >> 16) & 0xffff,
                            (b >> 16) & 0xffff,
                        ));
                        Self::set(w, &ins.dst[0], l, lo | hi << 16);
                    });
                    return Ok(());
                }
                if matches!(ins.ty2, Ty::F16x2 | Ty::Bf16x2) && ins.op == Op::Setp {
                    // Packed pairs compare each half: the low halves set the first predicate,
                    // the high halves the second.
                    let half = if ins.ty2 == Ty::F16x2 {
                        Ty::F16
                    } else {
                        Ty::Bf16
                    };
                    lanes!(exec, l, {
                        let a = self.val(w, &ins.src[0], l);
                        let b = self.val(w, &ins.src[1], l);
                        let lo = alu::compare(half, cmp, a & 0xffff, b & 0xffff);
                        let hi = alu::compare(half, cmp, (a >> 16) & 0xffff, (b >> 16) & 0xffff);
                        Self::set(w, &ins.dst[0], l, lo as u64);
                        if let Some(d2) = ins.dst.get(1) {
                            Self::set(w, d2, l, hi as u64);
                        }
                    });
                    return Ok(());
                }
                lanes!(exec, l, {
                    let a = self.val(w, &ins.src[0], l);
                    let b = self.val(w, &ins.src[1], l);
                    let mut t = alu::compare(ins.ty2, cmp, a, b);
                    if let (Some(bop), Some(c)) = (bop, ins.src.get(2)) {
                        let c = self.val(w, c, l) & 1 == 1;
                        t = match bop {
                            BoolOp::And => t && c,
                            BoolOp::Or => t || c,
                            BoolOp::Xor => t ^ c,
                        };
                    }
                    if ins.op == Op::Set {
                        let v = if ty == Ty::F32 {
                            if t {
                                fb(1.0)
                            } else {
                                0
                            }
                        } else if t {
                            zx(u64::MAX, ty)
                        } else {
                            0
                        };
                        Self::set(w, &ins.dst[0], l, v);
                    } else {
                        Self::set(w, &ins.dst[0], l, t as u64);
                        if let Some(d2) = ins.dst.get(1) {
                            Self::set(w, d2, l, (!t) as u64);
                        }
                    }
                });
            }
            Op::Selp => lanes!(exec, l, {
                let c = self.val(w, &ins.src[2], l) & 1 == 1;
                let v = self.val(w, &ins.src[if c { 0 } else { 1 }], l);
                Self::set(w, &ins.dst[0], l, v);
            }),
            Op::Testp => {
                let Extra::Testp(k) = ins.extra else {
                    unreachable!("testp kind")
                };
                lanes!(exec, l, {
                    let a = self.val(w, &ins.src[0], l);
                    Self::set(w, &ins.dst[0], l, alu::testp(ty, k, a) as u64);
                });
            }
            Op::Bfi => lanes!(exec, l, {
                let a = self.val(w, &ins.src[0], l);
                let b = self.val(w, &ins.src[1], l);
                let pos = alu::bitfield_operand(self.val(w, &ins.src[2], l), ty);
                let len = alu::bitfield_operand(self.val(w, &ins.src[3], l), ty);
                let bits = ty.bytes() as u64 * 8;
                let v = if len == 0 || pos >= bits {
                    b
                } else {
                    let m = if len >= 64 {
                        u64::MAX
                    } else {
                        (1u64 << len) - 1
                    } << pos;
                    (b & !m) | ((a << pos) & m)
                };
                Self::set(w, &ins.dst[0], l, zx(v, ty));
            }),
            Op::Lop3 => lanes!(exec, l, {
                let a = self.val(w, &ins.src[0], l);
                let b = self.val(w, &ins.src[1], l);
                let c = self.val(w, &ins.src[2], l);
                let lut = self.val(w, &ins.src[3], l);
                Self::set(w, &ins.dst[0], l, alu::lop3(a, b, c, lut));
            }),
            Op::Shf => {
                let Extra::Shf { left, clamp } = ins.extra else {
                    unreachable!("shf mode")
                };
                lanes!(exec, l, {
                    let a = self.val(w, &ins.src[0], l);
                    let b = self.val(w, &ins.src[1], l);
                    let c = self.val(w, &ins.src[2], l);
                    Self::set(w, &ins.dst[0], l, alu::shf(left, clamp, a, b, c));
                });
            }
            Op::Shfl => {
                self.check_member_mask(ins, ins.src.get(3), exec, active, w)?;
                self.shfl(ins, exec, w)
            }
            Op::Vote => {
                self.check_member_mask(ins, ins.src.get(1), exec, active, w)?;
                let Extra::Vote(mode) = ins.extra else {
                    unreachable!("vote mode")
                };
                let mut ballot = 0u32;
                lanes!(exec, l, {
                    if self.val(w, &ins.src[0], l) & 1 == 1 {
                        ballot |= 1 << l;
                    }
                });
                let v = match mode {
                    VoteMode::Ballot => ballot as u64,
                    VoteMode::All => (ballot == exec) as u64,
                    VoteMode::Any => (ballot != 0) as u64,
                    VoteMode::Uni => (ballot == exec || ballot == 0) as u64,
                };
                lanes!(exec, l, {
                    Self::set(w, &ins.dst[0], l, v);
                });
            }
            Op::Match => {
                self.check_member_mask(ins, ins.src.get(1), exec, active, w)?;
                let Extra::Vote(mode) = ins.extra else {
                    unreachable!("match mode")
                };
                let mut vals = [0u64; 32];
                lanes!(exec, l, {
                    vals[l] = zx(self.val(w, &ins.src[0], l), ty);
                });
                let all_same = {
                    let first = vals[exec.trailing_zeros() as usize];
                    let mut same = true;
                    lanes!(exec, l, {
                        same &= vals[l] == first;
                    });
                    same
                };
                lanes!(exec, l, {
                    let mut m = 0u32;
                    lanes!(exec, k, {
                        if vals[k] == vals[l] {
                            m |= 1 << k;
                        }
                    });
                    match mode {
                        VoteMode::All => {
                            Self::set(w, &ins.dst[0], l, if all_same { exec as u64 } else { 0 });
                            if let Some(p) = ins.dst.get(1) {
                                Self::set(w, p, l, all_same as u64);
                            }
                        }
                        _ => Self::set(w, &ins.dst[0], l, m as u64),
                    }
                });
            }
            Op::Redux => {
                // redux.sync d, a, membermask: the mask rules of the other `.sync` collectives;
                // each lane gets the reduction over the executing lanes its mask names.
                self.check_member_mask(ins, ins.src.get(1), exec, active, w)?;
                let Extra::Atom(op) = ins.extra else {
                    unreachable!("redux op")
                };
                let mut vals = [0u32; 32];
                lanes!(exec, l, {
                    vals[l] = self.val(w, &ins.src[0], l) as u32;
                });
                lanes!(exec, l, {
                    let members = exec & self.val(w, &ins.src[1], l) as u32;
                    let mut acc: Option<u32> = None;
                    lanes!(members, k, {
                        let v = vals[k];
                        acc = Some(match acc {
                            None => v,
                            Some(a) => redux_apply(op, ty, a, v),
                        });
                    });
                    Self::set(w, &ins.dst[0], l, acc.unwrap_or(0) as u64);
                });
            }
            Op::Activemask => lanes!(exec, l, {
                Self::set(w, &ins.dst[0], l, active as u64);
            }),
            Op::BarWarpSync => {
                self.check_member_mask(ins, ins.src.first(), exec, active, w)?;
                w.wep += 1
            }
            Op::Nop => {}
            Op::Printf => return self.printf(ins, exec, w),
            Op::Trap => {}
            Op::Ldmatrix => return self.ldmatrix(ins, exec, w),
            Op::Mma => return self.mma(ins, exec, w),
            Op::WmmaLoad | Op::WmmaStore => return self.wmma_mem(ins, exec, w),
            Op::WmmaMma => return self.wmma_mma(ins, exec, w),
            Op::Unsupported => return Err(self.unsupported(ins)),
            _ => {
                let zero = [0u64; 32];
                let a = ins.src.first().map(|o| self.gather(w, o)).unwrap_or(zero);
                let b = ins.src.get(1).map(|o| self.gather(w, o)).unwrap_or(zero);
                let c = ins.src.get(2).map(|o| self.gather(w, o)).unwrap_or(zero);
                let mut out = [0u64; 32];
                if !fast::compute(ins, &a, &b, &c, &mut out) {
                    let mut err = false;
                    lanes!(exec, l, {
                        match alu::compute(ins, a[l], b[l], c[l]) {
                            Some(v) => out[l] = v,
                            None => err = true,
                        }
                    });
                    if err {
                        return Err(self.unsupported(ins));
                    }
                }
                Self::scatter(w, &ins.dst[0], exec, &out);
            }
        }
        Ok(())
    }

    pub(super) fn mov(&self, ins: &Instr, exec: u32, w: &mut Warp) {
        let ty = ins.ty;
        match (&ins.dst[0], &ins.src[0]) {
            (Operand::Vector(parts), src) => {
                // Unpack: mov.b32 {%rs1, %rs2}, %r1 (low part first).
                let bits = ty.bytes() * 8 / parts.len();
                let mask = if bits >= 64 {
                    u64::MAX
                } else {
                    (1u64 << bits) - 1
                };
                lanes!(exec, l, {
                    let v = self.val(w, src, l);
                    for (k, p) in parts.iter().enumerate() {
                        Self::set(w, p, l, (v >> (k * bits)) & mask);
                    }
                });
            }
            (dst, Operand::Vector(parts)) if !(parts.len() == 2 && parts[1] == Operand::Sink) => {
                let bits = ty.bytes() * 8 / parts.len();
                let mask = if bits >= 64 {
                    u64::MAX
                } else {
                    (1u64 << bits) - 1
                };
                lanes!(exec, l, {
                    let mut v = 0u64;
                    for (k, p) in parts.iter().enumerate() {
                        v |= (self.val(w, p, l) & mask) << (k * bits);
                    }
                    Self::set(w, dst, l, v);
                });
            }
            (dst, src) => lanes!(exec, l, {
                let v = self.val(w, src, l);
                Self::set(w, dst, l, if ty == Ty::Pred { v & 1 } else { zx(v, ty) });
            }),
        }
    }

    /// A `.sync` warp instruction's member mask may not name lanes that have returned or
    /// that the block does not have: a GPU leaves what they contribute undefined, where the
    /// interpreter would read their stale registers and look correct.
    fn check_member_mask(
        &self,
        ins: &Instr,
        mask: Option<&Operand>,
        exec: u32,
        active: u32,
        w: &Warp,
    ) -> Res<()> {
        let Some(mask) = mask else { return Ok(()) };
        let mask = self.val(w, mask, exec.trailing_zeros() as usize) as u32;
        // An early `return` is often a branch to the kernel's last `ret`: lanes waiting there
        // have left as surely as lanes that executed it. (Lanes elsewhere are not `active`,
        // and their `pc` is current, as the warp is diverged.)
        let mut exited = mask & w.exited;
        lanes!(mask & w.running & !active, l, {
            if matches!(self.p.func.instrs[w.pc[l] as usize].op, Op::Exit | Op::Ret) {
                exited |= 1 << l;
            }
        });
        let absent = mask & !w.present;
        if exited | absent == 0 {
            return Ok(());
        }
        let mode = |names: [&'static str; 4]| match ins.extra {
            Extra::Shfl(ShflMode::Down) | Extra::Vote(VoteMode::All) => names[0],
            Extra::Shfl(ShflMode::Up) | Extra::Vote(VoteMode::Any) => names[1],
            Extra::Shfl(ShflMode::Bfly) | Extra::Vote(VoteMode::Uni) => names[2],
            _ => names[3],
        };
        let intrinsic = match ins.op {
            Op::Shfl => mode([
                "__shfl_down_sync",
                "__shfl_up_sync",
                "__shfl_xor_sync",
                "__shfl_sync",
            ]),
            Op::Vote => mode(["__all_sync", "__any_sync", "__uni_sync", "__ballot_sync"]),
            Op::Match if matches!(ins.extra, Extra::Vote(VoteMode::All)) => "__match_all_sync",
            Op::Match => "__match_any_sync",
            Op::Redux => match ins.extra {
                Extra::Atom(AtomOp::Add) => "__reduce_add_sync",
                Extra::Atom(AtomOp::Min) => "__reduce_min_sync",
                Extra::Atom(AtomOp::Max) => "__reduce_max_sync",
                Extra::Atom(AtomOp::And) => "__reduce_and_sync",
                Extra::Atom(AtomOp::Or) => "__reduce_or_sync",
                _ => "__reduce_xor_sync",
            },
            _ => "__syncwarp",
        };
        Err(crate::report::Diagnostic::WarpMask {
            intrinsic: intrinsic.into(),
            mask,
            exited,
            absent,
            warp: w.lin0 / 32,
            block: self.ctaid,
            line: ins.line,
        })
    }

    pub(super) fn shfl(&mut self, ins: &Instr, exec: u32, w: &mut Warp) {
        let Extra::Shfl(mode) = ins.extra else {
            unreachable!("shfl mode")
        };
        // Sources are read from every lane first: the exchange sees values before it writes.
        let mut src = [0u64; 32];
        for (l, s) in src.iter_mut().enumerate() {
            *s = self.val(w, &ins.src[0], l);
        }
        lanes!(exec, l, {
            let b = self.val(w, &ins.src[1], l) as u32;
            let c = self.val(w, &ins.src[2], l) as u32;
            let lane = l as u32;
            let seg = (c >> 8) & 0x1f;
            let clamp = c & 0x1f;
            let max_lane = (lane & seg) | (clamp & !seg);
            let min_lane = lane & seg;
            let (j, ok) = match mode {
                ShflMode::Up => {
                    let j = (lane as i32).wrapping_sub(b as i32);
                    (j, j >= max_lane as i32)
                }
                ShflMode::Down => {
                    let j = lane.wrapping_add(b);
                    (j as i32, j <= max_lane)
                }
                ShflMode::Bfly => {
                    let j = lane ^ b;
                    (j as i32, j <= max_lane)
                }
                ShflMode::Idx => {
                    let j = min_lane | (b & 0x1f & !seg);
                    (j as i32, j <= max_lane)
                }
            };
            let from = if ok && (0..32).contains(&j) {
                j as usize
            } else {
                l
            };
            Self::set(w, &ins.dst[0], l, src[from]);
            if let Some(p) = ins.dst.get(1) {
                Self::set(w, p, l, ok as u64);
            }
        });
    }
}

/// One step of `redux.sync`: add wraps; min/max compare as the type's signedness says.
fn redux_apply(op: AtomOp, ty: Ty, a: u32, b: u32) -> u32 {
    match op {
        AtomOp::Add => a.wrapping_add(b),
        AtomOp::Min if ty == Ty::S32 => (a as i32).min(b as i32) as u32,
        AtomOp::Max if ty == Ty::S32 => (a as i32).max(b as i32) as u32,
        AtomOp::Min => a.min(b),
        AtomOp::Max => a.max(b),
        AtomOp::And => a & b,
        AtomOp::Or => a | b,
        _ => a ^ b,
    }
}
