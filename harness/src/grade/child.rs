//! The grading child: compiles the learner's file, runs the exercise's check, and writes the
//! `Outcome` to the result file the parent named. It runs with the backend's environment, so
//! the same code grades on a GPU and on the CPU driver.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use cudarc::driver::CudaContext;
use serde::{Deserialize, Serialize};

use super::check::CheckCtx;
use super::checks::{self, Check};
use super::compare::Failure;
use super::compile::compile;
use super::{rust_exercise, GradeRequest};
use crate::curriculum::ExerciseKind;
use crate::outcome::{BackendInfo, Correctness, Outcome};
use crate::toolchain::BackendKind;

/// What the parent hands the child, as a JSON file.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ChildRequest {
    pub request: GradeRequest,
    pub seed: u64,
    pub backend: BackendKind,
    pub include_dirs: Vec<PathBuf>,
    /// Where the child writes its `ChildReport`.
    pub result: PathBuf,
    /// `.rs` exercises: the grader binary the parent built (or found prebuilt).
    pub grader: Option<PathBuf>,
}

/// The child's answer: an outcome, or a failure of kernlings itself.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum ChildReport {
    Outcome(Box<Outcome>),
    ToolError(String),
}

/// `kernlings __grade <request.json>`: grade, write the report, exit. Exits without running
/// destructors: after a kernel fault the CUDA context is unusable and tearing it down can
/// fail loudly for no one's benefit.
pub fn child_main(arg: &str) -> ! {
    let request = std::fs::read_to_string(arg)
        .map_err(anyhow::Error::from)
        .and_then(|text| Ok(serde_json::from_str::<ChildRequest>(&text)?));
    let request = match request {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kernlings: cannot read the grading request {arg}: {e:#}");
            std::process::exit(2);
        }
    };
    let report = match run(&request) {
        Ok(outcome) => ChildReport::Outcome(Box::new(outcome)),
        Err(e) => ChildReport::ToolError(format!("{e:#}")),
    };
    let written = serde_json::to_vec(&report)
        .map_err(anyhow::Error::from)
        .and_then(|json| Ok(std::fs::write(&request.result, json)?));
    if let Err(e) = written {
        eprintln!("kernlings: cannot write the grading result: {e:#}");
        std::process::exit(2);
    }
    std::process::exit(0)
}

fn run(req: &ChildRequest) -> anyhow::Result<Outcome> {
    let name = &req.request.exercise.check;
    match (req.request.exercise.kind, checks::find(name)) {
        (_, None) => anyhow::bail!(
            "no check named `{name}` (curriculum.toml, exercise `{}`)",
            req.request.exercise.name
        ),
        (_, Some(Check::Source(check))) => {
            let mut outcome = blank_outcome(req, super::parent::NO_DEVICE.into());
            outcome.correctness = check(&req.request.source)?;
            Ok(outcome)
        }
        (ExerciseKind::Cuda, Some(Check::Cuda(check))) => run_cuda(req, check),
        (ExerciseKind::Rust, Some(Check::Rust(check))) => rust_exercise::run_check(req, check),
        (kind, _) => anyhow::bail!("check `{name}` does not grade {kind:?} exercises"),
    }
}

fn run_cuda(req: &ChildRequest, check: checks::CudaCheck) -> anyhow::Result<Outcome> {
    let r = &req.request;
    let cuda = CudaContext::new(0).context("opening the CUDA device")?;
    // One stream, synchronized by the check: cudarc's per-buffer events would only add
    // driver calls to every launch.
    unsafe { cuda.disable_event_tracking() };
    let mut outcome = blank_outcome(req, cuda.name().context("reading the device name")?);

    let source = std::fs::read_to_string(&r.source)
        .with_context(|| format!("reading {}", r.source.display()))?;
    let display = display_path(&r.root, &r.source);
    let cc = cuda.compute_capability()?;
    let ptx = match compile(&source, &display, cc, &req.include_dirs)? {
        Ok(ptx) => ptx,
        Err(failure) => {
            outcome.correctness = Correctness::CompileError { message: failure.0 };
            return Ok(outcome);
        }
    };
    let module = match cuda.load_module(ptx) {
        Ok(m) => m,
        Err(e) => {
            outcome.correctness = Correctness::Failed {
                summary: "the CUDA driver could not load your compiled kernel".into(),
                details: match std::env::var_os(crate::cpu_report::REPORT_ENV)
                    .and_then(|p| crate::cpu_report::load_error(std::path::Path::new(&p)))
                {
                    // The CPU driver's reason, with the learner's line where it has one.
                    Some(reason) => format!("{reason}\n(CUDA error {:?})\n", e.0),
                    None => format!("(CUDA error {:?})\n", e.0),
                },
            };
            return Ok(outcome);
        }
    };

    let timing = outcome.speed_skipped.is_none() && r.exercise.speed.is_some();
    let mut ctx = CheckCtx::new(
        cuda,
        module,
        r.exercise.clone(),
        req.backend,
        req.seed,
        timing,
    );
    ctx.include_dirs = req.include_dirs.clone();
    match check(&mut ctx) {
        Ok(()) => {
            // A bar in curriculum.toml that no measurement held the kernel to is not a bar.
            if let Some(name) = ctx.unused_also_bar() {
                anyhow::bail!(
                    "kernlings bug: {}'s `also` bar against \"{name}\" was never measured by its check",
                    r.exercise.name
                );
            }
            outcome.correctness = Correctness::Passed {
                cases: std::mem::take(&mut ctx.cases),
            };
            outcome.speed = ctx.speed.take();
        }
        Err(e) => outcome.correctness = failed(&ctx.case, e)?,
    }
    outcome.counters = std::mem::take(&mut ctx.counters);
    if !outcome.correctness.passed() && r.exercise.speed.is_some() {
        outcome.speed_skipped = Some("speed is measured once the results are correct".into());
    }
    Ok(outcome)
}

/// The outcome before the check runs, with the reason speed will not be measured, if any.
pub(super) fn blank_outcome(req: &ChildRequest, device: String) -> Outcome {
    let r = &req.request;
    let speed_skipped = match (r.exercise.speed.is_some(), r.speed, req.backend) {
        (false, _, _) => None,
        (true, false, _) => Some("speed not measured (--no-speed)".to_string()),
        (true, true, BackendKind::Cpu) if r.exercise.kind == ExerciseKind::Cuda => Some(
            "speed is not measured on the CPU backend: it interprets your kernel, so its times \
             say nothing about a GPU"
                .to_string(),
        ),
        _ => None,
    };
    Outcome {
        exercise: r.exercise.name.clone(),
        seed: req.seed,
        backend: BackendInfo {
            kind: req.backend.name().to_string(),
            device,
        },
        correctness: Correctness::Passed { cases: Vec::new() },
        speed: None,
        speed_skipped,
        counters: Vec::new(),
        load_sweep: None,
    }
}

/// A `Failure` from the check becomes the learner's verdict, under the case it happened in;
/// any other error is kernlings' own.
pub(super) fn failed(case: &str, e: anyhow::Error) -> anyhow::Result<Correctness> {
    let f = e.downcast::<Failure>()?;
    Ok(Correctness::Failed {
        summary: if case.is_empty() {
            f.summary
        } else {
            format!("{case}: {}", f.summary)
        },
        details: f.details,
    })
}

/// The learner's file as they know it: relative to the repository root.
pub fn display_path(root: &Path, source: &Path) -> String {
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    source
        .strip_prefix(root)
        .ok()
        .map(Path::to_path_buf)
        .or_else(|| {
            canon(source)
                .strip_prefix(canon(root))
                .ok()
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| source.to_path_buf())
        .display()
        .to_string()
}
