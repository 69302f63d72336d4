//! Bookkeeping of shared memory: who wrote and read each byte since the last barrier, and
//! whether anything wrote it at all in this block.
//!
//! The rules are per byte, but nearly every access is a whole aligned word (or several), and
//! then the four bytes of a word always carry the same record: one cell per 4-byte word
//! stands for them. A word that a 1- or 2-byte access touches is split into four byte cells,
//! which are exact from then on; a new block (where every record is stale, and stale records
//! all behave alike) joins the words again. Findings are those of the per-byte rules: a word
//! cell reports at its first byte, which is the byte the per-byte walk would stop at.

const NONE: u32 = u32::MAX;

#[derive(Clone, Copy)]
pub struct Cell {
    /// Block generation in which the byte was first written (uninitialised reads).
    init_gen: u32,
    w_epoch: u32,
    w_tid: u32,
    w_wep: u32,
    w_line: u32,
    w_atomic: bool,
    r_epoch: u32,
    r_tid: u32,
    /// A second reader, if any, so a later write can name a thread other than itself.
    r_tid2: u32,
    r_wep: u32,
    r_line: u32,
}

const EMPTY: Cell = Cell {
    init_gen: 0,
    w_epoch: 0,
    w_tid: NONE,
    w_wep: 0,
    w_line: 0,
    w_atomic: false,
    r_epoch: 0,
    r_tid: NONE,
    r_tid2: NONE,
    r_wep: 0,
    r_line: 0,
};

/// What went wrong at one byte.
pub enum Finding {
    Uninit,
    /// (earlier thread, its line, "write/read"-style kinds)
    Race(u32, u32, &'static str),
}

pub struct Shadow {
    /// One cell per 4-byte word, authoritative where `split` is false.
    words: Vec<Cell>,
    /// One cell per byte, authoritative for the bytes of split words.
    cells: Vec<Cell>,
    split: Vec<bool>,
    /// Whether any word is split (so `start_block` has flags to clear).
    any_split: bool,
    /// Bumped at every block start and every barrier; 0 is never current.
    pub epoch: u32,
    /// The epoch at which the current block started.
    pub gen: u32,
}

/// Who is accessing: linear thread id, its warp's `__syncwarp` count, the line.
#[derive(Clone, Copy)]
pub struct Who {
    pub tid: u32,
    pub wep: u32,
    pub line: u32,
}

fn same_warp(a: u32, b: u32) -> bool {
    a / 32 == b / 32
}

impl Shadow {
    pub fn new() -> Shadow {
        Shadow {
            words: Vec::new(),
            cells: Vec::new(),
            split: Vec::new(),
            any_split: false,
            epoch: 0,
            gen: 0,
        }
    }

    pub fn start_block(&mut self, bytes: usize) {
        let nwords = bytes.div_ceil(4);
        if self.words.len() < nwords {
            self.words.resize(nwords, EMPTY);
            self.split.resize(nwords, false);
            self.cells.resize(nwords * 4, EMPTY);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            // After 2^32 barriers old tags could alias: start clean.
            self.words.iter_mut().for_each(|c| *c = EMPTY);
            self.cells.iter_mut().for_each(|c| *c = EMPTY);
            self.epoch = 1;
        }
        self.gen = self.epoch;
        // Every record is from an earlier block now: a stale word cell behaves as its stale
        // byte cells would, so words can be whole again.
        if self.any_split {
            self.split.iter_mut().for_each(|s| *s = false);
            self.any_split = false;
        }
    }

    pub fn barrier(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
    }

    /// Whether an earlier access by `other` (with its warp-sync count) is ordered before `me`.
    #[inline(always)]
    fn ordered(other: u32, other_wep: u32, me: Who) -> bool {
        other == me.tid || (same_warp(other, me.tid) && other_wep != me.wep)
    }

    /// Records an access of `bytes` bytes at `off` (kind 0 read, 1 write, 2 atomic); the
    /// first byte that breaks a rule, with what it broke.
    #[inline(always)]
    pub fn access(
        &mut self,
        off: usize,
        bytes: usize,
        kind: u8,
        me: Who,
    ) -> Option<(usize, Finding)> {
        if off.is_multiple_of(4) && bytes.is_multiple_of(4) {
            // From the first word, so the count is the constant `bytes / 4` callers pass.
            let w0 = off / 4;
            for wi in w0..w0 + bytes / 4 {
                if !self.split[wi] {
                    if let Some(f) = self.apply(false, wi, kind, me) {
                        return Some((wi * 4, f));
                    }
                } else {
                    for at in wi * 4..wi * 4 + 4 {
                        if let Some(f) = self.apply(true, at, kind, me) {
                            return Some((at, f));
                        }
                    }
                }
            }
            return None;
        }
        self.access_bytes(off, bytes, kind, me)
    }

    /// `access` for each lane of `exec` in turn, lane `l` (thread `tid0 + l`) at
    /// `addrs[l]`: the first lane whose access breaks a rule, the byte and what it broke.
    /// `bytes` is a multiple of 4 and every address a multiple of 4 inside the block's
    /// shared memory (as `warp_span` found), so only the words' split flags are looked at.
    #[inline(always)]
    pub fn access_warp(
        &mut self,
        exec: u32,
        addrs: &[u64; 32],
        bytes: usize,
        kind: u8,
        me: Who,
    ) -> Option<(usize, usize, Finding)> {
        debug_assert!(bytes.is_multiple_of(4));
        if kind == 0 && !self.any_split {
            // The commonest: a read where no word is split. `read` lane after lane, word
            // after word.
            let mut m = exec;
            while m != 0 {
                let l = m.trailing_zeros() as usize;
                m &= m - 1;
                let w0 = addrs[l] as usize / 4;
                let me = Who {
                    tid: me.tid + l as u32,
                    ..me
                };
                if bytes == 4 {
                    // One word (the loop below costs a bounds check more per lane).
                    if let Some(f) = self.read(false, w0, me) {
                        return Some((l, w0 * 4, f));
                    }
                    continue;
                }
                for wi in w0..w0 + bytes / 4 {
                    if let Some(f) = self.read(false, wi, me) {
                        return Some((l, wi * 4, f));
                    }
                }
            }
            return None;
        }
        let mut m = exec;
        while m != 0 {
            let l = m.trailing_zeros() as usize;
            m &= m - 1;
            let me = Who {
                tid: me.tid + l as u32,
                ..me
            };
            if let Some((at, f)) = self.access(addrs[l] as usize, bytes, kind, me) {
                return Some((l, at, f));
            }
        }
        None
    }

    #[cold]
    #[inline(never)]
    fn access_bytes(
        &mut self,
        off: usize,
        bytes: usize,
        kind: u8,
        me: Who,
    ) -> Option<(usize, Finding)> {
        for at in off..off + bytes {
            let wi = at / 4;
            if !self.split[wi] {
                let c = self.words[wi];
                self.cells[wi * 4..wi * 4 + 4].fill(c);
                self.split[wi] = true;
                self.any_split = true;
            }
            if let Some(f) = self.apply(true, at, kind, me) {
                return Some((at, f));
            }
        }
        None
    }

    #[inline(always)]
    fn apply(&mut self, byte: bool, at: usize, kind: u8, me: Who) -> Option<Finding> {
        match kind {
            0 => self.read(byte, at, me),
            1 => self.write(byte, at, me, false),
            _ => self.write(byte, at, me, true),
        }
    }

    #[inline(always)]
    fn cell(&mut self, byte: bool, at: usize) -> &mut Cell {
        if byte {
            &mut self.cells[at]
        } else {
            &mut self.words[at]
        }
    }

    #[inline(always)]
    fn read(&mut self, byte: bool, at: usize, me: Who) -> Option<Finding> {
        let (epoch, gen) = (self.epoch, self.gen);
        let c = self.cell(byte, at);
        if c.init_gen != gen {
            return Some(Finding::Uninit);
        }
        if c.w_epoch == epoch && !Self::ordered(c.w_tid, c.w_wep, me) {
            return Some(Finding::Race(c.w_tid, c.w_line, "write/read"));
        }
        if c.r_epoch != epoch {
            c.r_epoch = epoch;
            c.r_tid = me.tid;
            c.r_tid2 = NONE;
        } else if c.r_tid != me.tid && c.r_tid2 == NONE {
            c.r_tid2 = me.tid;
        }
        c.r_wep = me.wep;
        c.r_line = me.line;
        None
    }

    /// A write (or an atomic read-modify-write when `atomic`).
    #[inline(always)]
    fn write(&mut self, byte: bool, at: usize, me: Who, atomic: bool) -> Option<Finding> {
        let (epoch, gen) = (self.epoch, self.gen);
        let c = self.cell(byte, at);
        if atomic && c.init_gen != gen {
            return Some(Finding::Uninit);
        }
        if c.w_epoch == epoch && !(atomic && c.w_atomic) && !Self::ordered(c.w_tid, c.w_wep, me) {
            return Some(Finding::Race(c.w_tid, c.w_line, "write/write"));
        }
        if c.r_epoch == epoch {
            let other = if c.r_tid != me.tid { c.r_tid } else { c.r_tid2 };
            if other != NONE && !Self::ordered(other, c.r_wep, me) {
                return Some(Finding::Race(other, c.r_line, "read/write"));
            }
        }
        if c.init_gen != gen {
            c.init_gen = gen;
        }
        c.w_epoch = epoch;
        c.w_tid = me.tid;
        c.w_wep = me.wep;
        c.w_line = me.line;
        c.w_atomic = atomic;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(tid: u32) -> Who {
        Who {
            tid,
            wep: 0,
            line: 1,
        }
    }

    fn found(r: Option<(usize, Finding)>) -> Option<(usize, &'static str)> {
        r.map(|(at, f)| match f {
            Finding::Uninit => (at, "uninit"),
            Finding::Race(_, _, k) => (at, k),
        })
    }

    /// Byte accesses inside words that whole-word accesses wrote keep the per-byte rules.
    #[test]
    fn split_words_keep_byte_rules() {
        let mut s = Shadow::new();
        s.start_block(16);
        // Two threads of different warps write the two low bytes of word 0: no race.
        assert!(s.access(0, 1, 1, who(0)).is_none());
        assert!(s.access(1, 1, 1, who(40)).is_none());
        s.barrier();
        // A whole-word read stops at the first byte nobody wrote.
        assert_eq!(found(s.access(0, 4, 0, who(0))), Some((2, "uninit")));
        // Word 1, written whole by thread 0, read at one byte by thread 40 before a barrier.
        assert!(s.access(4, 4, 1, who(0)).is_none());
        assert_eq!(found(s.access(6, 2, 0, who(40))), Some((6, "write/read")));
        s.barrier();
        assert!(s.access(4, 4, 0, who(40)).is_none());
        assert!(s.access(0, 2, 0, who(40)).is_none());
        // A new block: every byte unwritten again, words whole again.
        s.start_block(16);
        assert_eq!(found(s.access(0, 8, 0, who(0))), Some((0, "uninit")));
        assert!(!s.split.iter().any(|&x| x));
    }
}
