//! Which registers a block must start at zero. A new block's registers begin at zero, so its
//! results never depend on the block a worker ran before; but most kernels write every
//! register before reading it, and zeroing all of them for every warp of every block cost
//! more than a vector add's arithmetic. A register some lane could read before writing it
//! (live at the entry, by the usual backward liveness over the branch graph) is zeroed;
//! the others hold the last block's values, which no lane can see.
//!
//! Each lane runs some path through the body, so the analysis is per lane; what it counts as
//! a write is only what surely writes the register for every lane that executes it: an
//! unguarded instruction the decoded steps run (`Alu`, `Ld`, `Special`). Everything that
//! goes through `exec` counts as reading all its registers and writing none: shuffles and
//! votes read other lanes' registers, and a lane another lane reads may never have written
//! its own (an exited lane, the tail of a partial warp).

use super::Step;
use crate::ptx::ir::*;

/// The registers (as numbers) live at the kernel's entry, in increasing order.
pub(super) fn live_at_entry(func: &Function, steps: &[Step]) -> Vec<u32> {
    let nregs = func.num_regs;
    let words = nregs.div_ceil(64).max(1);
    let n = func.instrs.len();
    // Per instruction: registers it reads, registers it surely writes.
    let mut uses = vec![0u64; n * words];
    let mut defs = vec![0u64; n * words];
    for (i, ins) in func.instrs.iter().enumerate() {
        let set = |bits: &mut [u64], r: u32| {
            if (r as usize) < nregs {
                bits[r as usize / 64] |= 1 << (r % 64);
            }
        };
        let u = &mut uses[i * words..][..words];
        if let Some((p, _)) = ins.guard {
            set(u, p);
        }
        for o in &ins.src {
            each_reg(o, &mut |r| set(u, r));
        }
        let decoded = matches!(
            steps[i],
            Step::Alu { .. } | Step::Ld(_) | Step::Special { .. }
        );
        if decoded && ins.guard.is_none() {
            let d = &mut defs[i * words..][..words];
            for o in &ins.dst {
                each_reg(o, &mut |r| set(d, r));
            }
        } else {
            for o in &ins.dst {
                each_reg(o, &mut |r| set(u, r));
            }
        }
    }
    // live_in(i) = uses(i) | (live_out(i) & !defs(i)), live_out(i) = union of the
    // successors' live_in; iterated backwards until nothing changes (loops take a few rounds).
    let mut live = vec![0u64; (n + 1) * words];
    let mut changed = true;
    while changed {
        changed = false;
        for i in (0..n).rev() {
            let ins = &func.instrs[i];
            let mut out = vec![0u64; words];
            let mut add = |s: usize| {
                for k in 0..words {
                    out[k] |= live[s.min(n) * words + k];
                }
            };
            match ins.op {
                Op::Bra => {
                    if let Some(Operand::Label(t)) = ins.src.first() {
                        add(*t);
                    }
                    if ins.guard.is_some() {
                        add(i + 1);
                    }
                }
                Op::Exit | Op::Ret if ins.guard.is_none() => {}
                _ => add(i + 1),
            }
            for k in 0..words {
                let v = uses[i * words + k] | (out[k] & !defs[i * words + k]);
                if v != live[i * words + k] {
                    live[i * words + k] = v;
                    changed = true;
                }
            }
        }
    }
    (0..nregs as u32)
        .filter(|&r| live[r as usize / 64] >> (r % 64) & 1 == 1)
        .collect()
}

fn each_reg(o: &Operand, f: &mut impl FnMut(u32)) {
    match o {
        Operand::Reg(r) | Operand::Addr(Base::Reg(r), _) => f(*r),
        Operand::Vector(v) => v.iter().for_each(|o| each_reg(o, f)),
        _ => {}
    }
}
