//! Per-byte bookkeeping of shared memory: who wrote and read each byte since the last barrier,
//! and whether anything wrote it at all in this block.

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
    cells: Vec<Cell>,
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
            cells: Vec::new(),
            epoch: 0,
            gen: 0,
        }
    }

    pub fn start_block(&mut self, bytes: usize) {
        if self.cells.len() < bytes {
            self.cells.resize(bytes, EMPTY);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            // After 2^32 barriers old tags could alias: start clean.
            self.cells.iter_mut().for_each(|c| *c = EMPTY);
            self.epoch = 1;
        }
        self.gen = self.epoch;
    }

    pub fn barrier(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
    }

    /// Whether an earlier access by `other` (with its warp-sync count) is ordered before `me`.
    #[inline(always)]
    fn ordered(other: u32, other_wep: u32, me: Who) -> bool {
        other == me.tid || (same_warp(other, me.tid) && other_wep != me.wep)
    }

    #[inline(always)]
    pub fn read(&mut self, at: usize, me: Who) -> Option<Finding> {
        let epoch = self.epoch;
        let c = &mut self.cells[at];
        if c.init_gen != self.gen {
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
    pub fn write(&mut self, at: usize, me: Who, atomic: bool) -> Option<Finding> {
        let epoch = self.epoch;
        let gen = self.gen;
        let c = &mut self.cells[at];
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
