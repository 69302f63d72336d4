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
    next: u64,
}

/// A snapshot of the allocations for one launch: sorted (base, end, host pointer).
#[derive(Clone)]
pub struct MemView {
    pub ranges: Vec<(u64, u64, usize)>,
}

impl MemView {
    /// The allocation (base, end, host address) holding all of `[addr, addr+len)`.
    #[inline]
    pub fn lookup_range(&self, addr: u64, len: u64) -> Option<(u64, u64, usize)> {
        let i = self.ranges.partition_point(|r| r.0 <= addr);
        let r = *self.ranges.get(i.checked_sub(1)?)?;
        (addr.checked_add(len)? <= r.1).then_some(r)
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
        true
    }

    /// Forbid kernels `[addr, addr+len)`, which must lie in one allocation; host copies still
    /// reach it. False when the range is not inside an allocation.
    pub fn protect(&self, addr: u64, len: u64) -> bool {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let inside = g
            .allocs
            .range(..=addr)
            .next_back()
            .is_some_and(|(base, a)| addr + len <= base + a.len as u64);
        if inside && len > 0 {
            g.protected.insert(addr, addr + len);
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
            allocs, protected, ..
        } = &mut *g;
        let mut ranges = Vec::with_capacity(allocs.len());
        for (&base, a) in allocs.iter_mut() {
            let (end, host) = (base + a.len as u64, a.ptr() as usize);
            let mut start = base;
            for (&p_start, &p_end) in protected.range(base..end) {
                if p_start > start {
                    ranges.push((start, p_start, host + (start - base) as usize));
                }
                start = start.max(p_end);
            }
            if start < end {
                ranges.push((start, end, host + (start - base) as usize));
            }
        }
        MemView { ranges }
    }

    #[cfg(test)]
    fn ranges(&self) -> Vec<(u64, u64)> {
        self.view().ranges.iter().map(|r| (r.0, r.1)).collect()
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
}
