//! One module per command; this one finds the course, loads it, and grades one attempt the
//! way every command does.

mod check_solutions;
mod dev;
mod diff;
pub mod hint;
pub mod list;
mod parity;
pub mod profile;
pub mod reset;
mod serve;
pub mod show;
mod state_cmd;
mod verify;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use chrono::{Local, Utc};

use crate::cli::{Cli, Command, DevAction, Global, CPU_TIMEOUT_SECS, GPU_TIMEOUT_SECS};
use crate::curriculum::{self, Curriculum, Exercise};
use crate::grade::{self, GradeRequest};
use crate::outcome::Outcome;
use crate::state::State;
use crate::toolchain::{self, BackendChoice};

/// What every command works with.
pub struct Course {
    pub root: PathBuf,
    pub curriculum: Curriculum,
    pub global: Global,
}

pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let course = Course::open(&cli.global)?;
    let command = cli.command.unwrap_or(Command::Watch);
    // A learner's first command keeps the untouched stubs, so `reset` can restore them and
    // `check-solutions` grades them rather than solved ones. The instructor's commands keep
    // nothing: an author editing a stub must have the edit graded, not a stale copy.
    if matches!(command, Command::Watch) {
        // Watch redraws the whole screen: what set-up has to say waits for its top area.
        crate::state::hold_notices();
    }
    if !matches!(
        command,
        Command::CheckSolutions { .. } | Command::BuildGraders { .. } | Command::Dev { .. }
    ) {
        reset::save_originals(&course)?;
    }
    // Originals kept before a course update would have `reset` restore, and `check-solutions`
    // grade, the old stub.
    for said in reset::refresh_originals(&course)? {
        crate::state::notice(said);
    }
    let needs_toolchain = course
        .curriculum
        .exercises
        .iter()
        .any(grade::needs_toolchain);
    if matches!(command, Command::Watch) && needs_toolchain {
        // NVRTC and the CPU driver download and build while the learner reads the first
        // exercise, which is plain Rust and needs neither.
        crate::cpu_setup::start_background_install(course.global.backend, &course.root);
    }
    match command {
        Command::Watch => crate::watch::run(&course),
        Command::Verify { json, prebuilt } => verify::run(&course, json, prebuilt.prebuilt),
        Command::Run { name, prebuilt } => run_one(&course, &name, prebuilt.prebuilt),
        Command::Hint { name, all } => hint::run(&course, name.as_deref(), all),
        Command::List => list::run(&course),
        Command::Reset { name } => reset::run(&course, &name),
        Command::State { action } => state_cmd::run(&course, &action),
        Command::Report => crate::report::write(&course),
        Command::Diff { name } => diff::run(&course, &name),
        Command::Profile { name, note } => profile::run(&course, &name, note.as_deref()),
        Command::CheckSolutions {
            json,
            module,
            exercise,
            prebuilt,
        } => check_solutions::run(
            &course,
            check_solutions::Filter { module, exercise },
            json,
            prebuilt.prebuilt,
        ),
        Command::Serve {
            name,
            port,
            model,
            bench,
            solutions,
            grader,
        } => serve::run(
            &course,
            &name,
            port,
            serve::Options {
                model,
                bench,
                solutions,
                grader,
            },
        ),
        Command::BuildGraders { dir } => build_graders(&course, &dir),
        Command::Dev {
            action: DevAction::Parity { action },
        } => parity::run(&course, &action),
        Command::Dev {
            action:
                DevAction::New {
                    target,
                    kind,
                    check,
                },
        } => dev::new(&course, &target, kind, &check),
    }
}

impl Course {
    pub fn open(global: &Global) -> anyhow::Result<Course> {
        let root = match &global.root {
            // Absolute, so messages, the file watcher and the grading child agree on paths.
            Some(root) => root
                .canonicalize()
                .with_context(|| format!("--root {}", root.display()))?,
            None => {
                find_root(&std::env::current_dir().context("cannot read the current directory")?)?
            }
        };
        // A day bounds it so the watchdog's Duration can always hold it.
        if let Some(t) = global.timeout.filter(|t| !(*t > 0.0 && *t <= 86_400.0)) {
            bail!("--timeout must be a positive number of seconds, at most 86400, not {t}");
        }
        let curriculum = Curriculum::load(&root, &grade::checks::names().collect::<Vec<_>>())?;
        Ok(Course {
            root,
            curriculum,
            global: global.clone(),
        })
    }

    pub fn exercise(&self, name: &str) -> anyhow::Result<&Exercise> {
        match self.curriculum.exercise(name) {
            Some(ex) => Ok(ex),
            None => bail!(
                "no exercise named `{name}`; `{} list` shows them all",
                toolchain::command_name()
            ),
        }
    }

    /// The learner's file, as a path relative to the course (for messages).
    pub fn display_path(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    pub fn request(
        &self,
        ex: &Exercise,
        source: PathBuf,
        prebuilt: Option<PathBuf>,
    ) -> GradeRequest {
        GradeRequest {
            root: self.root.clone(),
            exercise: ex.clone(),
            source,
            seed: self.global.seed,
            speed: !self.global.no_speed,
            backend: self.global.backend,
            timeout: Duration::from_secs_f64(self.timeout(ex)),
            prebuilt,
        }
    }

    /// Whether grading will run on a real GPU (else on the CPU driver).
    pub fn on_gpu(&self) -> bool {
        match self.global.backend {
            BackendChoice::Gpu => true,
            BackendChoice::Cpu => false,
            BackendChoice::Auto => toolchain::real_gpu().is_some(),
        }
    }

    /// `--timeout`, or the default for the backend grading will use (at least the
    /// exercise's own, where it states one).
    fn timeout(&self, ex: &Exercise) -> f64 {
        self.global.timeout.unwrap_or_else(|| {
            let default = if self.on_gpu() {
                GPU_TIMEOUT_SECS
            } else {
                CPU_TIMEOUT_SECS
            };
            default.max(ex.timeout.unwrap_or(0.0))
        })
    }

    /// Grades the learner's copy of `ex` and records the attempt in the progress state.
    /// A missing file is not graded: the learner is told how to restore it.
    pub fn attempt(&self, ex: &Exercise, prebuilt: Option<PathBuf>) -> anyhow::Result<Attempt> {
        self.attempt_cancellable(ex, prebuilt, &grade::Cancel::default())
    }

    /// `attempt`, stopped early through `cancel` (watch's keys): then the error is
    /// `grade::Cancelled` and nothing is recorded.
    pub fn attempt_cancellable(
        &self,
        ex: &Exercise,
        prebuilt: Option<PathBuf>,
        cancel: &grade::Cancel,
    ) -> anyhow::Result<Attempt> {
        let path = curriculum::exercise_path(&self.root, ex);
        if !path.exists() {
            return Ok(Attempt::Missing(path));
        }
        let content = std::fs::read(&path).unwrap_or_default();
        let outcome = grade::grade_cancellable(&self.request(ex, path, prebuilt), cancel)
            .with_context(|| format!("grading `{}`", ex.name))?;
        let now = Utc::now();
        let day = now.with_timezone(&Local).date_naive();
        State::update(&self.root, |s| {
            let hash = grade::source_hash(&content);
            s.record(&outcome, show::one_line(&outcome), now, day, &hash);
        })?;
        Ok(Attempt::Graded(Box::new(outcome)))
    }
}

pub enum Attempt {
    Graded(Box<Outcome>),
    Missing(PathBuf),
}

impl Attempt {
    pub fn passed(&self) -> bool {
        matches!(self, Attempt::Graded(o) if o.passed())
    }
}

/// `kernlings run NAME`: grade one exercise, exit 0 when it passes.
fn run_one(course: &Course, name: &str, prebuilt: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let ex = course.exercise(name)?;
    let attempt = course.attempt(ex, prebuilt)?;
    print!("{}", show::attempt(course, ex, &attempt));
    Ok(exit(attempt.passed()))
}

/// `kernlings build-graders DIR`: the `.rs` exercises' graders, for `--prebuilt DIR`.
fn build_graders(course: &Course, dir: &Path) -> anyhow::Result<ExitCode> {
    let built = grade::build_graders(&course.root, &course.curriculum, dir)?;
    for source in &built {
        println!("built the grader for {}", course.display_path(source));
    }
    println!(
        "{} grader(s) in {}: grade with them using `--prebuilt {}`.",
        built.len(),
        dir.display(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn exit(passed: bool) -> ExitCode {
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The nearest directory upward from `start` holding curriculum.toml.
fn find_root(start: &Path) -> anyhow::Result<PathBuf> {
    for dir in start.ancestors() {
        if dir.join(curriculum::FILE_NAME).is_file() {
            return Ok(dir.to_path_buf());
        }
    }
    bail!(
        "no {} here or in any parent of {}: run kernlings inside the course, or pass --root DIR",
        curriculum::FILE_NAME,
        start.display()
    )
}
