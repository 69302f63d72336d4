//! What one grading attempt produced. The grading child writes this as JSON; the CLI, the
//! progress state and the report read it. Keep it plain data.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Outcome {
    pub exercise: String,
    /// The seed the inputs were drawn from; `--seed` replays it.
    pub seed: u64,
    /// Which backend ran the kernels.
    pub backend: BackendInfo,
    pub correctness: Correctness,
    /// `None` when speed was not measured (no GPU, `--no-speed`, no bar, or correctness failed).
    pub speed: Option<SpeedResult>,
    /// Why speed was not measured, in the learner's words, when it was not.
    pub speed_skipped: Option<String>,
    /// Counters from the CPU backend (never GPU speed), one entry per launch the check reports.
    #[serde(default)]
    pub counters: Vec<LaunchCounters>,
    /// The server exercise's load sweep (module 10), for the report's serving chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_sweep: Option<LoadSweep>,
}

/// An open-loop load test at rising request rates against the learner's server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoadSweep {
    /// Time to first token of a request alone on an idle server.
    pub single_ttft_ms: f64,
    /// The highest rate up to which every rate kept up with its offered tokens.
    pub knee_rps: f64,
    pub rows: Vec<LoadRow>,
}

/// What one rate of the sweep measured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoadRow {
    /// Offered request rate (Poisson arrivals).
    pub rps: f64,
    pub ttft_p50_ms: f64,
    pub ttft_p99_ms: f64,
    /// Inter-token latency, p50.
    pub itl_p50_ms: f64,
    pub tokens_per_s: f64,
    /// Requests per second that met the TTFT and TPOT objectives.
    pub goodput_rps: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BackendInfo {
    /// "gpu" or "cpu".
    pub kind: String,
    /// e.g. "NVIDIA H200" or "kernlings CPU driver (PTX interpreter)".
    pub device: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Correctness {
    Passed {
        /// One line per size checked, e.g. "n=33: 33 elements match".
        cases: Vec<String>,
    },
    /// The learner's file did not compile. `message` already maps lines to the learner's path.
    CompileError { message: String },
    /// Wrong results, a crash, a hang, an out-of-bounds access...: `summary` is one sentence,
    /// `details` the table of mismatches or the diagnostic, ready to print.
    Failed { summary: String, details: String },
}

impl Correctness {
    pub fn passed(&self) -> bool {
        matches!(self, Correctness::Passed { .. })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SpeedResult {
    pub baseline: String,
    /// baseline_time / learner_time, medians of interleaved samples.
    pub ratio: f64,
    pub bar: f64,
    pub passed: bool,
    pub learner: Timing,
    pub baseline_timing: Timing,
    /// e.g. "3.61 TB/s" or "41.2 TFLOP/s".
    pub achieved: String,
    /// Achieved throughput as a percentage of the measured device limit (copy bandwidth or cuBLAS).
    pub percent_of_limit: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Timing {
    pub median_us: f64,
    pub p10_us: f64,
    pub p90_us: f64,
    pub samples: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LaunchCounters {
    pub kernel: String,
    pub instructions: u64,
    pub global_sectors: u64,
    pub global_sectors_min: u64,
    pub shared_bank_conflicts: u64,
    pub divergent_branches: u64,
    /// The global access with the worst sectors-to-needed ratio (cpu-driver/src/report.rs);
    /// absent in older reports and where the launch touched no global memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worst_site: Option<AccessSite>,
}

/// One load or store instruction of a kernel and the global sectors its warps touched.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AccessSite {
    /// The learner's source line (0 when unknown).
    pub line: u32,
    /// Index of the instruction in the kernel's PTX.
    pub instruction: u32,
    /// "load", "store", "atomic" or "cp.async".
    pub access: String,
    pub sectors: u64,
    pub sectors_min: u64,
}

impl Outcome {
    /// Passed means correct, and fast enough wherever speed was measured.
    pub fn passed(&self) -> bool {
        self.correctness.passed() && self.speed.as_ref().is_none_or(|s| s.passed)
    }
}
