//! Bars on how a kernel touches memory, judged from the CPU backend's counters of one launch
//! (32-byte global sectors touched vs the fewest the accesses needed, shared-memory bank
//! conflicts, total global traffic). Deterministic, so CI can grade the lessons of modules 02
//! and 03 on a machine with no GPU. Never a speed: messages say they are counters.

use crate::grade::Failure;
use crate::outcome::LaunchCounters;

/// A coalesced kernel touches about the sectors its bytes need; the slack covers rows that do
/// not start on a 32-byte boundary (odd widths), where a warp's 128 bytes span 5 sectors.
/// Strided accesses land far above it (a naive transpose 4.5x, a column-walking SGEMM 6x).
pub const COALESCED_SLACK: f64 = 1.5;

const NOT_SPEED: &str = "(Counted by the CPU backend on this launch: a deterministic count of \
                         memory transactions, not a speed measurement.)";

/// Global loads and stores within `COALESCED_SLACK` of the minimum sectors.
pub fn coalesced(c: &LaunchCounters, advice: &str) -> Option<Failure> {
    let ratio = c.global_sectors as f64 / c.global_sectors_min.max(1) as f64;
    (ratio > COALESCED_SLACK).then(|| {
        Failure::new(
            format!(
                "your warps touch {ratio:.1}x the 32-byte sectors their loads and stores need \
                 (bar: {COALESCED_SLACK}x): some accesses are not coalesced"
            ),
            format!(
                "global memory sectors touched: {}, the fewest these accesses could use: {}.\n\
                 {advice}\n{NOT_SPEED}\n",
                c.global_sectors, c.global_sectors_min
            ),
        )
    })
}

/// No two lanes of a warp access different words of one shared-memory bank at once.
pub fn conflict_free(c: &LaunchCounters, advice: &str) -> Option<Failure> {
    (c.shared_bank_conflicts > 0).then(|| {
        Failure::new(
            format!(
                "your shared-memory accesses have {} bank conflicts (bar: none)",
                c.shared_bank_conflicts
            ),
            format!(
                "Each conflict is one extra pass a warp's access to shared memory needs because \
                 two of its lanes hit different words of the same bank.\n{advice}\n{NOT_SPEED}\n"
            ),
        )
    })
}

/// Global traffic of at most `budget` sectors: data reused from on-chip memory is not
/// fetched again.
pub fn traffic_within(c: &LaunchCounters, budget: u64, advice: &str) -> Option<Failure> {
    (c.global_sectors > budget).then(|| {
        Failure::new(
            format!(
                "your kernel moves {} 32-byte sectors through global memory (bar: at most {budget}): \
                 it does not reuse what it loads",
                c.global_sectors
            ),
            format!("{advice}\n{NOT_SPEED}\n"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(sectors: u64, min: u64, conflicts: u64) -> LaunchCounters {
        LaunchCounters {
            global_sectors: sectors,
            global_sectors_min: min,
            shared_bank_conflicts: conflicts,
            ..Default::default()
        }
    }

    // Figures from the CPU backend on this module's kernels (transpose 333 x 1000).
    #[test]
    fn tiled_transpose_passes_and_naive_fails_the_coalescing_bar() {
        assert!(coalesced(&counters(92875, 83625, 0), "").is_none());
        let naive = coalesced(&counters(374625, 83250, 0), "stage it").unwrap();
        assert!(naive.summary.contains("4.5x"), "{}", naive.summary);
        assert!(naive.details.contains("stage it") && naive.details.contains("not a speed"));
    }

    #[test]
    fn any_bank_conflict_fails_the_padded_bar() {
        assert!(conflict_free(&counters(1, 1, 0), "").is_none());
        let f = conflict_free(&counters(1, 1, 322000), "pad").unwrap();
        assert!(f.summary.contains("322000 bank conflicts"), "{}", f.summary);
    }

    #[test]
    fn traffic_bar_is_inclusive() {
        assert!(traffic_within(&counters(100, 1, 0), 100, "").is_none());
        assert!(traffic_within(&counters(101, 1, 0), 100, "").is_some());
    }
}
