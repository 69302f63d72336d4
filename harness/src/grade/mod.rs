//! Grading one attempt: the parent side spawns a child process with a watchdog; the child
//! compiles and checks the learner's file and writes an `Outcome`.
//!
//! Check authors: read `check.rs` (the API) and `checks/vector_add.rs` (the model check).

mod check;
pub mod checks;
mod child;
mod compare;
mod compile;
mod cuda_error;
mod element;
mod inputs;
mod parent;
mod rust_exercise;
mod speed;
mod timed;

use std::path::PathBuf;
use std::time::Duration;

use crate::curriculum::Exercise;
use crate::toolchain::BackendChoice;

// The API check authors import from `crate::grade`.
pub use check::{blocks_for, Arg, CheckCtx, DevBuf, Kernel, Launch};
pub use child::{child_main, display_path};
pub use compare::Failure;
pub use element::Element;
pub use parent::{grade, grade_cancellable, grade_under, needs_toolchain, Cancel, Cancelled};
pub use rust_exercise::{build_graders, server_binary, source_hash, RustCtx};
pub use speed::Work;

/// Everything the grader needs to know about one attempt.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct GradeRequest {
    /// The repository root (where curriculum.toml lives).
    pub root: PathBuf,
    pub exercise: Exercise,
    /// The file to grade: the learner's exercise, a solution, or a known-wrong version.
    pub source: PathBuf,
    /// `None` draws a fresh seed (printed in the outcome so it can be replayed).
    pub seed: Option<u64>,
    /// Measure speed where a bar exists and a GPU is present.
    pub speed: bool,
    pub backend: BackendChoice,
    /// The watchdog: a child still running after this is killed and the attempt fails.
    pub timeout: Duration,
    /// Prebuilt grader binaries for `.rs` exercises (a grading box with no Rust toolchain).
    pub prebuilt: Option<PathBuf>,
}
