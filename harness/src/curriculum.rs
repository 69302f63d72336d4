//! `curriculum.toml`: the ordered list of modules and exercises.
//!
//! These serde types are the contract between the manifest, the grader and the CLI.
//! Validation (with file, line and field in every message) lives in this module too.

use serde::{Deserialize, Serialize};

/// The manifest format this build understands.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Curriculum {
    pub format: u32,
    #[serde(default)]
    pub modules: Vec<Module>,
    #[serde(default)]
    pub exercises: Vec<Exercise>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Module {
    pub id: String,
    pub title: String,
    pub intro: String,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ExerciseKind {
    Cuda,
    Rust,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Exercise {
    pub name: String,
    pub module: String,
    /// Path relative to both `exercises/` and `solutions/`.
    pub file: String,
    pub kind: ExerciseKind,
    /// Hints in levels: the first nudges, the last nearly tells.
    pub hints: Vec<String>,
    /// The name of the check (a function in the grader's registry) that grades this exercise.
    pub check: String,
    /// Problem sizes for the correctness cases; their meaning belongs to the check.
    #[serde(default)]
    pub sizes: Vec<Vec<usize>>,
    #[serde(default)]
    pub tolerance: Option<Tolerance>,
    #[serde(default)]
    pub speed: Option<SpeedBar>,
}

/// `|out - ref| <= atol + rtol * |ref|`, element by element.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    pub rtol: f64,
    pub atol: f64,
}

/// What the learner's kernel is timed against, measured in the same run.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    /// Device-to-device memcpy: the bandwidth a memory-bound kernel can hope for.
    Copy,
    /// cuBLAS SGEMM on the same shapes.
    Cublas,
    /// The harness's own naive kernel for the same problem.
    Naive,
    /// A CPU exercise's naive Rust version, timed in the same process.
    CpuNaive,
}

/// A speed bar: the learner passes when `ratio >= bar`, where `ratio` is
/// baseline_time / learner_time (so 0.85 against `copy` means 85% of copy bandwidth).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SpeedBar {
    pub baseline: Baseline,
    pub bar: f64,
    /// Problem size for the timed case.
    pub size: Vec<usize>,
}
