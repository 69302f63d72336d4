//! Bars on how a kernel touches memory, judged from the CPU backend's counters of one launch
//! (32-byte global sectors touched vs the fewest the accesses needed, shared-memory bank
//! conflicts, total global traffic). Deterministic, so CI can grade the lessons of modules 02
//! and 03 on a machine with no GPU. Never a speed: messages say they are counters.

use crate::grade::Failure;
#[cfg(test)]
use crate::outcome::AccessSite;
use crate::outcome::LaunchCounters;

/// A coalesced kernel touches about the sectors its bytes need; the slack covers rows that do
/// not start on a 32-byte boundary (odd widths), where a warp's 128 bytes span 5 sectors.
/// Strided accesses land far above it (a naive transpose 4.5x, a column-walking SGEMM 6x).
pub const COALESCED_SLACK: f64 = 1.5;

const NOT_SPEED: &str = "(Counted by the CPU backend on this launch: a deterministic count of \
                         memory transactions, not a speed measurement.)";

/// Every global load and store within `COALESCED_SLACK` of the fewest sectors it needs,
/// judged per instruction: coalesced accesses added around an uncoalesced one do not hide it.
/// Reports of drivers that count no sites are judged on the launch's totals.
pub fn coalesced(c: &LaunchCounters, advice: &str) -> Option<Failure> {
    let totals = format!(
        "global memory sectors touched by the whole launch: {}, the fewest its accesses could \
         use: {}.",
        c.global_sectors, c.global_sectors_min
    );
    let Some(site) = &c.worst_site else {
        let ratio = c.global_sectors as f64 / c.global_sectors_min.max(1) as f64;
        return (ratio > COALESCED_SLACK).then(|| {
            Failure::new(
                format!(
                    "your warps touch {ratio:.1}x the 32-byte sectors their loads and stores \
                     need (bar: {COALESCED_SLACK}x): some accesses are not coalesced"
                ),
                format!("{totals}\n{advice}\n{NOT_SPEED}\n"),
            )
        });
    };
    let ratio = site.sectors as f64 / site.sectors_min.max(1) as f64;
    let at = if site.line == 0 {
        format!("one {} of your kernel", site.access)
    } else {
        format!("the {} at line {}", site.access, site.line)
    };
    (ratio > COALESCED_SLACK).then(|| {
        Failure::new(
            format!(
                "{at} touches {ratio:.1}x the 32-byte sectors it needs (bar: {COALESCED_SLACK}x \
                 for every load and store): it is not coalesced"
            ),
            format!(
                "its warps touched {} sectors where {} would hold the bytes they asked for; \
                 every load and store is held to the bar on its own, so extra coalesced \
                 accesses do not make up for it.\n{totals}\n{advice}\n{NOT_SPEED}\n",
                site.sectors, site.sectors_min
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

    /// Redundant coalesced loads bring the launch's ratio under the bar; the store's own
    /// ratio does not move, and the message names its line.
    #[test]
    fn the_worst_site_is_graded_not_the_launch() {
        let mut c = counters(4000, 3000, 0);
        assert!(coalesced(&c, "").is_none());
        c.worst_site = Some(AccessSite {
            line: 21,
            instruction: 40,
            access: "store".into(),
            sectors: 1000,
            sectors_min: 125,
        });
        let f = coalesced(&c, "turn the tile").unwrap();
        assert!(
            f.summary
                .starts_with("the store at line 21 touches 8.0x the 32-byte sectors it needs"),
            "{}",
            f.summary
        );
        assert!(f.summary.contains("not coalesced") && f.details.contains("turn the tile"));
        c.worst_site.as_mut().unwrap().sectors = 150;
        assert!(coalesced(&c, "").is_none());
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
