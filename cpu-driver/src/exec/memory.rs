//! Device memory: allocations at addresses of their own (never host pointers), so every
//! access can be checked against the allocation it falls in.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Global allocations live from here up; shared and local memory have generic windows below.
pub const GLOBAL_BASE: u64 = 0x100_0000_0000;
/// Generic addresses of the block's shared memory: `cvta.shared` adds this.
pub const SHARED_WINDOW: u64 = 0x10_0000_0000;
/// Generic addresses of a thread's local memory.
pub const LOCAL_WINDOW: u64 = 0x20_0000_0000;
/// Generic addresses of kernel parameters.
pub const PARAM_WINDOW: u64 = 0x30_0000_0000;
const WINDOW_SIZE: u64 = 0x10_0000_0000;
/// Gap after each allocation, so one-past-the-end never lands in the next buffer.
const RED_ZONE: u64 = 4096;

pub fn window(addr: u64) -> Option<(u64, u64)> {
    [SHARED_WINDOW, LOCAL_WINDOW, PARAM_WINDOW]
        .into_iter()
        .find(|w| addr >= *w && addr < w + WINDOW_SIZE)
        .map(|w| (w, addr - w))
}

pub struct Allocation {
    /// u128 storage keeps the host copy 16-byte aligned, so aligned device atomics are aligned here.
    data: Vec<u128>,
    pub len: usize,
}

impl Allocation {
    pub fn ptr(&mut self) -> *mut u8 {
        self.data.as_mut_ptr() as *mut u8
    }
}

#[derive(Default)]
pub struct DeviceMemory {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    allocs: BTreeMap<u64, Allocation>,
    /// Ranges inside allocations that kernels may not touch (start -> end): the guard zones
    /// the grader puts around each buffer, so a write one past the end is caught with its
    /// thread instead of being found afterwards.
    protected: BTreeMap<u64, u64>,
    /// Ranges kernels may read but not write (start -> end): the grader's input buffers, so a
    /// kernel that writes an input (even one that restores it before returning) is stopped at
    /// its first write.
    readonly: BTreeMap<u64, u64>,
    next: u64,
}

/// One piece of an allocation kernels may touch: `[base, end)` at host address `host`;
/// `readonly` pieces may only be read.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Range {
    pub base: u64,
    pub end: u64,
    pub host: usize,
    pub readonly: bool,
}

/// A snapshot of the allocations for one launch, sorted by address.
#[derive(Clone)]
pub struct MemView {
    pub ranges: Vec<Range>,
}

impl MemView {
    /// The piece holding all of `[addr, addr+len)`.
    #[inline]
    pub fn lookup_range(&self, addr: u64, len: u64) -> Option<Range> {
        let i = self.ranges.partition_point(|r| r.base <= addr);
        let r = *self.ranges.get(i.checked_sub(1)?)?;
        (addr.checked_add(len)? <= r.end).then_some(r)
    }
}

impl DeviceMemory {
    pub fn alloc(&self, len: usize) -> u64 {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if g.next == 0 {
            g.next = GLOBAL_BASE;
        }
        let base = g.next;
        g.next = (base + len as u64 + RED_ZONE).div_ceil(256) * 256;
        let data = vec![0u128; len.div_ceil(16).max(1)];
        g.allocs.insert(base, Allocation { data, len });
        base
    }

    pub fn free(&self, addr: u64) -> bool {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Some(a) = g.allocs.remove(&addr) else {
            return false;
        };
        let end = addr + a.len as u64;
        g.protected
            .retain(|start, _| *start < addr || *start >= end);
        g.readonly.retain(|start, _| *start < addr || *start >= end);
        true
    }

    /// Forbid kernels `[addr, addr+len)`, which must lie in one allocation; host copies still
    /// reach it. False when the range is not inside an allocation.
    pub fn protect(&self, addr: u64, len: u64) -> bool {
        self.mark(addr, len, false)
    }

    /// Let kernels read `[addr, addr+len)` but not write it; host copies still write it.
    /// False when the range is not inside an allocation.
    pub fn protect_readonly(&self, addr: u64, len: u64) -> bool {
        self.mark(addr, len, true)
    }

    fn mark(&self, addr: u64, len: u64, readonly: bool) -> bool {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let inside = g
            .allocs
            .range(..=addr)
            .next_back()
            .is_some_and(|(base, a)| addr.saturating_add(len) <= base + a.len as u64);
        if inside && len > 0 {
            let map = if readonly {
                &mut g.readonly
            } else {
                &mut g.protected
            };
            map.insert(addr, addr + len);
        }
        inside
    }

    /// Runs `f` on the host bytes of `[addr, addr+len)`, which must lie in one allocation.
    pub fn with_bytes<R>(
        &self,
        addr: u64,
        len: usize,
        f: impl FnOnce(&mut [u8]) -> R,
    ) -> Option<R> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (base, a) = g.allocs.range_mut(..=addr).next_back()?;
        let off = (addr - *base) as usize;
        if off.checked_add(len)? > a.len {
            return None;
        }
        let p = a.ptr();
        // SAFETY: the range was checked against the allocation's length, and the lock is held.
        let s = unsafe { std::slice::from_raw_parts_mut(p.add(off), len) };
        Some(f(s))
    }

    /// The ranges kernels may touch: each allocation less its protected parts.
    pub fn view(&self) -> MemView {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Inner {
            allocs,
            protected,
            readonly,
            ..
        } = &mut *g;
        let mut ranges = Vec::with_capacity(allocs.len());
        for (&base, a) in allocs.iter_mut() {
            let (end, host) = (base + a.len as u64, a.ptr() as usize);
            // Split [from, to) at the read-only ranges inside it.
            let mut push = |from: u64, to: u64| {
                let piece = |s: u64, e: u64, ro: bool| Range {
                    base: s,
                    end: e,
                    host: host + (s - base) as usize,
                    readonly: ro,
                };
                let mut at = from;
                for (&r_start, &r_end) in readonly.range(..to) {
                    let (s, e) = (r_start.max(at), r_end.min(to));
                    if s >= e {
                        continue;
                    }
                    if s > at {
                        ranges.push(piece(at, s, false));
                    }
                    ranges.push(piece(s, e, true));
                    at = e;
                }
                if at < to {
                    ranges.push(piece(at, to, false));
                }
            };
            let mut start = base;
            for (&p_start, &p_end) in protected.range(base..end) {
                if p_start > start {
                    push(start, p_start);
                }
                start = start.max(p_end);
            }
            if start < end {
                push(start, end);
            }
        }
        MemView { ranges }
    }

    #[cfg(test)]
    fn ranges(&self) -> Vec<(u64, u64)> {
        self.view().ranges.iter().map(|r| (r.base, r.end)).collect()
    }

    pub fn total(&self) -> usize {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.allocs.values().map(|a| a.len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_guard_zones_leave_only_the_middle_to_kernels() {
        let mem = DeviceMemory::default();
        let base = mem.alloc(300);
        assert!(mem.protect(base, 100));
        assert!(mem.protect(base + 200, 100));
        assert!(!mem.protect(base + 250, 100), "past the allocation's end");
        assert_eq!(mem.ranges(), vec![(base + 100, base + 200)]);
        let view = mem.view();
        assert!(view.lookup_range(base + 100, 100).is_some());
        assert!(
            view.lookup_range(base + 96, 4).is_none(),
            "the guard before"
        );
        assert!(
            view.lookup_range(base + 200, 4).is_none(),
            "one past the end"
        );
        // Host copies still reach the guard zones.
        assert!(mem.with_bytes(base, 300, |b| b.len()).is_some());
        assert!(mem.free(base));
        assert!(mem.view().ranges.is_empty());
    }

    #[test]
    fn readonly_inputs_are_their_own_pieces() {
        let mem = DeviceMemory::default();
        let base = mem.alloc(300);
        assert!(mem.protect(base, 100));
        assert!(mem.protect(base + 200, 100));
        assert!(mem.protect_readonly(base + 100, 100));
        let view = mem.view();
        assert_eq!(view.ranges.len(), 1);
        let r = view.lookup_range(base + 150, 4).unwrap();
        assert!(r.readonly && r.base == base + 100 && r.end == base + 200);
        let other = mem.alloc(64);
        assert!(mem.protect_readonly(other + 16, 16));
        let pieces: Vec<_> = mem
            .view()
            .ranges
            .iter()
            .filter(|r| r.base >= other)
            .map(|r| (r.base - other, r.end - other, r.readonly))
            .collect();
        assert_eq!(
            pieces,
            vec![(0, 16, false), (16, 32, true), (32, 64, false)]
        );
        assert!(mem.free(base) && mem.free(other));
        assert!(mem.view().ranges.is_empty());
    }
}
