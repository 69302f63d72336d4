//! The hot loop's pre-decoded instructions. Each instruction of the kernel is looked at once
//! per launch: the common arithmetic and memory forms become a `Step` whose operands are
//! offsets of 32-lane rows in `Warp::regs` (immediates get constant rows of their own after
//! the registers), so running one reads and writes the warp's registers in place, with no
//! per-lane look at operand kinds. Anything else stays `General` and goes through `exec`,
//! which looks at the instruction itself. A step does what `exec` would do for that
//! instruction, checks, counters and diagnostics included.

use super::{Access, BlockRunner, Res, Target, Warp};
use crate::exec::fast;
use crate::exec::num::sx;
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

fn decode_mem(ins: &Instr, row: &mut impl FnMut(&Operand) -> Option<u32>) -> Option<Step> {
    let n = BlockRunner::vec_len(ins);
    let esize = ins.ty.bytes();
    if !matches!(n, 1 | 2 | 4) || esize > 8 {
        return None;
    }
    let (addr, off) = match ins.src.first()? {
        Operand::Addr(Base::Reg(r), off) => (r * 32, *off),
        // A named variable: one address for every lane.
        Operand::Addr(Base::Imm(a), off) => (row(&Operand::Imm(a.wrapping_add(*off as u64)))?, 0),
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
    /// `load` for a decoded `ld`, specialised by state space.
    pub(super) fn step_ld(&mut self, ins: &Instr, exec: u32, w: &mut Warp, m: &Mem) -> Res<()> {
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
        let mut addrs = [0u64; 32];
        let mut target0 = Target::Global;
        lanes!(exec, l, {
            let addr = w.regs[m.addr as usize + l].wrapping_add(m.off as u64);
            let (target, off) = Self::resolve(space, addr);
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
        let mut addrs = [0u64; 32];
        let mut target0 = Target::Global;
        lanes!(exec, l, {
            let addr = w.regs[m.addr as usize + l].wrapping_add(m.off as u64);
            let (target, off) = Self::resolve(space, addr);
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
}
