//! One block at a time: its warps run SIMT-style. Each step executes the instruction at the
//! lowest program counter among a warp's running lanes, for all lanes that are there: lanes
//! that branched ahead wait, so divergent paths reconverge where structured code joins.

use super::global_race::GlobalShadow;
use super::memory::Range;
use super::shadow::Shadow;
use super::LaunchParams;
use crate::ptx::ir::*;
use crate::report::{Diagnostic, Dim3, LaunchCounters};

type Res<T> = Result<T, Diagnostic>;

/// The clock model behind `%clock64` and `%globaltimer`: a 1.7 GHz SM whose counter had been
/// running a while when the launch began (as a GPU's has), about 4 cycles per warp
/// instruction, and each wave of blocks starting 20 000 cycles after the last.
const CLOCK_MHZ: u64 = 1700;
const CLOCK_START: u64 = 0x1_2345_6789;
const CYCLES_PER_INSTRUCTION: u64 = 4;
const CYCLES_PER_WAVE: u64 = 20_000;
/// `%globaltimer` counts nanoseconds since 1970 on a GPU: this is 2026-01-01.
const GLOBALTIMER_EPOCH_NS: u64 = 1_767_225_600_000_000_000;

#[derive(Default)]
struct Warp {
    /// 32 lanes per register, then 32 copies of each constant the pre-decoded steps read.
    regs: Vec<u64>,
    pc: [u32; 32],
    running: u32,
    /// Lanes that are threads of the block (all but the tail of a partial last warp).
    present: u32,
    waiting: u32,
    exited: u32,
    tid: [Dim3; 32],
    /// Linear thread index of lane 0 within the block.
    lin0: u32,
    icount: u64,
    /// `__syncwarp` count, which orders this warp's shared accesses for the race check.
    wep: u32,
    /// The predicate each lane brought to a `bar.red` (`__syncthreads_count` and friends).
    red_pred: u32,
}

pub struct BlockRunner<'a> {
    p: &'a LaunchParams<'a>,
    /// One per instruction: how the hot loop runs it.
    steps: Vec<Step>,
    /// The registers a block starts at zero (the ones a lane may read before writing).
    zeroed: Vec<u32>,
    warps: Vec<Warp>,
    _smem: Vec<u8>,
    local_buf: Vec<u8>,
    /// Taken once from `smem`/`local` (never resized): accesses write through these.
    smem_ptr: *mut u8,
    local_ptr: *mut u8,
    smem_size: usize,
    shadow: Shadow,
    ctaid: Dim3,
    /// `ctaid` as one number, x fastest.
    block_lin: u32,
    /// Plain global stores of the blocks this runner ran, for the race check.
    pub global_shadow: GlobalShadow,
    /// The piece of memory the last global access fell in.
    last_alloc: std::cell::Cell<Range>,
    /// Per instruction: the piece of memory its last whole-warp access fell in.
    site_alloc: Vec<Range>,
    pub counters: LaunchCounters,
    /// Global sectors per instruction of the kernel, for the worst access site.
    pub sites: Vec<SiteCount>,
    /// cp.async copies issued and not yet landed.
    cp: cp_async::InFlight,
}

/// Global sectors one instruction's warps touched, and the fewest they needed.
#[derive(Debug, Clone, Copy, Default)]
pub struct SiteCount {
    pub sectors: u64,
    pub min: u64,
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

// After `lanes!`, so the parts below can use it.
mod access;
mod cp_async;
mod live;
mod matrix;
mod ops;
mod print;
mod steps;

use steps::{decode_steps, Step};

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
        let (steps, consts) = decode_steps(p.func);
        let zeroed = live::live_at_entry(p.func, &steps);
        let mut regs = vec![0; (p.func.num_regs + consts.len()) * 32];
        for (k, &c) in consts.iter().enumerate() {
            let at = (p.func.num_regs + k) * 32;
            regs[at..at + 32].fill(c);
        }
        let mut warps = Vec::with_capacity(nwarps);
        for wi in 0..nwarps {
            let mut w = Warp {
                regs: regs.clone(),
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
            steps,
            zeroed,
            warps,
            smem_ptr: smem.as_mut_ptr(),
            local_ptr: local.as_mut_ptr(),
            _smem: smem,
            smem_size,
            shadow: Shadow::new(),
            local_buf: local,
            ctaid: [0; 3],
            block_lin: 0,
            global_shadow: GlobalShadow::take(),
            last_alloc: std::cell::Cell::new(Range::default()),
            site_alloc: vec![Range::default(); p.func.instrs.len().max(1)],
            counters: LaunchCounters::default(),
            sites: vec![SiteCount::default(); p.func.instrs.len()],
            cp: cp_async::InFlight::default(),
        }
    }

    fn nthreads(&self) -> usize {
        self.p.block.iter().map(|&x| x as usize).product()
    }

    pub fn run_block(&mut self, ctaid: Dim3) -> Res<()> {
        self.ctaid = ctaid;
        let [gx, gy, _] = self.p.grid;
        self.block_lin = ctaid[0] + gx * (ctaid[1] + gy * ctaid[2]);
        let nthreads = self.nthreads();
        for (wi, w) in self.warps.iter_mut().enumerate() {
            let n = (nthreads - wi * 32).min(32);
            w.running = if n == 32 { u32::MAX } else { (1u32 << n) - 1 };
            w.present = w.running;
            w.waiting = 0;
            w.exited = 0;
            w.pc = [0; 32];
            w.icount = 0;
            w.wep = 0;
            // Registers no lane reads before writing keep the last block's values unseen
            // (live.rs); the constant rows after the registers stay.
            for &r in &self.zeroed {
                w.regs[r as usize * 32..][..32].fill(0);
            }
        }
        // Shared memory keeps the last block's bytes: reading one this block did not write is
        // reported before its value is used. Local memory has no such check, so it starts at
        // zero, and results never depend on which block a worker ran before.
        // SAFETY: local_ptr owns `local_buf`, whose length this is.
        unsafe { std::ptr::write_bytes(self.local_ptr, 0, self.local_buf.len()) };
        self.shadow.start_block(self.smem_size);
        self.cp.start_block(self.smem_size, nthreads);
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
        let ins = &self.p.func.instrs[first_pc as usize];
        let reduced = match ins.extra {
            Extra::BarRed(op) if ins.op == Op::BarRed => {
                let count: u64 = self
                    .warps
                    .iter()
                    .map(|w| (w.red_pred & w.waiting).count_ones() as u64)
                    .sum();
                let total: u64 = self
                    .warps
                    .iter()
                    .map(|w| w.waiting.count_ones() as u64)
                    .sum();
                Some(match op {
                    BarRedOp::Popc => count,
                    BarRedOp::And => (count == total) as u64,
                    BarRedOp::Or => (count > 0) as u64,
                })
            }
            _ => None,
        };
        for w in &mut self.warps {
            lanes!(w.waiting, l, {
                w.pc[l] += 1;
                if let Some(v) = reduced {
                    Self::set(w, &ins.dst[0], l, v);
                }
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
                    // All 32 predicate bits at once (a loop the compiler vectorizes).
                    let row = &w.regs[p as usize * 32..][..32];
                    let mut m = 0u32;
                    for (l, &v) in row.iter().enumerate() {
                        m |= ((v & 1) as u32) << l;
                    }
                    if neg {
                        !m & active
                    } else {
                        m & active
                    }
                }
            };
            // (lanes moving to `target`, the target); the rest of `active` moves to cur + 1.
            let mut jump: (u32, u32) = (0, 0);
            let mut stop: u32 = 0;
            match self.steps[cur as usize] {
                Step::General => self.step_general(ins, exec, active, w, &mut jump, &mut stop)?,
                _ if exec == 0 => {}
                Step::Alu { op, d, a, b, c } => steps::alu(&mut w.regs, op, exec, [d, a, b, c]),
                Step::Ld(ld) => self.step_ld(ins, exec, w, &ld)?,
                Step::St(st) => self.step_st(ins, exec, w, &st)?,
                Step::Special { s, d, mask } => self.step_special(w, s, d, mask, exec),
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

    /// Control flow, barriers and everything `Step::General`: `jump` and `stop` say which
    /// lanes branch (and where) and which stop.
    fn step_general(
        &mut self,
        ins: &Instr,
        exec: u32,
        active: u32,
        w: &mut Warp,
        jump: &mut (u32, u32),
        stop: &mut u32,
    ) -> Res<()> {
        match ins.op {
            Op::Bra => {
                let Operand::Label(t) = ins.src[0] else {
                    unreachable!("branch target")
                };
                *jump = (exec, t as u32);
                if exec != 0 && exec != active {
                    self.counters.divergent_branches += 1;
                }
            }
            Op::Exit | Op::Ret => {
                w.exited |= exec;
                *stop = exec;
            }
            Op::BarSync => {
                if ins.src.len() > 1 || !matches!(ins.src.first(), Some(Operand::Imm(0)) | None) {
                    return Err(self.unsupported(ins));
                }
                w.waiting |= exec;
                *stop = exec;
            }
            Op::BarRed => {
                // bar.red.op d, 0, {!}p: the predicate is the last operand.
                if !matches!(ins.src.first(), Some(Operand::Imm(0))) || ins.src.len() != 2 {
                    return Err(self.unsupported(ins));
                }
                lanes!(exec, l, {
                    let p = self.val(w, &ins.src[1], l) & 1;
                    w.red_pred = (w.red_pred & !(1 << l)) | ((p as u32) << l);
                });
                w.waiting |= exec;
                *stop = exec;
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
            Special::SmId => self.block_lin % super::sm_count(),
            Special::NSmId => super::sm_count(),
            Special::GridId => 1,
            Special::LaneMaskLt => (1u32 << lane) - 1,
            Special::LaneMaskLe => ((1u64 << (lane + 1)) - 1) as u32,
            Special::LaneMaskGt => !(((1u64 << (lane + 1)) - 1) as u32),
            Special::LaneMaskGe => !((1u32 << lane) - 1),
            Special::LaneMaskEq => 1 << lane,
            Special::Clock => self.cycles(w) as u32,
            Special::Clock64 => return self.cycles(w),
            Special::GlobalTimer => {
                return GLOBALTIMER_EPOCH_NS + self.cycles(w) * 1000 / CLOCK_MHZ;
            }
            Special::DynSmemSize => p.dyn_smem as u32,
            Special::TotalSmemSize => self.smem_size as u32,
        }) as u64
    }

    /// The SM's cycle counter as this warp would read it: a start that grows with the wave
    /// of blocks this one belongs to, plus `CYCLES_PER_INSTRUCTION` for each warp instruction
    /// so far. Deterministic, yet it moves like a GPU clock (a timed loop sees a plausible
    /// count, not an instruction tally).
    fn cycles(&self, w: &Warp) -> u64 {
        let wave = (self.block_lin / super::sm_count()) as u64;
        CLOCK_START + wave * CYCLES_PER_WAVE + w.icount * CYCLES_PER_INSTRUCTION
    }

    #[inline(always)]
    fn set(w: &mut Warp, o: &Operand, l: usize, v: u64) {
        if let Operand::Reg(r) = o {
            w.regs[*r as usize * 32 + l] = v;
        }
    }
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
