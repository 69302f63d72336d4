//! One block at a time: its warps run SIMT-style. Each step executes the instruction at the
//! lowest program counter among a warp's running lanes, for all lanes that are there: lanes
//! that branched ahead wait, so divergent paths reconverge where structured code joins.

use super::memory::{window, LOCAL_WINDOW, PARAM_WINDOW, SHARED_WINDOW};
use super::num::*;
use super::shadow::{Finding, Shadow, Who};
use super::LaunchParams;
use super::{alu, fast, printf, tensor};
use crate::ptx::ir::*;
use crate::report::{Diagnostic, Dim3, LaunchCounters, SharedLoc};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

type Res<T> = Result<T, Diagnostic>;

#[derive(Default)]
struct Warp {
    regs: Vec<u64>,
    pc: [u32; 32],
    running: u32,
    waiting: u32,
    exited: u32,
    tid: [Dim3; 32],
    /// Linear thread index of lane 0 within the block.
    lin0: u32,
    icount: u64,
    /// `__syncwarp` count, which orders this warp's shared accesses for the race check.
    wep: u32,
}

pub struct BlockRunner<'a> {
    p: &'a LaunchParams<'a>,
    warps: Vec<Warp>,
    _smem: Vec<u8>,
    local_buf: Vec<u8>,
    /// Taken once from `smem`/`local` (never resized): accesses write through these.
    smem_ptr: *mut u8,
    local_ptr: *mut u8,
    smem_size: usize,
    shadow: Shadow,
    ctaid: Dim3,
    /// The allocation the last global access fell in: (base, end, host address).
    last_alloc: std::cell::Cell<(u64, u64, usize)>,
    pub counters: LaunchCounters,
}

macro_rules! lanes {
    ($mask:expr, $l:ident, $body:block) => {{
        let mut m__: u32 = $mask;
        while m__ != 0 {
            let $l = m__.trailing_zeros() as usize;
            m__ &= m__ - 1;
            $body
        }
    }};
}

/// One lane's access after address resolution.
#[derive(Clone, Copy)]
struct Access {
    target: Target,
    addr: u64,
    bytes: usize,
    write: bool,
}

/// Where an access lands once generic addresses are resolved.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    Global,
    Shared,
    Local,
    Param,
}

impl<'a> BlockRunner<'a> {
    pub fn new(p: &'a LaunchParams<'a>, nthreads: usize) -> BlockRunner<'a> {
        let nwarps = nthreads.div_ceil(32);
        let smem_size = p.func.dyn_smem_offset.max(p.func.static_smem) + p.dyn_smem;
        let smem_size = if p.dyn_smem == 0 {
            p.func.static_smem
        } else {
            smem_size
        };
        let mut warps = Vec::with_capacity(nwarps);
        for wi in 0..nwarps {
            let mut w = Warp {
                regs: vec![0; p.func.num_regs * 32],
                lin0: (wi * 32) as u32,
                ..Default::default()
            };
            for l in 0..32 {
                let lin = wi * 32 + l;
                let bx = p.block[0] as usize;
                let by = p.block[1] as usize;
                w.tid[l] = [
                    (lin % bx) as u32,
                    ((lin / bx) % by) as u32,
                    (lin / (bx * by)) as u32,
                ];
            }
            warps.push(w);
        }
        let mut smem = vec![0; smem_size];
        let mut local = vec![0; p.func.local_bytes * nwarps * 32];
        BlockRunner {
            p,
            warps,
            smem_ptr: smem.as_mut_ptr(),
            local_ptr: local.as_mut_ptr(),
            _smem: smem,
            smem_size,
            shadow: Shadow::new(),
            local_buf: local,
            ctaid: [0; 3],
            last_alloc: std::cell::Cell::new((0, 0, 0)),
            counters: LaunchCounters::default(),
        }
    }

    fn nthreads(&self) -> usize {
        self.p.block.iter().map(|&x| x as usize).product()
    }

    pub fn run_block(&mut self, ctaid: Dim3) -> Res<()> {
        self.ctaid = ctaid;
        let nthreads = self.nthreads();
        for (wi, w) in self.warps.iter_mut().enumerate() {
            let n = (nthreads - wi * 32).min(32);
            w.running = if n == 32 { u32::MAX } else { (1u32 << n) - 1 };
            w.waiting = 0;
            w.exited = 0;
            w.pc = [0; 32];
            w.icount = 0;
            w.wep = 0;
            w.regs.fill(0);
        }
        // Shared memory keeps the last block's bytes: reading one this block did not write is
        // reported before its value is used. Local memory has no such check, so it starts at
        // zero, and results never depend on which block a worker ran before.
        // SAFETY: local_ptr owns `local_buf`, whose length this is.
        unsafe { std::ptr::write_bytes(self.local_ptr, 0, self.local_buf.len()) };
        self.shadow.start_block(self.smem_size);
        loop {
            for wi in 0..self.warps.len() {
                if self.warps[wi].running != 0 {
                    let mut w = std::mem::take(&mut self.warps[wi]);
                    let r = self.run_warp(&mut w);
                    self.warps[wi] = w;
                    r?;
                }
            }
            if self.warps.iter().all(|w| w.waiting == 0) {
                return Ok(());
            }
            self.release_barrier()?;
        }
    }

    /// Every warp has stopped: either all live threads wait at one barrier, or it is divergent.
    fn release_barrier(&mut self) -> Res<()> {
        let mut pcs = Vec::new();
        let mut waiting = Vec::new();
        let mut elsewhere = Vec::new();
        let (mut nwait, mut nelse) = (0u32, 0u32);
        for w in &self.warps {
            lanes!(w.waiting, l, {
                pcs.push(w.pc[l]);
            });
        }
        let first_pc = *pcs.iter().min().unwrap_or(&0);
        for w in &self.warps {
            lanes!(w.waiting, l, {
                if w.pc[l] == first_pc {
                    nwait += 1;
                    if waiting.len() < 4 {
                        waiting.push(w.tid[l]);
                    }
                } else {
                    nelse += 1;
                    if elsewhere.len() < 4 {
                        elsewhere.push(w.tid[l]);
                    }
                }
            });
        }
        let mut exited = false;
        if nelse == 0 {
            for w in &self.warps {
                lanes!(w.exited, l, {
                    exited = true;
                    nelse += 1;
                    if elsewhere.len() < 4 {
                        elsewhere.push(w.tid[l]);
                    }
                });
            }
        }
        if nelse > 0 {
            return Err(Diagnostic::BarrierDivergence {
                block: self.ctaid,
                waiting,
                waiting_count: nwait,
                elsewhere,
                elsewhere_count: nelse,
                exited,
                line: self.p.func.instrs[first_pc as usize].line,
            });
        }
        for w in &mut self.warps {
            lanes!(w.waiting, l, {
                w.pc[l] += 1;
            });
            w.running = w.waiting;
            w.waiting = 0;
        }
        self.shadow.barrier();
        Ok(())
    }

    fn run_warp(&mut self, w: &mut Warp) -> Res<()> {
        let func = self.p.func;
        let instrs = &func.instrs[..];
        let budget = self.p.budget;
        // Lanes all at one pc: `upc` is it and `w.pc` is stale until divergence.
        let (mut uniform, mut upc) = converged(w);
        while w.running != 0 {
            let (cur, active) = if uniform {
                (upc, w.running)
            } else {
                let (pc, mask) = min_pc(w);
                if mask == w.running {
                    uniform = true;
                    upc = pc;
                }
                (pc, mask)
            };
            let ins = &instrs[cur as usize];
            w.icount += 1;
            if w.icount > budget {
                return Err(Diagnostic::InstructionBudget {
                    budget,
                    thread: w.tid[active.trailing_zeros() as usize],
                    block: self.ctaid,
                    line: ins.line,
                });
            }
            self.counters.instructions += active.count_ones() as u64;
            let exec = match ins.guard {
                None => active,
                Some((p, neg)) => {
                    let mut m = 0u32;
                    lanes!(active, l, {
                        if (w.regs[p as usize * 32 + l] & 1 != 0) != neg {
                            m |= 1 << l;
                        }
                    });
                    m
                }
            };
            // (lanes moving to `target`, the target); the rest of `active` moves to cur + 1.
            let mut jump: (u32, u32) = (0, 0);
            let mut stop: u32 = 0;
            match ins.op {
                Op::Bra => {
                    let Operand::Label(t) = ins.src[0] else {
                        unreachable!("branch target")
                    };
                    jump = (exec, t as u32);
                    if exec != 0 && exec != active {
                        self.counters.divergent_branches += 1;
                    }
                }
                Op::Exit | Op::Ret => {
                    w.exited |= exec;
                    stop = exec;
                }
                Op::BarSync => {
                    if ins.src.len() > 1 || !matches!(ins.src.first(), Some(Operand::Imm(0)) | None)
                    {
                        return Err(self.unsupported(ins));
                    }
                    w.waiting |= exec;
                    stop = exec;
                }
                Op::Trap if exec != 0 => {
                    return Err(Diagnostic::Trap {
                        thread: w.tid[exec.trailing_zeros() as usize],
                        block: self.ctaid,
                        line: ins.line,
                    })
                }
                _ => {
                    if exec != 0 {
                        self.exec(ins, exec, active, w)?;
                    }
                }
            }
            let next = cur + 1;
            let moved = active & !stop;
            let (jmask, target) = jump;
            if uniform && stop == 0 && (jmask == 0 || jmask == active) {
                upc = if jmask == 0 { next } else { target };
                continue;
            }
            if uniform {
                lanes!(w.running, l, {
                    w.pc[l] = upc;
                });
                uniform = false;
            }
            lanes!(moved, l, {
                w.pc[l] = if jmask >> l & 1 == 1 { target } else { next };
            });
            w.running &= !stop;
        }
        Ok(())
    }

    fn unsupported(&self, ins: &Instr) -> Diagnostic {
        Diagnostic::Unsupported {
            instruction: ins.text.clone(),
            line: ins.line,
        }
    }

    #[inline(always)]
    fn val(&self, w: &Warp, o: &Operand, l: usize) -> u64 {
        match o {
            Operand::Reg(r) => w.regs[*r as usize * 32 + l],
            Operand::Imm(v) => *v,
            Operand::Addr(Base::Reg(r), off) => {
                w.regs[*r as usize * 32 + l].wrapping_add(*off as u64)
            }
            Operand::Addr(Base::Imm(a), off) => a.wrapping_add(*off as u64),
            Operand::Special(s) => self.special(w, *s, l),
            _ => self.val_slow(w, o, l),
        }
    }

    #[cold]
    #[inline(never)]
    fn val_slow(&self, w: &Warp, o: &Operand, l: usize) -> u64 {
        match o {
            Operand::Special(s) => self.special(w, *s, l),
            // A negated predicate, `!%p`.
            Operand::Vector(v) if v.len() == 2 && v[1] == Operand::Sink => {
                (self.val(w, &v[0], l) & 1) ^ 1
            }
            Operand::Addr(Base::Imm(a), off) => a.wrapping_add(*off as u64),
            _ => self.val(w, o, l),
        }
    }

    /// One operand for all 32 lanes (registers are stored lane-contiguous).
    #[inline(always)]
    fn gather(&self, w: &Warp, o: &Operand) -> [u64; 32] {
        match o {
            Operand::Reg(r) => {
                let s = *r as usize * 32;
                let mut out = [0u64; 32];
                out.copy_from_slice(&w.regs[s..s + 32]);
                out
            }
            Operand::Imm(v) => [*v; 32],
            _ => std::array::from_fn(|l| self.val_slow(w, o, l)),
        }
    }

    #[inline(always)]
    fn scatter(w: &mut Warp, o: &Operand, exec: u32, out: &[u64; 32]) {
        if let Operand::Reg(r) = o {
            let s = *r as usize * 32;
            if exec == u32::MAX {
                w.regs[s..s + 32].copy_from_slice(out);
            } else {
                lanes!(exec, l, {
                    w.regs[s + l] = out[l];
                });
            }
        }
    }

    #[inline(always)]
    fn special(&self, w: &Warp, s: Special, l: usize) -> u64 {
        let p = self.p;
        let lane = l as u32;
        (match s {
            Special::Tid(d) => w.tid[l][d as usize],
            Special::Ntid(d) => p.block[d as usize],
            Special::Ctaid(d) => self.ctaid[d as usize],
            Special::Nctaid(d) => p.grid[d as usize],
            Special::LaneId => lane,
            Special::WarpId => w.lin0 / 32,
            Special::NWarpId => self.warps.len() as u32,
            Special::SmId => 0,
            Special::LaneMaskLt => (1u32 << lane) - 1,
            Special::LaneMaskLe => ((1u64 << (lane + 1)) - 1) as u32,
            Special::LaneMaskGt => !(((1u64 << (lane + 1)) - 1) as u32),
            Special::LaneMaskGe => !((1u32 << lane) - 1),
            Special::LaneMaskEq => 1 << lane,
            // Deterministic stand-ins for clocks: the warp's instruction count.
            Special::Clock | Special::Clock64 | Special::GlobalTimer => return w.icount,
            Special::DynSmemSize => p.dyn_smem as u32,
        }) as u64
    }

    #[inline(always)]
    fn set(w: &mut Warp, o: &Operand, l: usize, v: u64) {
        if let Operand::Reg(r) = o {
            w.regs[*r as usize * 32 + l] = v;
        }
    }

    fn exec(&mut self, ins: &Instr, exec: u32, active: u32, w: &mut Warp) -> Res<()> {
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
                let pos = self.val(w, &ins.src[2], l) & 0xff;
                let len = self.val(w, &ins.src[3], l) & 0xff;
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
            Op::Shfl => self.shfl(ins, exec, w),
            Op::Vote => {
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
            Op::Activemask => lanes!(exec, l, {
                Self::set(w, &ins.dst[0], l, active as u64);
            }),
            Op::BarWarpSync => w.wep += 1,
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

    fn mov(&self, ins: &Instr, exec: u32, w: &mut Warp) {
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

    fn shfl(&mut self, ins: &Instr, exec: u32, w: &mut Warp) {
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

    /// Resolves a lane's address to its state space and the offset within it.
    #[inline(always)]
    fn resolve(space: Space, addr: u64) -> (Target, u64) {
        match space {
            Space::Global | Space::Const => (Target::Global, addr),
            Space::Shared => (Target::Shared, addr),
            Space::Local => (Target::Local, addr),
            Space::Param => (Target::Param, addr),
            Space::Generic => match window(addr) {
                Some((SHARED_WINDOW, off)) => (Target::Shared, off),
                Some((LOCAL_WINDOW, off)) => (Target::Local, off),
                Some((_, off)) => (Target::Param, off),
                None => (Target::Global, addr),
            },
        }
    }

    fn oob(&self, w: &Warp, ins: &Instr, l: usize, a: Access) -> Diagnostic {
        let Access {
            target,
            addr,
            bytes,
            write,
        } = a;
        let space = match target {
            Target::Global => "global",
            Target::Shared => "shared",
            Target::Local => "local",
            Target::Param => "param",
        };
        Diagnostic::OutOfBounds {
            address: addr,
            bytes: bytes as u32,
            write,
            space: space.into(),
            thread: w.tid[l],
            block: self.ctaid,
            line: ins.line,
        }
    }

    /// The host bytes behind one lane's access, after bounds and alignment checks.
    #[inline(always)]
    fn host_ptr(&self, w: &Warp, ins: &Instr, l: usize, a: Access) -> Res<*mut u8> {
        if a.target == Target::Param && !a.write {
            let end = a.addr.wrapping_add(a.bytes as u64);
            if end <= self.p.params.len() as u64 && end >= a.addr {
                return Ok(self.p.params.as_ptr().wrapping_add(a.addr as usize) as *mut u8);
            }
        }
        if a.target == Target::Shared {
            let end = a.addr.wrapping_add(a.bytes as u64);
            if end <= self.smem_size as u64
                && end >= a.addr
                && a.addr.is_multiple_of((a.bytes as u64).min(16))
            {
                return Ok(self.smem_ptr.wrapping_add(a.addr as usize));
            }
        }
        if a.target == Target::Global {
            // Neighbouring lanes nearly always hit the allocation the previous lane hit.
            let (base, end, host) = self.last_alloc.get();
            let bytes = a.bytes as u64;
            if a.addr >= base
                && a.addr.wrapping_add(bytes) <= end
                && a.addr.is_multiple_of(bytes.min(16))
            {
                return Ok((host + (a.addr - base) as usize) as *mut u8);
            }
        }
        self.host_ptr_slow(w, ins, l, a)
    }

    #[inline(never)]
    fn host_ptr_slow(&self, w: &Warp, ins: &Instr, l: usize, a: Access) -> Res<*mut u8> {
        let Access {
            target,
            addr,
            bytes,
            write,
        } = a;
        let align = bytes.min(16) as u64;
        if !addr.is_multiple_of(align) {
            return Err(Diagnostic::Misaligned {
                address: addr,
                bytes: bytes as u32,
                space: match target {
                    Target::Global => "global",
                    Target::Shared => "shared",
                    Target::Local => "local",
                    Target::Param => "param",
                }
                .into(),
                thread: w.tid[l],
                block: self.ctaid,
                line: ins.line,
            });
        }
        let ok = |len: usize| {
            addr.checked_add(bytes as u64)
                .is_some_and(|e| e <= len as u64)
        };
        match target {
            Target::Global => match self.p.mem.lookup_range(addr, bytes as u64) {
                Some(r) => {
                    self.last_alloc.set(r);
                    Ok((r.2 + (addr - r.0) as usize) as *mut u8)
                }
                None => Err(self.oob(w, ins, l, a)),
            },
            Target::Shared if ok(self.smem_size) => Ok(self.smem_ptr.wrapping_add(addr as usize)),
            Target::Local if ok(self.p.func.local_bytes) => {
                let base = (w.lin0 as usize + l) * self.p.func.local_bytes;
                Ok(self.local_ptr.wrapping_add(base + addr as usize))
            }
            Target::Param if !write && ok(self.p.params.len()) => {
                Ok(self.p.params.as_ptr().wrapping_add(addr as usize) as *mut u8)
            }
            _ => Err(self.oob(w, ins, l, a)),
        }
    }

    fn shared_loc(&self, offset: u64) -> SharedLoc {
        let (array, base) = self
            .p
            .func
            .shared_vars
            .iter()
            .rev()
            .find(|v| offset >= v.offset && (offset < v.offset + v.size || v.size == 0))
            .map(|v| (v.name.clone(), v.offset))
            .unwrap_or_else(|| ("shared memory".into(), 0));
        SharedLoc {
            array,
            byte_offset: offset - base,
            offset,
        }
    }

    /// Records a shared access for the race and uninitialised-read checks.
    #[inline(always)]
    fn check_shared(
        &mut self,
        w: &Warp,
        ins: &Instr,
        l: usize,
        off: u64,
        bytes: usize,
        kind: u8,
    ) -> Res<()> {
        let me = Who {
            tid: w.lin0 + l as u32,
            wep: w.wep,
            line: ins.line,
        };
        for k in 0..bytes {
            let at = off as usize + k;
            let found = match kind {
                0 => self.shadow.read(at, me),
                1 => self.shadow.write(at, me, false),
                _ => self.shadow.write(at, me, true),
            };
            if let Some(f) = found {
                return Err(self.shared_finding(w, ins, l, at, f));
            }
        }
        Ok(())
    }

    #[cold]
    fn shared_finding(&self, w: &Warp, ins: &Instr, l: usize, at: usize, f: Finding) -> Diagnostic {
        let location = self.shared_loc(at as u64);
        match f {
            Finding::Uninit => Diagnostic::UninitSharedRead {
                location,
                thread: w.tid[l],
                block: self.ctaid,
                line: ins.line,
            },
            Finding::Race(other, line_a, kinds) => Diagnostic::SharedRace {
                location,
                thread_a: self.tid_of(other),
                thread_b: w.tid[l],
                kinds: kinds.into(),
                block: self.ctaid,
                line_a,
                line: ins.line,
            },
        }
    }

    fn tid_of(&self, lin: u32) -> Dim3 {
        let (bx, by) = (self.p.block[0], self.p.block[1]);
        [lin % bx, (lin / bx) % by, lin / (bx * by)]
    }

    fn vec_len(ins: &Instr) -> usize {
        match ins.extra {
            Extra::Vec(n) => n as usize,
            _ => 1,
        }
    }

    fn load(&mut self, ins: &Instr, exec: u32, w: &mut Warp) -> Res<()> {
        let n = Self::vec_len(ins);
        let esize = ins.ty.bytes();
        let bytes = esize * n;
        let mut addrs = [0u64; 32];
        let mut target0 = Target::Global;
        lanes!(exec, l, {
            let addr = self.val(w, &ins.src[0], l);
            let (target, off) = Self::resolve(ins.space, addr);
            target0 = target;
            addrs[l] = off;
            let p = self.host_ptr(
                w,
                ins,
                l,
                Access {
                    target,
                    addr: off,
                    bytes,
                    write: false,
                },
            )?;
            if target == Target::Shared {
                self.check_shared(w, ins, l, off, bytes, 0)?;
            }
            for k in 0..n {
                // SAFETY: host_ptr checked [off, off+bytes) lies in the target memory.
                let raw = unsafe { read_raw(p.add(k * esize), esize) };
                let v = if ins.ty.signed() {
                    sx(raw, ins.ty) as u64
                } else {
                    raw
                };
                let dst = if n == 1 {
                    &ins.dst[0]
                } else {
                    match &ins.dst[0] {
                        Operand::Vector(v) => &v[k],
                        _ => &ins.dst[0],
                    }
                };
                Self::set(w, dst, l, v);
            }
        });
        self.count_access(target0, exec, &addrs, bytes);
        Ok(())
    }

    fn store(&mut self, ins: &Instr, exec: u32, w: &mut Warp) -> Res<()> {
        let n = Self::vec_len(ins);
        let esize = ins.ty.bytes();
        let bytes = esize * n;
        let mut addrs = [0u64; 32];
        let mut target0 = Target::Global;
        lanes!(exec, l, {
            let addr = self.val(w, &ins.src[0], l);
            let (target, off) = Self::resolve(ins.space, addr);
            target0 = target;
            addrs[l] = off;
            let p = self.host_ptr(
                w,
                ins,
                l,
                Access {
                    target,
                    addr: off,
                    bytes,
                    write: true,
                },
            )?;
            if target == Target::Shared {
                self.check_shared(w, ins, l, off, bytes, 1)?;
            }
            let src = ins.src.last().unwrap_or(&Operand::Sink);
            for k in 0..n {
                let o = match src {
                    Operand::Vector(v) if n > 1 => &v[k],
                    o => o,
                };
                let v = self.val(w, o, l);
                // SAFETY: host_ptr checked the range; blocks writing the same global bytes
                // concurrently is a race in the learner's kernel, as on a GPU.
                unsafe { write_raw(p.add(k * esize), esize, v) };
            }
        });
        self.count_access(target0, exec, &addrs, bytes);
        Ok(())
    }

    fn atomic(&mut self, ins: &Instr, exec: u32, w: &mut Warp) -> Res<()> {
        let Extra::Atom(aop) = ins.extra else {
            unreachable!("atom op")
        };
        let ty = ins.ty;
        let bytes = ty.bytes();
        if bytes != 4 && bytes != 8 {
            return Err(self.unsupported(ins));
        }
        let has_dst = ins.op == Op::Atom;
        let (addr_op, srcs) = (&ins.src[0], &ins.src[1..]);
        let mut addrs = [0u64; 32];
        let mut target0 = Target::Global;
        lanes!(exec, l, {
            let addr = self.val(w, addr_op, l);
            let (target, off) = Self::resolve(ins.space, addr);
            target0 = target;
            addrs[l] = off;
            let p = self.host_ptr(
                w,
                ins,
                l,
                Access {
                    target,
                    addr: off,
                    bytes,
                    write: true,
                },
            )?;
            let b = srcs.first().map(|o| self.val(w, o, l)).unwrap_or(0);
            let c = srcs.get(1).map(|o| self.val(w, o, l)).unwrap_or(0);
            let old = if target == Target::Shared {
                self.check_shared(w, ins, l, off, bytes, 2)?;
                // SAFETY: checked range in this block's own shared memory.
                let old = unsafe { read_raw(p, bytes) };
                unsafe { write_raw(p, bytes, atom_apply(aop, ty, old, b, c)) };
                old
            } else if bytes == 4 {
                // SAFETY: 4-byte aligned (checked) and inside a live allocation.
                let a = unsafe { AtomicU32::from_ptr(p as *mut u32) };
                let r = a.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |old| {
                    Some(atom_apply(aop, ty, old as u64, b, c) as u32)
                });
                r.unwrap_or_else(|v| v) as u64
            } else {
                // SAFETY: 8-byte aligned (checked) and inside a live allocation.
                let a = unsafe { AtomicU64::from_ptr(p as *mut u64) };
                let r = a.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |old| {
                    Some(atom_apply(aop, ty, old, b, c))
                });
                r.unwrap_or_else(|v| v)
            };
            if has_dst {
                let v = if ty.signed() { sx(old, ty) as u64 } else { old };
                Self::set(w, &ins.dst[0], l, v);
            }
        });
        self.count_access(target0, exec, &addrs, bytes);
        Ok(())
    }

    /// `cp.async.ca.shared.global [dst], [src], cp-size{, src-size}`: a plain copy, zero-filled
    /// past src-size.
    fn cp_async(&mut self, ins: &Instr, exec: u32, w: &mut Warp) -> Res<()> {
        let size = self.val(w, &ins.src[2], 0) as usize;
        lanes!(exec, l, {
            let dst = self.val(w, &ins.src[0], l);
            let src = self.val(w, &ins.src[1], l);
            let src_size = ins
                .src
                .get(3)
                .map(|o| self.val(w, o, l) as usize)
                .unwrap_or(size)
                .min(size);
            let (dt, doff) = Self::resolve(Space::Shared, dst);
            let d = self.host_ptr(
                w,
                ins,
                l,
                Access {
                    target: dt,
                    addr: doff,
                    bytes: size,
                    write: true,
                },
            )?;
            self.check_shared(w, ins, l, doff, size, 1)?;
            let mut buf = [0u8; 16];
            if src_size > 0 {
                let s = self.host_ptr(
                    w,
                    ins,
                    l,
                    Access {
                        target: Target::Global,
                        addr: src,
                        bytes: src_size,
                        write: false,
                    },
                )?;
                // SAFETY: both ranges checked above.
                unsafe { std::ptr::copy_nonoverlapping(s, buf.as_mut_ptr(), src_size.min(16)) };
            }
            unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), d, size.min(16)) };
        });
        Ok(())
    }

    /// The registers of a vector operand (`{%r1, %r2}`), `N` at most, for every lane.
    fn gather_vec<const N: usize>(&self, w: &Warp, o: &Operand) -> [[u64; N]; 32] {
        let mut out = [[0u64; N]; 32];
        if let Operand::Vector(parts) = o {
            for (k, p) in parts.iter().enumerate().take(N) {
                let v = self.gather(w, p);
                for l in 0..32 {
                    out[l][k] = v[l];
                }
            }
        }
        out
    }

    fn scatter_vec(w: &mut Warp, o: &Operand, regs: &[[u64; 4]; 32]) {
        if let Operand::Vector(parts) = o {
            for (k, p) in parts.iter().enumerate().take(4) {
                let v: [u64; 32] = std::array::from_fn(|l| regs[l][k]);
                Self::scatter(w, p, u32::MAX, &v);
            }
        }
    }

    /// Warp-wide matrix instructions need every lane of the warp, as on the GPU.
    fn require_full_warp(&self, ins: &Instr, exec: u32, w: &Warp) -> Res<()> {
        if exec == u32::MAX {
            return Ok(());
        }
        Err(Diagnostic::BarrierDivergence {
            block: self.ctaid,
            waiting: vec![w.tid[exec.trailing_zeros() as usize]],
            waiting_count: exec.count_ones(),
            elsewhere: vec![w.tid[(!exec).trailing_zeros() as usize]],
            elsewhere_count: (!exec).count_ones(),
            exited: false,
            line: ins.line,
        })
    }

    fn mma(&mut self, ins: &Instr, exec: u32, w: &mut Warp) -> Res<()> {
        self.require_full_warp(ins, exec, w)?;
        let Extra::Mma { k } = ins.extra else {
            unreachable!("mma shape")
        };
        let a = self.gather_vec::<4>(w, &ins.src[0]);
        let b = self.gather_vec::<2>(w, &ins.src[1]);
        let c = self.gather_vec::<4>(w, &ins.src[2]);
        let d = tensor::mma(k as usize, ins.ty2 == Ty::Bf16, &a, &b, &c);
        Self::scatter_vec(w, &ins.dst[0], &d);
        Ok(())
    }

    fn ldmatrix(&mut self, ins: &Instr, exec: u32, w: &mut Warp) -> Res<()> {
        self.require_full_warp(ins, exec, w)?;
        let Extra::Ldmatrix { num, trans } = ins.extra else {
            unreachable!("ldmatrix shape")
        };
        let mut rows = [[0u8; 16]; 32];
        for (l, row) in rows.iter_mut().enumerate().take(8 * num as usize) {
            let (target, off) = Self::resolve(ins.space, self.val(w, &ins.src[0], l));
            let p = self.host_ptr(
                w,
                ins,
                l,
                Access {
                    target,
                    addr: off,
                    bytes: 16,
                    write: false,
                },
            )?;
            if target == Target::Shared {
                self.check_shared(w, ins, l, off, 16, 0)?;
            }
            // SAFETY: host_ptr checked the 16 bytes.
            unsafe { std::ptr::copy_nonoverlapping(p, row.as_mut_ptr(), 16) };
        }
        let regs = tensor::ldmatrix(num as usize, trans, &rows);
        match &ins.dst[0] {
            Operand::Vector(_) => Self::scatter_vec(w, &ins.dst[0], &regs),
            d => {
                let v: [u64; 32] = std::array::from_fn(|l| regs[l][0]);
                Self::scatter(w, d, u32::MAX, &v);
            }
        }
        Ok(())
    }

    /// Reads `size` bytes at a generic or global address, through the same checks as `ld`.
    fn read_at(&self, w: &Warp, ins: &Instr, l: usize, addr: u64, size: usize) -> Res<u64> {
        let (target, off) = Self::resolve(Space::Generic, addr);
        let p = self.host_ptr(
            w,
            ins,
            l,
            Access {
                target,
                addr: off,
                bytes: size,
                write: false,
            },
        )?;
        // SAFETY: host_ptr checked the range.
        Ok(unsafe { read_raw(p, size) })
    }

    /// `printf` in lane order: the format string's address and the argument buffer's are in
    /// the lane's local memory, where the call left them.
    fn printf(&mut self, ins: &Instr, exec: u32, w: &mut Warp) -> Res<()> {
        let (Operand::Imm(fmt_slot), Operand::Imm(args_slot)) = (&ins.src[0], &ins.src[1]) else {
            return Err(self.unsupported(ins));
        };
        let mut text = String::new();
        lanes!(exec, l, {
            let fmt_ptr = self.read_at(w, ins, l, LOCAL_WINDOW + fmt_slot, 8)?;
            let args_ptr = self.read_at(w, ins, l, LOCAL_WINDOW + args_slot, 8)?;
            let c_string = |p: u64| -> Res<Vec<u8>> {
                let mut bytes = Vec::new();
                while bytes.len() < 4096 {
                    match self.read_at(w, ins, l, p + bytes.len() as u64, 1)? as u8 {
                        0 => break,
                        c => bytes.push(c),
                    }
                }
                Ok(bytes)
            };
            let fmt = c_string(fmt_ptr)?;
            let fault = std::cell::RefCell::new(None);
            let keep = |r: Res<u64>| match r {
                Ok(v) => Some(v),
                Err(d) => {
                    fault.borrow_mut().get_or_insert(d);
                    None
                }
            };
            let line = printf::format(
                &fmt,
                |off, size| keep(self.read_at(w, ins, l, args_ptr + off as u64, size)),
                |p| match c_string(p) {
                    Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                    Err(d) => {
                        fault.borrow_mut().get_or_insert(d);
                        String::new()
                    }
                },
            );
            if let Some(d) = fault.into_inner() {
                return Err(d);
            }
            text.push_str(&line);
            if let Operand::Imm(ret) = &ins.dst[0] {
                let (target, off) = (Target::Local, *ret);
                let p = self.host_ptr(
                    w,
                    ins,
                    l,
                    Access {
                        target,
                        addr: off,
                        bytes: 4,
                        write: true,
                    },
                )?;
                // SAFETY: host_ptr checked the 4 bytes.
                unsafe { write_raw(p, 4, line.len() as u64) };
            }
        });
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
        Ok(())
    }

    fn vec_parts(o: &Operand) -> &[Operand] {
        match o {
            Operand::Vector(v) => v,
            _ => std::slice::from_ref(o),
        }
    }

    /// wmma.load / wmma.store of a 16x16 tile, each element moved by the lane that owns it.
    fn wmma_mem(&mut self, ins: &Instr, exec: u32, w: &mut Warp) -> Res<()> {
        self.require_full_warp(ins, exec, w)?;
        let Extra::Wmma { row, .. } = ins.extra else {
            unreachable!("wmma layout")
        };
        let load = ins.op == Op::WmmaLoad;
        let (addr_op, frag, stride_op) = if load {
            (&ins.src[0], &ins.dst[0], &ins.src[1])
        } else {
            (&ins.src[0], &ins.src[1], &ins.src[2])
        };
        let parts = Self::vec_parts(frag);
        let nregs = parts.len();
        let esize = ins.ty.bytes();
        let mut regs = [[0u64; 8]; 32];
        for (k, p) in parts.iter().enumerate().take(8) {
            let v = self.gather(w, p);
            for l in 0..32 {
                regs[l][k] = v[l];
            }
        }
        for e in 0..256 {
            let (l, slot) = tensor::wmma_owner(e);
            let (i, j) = (e / 16, e % 16);
            let stride = self.val(w, stride_op, l) as u32 as u64;
            let idx = if row {
                i as u64 * stride + j as u64
            } else {
                j as u64 * stride + i as u64
            };
            let addr = self.val(w, addr_op, l).wrapping_add(idx * esize as u64);
            let (target, off) = Self::resolve(ins.space, addr);
            let p = self.host_ptr(
                w,
                ins,
                l,
                Access {
                    target,
                    addr: off,
                    bytes: esize,
                    write: !load,
                },
            )?;
            if target == Target::Shared {
                self.check_shared(w, ins, l, off, esize, if load { 0 } else { 1 })?;
            }
            // SAFETY: host_ptr checked the element's bytes.
            unsafe {
                if load {
                    tensor::wmma_put(&mut regs[l], nregs, slot, read_raw(p, esize));
                } else {
                    write_raw(p, esize, tensor::wmma_get(&regs[l], nregs, slot));
                }
            }
        }
        if load {
            for (k, p) in parts.iter().enumerate().take(8) {
                let v: [u64; 32] = std::array::from_fn(|l| regs[l][k]);
                Self::scatter(w, p, u32::MAX, &v);
            }
        }
        Ok(())
    }

    fn wmma_mma(&mut self, ins: &Instr, exec: u32, w: &mut Warp) -> Res<()> {
        self.require_full_warp(ins, exec, w)?;
        let Extra::Wmma { c_ty, .. } = ins.extra else {
            unreachable!("wmma types")
        };
        let bf = ins.ty2 == Ty::Bf16;
        let tile = |o: &Operand, ty: Ty| -> [f64; 256] {
            let parts = Self::vec_parts(o);
            let mut regs = [[0u64; 8]; 32];
            for (k, p) in parts.iter().enumerate().take(8) {
                let v = self.gather(w, p);
                for l in 0..32 {
                    regs[l][k] = v[l];
                }
            }
            std::array::from_fn(|e| {
                let (l, slot) = tensor::wmma_owner(e);
                let raw = tensor::wmma_get(&regs[l], parts.len(), slot);
                match ty {
                    Ty::F32 => f(raw) as f64,
                    _ => half_get(raw, ty == Ty::Bf16, false),
                }
            })
        };
        let ab_ty = if bf { Ty::Bf16 } else { Ty::F16 };
        let (a, b, c) = (
            tile(&ins.src[0], ab_ty),
            tile(&ins.src[1], ab_ty),
            tile(&ins.src[2], c_ty),
        );
        let parts = Self::vec_parts(&ins.dst[0]).to_vec();
        let mut regs = [[0u64; 8]; 32];
        for e in 0..256 {
            let (i, j) = (e / 16, e % 16);
            let acc = c[e] + (0..16).map(|k| a[i * 16 + k] * b[k * 16 + j]).sum::<f64>();
            let v = if ins.ty == Ty::F32 {
                fb(acc as f32)
            } else {
                half_put(acc, false)
            };
            let (l, slot) = tensor::wmma_owner(e);
            tensor::wmma_put(&mut regs[l], parts.len(), slot, v);
        }
        for (k, p) in parts.iter().enumerate().take(8) {
            let v: [u64; 32] = std::array::from_fn(|l| regs[l][k]);
            Self::scatter(w, p, u32::MAX, &v);
        }
        Ok(())
    }

    /// Coalescing (global sectors) and bank conflicts (shared) for one warp access.
    fn count_access(&mut self, target: Target, exec: u32, addrs: &[u64; 32], bytes: usize) {
        match target {
            Target::Global => {
                // Fast path: the active lanes read one contiguous run, lane after lane.
                let first = exec.trailing_zeros() as usize;
                let base = addrs[first];
                let mut contiguous = true;
                lanes!(exec, l, {
                    contiguous &= addrs[l] == base.wrapping_add(((l - first) * bytes) as u64);
                });
                let last = 31 - exec.leading_zeros() as usize;
                let dense = (exec >> first) as u64 == (1u64 << (last - first + 1)) - 1;
                if contiguous && dense && addrs[last].checked_add(bytes as u64).is_some() {
                    let end = addrs[last] + bytes as u64;
                    self.counters.global_sectors += (end - 1) / 32 - base / 32 + 1;
                    self.counters.global_sectors_min += (end - base).div_ceil(32);
                    return;
                }
                let mut sectors = [0u64; 64];
                let mut starts = [0u64; 32];
                let (mut ns, mut na) = (0, 0);
                lanes!(exec, l, {
                    let a = addrs[l];
                    starts[na] = a;
                    na += 1;
                    for s in [a / 32, (a + bytes as u64 - 1) / 32] {
                        if ns < 64 {
                            sectors[ns] = s;
                            ns += 1;
                        }
                    }
                });
                let sectors = &mut sectors[..ns];
                sectors.sort_unstable();
                let mut touched = 0;
                let mut last = u64::MAX;
                for &s in sectors.iter() {
                    if s != last {
                        touched += 1;
                        last = s;
                    }
                }
                let starts = &mut starts[..na];
                starts.sort_unstable();
                let mut distinct = 0u64;
                let mut last = u64::MAX;
                for &a in starts.iter() {
                    if a != last {
                        distinct += 1;
                        last = a;
                    }
                }
                self.counters.global_sectors += touched;
                self.counters.global_sectors_min += (distinct * bytes as u64).div_ceil(32);
            }
            Target::Shared => {
                // 128 bytes per wavefront: wide accesses are split into phases of fewer lanes.
                let per_phase = (128 / bytes.max(4)).clamp(1, 32);
                let mut phase_start = 0;
                while phase_start < 32 {
                    let phase_mask = exec & (((1u64 << per_phase) - 1) << phase_start) as u32;
                    // Fast path: no bank is asked for two different words.
                    let mut first_word = [u64::MAX; 32];
                    let mut clash = false;
                    lanes!(phase_mask, l, {
                        let word = addrs[l] / 4;
                        let slot = &mut first_word[(word % 32) as usize];
                        if *slot == u64::MAX {
                            *slot = word;
                        } else {
                            clash |= *slot != word;
                        }
                    });
                    if !clash {
                        phase_start += per_phase;
                        continue;
                    }
                    let mut words: [(u32, u64); 32] = [(0, 0); 32];
                    let mut n = 0;
                    lanes!(phase_mask, l, {
                        let word = addrs[l] / 4;
                        words[n] = ((word % 32) as u32, word);
                        n += 1;
                    });
                    let words = &mut words[..n];
                    words.sort_unstable();
                    let mut worst = 0;
                    let mut i = 0;
                    while i < n {
                        let bank = words[i].0;
                        let mut distinct = 0;
                        let mut last = u64::MAX;
                        while i < n && words[i].0 == bank {
                            if words[i].1 != last {
                                distinct += 1;
                                last = words[i].1;
                            }
                            i += 1;
                        }
                        worst = worst.max(distinct);
                    }
                    if worst > 1 {
                        self.counters.shared_bank_conflicts += worst as u64 - 1;
                    }
                    phase_start += per_phase;
                }
            }
            _ => {}
        }
    }
}

/// Reads a little-endian value of 1, 2, 4 or 8 bytes.
///
/// # Safety
/// `p` must be valid for `size` bytes.
#[inline(always)]
unsafe fn read_raw(p: *const u8, size: usize) -> u64 {
    match size {
        1 => *p as u64,
        2 => (p as *const u16).read_unaligned() as u64,
        4 => (p as *const u32).read_unaligned() as u64,
        _ => (p as *const u64).read_unaligned(),
    }
}

/// # Safety
/// `p` must be valid for `size` bytes.
#[inline(always)]
unsafe fn write_raw(p: *mut u8, size: usize, v: u64) {
    match size {
        1 => *p = v as u8,
        2 => (p as *mut u16).write_unaligned(v as u16),
        4 => (p as *mut u32).write_unaligned(v as u32),
        _ => (p as *mut u64).write_unaligned(v),
    }
}

fn atom_apply(op: AtomOp, ty: Ty, old: u64, b: u64, c: u64) -> u64 {
    let v = match op {
        AtomOp::Add => match ty {
            Ty::F32 => fb(f(old) + f(b)),
            Ty::F64 => db(d(old) + d(b)),
            _ => old.wrapping_add(b),
        },
        AtomOp::Min | AtomOp::Max => {
            let less = if ty.is_float() {
                to_f64(b, ty) < to_f64(old, ty)
            } else if ty.signed() {
                sx(b, ty) < sx(old, ty)
            } else {
                zx(b, ty) < zx(old, ty)
            };
            if (op == AtomOp::Min) == less && zx(b, ty) != zx(old, ty) {
                b
            } else {
                old
            }
        }
        AtomOp::Inc => {
            if zx(old, ty) >= zx(b, ty) {
                0
            } else {
                old + 1
            }
        }
        AtomOp::Dec => {
            if zx(old, ty) == 0 || zx(old, ty) > zx(b, ty) {
                b
            } else {
                old - 1
            }
        }
        AtomOp::And => old & b,
        AtomOp::Or => old | b,
        AtomOp::Xor => old ^ b,
        AtomOp::Exch => b,
        AtomOp::Cas => {
            if zx(old, ty) == zx(b, ty) {
                c
            } else {
                old
            }
        }
    };
    zx(v, ty)
}

/// Whether all running lanes share one pc, and which.
fn converged(w: &Warp) -> (bool, u32) {
    let (pc, mask) = min_pc(w);
    (mask == w.running, pc)
}

fn min_pc(w: &Warp) -> (u32, u32) {
    let mut best = u32::MAX;
    let mut mask = 0u32;
    lanes!(w.running, l, {
        let pc = w.pc[l];
        if pc < best {
            best = pc;
            mask = 1 << l;
        } else if pc == best {
            mask |= 1 << l;
        }
    });
    (best, mask)
}
