//! The hot loop's pre-decoded instructions. Each instruction of the kernel is looked at once
//! per launch: the common arithmetic and memory forms become a `Step` whose operands are
//! offsets of 32-lane rows in `Warp::regs` (immediates get constant rows of their own after
//! the registers), so running one reads and writes the warp's registers in place, with no
//! per-lane look at operand kinds. Anything else stays `General` and goes through `exec`,
//! which looks at the instruction itself. A step does what `exec` would do for that
//! instruction, checks, counters and diagnostics included.

use super::{Access, BlockRunner, Res, Target, Warp};
use crate::exec::fast::{self, Lanes};
use crate::exec::num::sx;
use crate::exec::shadow::Who;
use crate::ptx::ir::*;

#[derive(Clone, Copy)]
pub(super) enum Step {
    /// Everything else: `exec` looks at the instruction.
    General,
    /// A whole-warp arithmetic, logic, comparison or move: `d = op(a, b, c)`.
    Alu {
        op: fast::AluOp,
        d: u32,
        a: u32,
        b: u32,
        c: u32,
    },
    Ld(Mem),
    St(Mem),
    /// `mov d, %special` into a 32- or 64-bit register: the value masked to the type.
    Special {
        s: Special,
        d: u32,
        mask: u64,
    },
}

/// `ld`/`st` of 1, 2 or 4 elements of up to 8 bytes at `[row + off]`.
#[derive(Clone, Copy)]
pub(super) struct Mem {
    space: Space,
    /// The address row and the offset added to it.
    addr: u32,
    off: i64,
    esize: u8,
    n: u8,
    /// Loads: sign-extend each element.
    signed: bool,
    /// The address is a constant row (a named variable): the same for every lane.
    uniform: bool,
    ty: Ty,
    /// Per element: the destination (ld) or source (st) row.
    rows: [u32; 4],
}

/// The steps for `func`'s instructions and the values of the constant rows that follow its
/// registers.
pub(super) fn decode_steps(func: &Function) -> (Vec<Step>, Vec<u64>) {
    let mut consts: Vec<u64> = Vec::new();
    let base = func.num_regs;
    let mut row = |o: &Operand| -> Option<u32> {
        Some(match *o {
            Operand::Reg(r) => r * 32,
            Operand::Imm(v) => {
                let i = consts.iter().position(|&c| c == v).unwrap_or_else(|| {
                    consts.push(v);
                    consts.len() - 1
                });
                ((base + i) * 32) as u32
            }
            _ => return None,
        })
    };
    let steps = func
        .instrs
        .iter()
        .map(|ins| match ins.op {
            Op::Ld | Op::St => decode_mem(ins, &mut row).unwrap_or(Step::General),
            Op::Mov => decode_special(ins)
                .or_else(|| decode_alu(ins, &mut row))
                .unwrap_or(Step::General),
            _ => decode_alu(ins, &mut row).unwrap_or(Step::General),
        })
        .collect();
    (steps, consts)
}

/// The same instructions `exec` gives to `fast::compute`, with register destinations and
/// register or immediate sources.
fn decode_alu(ins: &Instr, row: &mut impl FnMut(&Operand) -> Option<u32>) -> Option<Step> {
    let op = fast::decode(ins)?;
    let Some(Operand::Reg(d)) = ins.dst.first() else {
        return None;
    };
    if ins.src.len() > 3 {
        return None;
    }
    let mut src = [0u32; 3];
    for (k, o) in ins.src.iter().enumerate() {
        src[k] = row(o)?;
    }
    Some(Step::Alu {
        op,
        d: d * 32,
        a: src[0],
        b: src[1],
        c: src[2],
    })
}

/// `mov.u32 %r, %tid.x` and friends (the general path would look at the operand per lane).
fn decode_special(ins: &Instr) -> Option<Step> {
    let (Some(Operand::Reg(d)), Some(Operand::Special(s))) = (ins.dst.first(), ins.src.first())
    else {
        return None;
    };
    let mask = match ins.ty.bytes() {
        4 if ins.ty != Ty::Pred => 0xffff_ffff,
        8 => u64::MAX,
        _ => return None,
    };
    Some(Step::Special {
        s: *s,
        d: d * 32,
        mask,
    })
}

fn decode_mem(ins: &Instr, row: &mut impl FnMut(&Operand) -> Option<u32>) -> Option<Step> {
    let n = BlockRunner::vec_len(ins);
    let esize = ins.ty.bytes();
    if !matches!(n, 1 | 2 | 4) || esize > 8 {
        return None;
    }
    let (addr, off, uniform) = match ins.src.first()? {
        Operand::Addr(Base::Reg(r), off) => (r * 32, *off, false),
        // A named variable: one address for every lane.
        Operand::Addr(Base::Imm(a), off) => {
            (row(&Operand::Imm(a.wrapping_add(*off as u64)))?, 0, true)
        }
        _ => return None,
    };
    let data = match ins.op {
        Op::Ld if ins.src.len() == 1 => ins.dst.first()?,
        Op::St if ins.src.len() == 2 && ins.dst.is_empty() => &ins.src[1],
        _ => return None,
    };
    let parts = match data {
        Operand::Vector(parts) if n > 1 && parts.len() == n => &parts[..],
        o if n == 1 => std::slice::from_ref(o),
        _ => return None,
    };
    let mut rows = [0u32; 4];
    for (k, p) in parts.iter().enumerate() {
        // Loads write registers; stores read registers or immediates.
        if ins.op == Op::Ld && !matches!(p, Operand::Reg(_)) {
            return None;
        }
        rows[k] = row(p)?;
    }
    let m = Mem {
        space: ins.space,
        addr,
        off,
        esize: esize as u8,
        n: n as u8,
        signed: ins.ty.signed(),
        uniform,
        ty: ins.ty,
        rows,
    };
    Some(if ins.op == Op::Ld {
        Step::Ld(m)
    } else {
        Step::St(m)
    })
}

/// Runs an ALU step on the warp's registers: all 32 lanes computed from the rows in place, the
/// executing lanes' results stored (`rows` = destination, then sources).
#[inline(always)]
pub(super) fn alu(regs: &mut [u64], op: fast::AluOp, exec: u32, rows: [u32; 4]) {
    #[cfg(target_arch = "x86_64")]
    if fast::has_avx2() {
        // SAFETY: the CPU has AVX2 and FMA.
        unsafe { alu_avx2(regs, op, exec, rows) };
        return;
    }
    alu_lanes(regs, op, exec, rows)
}

/// The same loops compiled for AVX2 (4 lanes of 64 bits per instruction, against SSE2's 2):
/// integer and IEEE results are the same on every x86-64, NaNs are chosen by `num`'s rules.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn alu_avx2(regs: &mut [u64], op: fast::AluOp, exec: u32, rows: [u32; 4]) {
    alu_lanes(regs, op, exec, rows)
}

#[inline(always)]
fn alu_lanes(regs: &mut [u64], op: fast::AluOp, exec: u32, rows: [u32; 4]) {
    let [d, a, b, c] = rows.map(|r| r as usize);
    let mut out = [0u64; 32];
    {
        let row = |r: usize| -> &fast::Lanes { regs[r..r + 32].try_into().expect("a row") };
        fast::run(op, row(a), row(b), row(c), &mut out);
    }
    let dst: &mut fast::Lanes = (&mut regs[d..d + 32]).try_into().expect("a row");
    if exec == u32::MAX {
        *dst = out;
    } else {
        for l in 0..32 {
            if exec >> l & 1 == 1 {
                dst[l] = out[l];
            }
        }
    }
}

impl BlockRunner<'_> {
    /// A special register into a row: the lane-dependent ones per lane, the rest (the same
    /// for every lane of the warp) computed once.
    pub(super) fn step_special(&self, w: &mut Warp, s: Special, d: u32, mask: u64, exec: u32) {
        let d = d as usize;
        let per_lane = matches!(
            s,
            Special::Tid(_)
                | Special::LaneId
                | Special::LaneMaskLt
                | Special::LaneMaskLe
                | Special::LaneMaskGt
                | Special::LaneMaskGe
                | Special::LaneMaskEq
        );
        if per_lane {
            lanes!(exec, l, {
                w.regs[d + l] = self.special(w, s, l) & mask;
            });
        } else {
            let v = self.special(w, s, 0) & mask;
            fill_row(&mut w.regs[d..][..32], exec, v);
        }
    }

    /// `load` for a decoded `ld`, specialised by state space.
    pub(super) fn step_ld(&mut self, ins: &Instr, exec: u32, w: &mut Warp, m: &Mem) -> Res<()> {
        #[cfg(target_arch = "x86_64")]
        if fast::has_avx2() {
            // SAFETY: the CPU has AVX2.
            return unsafe { self.step_ld_avx2(ins, exec, w, m) };
        }
        self.step_ld_any(ins, exec, w, m)
    }

    /// The same compiled for AVX2: the 32-lane address loops (bounds, alignment, banks)
    /// compare and mask 4 lanes at once, where SSE2 has no 64-bit compare at all.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn step_ld_avx2(&mut self, ins: &Instr, exec: u32, w: &mut Warp, m: &Mem) -> Res<()> {
        self.step_ld_any(ins, exec, w, m)
    }

    #[inline(always)]
    fn step_ld_any(&mut self, ins: &Instr, exec: u32, w: &mut Warp, m: &Mem) -> Res<()> {
        match m.space {
            Space::Shared => self.ld_lanes(ins, exec, w, m, Space::Shared),
            Space::Global => self.ld_lanes(ins, exec, w, m, Space::Global),
            space => self.ld_lanes(ins, exec, w, m, space),
        }
    }

    #[inline(always)]
    fn ld_lanes(&mut self, ins: &Instr, exec: u32, w: &mut Warp, m: &Mem, space: Space) -> Res<()> {
        let (n, esize) = (m.n as usize, m.esize as usize);
        let bytes = esize * n;
        if m.uniform && space == Space::Param {
            // A kernel parameter: read once for the warp (no checks or counters but bounds).
            let addr = w.regs[m.addr as usize].wrapping_add(m.off as u64);
            let params = self.p.params;
            if addr
                .checked_add(bytes as u64)
                .is_some_and(|e| e <= params.len() as u64)
            {
                for k in 0..n {
                    let at = addr as usize + k * esize;
                    // SAFETY: [addr, addr + bytes) lies in the parameter buffer.
                    let raw = unsafe { super::access::read_raw(params.as_ptr().add(at), esize) };
                    let v = if m.signed { sx(raw, m.ty) as u64 } else { raw };
                    fill_row(&mut w.regs[m.rows[k] as usize..][..32], exec, v);
                }
                return Ok(());
            }
        }
        let addrs = lane_addrs(w, m);
        if let Some((target, host)) = self.warp_span(ins, space, exec, &addrs, bytes, false) {
            let span = Span {
                target,
                host,
                addrs: &addrs,
            };
            // The commonest shapes with their sizes fixed, so the lane loop has no size match.
            match (esize, n) {
                (4, 1) => self.ld_span(ins, exec, w, m, span, 4, 1)?,
                (4, 2) => self.ld_span(ins, exec, w, m, span, 4, 2)?,
                (4, 4) => self.ld_span(ins, exec, w, m, span, 4, 4)?,
                (8, 1) => self.ld_span(ins, exec, w, m, span, 8, 1)?,
                _ => self.ld_span(ins, exec, w, m, span, esize, n)?,
            }
            // A shared access within one 128-byte row has no bank conflict to count.
            if target != Target::Shared || !super::access::in_one_row(exec, &addrs) {
                self.count_access(ins, target, exec, &addrs, bytes);
            }
            return Ok(());
        }
        let mut addrs = addrs;
        let mut target0 = Target::Global;
        lanes!(exec, l, {
            let (target, off) = Self::resolve(space, addrs[l]);
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
                let raw = unsafe { super::access::read_raw(p.add(k * esize), esize) };
                let v = if m.signed { sx(raw, m.ty) as u64 } else { raw };
                w.regs[m.rows[k] as usize + l] = v;
            }
        });
        self.count_access(ins, target0, exec, &addrs, bytes);
        Ok(())
    }

    /// `store` for a decoded `st`, specialised by state space.
    pub(super) fn step_st(&mut self, ins: &Instr, exec: u32, w: &mut Warp, m: &Mem) -> Res<()> {
        #[cfg(target_arch = "x86_64")]
        if fast::has_avx2() {
            // SAFETY: the CPU has AVX2.
            return unsafe { self.step_st_avx2(ins, exec, w, m) };
        }
        self.step_st_any(ins, exec, w, m)
    }

    /// The same compiled for AVX2: the 32-lane address loops (bounds, alignment, banks)
    /// compare and mask 4 lanes at once, where SSE2 has no 64-bit compare at all.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn step_st_avx2(&mut self, ins: &Instr, exec: u32, w: &mut Warp, m: &Mem) -> Res<()> {
        self.step_st_any(ins, exec, w, m)
    }

    #[inline(always)]
    fn step_st_any(&mut self, ins: &Instr, exec: u32, w: &mut Warp, m: &Mem) -> Res<()> {
        match m.space {
            Space::Shared => self.st_lanes(ins, exec, w, m, Space::Shared),
            Space::Global => self.st_lanes(ins, exec, w, m, Space::Global),
            space => self.st_lanes(ins, exec, w, m, space),
        }
    }

    #[inline(always)]
    fn st_lanes(&mut self, ins: &Instr, exec: u32, w: &mut Warp, m: &Mem, space: Space) -> Res<()> {
        let (n, esize) = (m.n as usize, m.esize as usize);
        let bytes = esize * n;
        let addrs = lane_addrs(w, m);
        if let Some((target, host)) = self.warp_span(ins, space, exec, &addrs, bytes, true) {
            let span = Span {
                target,
                host,
                addrs: &addrs,
            };
            match (esize, n) {
                (4, 1) => self.st_span(ins, exec, w, m, span, 4, 1)?,
                (4, 2) => self.st_span(ins, exec, w, m, span, 4, 2)?,
                (4, 4) => self.st_span(ins, exec, w, m, span, 4, 4)?,
                (8, 1) => self.st_span(ins, exec, w, m, span, 8, 1)?,
                _ => self.st_span(ins, exec, w, m, span, esize, n)?,
            }
            // A shared access within one 128-byte row has no bank conflict to count.
            if target != Target::Shared || !super::access::in_one_row(exec, &addrs) {
                self.count_access(ins, target, exec, &addrs, bytes);
            }
            return Ok(());
        }
        let mut addrs = addrs;
        let mut target0 = Target::Global;
        lanes!(exec, l, {
            let (target, off) = Self::resolve(space, addrs[l]);
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
            for k in 0..n {
                let v = w.regs[m.rows[k] as usize + l];
                if target == Target::Global {
                    self.record_global_write(w, ins, l, off + (k * esize) as u64, esize, v)?;
                }
                // SAFETY: host_ptr checked the range; blocks writing the same global bytes
                // concurrently is a race in the learner's kernel, as on a GPU.
                unsafe { super::access::write_raw(p.add(k * esize), esize, v) };
            }
        });
        self.count_access(ins, target0, exec, &addrs, bytes);
        Ok(())
    }

    /// A load whose lanes `warp_span` checked: each lane's shared-memory record (for the
    /// race and uninitialised-read checks, in lane order as before), then its elements.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn ld_span(
        &mut self,
        ins: &Instr,
        exec: u32,
        w: &mut Warp,
        m: &Mem,
        span: Span,
        esize: usize,
        n: usize,
    ) -> Res<()> {
        let bytes = esize * n;
        // The shared records first, lane by lane as before; then the data. (A lane at fault
        // ends the launch, so which earlier lanes' registers were written does not show.)
        if span.target == Target::Shared {
            self.check_shared_warp(w, ins, exec, span.addrs, bytes, 0)?;
        }
        let read = |l: usize, k: usize| {
            let p = span.host.wrapping_add(span.addrs[l & 31] as usize) as *const u8;
            // SAFETY: warp_span checked every lane's [addr, addr+bytes) lies in one piece of
            // the target memory.
            let raw = unsafe { super::access::read_raw(p.add(k * esize), esize) };
            if m.signed {
                sx(raw, m.ty) as u64
            } else {
                raw
            }
        };
        if n == 1 && !m.signed {
            // One destination row, borrowed once (no bounds check per lane); a whole warp
            // without the lane mask's loop.
            let row = m.rows[0] as usize;
            let dst: &mut Lanes = (&mut w.regs[row..row + 32]).try_into().expect("a row");
            let raw = |l: usize| {
                let p = span.host.wrapping_add(span.addrs[l] as usize) as *const u8;
                // SAFETY: as in `read`.
                unsafe { super::access::read_raw(p, esize) }
            };
            if exec == u32::MAX {
                for l in 0..32 {
                    dst[l] = raw(l);
                }
            } else {
                lanes!(exec, l, {
                    dst[l & 31] = raw(l & 31);
                });
            }
        } else if n == 1 {
            let row = m.rows[0] as usize;
            let dst: &mut Lanes = (&mut w.regs[row..row + 32]).try_into().expect("a row");
            lanes!(exec, l, {
                dst[l & 31] = read(l, 0);
            });
        } else {
            lanes!(exec, l, {
                for k in 0..n {
                    w.regs[m.rows[k] as usize + l] = read(l, k);
                }
            });
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn st_span(
        &mut self,
        ins: &Instr,
        exec: u32,
        w: &mut Warp,
        m: &Mem,
        span: Span,
        esize: usize,
        n: usize,
    ) -> Res<()> {
        let bytes = esize * n;
        // Shared: the records first, lane by lane as before, then the data (a lane at fault
        // ends the launch; the block's shared memory is seen by no one after).
        if span.target == Target::Shared {
            self.check_shared_warp(w, ins, exec, span.addrs, bytes, 1)?;
        }
        if span.target == Target::Global && self.record_global_run(ins, exec, w, m, &span, esize, n)
        {
            lanes!(exec, l, {
                let p = span.host.wrapping_add(span.addrs[l & 31] as usize) as *mut u8;
                for k in 0..n {
                    // SAFETY: as below.
                    unsafe {
                        super::access::write_raw(
                            p.add(k * esize),
                            esize,
                            w.regs[m.rows[k] as usize + l],
                        )
                    };
                }
            });
            return Ok(());
        }
        lanes!(exec, l, {
            let a = span.addrs[l];
            let p = span.host.wrapping_add(a as usize) as *mut u8;
            for k in 0..n {
                let v = w.regs[m.rows[k] as usize + l];
                if span.target == Target::Global {
                    self.record_global_write(w, ins, l, a + (k * esize) as u64, esize, v)?;
                }
                // SAFETY: warp_span checked the lanes' ranges; blocks writing the same global
                // bytes concurrently is a race in the learner's kernel, as on a GPU.
                unsafe { super::access::write_raw(p.add(k * esize), esize, v) };
            }
        });
        Ok(())
    }

    /// `check_shared` for each executing lane in turn, for an access `warp_span` checked.
    #[inline(always)]
    fn check_shared_warp(
        &mut self,
        w: &Warp,
        ins: &Instr,
        exec: u32,
        addrs: &Lanes,
        bytes: usize,
        kind: u8,
    ) -> Res<()> {
        if self.cp.live != 0 || !bytes.is_multiple_of(4) {
            lanes!(exec, l, {
                self.check_shared(w, ins, l, addrs[l], bytes, kind)?;
            });
            return Ok(());
        }
        let me = Who {
            tid: w.lin0,
            wep: w.wep,
            line: ins.line,
        };
        match self.shadow.access_warp(exec, addrs, bytes, kind, me) {
            None => Ok(()),
            Some((l, at, f)) => Err(self.shared_finding(w, ins, l, at, f)),
        }
    }

    /// A warp's global store as one record when its lanes are consecutive threads storing one
    /// contiguous run (lane after lane, element after element) where nothing was stored
    /// before in this worker's records: then no store of it can race, and `record_global_write`
    /// lane by lane would find just that. False (nothing recorded) otherwise.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn record_global_run(
        &mut self,
        ins: &Instr,
        exec: u32,
        w: &Warp,
        m: &Mem,
        span: &Span,
        esize: usize,
        n: usize,
    ) -> bool {
        let first = exec.trailing_zeros() as usize;
        let lanes = exec.count_ones() as usize;
        if exec >> first != u32::MAX >> (32 - lanes) {
            return false;
        }
        let base = span.addrs[first];
        let bytes = (esize * n) as u64;
        let mut off = 0u64;
        for l in first..first + lanes {
            off |= span.addrs[l] ^ base.wrapping_add((l - first) as u64 * bytes);
        }
        if off != 0 {
            return false;
        }
        let mask = if esize >= 8 {
            u64::MAX
        } else {
            (1u64 << (esize * 8)) - 1
        };
        let me = crate::exec::global_race::Writer {
            block: self.block_lin,
            tid: w.lin0 + first as u32,
            line: ins.line,
        };
        let epoch = self.shadow.epoch;
        let regs = &w.regs;
        let value = |j: usize| regs[m.rows[j % n] as usize + first + j / n] & mask;
        self.global_shadow
            .write_run(base, esize, n, lanes * n, value, me, epoch, w.wep)
    }

    /// The whole warp's access at once: when the space is fixed (not generic or local) and
    /// every executing lane's `[addr, addr + bytes)` is aligned and inside one piece of that
    /// memory (the piece the last access hit, or the one holding the lanes' span), the target
    /// and the host address of offset 0, so no lane needs its own bounds check. None sends
    /// the access down the per-lane path, which finds the first lane at fault as before.
    #[inline(always)]
    fn warp_span(
        &mut self,
        ins: &Instr,
        space: Space,
        exec: u32,
        addrs: &Lanes,
        bytes: usize,
        write: bool,
    ) -> Option<(Target, usize)> {
        let target = match space {
            Space::Global | Space::Const => Target::Global,
            Space::Shared => Target::Shared,
            Space::Param if !write => Target::Param,
            _ => return None,
        };
        let align = bytes.min(16) as u64;
        if !align.is_power_of_two() {
            return None;
        }
        // Every executing lane at or after `base` and ending by `end`, and aligned: two
        // accumulations without branches.
        let inside = |base: u64, end: u64| -> bool {
            let Some(last) = end.checked_sub(bytes as u64) else {
                return false;
            };
            let (mut out, mut or) = (0u64, 0u64);
            for l in 0..32 {
                let on = (exec >> l & 1) as u64;
                let a = addrs[l];
                out |= on & ((a < base) | (a > last)) as u64;
                or |= a & on.wrapping_neg();
            }
            out == 0 && or & (align - 1) == 0
        };
        match target {
            Target::Shared => {
                inside(0, self.smem_size as u64).then_some((target, self.smem_ptr as usize))
            }
            Target::Param => inside(0, self.p.params.len() as u64)
                .then_some((target, self.p.params.as_ptr() as usize)),
            _ => {
                // Each instruction remembers the piece its last warp hit: kernels read and
                // write several buffers in turn, and one instruction nearly always the same.
                let site = self.site_index(ins).unwrap_or(0);
                let mut r = self.site_alloc[site];
                if !inside(r.base, r.end) {
                    // Another piece (the next buffer): the one holding the lanes' span.
                    let first = addrs[exec.trailing_zeros() as usize];
                    let (mut lo, mut hi) = (first, first);
                    lanes!(exec, l, {
                        lo = lo.min(addrs[l]);
                        hi = hi.max(addrs[l]);
                    });
                    let end = hi.checked_add(bytes as u64)?;
                    r = self.p.mem.lookup_range(lo, end - lo)?;
                    self.site_alloc[site] = r;
                    if !inside(r.base, r.end) {
                        return None;
                    }
                }
                if write && r.readonly {
                    return None;
                }
                Some((target, r.host.wrapping_sub(r.base as usize)))
            }
        }
    }
}

/// `v` into the executing lanes of a register row.
#[inline(always)]
fn fill_row(row: &mut [u64], exec: u32, v: u64) {
    if exec == u32::MAX {
        row.fill(v);
    } else {
        lanes!(exec, l, {
            row[l] = v;
        });
    }
}

/// A warp access `warp_span` let through: lane address `a` is at host address `host + a`.
#[derive(Clone, Copy)]
struct Span<'a> {
    target: Target,
    host: usize,
    addrs: &'a Lanes,
}

/// Every lane's address `[row + off]`, executing or not (a loop the compiler vectorizes).
#[inline(always)]
fn lane_addrs(w: &Warp, m: &Mem) -> Lanes {
    let row: &Lanes = w.regs[m.addr as usize..][..32].try_into().expect("a row");
    let mut addrs = [0u64; 32];
    for l in 0..32 {
        addrs[l] = row[l].wrapping_add(m.off as u64);
    }
    addrs
}
