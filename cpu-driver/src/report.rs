//! What the driver reports about each launch: one JSON line per launch, appended to the file
//! named by `KERNLINGS_CPU_REPORT`. The harness (cpu_report.rs) reads the same field names;
//! the two crates keep their own copies of these small types so neither depends on the other.

use serde::{Deserialize, Serialize};
use std::io::Write;

pub type Dim3 = [u32; 3];

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LaunchCounters {
    pub kernel: String,
    /// Thread instructions: one per active lane of each warp instruction executed.
    pub instructions: u64,
    /// 32-byte global-memory sectors the warps' accesses touched...
    pub global_sectors: u64,
    /// ...and the fewest those accesses could have touched (perfect coalescing).
    pub global_sectors_min: u64,
    /// Extra shared-memory wavefronts caused by several words in one bank.
    pub shared_bank_conflicts: u64,
    /// Branches where the lanes of a warp went different ways.
    pub divergent_branches: u64,
    /// The global load or store with the worst ratio of sectors touched to the fewest needed,
    /// summed over every warp that executed it: one uncoalesced access stands out here even
    /// when many coalesced ones dilute the launch's totals. Absent when the launch touched no
    /// global memory (and in reports of older drivers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worst_site: Option<AccessSite>,
}

/// One global-memory instruction of the kernel and the sectors its warps touched.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AccessSite {
    /// The learner's source line (0 when the PTX has no line information).
    pub line: u32,
    /// Index of the instruction in the kernel's PTX body.
    pub instruction: u32,
    /// "load", "store", "atomic" or "cp.async".
    pub access: String,
    pub sectors: u64,
    /// The fewest sectors its warps needed, a contiguous run of lanes counting as coalesced
    /// however its first byte is aligned.
    pub sectors_min: u64,
}

impl LaunchCounters {
    /// Sums the totals; `worst_site` is left alone: `exec::launch` sets it from every
    /// worker's per-instruction counts.
    pub fn add(&mut self, o: &LaunchCounters) {
        self.instructions += o.instructions;
        self.global_sectors += o.global_sectors;
        self.global_sectors_min += o.global_sectors_min;
        self.shared_bank_conflicts += o.shared_bank_conflicts;
        self.divergent_branches += o.divergent_branches;
    }
}

/// A shared-memory location in the learner's terms: the array and the byte offset inside it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SharedLoc {
    /// The array's name as written in the source (demangled), or "dynamic shared memory".
    pub array: String,
    /// Byte offset from the start of the array.
    pub byte_offset: u64,
    /// Byte offset in the block's shared memory.
    pub offset: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Diagnostic {
    /// An access outside every allocation (global), outside the block's shared memory, or
    /// outside the thread's local memory. `space` is "global", "shared" or "local".
    OutOfBounds {
        address: u64,
        bytes: u32,
        write: bool,
        space: String,
        thread: Dim3,
        block: Dim3,
        line: u32,
    },
    /// Two threads touched the same shared bytes between two barriers, at least one writing.
    SharedRace {
        location: SharedLoc,
        /// The earlier access, then the one that collided with it.
        thread_a: Dim3,
        thread_b: Dim3,
        /// "write/write", "write/read" or "read/write" (earlier/later).
        kinds: String,
        block: Dim3,
        line_a: u32,
        line: u32,
    },
    /// `bar.sync` (`__syncthreads()`) that not every thread of the block reached.
    BarrierDivergence {
        block: Dim3,
        /// Some threads waiting at the barrier, and how many in all.
        waiting: Vec<Dim3>,
        waiting_count: u32,
        /// Some threads that had exited or were waiting at another barrier, and how many.
        elsewhere: Vec<Dim3>,
        elsewhere_count: u32,
        /// Whether the missing threads had exited (returned) rather than waiting elsewhere.
        exited: bool,
        line: u32,
    },
    UninitSharedRead {
        location: SharedLoc,
        thread: Dim3,
        block: Dim3,
        line: u32,
    },
    InstructionBudget {
        budget: u64,
        thread: Dim3,
        block: Dim3,
        line: u32,
    },
    Unsupported {
        instruction: String,
        line: u32,
    },
    Misaligned {
        address: u64,
        bytes: u32,
        space: String,
        thread: Dim3,
        block: Dim3,
        line: u32,
    },
    /// `trap` / `__trap()` / a failed device-side `assert`.
    Trap {
        thread: Dim3,
        block: Dim3,
        line: u32,
    },
    /// A store or atomic into a buffer the grader marked read-only (an input).
    WriteToInput {
        address: u64,
        bytes: u32,
        thread: Dim3,
        block: Dim3,
        line: u32,
    },
    /// Two plain (non-atomic) stores of different values to one global element with nothing
    /// ordering them: from two blocks of the launch, or from two threads of one block between
    /// the same barriers. The earlier writer is `_a`.
    GlobalRace {
        address: u64,
        bytes: u32,
        thread_a: Dim3,
        block_a: Dim3,
        line_a: u32,
        thread_b: Dim3,
        block_b: Dim3,
        line: u32,
    },
    /// A warp-synchronous instruction (`__shfl_*_sync`, `__ballot_sync`, `__syncwarp`...)
    /// whose member mask names lanes that are not executing it: undefined on a GPU.
    WarpMask {
        /// The CUDA intrinsic, e.g. "__shfl_down_sync".
        intrinsic: String,
        mask: u32,
        /// Lanes the mask names that had returned...
        exited: u32,
        /// ...or that do not exist: the block's last warp is partial.
        absent: u32,
        warp: u32,
        block: Dim3,
        line: u32,
    },
    /// A shared access to bytes a `cp.async` is still copying: the issuing thread had not
    /// waited for it (`cp.async.wait_group` / `wait_all`), or had not committed it.
    CpAsyncPending {
        location: SharedLoc,
        /// A write (or atomic) rather than a read.
        write: bool,
        thread: Dim3,
        block: Dim3,
        line: u32,
        /// The thread that issued the copy, and the cp.async's line.
        copier: Dim3,
        copy_line: u32,
    },
}

impl Diagnostic {
    /// The CUresult a GPU would have returned for the same kernel.
    pub fn cu_result(&self) -> u32 {
        match self {
            Diagnostic::OutOfBounds { .. } => 700, // CUDA_ERROR_ILLEGAL_ADDRESS
            Diagnostic::Misaligned { .. } => 716,  // CUDA_ERROR_MISALIGNED_ADDRESS
            Diagnostic::InstructionBudget { .. } => 702, // CUDA_ERROR_LAUNCH_TIMEOUT
            Diagnostic::Trap { .. } => 710,        // CUDA_ERROR_ASSERT
            Diagnostic::Unsupported { .. } => 222, // CUDA_ERROR_UNSUPPORTED_PTX_VERSION
            _ => 719,                              // CUDA_ERROR_LAUNCH_FAILED
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LaunchReport {
    pub kernel: String,
    pub grid: Dim3,
    pub block: Dim3,
    pub counters: LaunchCounters,
    pub diagnostic: Option<Diagnostic>,
}

/// Appends the report to `$KERNLINGS_CPU_REPORT` when it is set.
pub fn append(report: &LaunchReport) {
    write_line(report);
}

fn write_line(value: &impl Serialize) {
    let Some(path) = std::env::var_os("KERNLINGS_CPU_REPORT") else {
        return;
    };
    let Ok(line) = serde_json::to_string(value) else {
        return;
    };
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{line}");
    }
}

/// A module the driver refused to load, as one line of the report file: the reason, for the
/// grader to show (cudarc only sees CUDA_ERROR_INVALID_PTX).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoadError {
    pub load_error: String,
}

/// Appends a load error to `$KERNLINGS_CPU_REPORT` when it is set.
pub fn append_load_error(reason: &str) {
    write_line(&LoadError {
        load_error: reason.to_string(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact line harness/src/cpu_report.rs parses in its test: both sides of the contract.
    #[test]
    fn serialises_as_the_harness_reads_it() {
        let report = LaunchReport {
            kernel: "k".into(),
            grid: [4, 1, 1],
            block: [256, 1, 1],
            counters: LaunchCounters {
                kernel: "k".into(),
                instructions: 10,
                global_sectors: 4,
                global_sectors_min: 4,
                shared_bank_conflicts: 0,
                divergent_branches: 1,
                worst_site: None,
            },
            diagnostic: Some(Diagnostic::SharedRace {
                location: SharedLoc {
                    array: "s".into(),
                    byte_offset: 4,
                    offset: 4,
                },
                thread_a: [1, 0, 0],
                thread_b: [0, 0, 0],
                kinds: "write/read".into(),
                block: [0, 0, 0],
                line_a: 10,
                line: 12,
            }),
        };
        let line = r#"{"kernel":"k","grid":[4,1,1],"block":[256,1,1],"counters":{"kernel":"k","instructions":10,"global_sectors":4,"global_sectors_min":4,"shared_bank_conflicts":0,"divergent_branches":1},"diagnostic":{"kind":"shared_race","location":{"array":"s","byte_offset":4,"offset":4},"thread_a":[1,0,0],"thread_b":[0,0,0],"kinds":"write/read","block":[0,0,0],"line_a":10,"line":12}}"#;
        assert_eq!(serde_json::to_string(&report).unwrap(), line);
    }

    /// The worst access site, when there is one, as harness/src/cpu_report.rs's test reads it.
    #[test]
    fn serialises_the_worst_site() {
        let c = LaunchCounters {
            kernel: "k".into(),
            global_sectors: 40,
            global_sectors_min: 8,
            worst_site: Some(AccessSite {
                line: 9,
                instruction: 17,
                access: "store".into(),
                sectors: 32,
                sectors_min: 4,
            }),
            ..Default::default()
        };
        let line = r#"{"kernel":"k","instructions":0,"global_sectors":40,"global_sectors_min":8,"shared_bank_conflicts":0,"divergent_branches":0,"worst_site":{"line":9,"instruction":17,"access":"store","sectors":32,"sectors_min":4}}"#;
        assert_eq!(serde_json::to_string(&c).unwrap(), line);
    }
}
