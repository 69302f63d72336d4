//! Memory instructions: resolving addresses to a state space, bounds and alignment checks,
//! shared-memory race bookkeeping, and the coalescing and bank-conflict counters.

use super::{Access, BlockRunner, Res, Target, Warp};
use crate::exec::memory::{window, LOCAL_WINDOW, SHARED_WINDOW};
use crate::exec::num::*;
use crate::exec::shadow::{Finding, Who};
use crate::ptx::ir::*;
use crate::report::{Diagnostic, Dim3, SharedLoc};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

impl BlockRunner<'_> {
    /// Resolves a lane's address to its state space and the offset within it.
    #[inline(always)]
    pub(super) fn resolve(space: Space, addr: u64) -> (Target, u64) {
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

    pub(super) fn oob(&self, w: &Warp, ins: &Instr, l: usize, a: Access) -> Diagnostic {
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
    pub(super) fn host_ptr(&self, w: &Warp, ins: &Instr, l: usize, a: Access) -> Res<*mut u8> {
        if a.target == Target::Param && !a.write {
            let end = a.addr.wrapping_add(a.bytes as u64);
            if end <= self.p.params.len() as u64 && end >= a.addr {
                return Ok(self.p.params.as_ptr().wrapping_add(a.addr as usize) as *mut u8);
            }
        }
        if a.target == Target::Shared {
            let end = a.addr.wrapping_add(a.bytes as u64);
            if end <= self.smem_size as u64 && end >= a.addr && aligned(a.addr, a.bytes) {
                return Ok(self.smem_ptr.wrapping_add(a.addr as usize));
            }
        }
        if a.target == Target::Global {
            // Neighbouring lanes nearly always hit the allocation the previous lane hit.
            let r = self.last_alloc.get();
            let bytes = a.bytes as u64;
            if a.addr >= r.base
                && a.addr.checked_add(bytes).is_some_and(|e| e <= r.end)
                && aligned(a.addr, a.bytes)
                && !(a.write && r.readonly)
            {
                return Ok((r.host + (a.addr - r.base) as usize) as *mut u8);
            }
        }
        self.host_ptr_slow(w, ins, l, a)
    }

    #[inline(never)]
    pub(super) fn host_ptr_slow(&self, w: &Warp, ins: &Instr, l: usize, a: Access) -> Res<*mut u8> {
        let Access {
            target,
            addr,
            bytes,
            write,
        } = a;
        if !aligned(addr, bytes) {
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
                Some(r) if write && r.readonly => Err(Diagnostic::WriteToInput {
                    address: addr,
                    bytes: bytes as u32,
                    thread: w.tid[l],
                    block: self.ctaid,
                    line: ins.line,
                }),
                Some(r) => {
                    self.last_alloc.set(r);
                    Ok((r.host + (addr - r.base) as usize) as *mut u8)
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

    pub(super) fn shared_loc(&self, offset: u64) -> SharedLoc {
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
    pub(super) fn check_shared(
        &mut self,
        w: &Warp,
        ins: &Instr,
        l: usize,
        off: u64,
        bytes: usize,
        kind: u8,
    ) -> Res<()> {
        if self.cp.live != 0 {
            self.cp_async_pending(w, ins, l, off, bytes, kind)?;
        }
        let me = Who {
            tid: w.lin0 + l as u32,
            wep: w.wep,
            line: ins.line,
        };
        match self.shadow.access(off as usize, bytes, kind, me) {
            None => Ok(()),
            Some((at, f)) => Err(self.shared_finding(w, ins, l, at, f)),
        }
    }

    #[cold]
    pub(super) fn shared_finding(
        &self,
        w: &Warp,
        ins: &Instr,
        l: usize,
        at: usize,
        f: Finding,
    ) -> Diagnostic {
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

    /// Feeds one plain global store to the launch's race shadow; a conflict inside this block
    /// (two threads, no barrier between) is reported at once.
    #[inline(always)]
    pub(super) fn record_global_write(
        &mut self,
        w: &Warp,
        ins: &Instr,
        l: usize,
        addr: u64,
        bytes: usize,
        value: u64,
    ) -> Res<()> {
        let me = crate::exec::global_race::Writer {
            block: self.block_lin,
            tid: w.lin0 + l as u32,
            line: ins.line,
        };
        let value = if bytes >= 8 {
            value
        } else {
            value & ((1u64 << (bytes * 8)) - 1)
        };
        match self
            .global_shadow
            .write(addr, bytes, value, me, self.shadow.epoch, w.wep)
        {
            None => Ok(()),
            Some(other) => Err(Diagnostic::GlobalRace {
                address: addr,
                bytes: bytes as u32,
                thread_a: self.tid_of(other.tid),
                block_a: self.ctaid,
                line_a: other.line,
                thread_b: w.tid[l],
                block_b: self.ctaid,
                line: ins.line,
            }),
        }
    }

    pub(super) fn tid_of(&self, lin: u32) -> Dim3 {
        let (bx, by) = (self.p.block[0], self.p.block[1]);
        [lin % bx, (lin / bx) % by, lin / (bx * by)]
    }

    pub(super) fn vec_len(ins: &Instr) -> usize {
        match ins.extra {
            Extra::Vec(n) => n as usize,
            _ => 1,
        }
    }

    pub(super) fn load(&mut self, ins: &Instr, exec: u32, w: &mut Warp) -> Res<()> {
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
        self.count_access(ins, target0, exec, &addrs, bytes);
        Ok(())
    }

    pub(super) fn store(&mut self, ins: &Instr, exec: u32, w: &mut Warp) -> Res<()> {
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
                if target == Target::Global {
                    self.record_global_write(w, ins, l, off + (k * esize) as u64, esize, v)?;
                }
                // SAFETY: host_ptr checked the range; blocks writing the same global bytes
                // concurrently is a race in the learner's kernel, as on a GPU.
                unsafe { write_raw(p.add(k * esize), esize, v) };
            }
        });
        self.count_access(ins, target0, exec, &addrs, bytes);
        Ok(())
    }

    pub(super) fn atomic(&mut self, ins: &Instr, exec: u32, w: &mut Warp) -> Res<()> {
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
        self.count_access(ins, target0, exec, &addrs, bytes);
        Ok(())
    }

    /// The instruction's index in the kernel body: its access site.
    pub(super) fn site_index(&self, ins: &Instr) -> Option<usize> {
        let body = &self.p.func.instrs;
        let at = (ins as *const Instr as usize).wrapping_sub(body.as_ptr() as usize)
            / std::mem::size_of::<Instr>();
        (at < body.len()).then_some(at)
    }

    /// One warp access's global sectors, in the launch's totals and its site's. `site_min`
    /// is what the site is held to: a contiguous run of lanes is as coalesced as its data's
    /// alignment allows, so a warp touching 3 lanes of a row's tail across a sector boundary
    /// is no blemish on its instruction (the launch's totals still count the extra sector).
    #[inline(always)]
    fn count_sectors(&mut self, ins: &Instr, sectors: u64, min: u64, site_min: u64) {
        self.counters.global_sectors += sectors;
        self.counters.global_sectors_min += min;
        if let Some(i) = self.site_index(ins) {
            let site = &mut self.sites[i];
            site.sectors += sectors;
            site.min += site_min;
        }
    }

    /// Coalescing (global sectors) and bank conflicts (shared) for one warp access.
    pub(super) fn count_access(
        &mut self,
        ins: &Instr,
        target: Target,
        exec: u32,
        addrs: &[u64; 32],
        bytes: usize,
    ) {
        match target {
            Target::Global => {
                // Fast path: the active lanes read one contiguous run, lane after lane.
                let first = exec.trailing_zeros() as usize;
                let base = addrs[first];
                let mut contiguous = true;
                if exec == u32::MAX {
                    // A whole warp: one pass without branches (the compiler vectorizes it).
                    let mut off = 0u64;
                    for l in 0..32 {
                        off |= addrs[l] ^ base.wrapping_add((l * bytes) as u64);
                    }
                    contiguous = off == 0;
                } else {
                    lanes!(exec, l, {
                        contiguous &= addrs[l] == base.wrapping_add(((l - first) * bytes) as u64);
                    });
                }
                let last = 31 - exec.leading_zeros() as usize;
                let dense = (exec >> first) as u64 == (1u64 << (last - first + 1)) - 1;
                if contiguous && dense && addrs[last].checked_add(bytes as u64).is_some() {
                    let end = addrs[last] + bytes as u64;
                    let touched = (end - 1) / 32 - base / 32 + 1;
                    self.count_sectors(ins, touched, (end - base).div_ceil(32), touched);
                    return;
                }
                // Next: lanes in address order (rows of a 2D tile, strided columns): sectors
                // and start addresses then come sorted, and counting changes counts them.
                let a0 = addrs[first];
                let s0 = a0 / 32;
                let mut prev_s = (a0 + bytes as u64 - 1) / 32;
                let mut prev_a = a0;
                let (mut touched, mut distinct) = (1 + (prev_s != s0) as u64, 1u64);
                let mut sorted = true;
                lanes!(exec & !(1 << first), l, {
                    let a = addrs[l];
                    let (s0, s1) = (a / 32, (a + bytes as u64 - 1) / 32);
                    if a < prev_a || s0 < prev_s {
                        sorted = false;
                        break;
                    }
                    touched += (s0 != prev_s) as u64 + (s1 != s0) as u64;
                    distinct += (a != prev_a) as u64;
                    (prev_s, prev_a) = (s1, a);
                });
                if sorted {
                    let min = (distinct * bytes as u64).div_ceil(32);
                    self.count_sectors(ins, touched, min, min);
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
                let min = (distinct * bytes as u64).div_ceil(32);
                self.count_sectors(ins, touched, min, min);
            }
            Target::Shared => {
                // Fastest path: the words of one aligned run of 32 (128 bytes) all sit in
                // different banks, so no phase can ask a bank for two words (rows,
                // broadcasts, a few rows of a tile). One pass without branches.
                if in_one_row(exec, addrs) {
                    return;
                }
                // 128 bytes per wavefront: wide accesses are split into phases of fewer lanes.
                let per_phase = (128 / bytes.max(4)).clamp(1, 32);
                let mut phase_start = 0;
                while phase_start < 32 {
                    let phase_mask = exec & (((1u64 << per_phase) - 1) << phase_start) as u32;
                    // Fast path: no bank is asked for two different words. Each lane leaves
                    // its word in its bank's slot, then each checks its word is the one left:
                    // a bank asked for two words fails for the lane whose word was overwritten.
                    // (Two passes without branches run faster than one that tests as it goes.)
                    let mut left = [0u64; 32];
                    lanes!(phase_mask, l, {
                        let word = addrs[l] / 4;
                        left[(word % 32) as usize] = word;
                    });
                    let mut clash = false;
                    lanes!(phase_mask, l, {
                        let word = addrs[l] / 4;
                        clash |= left[(word % 32) as usize] != word;
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

/// Whether the executing lanes' addresses all lie in one aligned run of 128 bytes: then no
/// two words they ask for share a bank. One pass without branches, inlined into the callers
/// compiled for AVX2 (steps.rs), where it runs 4 lanes at once.
#[inline(always)]
pub(super) fn in_one_row(exec: u32, addrs: &[u64; 32]) -> bool {
    let first = addrs[exec.trailing_zeros() as usize];
    let mut apart = 0u64;
    for l in 0..32 {
        apart |= (addrs[l] ^ first) & ((exec >> l & 1) as u64).wrapping_neg();
    }
    apart < 128
}

/// Whether an access of `bytes` at `addr` is aligned as a GPU requires (to its size, at most
/// 16). Sizes are powers of two but for odd forms; those take the division.
#[inline(always)]
fn aligned(addr: u64, bytes: usize) -> bool {
    let align = bytes.min(16) as u64;
    if align.is_power_of_two() {
        addr & (align - 1) == 0
    } else {
        addr.is_multiple_of(align)
    }
}

/// Reads a little-endian value of 1, 2, 4 or 8 bytes.
///
/// # Safety
/// `p` must be valid for `size` bytes.
#[inline(always)]
pub(super) unsafe fn read_raw(p: *const u8, size: usize) -> u64 {
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
pub(super) unsafe fn write_raw(p: *mut u8, size: usize, v: u64) {
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
