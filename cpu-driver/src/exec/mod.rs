//! Running a kernel: blocks spread over worker threads, each block's warps interleaved at
//! barriers, each warp executing pre-decoded instructions for its active lanes at once.
// Lane and fragment loops index several parallel arrays by the same lane or element number,
// as the PTX ISA's tables do.
#![allow(clippy::needless_range_loop)]

mod alu;
mod fast;
pub mod global_race;
pub mod memory;
pub mod num;
mod printf;
mod shadow;
mod tensor;
mod warp;

use crate::ptx::ir::{Function, Op};
use crate::report::{AccessSite, Diagnostic, Dim3, LaunchCounters};
use memory::MemView;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Warp instructions one warp may execute before the launch counts as a runaway loop.
pub const DEFAULT_BUDGET: u64 = 1 << 24;

/// Streaming multiprocessors the device reports (`%nsmid`, the attribute): one per core.
pub fn sm_count() -> u32 {
    static N: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1)
    })
}

pub struct LaunchParams<'a> {
    pub func: &'a Function,
    pub grid: Dim3,
    pub block: Dim3,
    pub dyn_smem: usize,
    /// The kernel's parameter buffer, laid out as the PTX `.param`s say.
    pub params: &'a [u8],
    pub mem: &'a MemView,
    pub budget: u64,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
}

#[derive(Debug, Clone)]
pub struct LaunchOutcome {
    pub counters: LaunchCounters,
    pub diagnostic: Option<Diagnostic>,
}

/// A worker's counters, its failing block with the lowest index, its global stores, its
/// global sectors per instruction.
type WorkerResult = (
    LaunchCounters,
    Option<(usize, Diagnostic)>,
    global_race::GlobalShadow,
    Vec<warp::SiteCount>,
);

pub fn launch(p: &LaunchParams) -> LaunchOutcome {
    let nblocks = p.grid.iter().map(|&x| x as usize).product::<usize>();
    let nthreads = p.block.iter().map(|&x| x as usize).product::<usize>();
    let mut counters = LaunchCounters {
        kernel: p.func.name.clone(),
        ..Default::default()
    };
    if nblocks == 0 || nthreads == 0 {
        return LaunchOutcome {
            counters,
            diagnostic: None,
        };
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut workers = if p.workers == 0 { cores } else { p.workers };
    // Float atomics on global memory sum in block order; running blocks in parallel would make
    // the result change from run to run.
    if p.func.order_sensitive {
        workers = 1;
    }
    let workers = workers.min(nblocks).max(1);
    let next = AtomicUsize::new(0);
    // The failing block with the lowest index wins, so the report does not depend on timing.
    let first_fail = AtomicUsize::new(usize::MAX);
    let stop = AtomicBool::new(false);
    let results: Mutex<Vec<WorkerResult>> = Mutex::new(Vec::new());
    let work = || {
        let mut runner = warp::BlockRunner::new(p, nthreads);
        let mut fail: Option<(usize, Diagnostic)> = None;
        loop {
            let b = next.fetch_add(1, Ordering::Relaxed);
            if b >= nblocks
                || b > first_fail.load(Ordering::Relaxed)
                || stop.load(Ordering::Relaxed)
            {
                break;
            }
            let ctaid = [
                (b % p.grid[0] as usize) as u32,
                ((b / p.grid[0] as usize) % p.grid[1] as usize) as u32,
                (b / (p.grid[0] as usize * p.grid[1] as usize)) as u32,
            ];
            if let Err(diag) = runner.run_block(ctaid) {
                first_fail.fetch_min(b, Ordering::Relaxed);
                // A budget overrun elsewhere must not wait for slow blocks: stop everything.
                if matches!(diag, Diagnostic::InstructionBudget { .. }) {
                    stop.store(true, Ordering::Relaxed);
                }
                if fail.as_ref().is_none_or(|(fb, _)| b < *fb) {
                    fail = Some((b, diag));
                }
            }
        }
        results.lock().unwrap_or_else(|e| e.into_inner()).push((
            runner.counters,
            fail,
            runner.global_shadow,
            runner.sites,
        ));
    };
    if workers == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(work);
            }
        });
    }
    let mut diagnostic: Option<(usize, Diagnostic)> = None;
    let mut stores = global_race::GlobalShadow::default();
    let mut sites = vec![warp::SiteCount::default(); p.func.instrs.len()];
    for (c, fail, shadow, s) in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
        counters.add(&c);
        stores.merge(shadow).recycle();
        for (all, one) in sites.iter_mut().zip(&s) {
            all.sectors += one.sectors;
            all.min += one.min;
        }
        if let Some((b, d)) = fail {
            if diagnostic.as_ref().is_none_or(|(db, _)| b < *db) {
                diagnostic = Some((b, d));
            }
        }
    }
    counters.worst_site = worst_site(p.func, &sites);
    // A launch that failed otherwise may not have run every block: its stores say nothing.
    let diagnostic = diagnostic.map(|d| d.1).or_else(|| {
        let c = stores.conflict()?;
        let block = |b: u32| {
            let (gx, gy) = (p.grid[0], p.grid[1]);
            [b % gx, (b / gx) % gy, b / (gx * gy)]
        };
        let thread = |t: u32| {
            let (bx, by) = (p.block[0], p.block[1]);
            [t % bx, (t / bx) % by, t / (bx * by)]
        };
        Some(Diagnostic::GlobalRace {
            address: c.address,
            bytes: c.bytes,
            thread_a: thread(c.a.tid),
            block_a: block(c.a.block),
            line_a: c.a.line,
            thread_b: thread(c.b.tid),
            block_b: block(c.b.block),
            line: c.b.line,
        })
    });
    stores.recycle();
    LaunchOutcome {
        counters,
        diagnostic,
    }
}

/// The global access whose warps touched the most sectors per sector needed (ties: the one
/// with more traffic, then the earlier instruction).
fn worst_site(func: &Function, sites: &[warp::SiteCount]) -> Option<AccessSite> {
    let (i, s) =
        sites
            .iter()
            .enumerate()
            .filter(|(_, s)| s.min > 0)
            .max_by(|(ia, a), (ib, b)| {
                // a.sectors / a.min against b.sectors / b.min, exactly.
                (a.sectors as u128 * b.min as u128)
                    .cmp(&(b.sectors as u128 * a.min as u128))
                    .then(a.sectors.cmp(&b.sectors))
                    .then(ib.cmp(ia))
            })?;
    let ins = &func.instrs[i];
    let access = match ins.op {
        Op::Ld => "load",
        Op::St => "store",
        Op::CpAsync => "cp.async",
        _ => "atomic",
    };
    Some(AccessSite {
        line: ins.line,
        instruction: i as u32,
        access: access.into(),
        sectors: s.sectors,
        sectors_min: s.min,
    })
}
