//! The race check on global memory: who stored to each global element during one launch.
//!
//! Blocks of a launch run in no fixed order on a GPU, so two blocks storing different values
//! to one element (a plain `+=` where `atomicAdd` was needed) leave whichever lands last; the
//! wrong sum then shows only now and then. Here every plain store is recorded, per worker
//! thread, by element address: the two lowest-numbered blocks that stored there, whether every
//! store wrote the same value, and the latest store (for two threads of one block with no
//! barrier between them). The workers' records are merged after the launch and the lowest
//! conflicting address is reported, so the report does not depend on timing.
//!
//! Only plain stores take part: atomics are ordered by definition, and reads are not tracked
//! (a block reading what another wrote is how `__threadfence` patterns work). Stores of the
//! same value are allowed, as they are harmless on a GPU.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const NONE: u32 = u32::MAX;

/// One store: linear block index, linear thread index in the block, PTX-mapped line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Writer {
    pub block: u32,
    pub tid: u32,
    pub line: u32,
}

const NOBODY: Writer = Writer {
    block: NONE,
    tid: NONE,
    line: 0,
};

#[derive(Clone, Copy)]
struct Entry {
    /// The lowest-numbered block that stored here, and the next lowest other block.
    first: Writer,
    second: Writer,
    /// The first value stored, and whether every later store wrote the same.
    value: u64,
    same: bool,
    bytes: u8,
    /// The latest store and the block's barrier epoch and `__syncwarp` count at the time.
    last: Writer,
    last_epoch: u32,
    last_wep: u32,
    last_value: u64,
}

impl Entry {
    /// Adds `w` to the two lowest distinct blocks.
    fn add_block(&mut self, w: Writer) {
        if w.block == self.first.block || w.block == self.second.block {
            return;
        }
        if w.block < self.first.block {
            self.second = self.first;
            self.first = w;
        } else if w.block < self.second.block {
            self.second = w;
        }
    }
}

/// Addresses are multiples of the element size: a multiply spreads them over the table.
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (v ^ (v >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Byte addresses per page of the index.
const PAGE: u64 = 1024;
/// An index slot with this bit holds a run's number (below), not an entry's.
const RUN: u32 = 1 << 31;

/// The stores of one warp instruction whose lanes wrote one contiguous run of elements where
/// nothing was recorded before: one record for all of them. Element `j` is at
/// `base + j * esize`, stored by thread `tid0 + j / per_lane` with `values[start + j]`. A run
/// element stored again later becomes an entry of its own (`dead` marks it), so a run's live
/// elements each have one store, one block: they never conflict.
#[derive(Clone, Copy)]
struct Run {
    base: u64,
    start: u32,
    count: u8,
    esize: u8,
    per_lane: u8,
    /// Elements that became entries.
    dead: u128,
    block: u32,
    tid0: u32,
    line: u32,
    epoch: u32,
    wep: u32,
}

/// Elements one run holds at most: 32 lanes of a 4-element vector.
const MAX_RUN: usize = 128;

/// Emptied record sets kept between launches, and the largest kept (about 80 MiB of records).
static SPARE: std::sync::Mutex<Vec<GlobalShadow>> = std::sync::Mutex::new(Vec::new());
const MAX_SPARES: usize = 2;
const MAX_SPARE_ENTRIES: usize = 1 << 20;

/// The records in the order they were made, found through pages of an index: neighbouring
/// stores land in one page, so most stores skip the hash (one per page, not per element) and
/// nothing is rehashed as the records grow.
#[derive(Default)]
pub struct GlobalShadow {
    entries: Vec<(u64, Entry)>,
    /// Page number -> its place in `index`.
    pages: HashMap<u64, usize, BuildHasherDefault<AddrHasher>>,
    /// Per page, per byte address: 1 + the record's place in `entries`, or 0 for none.
    /// Pages from `used` on are zeroed spares from an earlier launch.
    index: Vec<Box<[u32; PAGE as usize]>>,
    used: usize,
    /// The last page used: (page number, place in `index`).
    last_page: Option<(u64, usize)>,
    runs: Vec<Run>,
    /// The runs' values, each run's `count` from its `start`.
    run_values: Vec<u64>,
}

/// A conflict between two blocks: the element's address and size, the two writers.
pub struct CrossBlock {
    pub address: u64,
    pub bytes: u32,
    pub a: Writer,
    pub b: Writer,
}

fn same_warp(a: u32, b: u32) -> bool {
    a / 32 == b / 32
}

impl GlobalShadow {
    /// Where `addr`'s index slot is (page, place in it), its page made if new.
    #[inline]
    fn slot(&mut self, addr: u64) -> (usize, usize) {
        let pno = addr / PAGE;
        let pi = match self.last_page {
            Some((p, i)) if p == pno => i,
            _ => {
                let next = self.used;
                let i = *self.pages.entry(pno).or_insert(next);
                if i == next {
                    if next == self.index.len() {
                        self.index.push(Box::new([0; PAGE as usize]));
                    }
                    self.used += 1;
                }
                self.last_page = Some((pno, i));
                i
            }
        };
        (pi, (addr % PAGE) as usize)
    }

    /// Records a plain store of `value` (`bytes` wide) at `addr`. Returns the earlier store
    /// it races with inside the same block: another thread, same barrier epoch, not ordered
    /// by `__syncwarp`, a different value.
    #[inline]
    pub fn write(
        &mut self,
        addr: u64,
        bytes: usize,
        value: u64,
        me: Writer,
        epoch: u32,
        wep: u32,
    ) -> Option<Writer> {
        let (pi, o) = self.slot(addr);
        let mut at = self.index[pi][o];
        if at == 0 {
            self.index[pi][o] = self.entries.len() as u32 + 1;
            self.entries.push((
                addr,
                Entry {
                    first: me,
                    second: NOBODY,
                    value,
                    same: true,
                    bytes: bytes as u8,
                    last: me,
                    last_epoch: epoch,
                    last_wep: wep,
                    last_value: value,
                },
            ));
            return None;
        }
        if at & RUN != 0 {
            at = self.explode(pi, o, addr);
        }
        let e = &mut self.entries[at as usize - 1].1;
        let l = e.last;
        if l.block == me.block
            && l.tid != me.tid
            && e.last_epoch == epoch
            && !(same_warp(l.tid, me.tid) && e.last_wep != wep)
            && e.last_value != value
        {
            return Some(l);
        }
        e.same &= value == e.value;
        e.add_block(me);
        e.last = me;
        e.last_epoch = epoch;
        e.last_wep = wep;
        e.last_value = value;
        None
    }

    /// Records the plain stores of one warp instruction at once: `values.len()` elements of
    /// `esize` bytes from `base` on, `per_lane` consecutive ones for each of the consecutive
    /// threads from `me.tid` on. Only where no element has a record yet (so none can race):
    /// false, with nothing recorded, sends the stores one by one through `write`.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn write_run(
        &mut self,
        base: u64,
        esize: usize,
        per_lane: usize,
        count: usize,
        value: impl Fn(usize) -> u64,
        me: Writer,
        epoch: u32,
        wep: u32,
    ) -> bool {
        debug_assert!(count <= MAX_RUN && count > 0);
        let id = self.runs.len() as u32 | RUN;
        let (pi, o) = self.slot(base);
        if o + (count - 1) * esize < PAGE as usize {
            // All in one page (nearly always): its slots at a fixed stride.
            let page = &mut self.index[pi];
            if (0..count).any(|j| page[o + j * esize] != 0) {
                return false;
            }
            for j in 0..count {
                page[o + j * esize] = id;
            }
        } else {
            for j in 0..count {
                let (pi, o) = self.slot(base + (j * esize) as u64);
                if self.index[pi][o] != 0 {
                    return false;
                }
            }
            for j in 0..count {
                let (pi, o) = self.slot(base + (j * esize) as u64);
                self.index[pi][o] = id;
            }
        }
        self.runs.push(Run {
            base,
            start: self.run_values.len() as u32,
            count: count as u8,
            esize: esize as u8,
            per_lane: per_lane as u8,
            dead: 0,
            block: me.block,
            tid0: me.tid,
            line: me.line,
            epoch,
            wep,
        });
        self.run_values.extend((0..count).map(value));
        true
    }

    /// Turns the run element at index slot (`pi`, `o`), address `addr`, into an entry as
    /// `write` would have made it; its place in `entries` plus one.
    #[cold]
    fn explode(&mut self, pi: usize, o: usize, addr: u64) -> u32 {
        let r = &mut self.runs[(self.index[pi][o] & !RUN) as usize];
        let j = ((addr - r.base) / r.esize as u64) as usize;
        r.dead |= 1 << j;
        let (entry, _) = Self::run_entry(r, &self.run_values, j);
        self.entries.push((addr, entry));
        let at = self.entries.len() as u32;
        self.index[pi][o] = at;
        at
    }

    /// Run element `j` as the entry its store would have made, and its address.
    fn run_entry(r: &Run, values: &[u64], j: usize) -> (Entry, u64) {
        let me = Writer {
            block: r.block,
            tid: r.tid0 + (j / r.per_lane as usize) as u32,
            line: r.line,
        };
        let value = values[r.start as usize + j];
        let entry = Entry {
            first: me,
            second: NOBODY,
            value,
            same: true,
            bytes: r.esize,
            last: me,
            last_epoch: r.epoch,
            last_wep: r.wep,
            last_value: value,
        };
        (entry, r.base + (j * r.esize as usize) as u64)
    }

    /// A record set for a worker: an earlier launch's, emptied (its memory already touched:
    /// a launch storing a million elements spent a fifth of its time faulting in fresh
    /// pages), or a new one.
    pub fn take() -> GlobalShadow {
        SPARE
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default()
    }

    /// Empties these records and keeps their memory for the next launch's `take` (up to a
    /// few sets, none very large).
    pub fn recycle(mut self) {
        // A set that never grew has nothing worth keeping (and would crowd out one that did).
        let cap = self.entries.capacity();
        if (cap == 0 && self.runs.capacity() == 0) || cap > MAX_SPARE_ENTRIES {
            return;
        }
        self.entries.clear();
        self.runs.clear();
        self.run_values.clear();
        self.pages.clear();
        for page in &mut self.index[..self.used] {
            page.fill(0);
        }
        self.used = 0;
        self.last_page = None;
        let mut spare = SPARE.lock().unwrap_or_else(|e| e.into_inner());
        if spare.len() < MAX_SPARES {
            spare.push(self);
        }
    }

    /// Folds another worker's records into these; gives back `other`, emptied of records,
    /// for `recycle`.
    pub fn merge(&mut self, mut other: GlobalShadow) -> GlobalShadow {
        if self.entries.is_empty() && self.runs.is_empty() {
            std::mem::swap(self, &mut other);
            return other;
        }
        // Whole runs where these records have none of their elements; the rest element by
        // element, as entries.
        let mut singles = Vec::new();
        for r in other.runs.drain(..) {
            let values = &other.run_values[r.start as usize..][..r.count as usize];
            let whole = r.dead == 0
                && self.write_run(
                    r.base,
                    r.esize as usize,
                    r.per_lane as usize,
                    values.len(),
                    |j| values[j],
                    Writer {
                        block: r.block,
                        tid: r.tid0,
                        line: r.line,
                    },
                    r.epoch,
                    r.wep,
                );
            if !whole {
                for j in (0..r.count as usize).filter(|&j| r.dead >> j & 1 == 0) {
                    let (e, addr) = Self::run_entry(&r, &other.run_values, j);
                    singles.push((addr, e));
                }
            }
        }
        for (addr, b) in other.entries.drain(..).chain(singles) {
            let (pi, o) = self.slot(addr);
            let mut at = self.index[pi][o];
            if at == 0 {
                self.index[pi][o] = self.entries.len() as u32 + 1;
                self.entries.push((addr, b));
                continue;
            }
            if at & RUN != 0 {
                at = self.explode(pi, o, addr);
            }
            let a = &mut self.entries[at as usize - 1].1;
            a.same = a.same && b.same && a.value == b.value;
            a.add_block(b.first);
            if b.second.block != NONE {
                a.add_block(b.second);
            }
        }
        other
    }

    /// The lowest address two blocks stored different values to.
    pub fn conflict(&self) -> Option<CrossBlock> {
        self.entries
            .iter()
            .filter(|(_, e)| e.second.block != NONE && !e.same)
            .min_by_key(|(addr, _)| *addr)
            .map(|(address, e)| CrossBlock {
                address: *address,
                bytes: e.bytes as u32,
                a: e.first,
                b: e.second,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(block: u32, tid: u32) -> Writer {
        Writer {
            block,
            tid,
            line: 7,
        }
    }

    #[test]
    fn two_blocks_storing_different_values_conflict_in_any_order() {
        let mut x = GlobalShadow::default();
        let mut y = GlobalShadow::default();
        assert!(x.write(0x100, 4, 1, w(7, 0), 1, 0).is_none());
        assert!(y.write(0x100, 4, 2, w(3, 0), 1, 0).is_none());
        assert!(y.write(0x200, 4, 5, w(3, 0), 1, 0).is_none());
        assert!(x.write(0x200, 4, 5, w(9, 0), 2, 0).is_none());
        x.merge(y);
        let c = x.conflict().unwrap();
        assert_eq!((c.address, c.a.block, c.b.block), (0x100, 3, 7));
    }

    /// A warp's run of stores is found again element by element: by a later store of the
    /// same worker (in-block race, cross-block conflict) and by another worker's records.
    #[test]
    fn runs_behave_as_their_stores_one_by_one() {
        let mut x = GlobalShadow::default();
        assert!(x.write_run(0x100, 4, 1, 4, |j| j as u64 + 1, w(5, 32), 1, 0));
        // Overlapping what is recorded: the caller goes store by store.
        assert!(!x.write_run(0x10c, 4, 1, 2, |_| 9, w(5, 64), 1, 0));
        // Thread 34 stored 3 at 0x108; thread 40 of the block stores 7 there, no barrier.
        assert_eq!(x.write(0x108, 4, 7, w(5, 40), 1, 0).unwrap().tid, 34);
        assert!(x.write(0x104, 4, 8, w(6, 0), 1, 0).is_none());
        let mut y = GlobalShadow::default();
        assert!(y.write_run(0x100, 4, 2, 4, |j| (j < 2) as u64, w(2, 0), 1, 0));
        assert!(y.write_run(0x200, 4, 1, 1, |_| 5, w(2, 0), 1, 0));
        x.merge(y);
        // 0x100: blocks 2 and 5 stored 1 (same); 0x104: 5 stored 2, 2 stored 1, 6 stored 8.
        let c = x.conflict().unwrap();
        assert_eq!((c.address, c.a.block, c.b.block), (0x104, 2, 5));
        assert_eq!((c.a.tid, c.b.tid), (0, 33));
    }

    #[test]
    fn same_value_stores_and_ordered_threads_are_no_race() {
        let mut x = GlobalShadow::default();
        assert!(x.write(0x100, 4, 1, w(0, 0), 1, 0).is_none());
        assert!(x.write(0x100, 4, 1, w(1, 0), 2, 0).is_none());
        assert!(x.conflict().is_none());
        // Two threads of one block: a barrier (new epoch) orders them; no barrier does not.
        assert!(x.write(0x300, 4, 1, w(2, 0), 3, 0).is_none());
        assert!(x.write(0x300, 4, 2, w(2, 64), 4, 0).is_none());
        let r = x.write(0x300, 4, 3, w(2, 96), 4, 0).unwrap();
        assert_eq!(r.tid, 64);
        // Lanes of one warp after a __syncwarp are ordered.
        assert!(x.write(0x400, 4, 1, w(2, 0), 4, 0).is_none());
        assert!(x.write(0x400, 4, 2, w(2, 1), 4, 1).is_none());
    }
}
