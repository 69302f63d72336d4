//! Grading one attempt: the parent side spawns a child process with a watchdog; the child
//! compiles and checks the learner's file and writes an `Outcome`.

pub mod checks;

use std::path::PathBuf;
use std::time::Duration;

use crate::curriculum::Exercise;
use crate::outcome::Outcome;
use crate::toolchain::BackendChoice;

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

/// Grade one attempt in a child process. `Err` is for failures of kernlings itself; anything
/// the learner's code did wrong is an `Outcome` that did not pass.
pub fn grade(_request: &GradeRequest) -> anyhow::Result<Outcome> {
    anyhow::bail!("grading is not built yet")
}

/// TEMPORARY until branch `grade` lands.
pub fn child_main(_arg: String) -> ! {
    std::process::exit(3)
}

/// TEMPORARY until branch `grade` lands.
pub fn build_graders(
    _root: &std::path::Path,
    _curriculum: &crate::curriculum::Curriculum,
    _dir: &std::path::Path,
) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
