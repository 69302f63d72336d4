//! `cp.async`: a copy from global to shared memory lands when the thread that issued it waits
//! for it (`cp.async.wait_group` / `wait_all`, i.e. `__pipeline_wait_prior`), not when it is
//! issued. A GPU gives no guarantee before the wait, so touching the destination earlier is
//! reported, naming both lines: a kernel that forgets its wait or its commit fails here
//! instead of reading data that happened to be there.

use super::{Access, BlockRunner, Res, Target, Warp};
use crate::ptx::ir::*;
use crate::report::Diagnostic;

/// Copies still to land: per thread of the block, and per word of shared memory.
#[derive(Default)]
pub(super) struct InFlight {
    /// Pending copies of each thread (linear thread index), in issue order.
    threads: Vec<Vec<Copy>>,
    /// Groups each thread has committed so far.
    committed: Vec<u32>,
    /// For each 4-byte word of shared memory: 1 + the thread whose copy will fill it, or 0.
    words: Vec<u32>,
    /// Copies pending in the block; 0 keeps every shared access on its fast path.
    pub(super) live: usize,
}

struct Copy {
    /// The group it was committed in, or `UNCOMMITTED`.
    group: u32,
    /// Destination offset in shared memory and bytes (4, 8 or 16).
    dst: u64,
    size: usize,
    /// The source bytes, read at issue (zero past src-size).
    data: [u8; 16],
    /// The cp.async instruction, for its line.
    instr: usize,
}

const UNCOMMITTED: u32 = u32::MAX;

impl InFlight {
    pub(super) fn start_block(&mut self, smem_size: usize, nthreads: usize) {
        if self.live != 0 || self.threads.len() != nthreads {
            // A block that ended with copies in flight: they never land.
            self.threads.iter_mut().for_each(Vec::clear);
            self.threads.resize_with(nthreads, Vec::new);
            self.words.clear();
            self.live = 0;
        }
        self.committed.clear();
        self.committed.resize(nthreads, 0);
        self.words.resize(smem_size.div_ceil(4), 0);
    }

    /// The thread whose pending copy covers shared bytes [off, off + bytes), if any.
    fn writer(&self, off: u64, bytes: usize) -> Option<u32> {
        let first = (off / 4) as usize;
        let last = ((off + bytes.max(1) as u64 - 1) / 4) as usize;
        (first..=last.min(self.words.len().saturating_sub(1)))
            .find_map(|i| self.words[i].checked_sub(1))
    }
}

impl BlockRunner<'_> {
    /// `cp.async.{ca,cg}.shared.global [dst], [src], cp-size{, src-size}`: checks both
    /// ranges and reads the source now; the destination is written when the copy lands.
    pub(super) fn cp_async(&mut self, ins: &Instr, exec: u32, w: &mut Warp) -> Res<()> {
        let size = self.val(w, &ins.src[2], 0) as usize;
        let instr = self.site_index(ins).unwrap_or(0);
        // The global reads count as traffic like any load (lanes that copy nothing read none).
        let mut src_addrs = [0u64; 32];
        let mut reading = 0u32;
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
            self.host_ptr(
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
            let mut data = [0u8; 16];
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
                // SAFETY: host_ptr checked the source range.
                unsafe { std::ptr::copy_nonoverlapping(s, data.as_mut_ptr(), src_size.min(16)) };
                src_addrs[l] = src;
                reading |= 1 << l;
            }
            let tid = w.lin0 + l as u32;
            let first = (doff / 4) as usize;
            for word in &mut self.cp.words[first..(doff as usize + size).div_ceil(4)] {
                *word = tid + 1;
            }
            self.cp.threads[tid as usize].push(Copy {
                group: UNCOMMITTED,
                dst: doff,
                size: size.min(16),
                data,
                instr,
            });
            self.cp.live += 1;
        });
        if reading != 0 {
            self.count_access(ins, Target::Global, reading, &src_addrs, size);
        }
        Ok(())
    }

    /// `cp.async.commit_group`: each lane's uncommitted copies become its next group (an
    /// empty group when it has none, as in PTX).
    pub(super) fn cp_async_commit(&mut self, exec: u32, w: &Warp) {
        lanes!(exec, l, {
            let tid = (w.lin0 + l as u32) as usize;
            let group = self.cp.committed[tid];
            for c in &mut self.cp.threads[tid] {
                if c.group == UNCOMMITTED {
                    c.group = group;
                }
            }
            self.cp.committed[tid] += 1;
        });
    }

    /// `cp.async.wait_group N`: each lane's groups older than its N most recent land;
    /// `cp.async.wait_all`: all its copies land, committed or not.
    pub(super) fn cp_async_wait(
        &mut self,
        ins: &Instr,
        all: bool,
        exec: u32,
        w: &mut Warp,
    ) -> Res<()> {
        let keep = if all {
            0
        } else {
            self.val(w, &ins.src[0], exec.trailing_zeros() as usize) as u32
        };
        let func = self.p.func;
        lanes!(exec, l, {
            let tid = (w.lin0 + l as u32) as usize;
            if self.cp.threads[tid].is_empty() {
                continue;
            }
            let below = self.cp.committed[tid].saturating_sub(keep);
            let copies = std::mem::take(&mut self.cp.threads[tid]);
            let (land, stay): (Vec<Copy>, Vec<Copy>) = copies
                .into_iter()
                .partition(|c| (all && c.group == UNCOMMITTED) || c.group < below);
            self.cp.threads[tid] = stay;
            for c in land {
                self.cp.live -= 1;
                let first = (c.dst / 4) as usize;
                for word in &mut self.cp.words[first..(c.dst as usize + c.size).div_ceil(4)] {
                    if *word == tid as u32 + 1 {
                        *word = 0;
                    }
                }
                // The write is the copy's, at its line, ordered like the lane's own stores.
                let copy_ins = &func.instrs[c.instr];
                self.check_shared(w, copy_ins, l, c.dst, c.size, 1)?;
                let d = self.smem_ptr.wrapping_add(c.dst as usize);
                // SAFETY: cp_async checked [dst, dst + size) lies in this block's shared memory.
                unsafe { std::ptr::copy_nonoverlapping(c.data.as_ptr(), d, c.size) };
            }
        });
        Ok(())
    }

    /// A shared access to bytes a cp.async has not landed yet (`kind`: 0 read, 1 write,
    /// 2 atomic, as `check_shared` takes it).
    #[cold]
    pub(super) fn cp_async_pending(
        &self,
        w: &Warp,
        ins: &Instr,
        l: usize,
        off: u64,
        bytes: usize,
        kind: u8,
    ) -> Res<()> {
        let Some(copier) = self.cp.writer(off, bytes) else {
            return Ok(());
        };
        let copy_line = self.cp.threads[copier as usize]
            .iter()
            .rev()
            .find(|c| c.dst < off + bytes as u64 && off < c.dst + c.size as u64)
            .map(|c| self.p.func.instrs[c.instr].line)
            .unwrap_or(0);
        Err(Diagnostic::CpAsyncPending {
            location: self.shared_loc(off),
            write: kind != 0,
            thread: w.tid[l],
            block: self.ctaid,
            line: ins.line,
            copier: self.tid_of(copier),
            copy_line,
        })
    }
}
