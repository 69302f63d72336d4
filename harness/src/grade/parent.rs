//! The parent side of grading: start the child with the backend's environment, watch the
//! clock, and turn whatever happens to the child into an `Outcome`.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use super::child::{blank_outcome, ChildReport, ChildRequest};
use super::{checks, inputs, rust_exercise, GradeRequest};
use crate::curriculum::{Exercise, ExerciseKind};
use crate::outcome::{Correctness, Outcome};
use crate::toolchain::{self, BackendKind};

/// Lines of the child's stderr shown when it crashed.
const STDERR_TAIL_LINES: usize = 15;
/// Output kept from the child (a kernel's printf can be huge).
const OUTPUT_KEEP_BYTES: usize = 64 << 10;
/// The device named in outcomes of checks that run nothing.
pub(super) const NO_DEVICE: &str = "no device (fixture check)";

/// Stops a grading run from another thread (watch's `q` and `r`): the child is killed at the
/// next watchdog tick and the run ends with `Cancelled`.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The error of a run stopped through its `Cancel`: not an attempt, nothing is recorded.
#[derive(Debug)]
pub struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("grading was cancelled")
    }
}

impl std::error::Error for Cancelled {}

pub fn grade(req: &GradeRequest) -> anyhow::Result<Outcome> {
    grade_cancellable(req, &Cancel::default())
}

pub fn grade_cancellable(req: &GradeRequest, cancel: &Cancel) -> anyhow::Result<Outcome> {
    let source_only = matches!(
        checks::find(&req.exercise.check),
        Some(checks::Check::Source(_))
    );
    let setup = match needs_toolchain(&req.exercise) {
        true => toolchain::prepare_child(req.backend, &req.root)?,
        false => toolchain::bare_setup(req.backend),
    };
    let seed = req.seed.unwrap_or_else(inputs::fresh_seed);
    let child_req = |result: PathBuf, grader| ChildRequest {
        request: req.clone(),
        seed,
        backend: setup.backend,
        include_dirs: setup.include_dirs.clone(),
        result,
        grader,
    };
    let device = match setup.backend {
        _ if source_only => NO_DEVICE.into(),
        BackendKind::Gpu => toolchain::real_gpu().unwrap_or_else(|| "NVIDIA GPU".into()),
        BackendKind::Cpu => "kernlings CPU driver (PTX interpreter)".into(),
    };

    let scratch = Scratch::new()?;
    let result = scratch.0.join("result.json");
    let grader = match req.exercise.kind {
        ExerciseKind::Cuda => None,
        ExerciseKind::Rust => match rust_exercise::grader_for(req)? {
            Ok(binary) => Some(binary),
            Err(message) => {
                let mut outcome = blank_outcome(&child_req(result, None), device);
                outcome.correctness = Correctness::CompileError { message };
                return Ok(outcome);
            }
        },
    };
    // Building a `.rs` grader can take a while: a cancel during it stops here.
    if cancel.is_set() {
        return Err(Cancelled.into());
    }
    let request = child_req(result.clone(), grader);
    // An empty file the parent owns: a child that dies leaves it empty.
    std::fs::write(&result, b"").context("creating the result file")?;
    let request_path = scratch.0.join("request.json");
    std::fs::write(&request_path, serde_json::to_vec(&request)?)
        .context("writing the grading request")?;

    let mut cmd = Command::new(child_exe()?);
    if setup.backend == BackendKind::Cpu {
        // The CPU driver appends what it saw in each launch here; the child reads it back.
        cmd.env(
            crate::cpu_report::REPORT_ENV,
            scratch.0.join("cpu-report.jsonl"),
        );
    }
    cmd.arg("__grade")
        .arg(&request_path)
        .envs(setup.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    die_with_parent(&mut cmd);
    let mut child = cmd.spawn().context("starting the grading process")?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_or_kill(&mut child, req.timeout, cancel)?;
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();

    let mut outcome = blank_outcome(&request, device);
    let Some(status) = status else {
        outcome.correctness = Correctness::Failed {
            summary: format!(
                "your kernel did not finish within {} s — an endless loop? a loop bound that \
                 never becomes false?",
                req.timeout.as_secs_f64()
            ),
            details: tail("output before it was stopped", &stdout, &stderr),
        };
        return Ok(outcome);
    };
    let report = std::fs::read(&result).context("reading the grading result")?;
    match serde_json::from_slice::<ChildReport>(&report) {
        Ok(ChildReport::Outcome(mut o)) => {
            if let Correctness::Failed { details, .. } = &mut o.correctness {
                if !stdout.trim().is_empty() {
                    details.push_str(&tail("your code printed", &stdout, ""));
                }
            }
            Ok(*o)
        }
        Ok(ChildReport::ToolError(e)) => bail!("grading {} failed: {e}", req.exercise.name),
        Err(_) => {
            outcome.correctness = Correctness::Failed {
                summary: crash_sentence(status),
                details: tail("last output of the grading process", &stdout, &stderr),
            };
            Ok(outcome)
        }
    }
}

/// Whether grading `ex` needs NVRTC and a driver. A check that reads only the file (the test
/// fixture) needs no backend at all, and plain Rust neither: they are installed when the
/// first kernel needs them.
pub fn needs_toolchain(ex: &Exercise) -> bool {
    match (ex.kind, checks::find(&ex.check)) {
        (_, Some(checks::Check::Source(_))) => false,
        (ExerciseKind::Cuda, _) => true,
        (ExerciseKind::Rust, _) => rust_exercise::runs_kernels(&ex.check),
    }
}

/// The binary to run as the child: this one, or in unit tests the `kernlings` binary
/// cargo built next to the test executable.
fn child_exe() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe().context("finding the kernlings executable")?;
    if cfg!(test) {
        let bin = me
            .parent()
            .and_then(Path::parent)
            .map(|d| d.join("kernlings"));
        return bin
            .filter(|b| b.is_file())
            .context("tests grade through target/<profile>/kernlings: run `cargo build` first");
    }
    Ok(me)
}

/// If kernlings dies (Ctrl-C in `watch`), its grading child must not live on in an endless
/// loop on the GPU.
pub(super) fn die_with_parent(cmd: &mut Command) {
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        let start = buf.len().saturating_sub(OUTPUT_KEEP_BYTES);
        String::from_utf8_lossy(&buf[start..]).into_owned()
    })
}

/// `None` when the watchdog had to kill the child; `Cancelled` when `cancel` was set.
fn wait_or_kill(
    child: &mut Child,
    timeout: Duration,
    cancel: &Cancel,
) -> anyhow::Result<Option<ExitStatus>> {
    let start = Instant::now();
    loop {
        if let Some(status) = child
            .try_wait()
            .context("waiting for the grading process")?
        {
            return Ok(Some(status));
        }
        let cancelled = cancel.is_set();
        if cancelled || start.elapsed() >= timeout {
            let _ = child.kill();
            let _ = child.wait();
            return match cancelled {
                true => Err(Cancelled.into()),
                false => Ok(None),
            };
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The sentence for a child that ended without writing a result.
pub fn crash_sentence(status: ExitStatus) -> String {
    match status.signal() {
        Some(sig) => {
            let what = match sig {
                libc::SIGSEGV => "a segmentation fault (SIGSEGV)",
                libc::SIGBUS => "a bus error (SIGBUS)",
                libc::SIGABRT => "an abort (SIGABRT)",
                libc::SIGFPE => "an arithmetic fault (SIGFPE)",
                libc::SIGILL => "an illegal instruction (SIGILL)",
                libc::SIGKILL => "SIGKILL (out of memory?)",
                _ => "a signal",
            };
            format!("the grading process crashed: killed by {what}, signal {sig}")
        }
        None => format!(
            "the grading process exited (code {}) without a result",
            status.code().unwrap_or(-1)
        ),
    }
}

/// The last lines of the child's output, under a heading.
fn tail(heading: &str, stdout: &str, stderr: &str) -> String {
    let text = format!("{stdout}{stderr}");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let shown = &lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..];
    format!(
        "{heading}:\n{}\n",
        shown
            .iter()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// A private directory for one attempt's request and result, removed afterwards.
struct Scratch(PathBuf);

/// Scratch directories are `kernlings-grade-<pid>-<n>` in the temp dir.
const SCRATCH_PREFIX: &str = "kernlings-grade-";

impl Scratch {
    fn new() -> anyhow::Result<Self> {
        static N: AtomicU64 = AtomicU64::new(0);
        static CLEANED: std::sync::Once = std::sync::Once::new();
        // Drop never ran for a kernlings killed with SIGKILL: its directories go now.
        CLEANED.call_once(|| toolchain::remove_stale(&std::env::temp_dir(), SCRATCH_PREFIX));
        let dir = std::env::temp_dir().join(format!(
            "{SCRATCH_PREFIX}{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_sentences_name_the_signal() {
        let segv = ExitStatus::from_raw(libc::SIGSEGV);
        assert!(crash_sentence(segv).contains("segmentation fault"));
        let exited = ExitStatus::from_raw(3 << 8);
        assert_eq!(
            crash_sentence(exited),
            "the grading process exited (code 3) without a result"
        );
    }

    #[test]
    fn the_watchdog_kills_a_child_that_overruns() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let start = Instant::now();
        let never = Cancel::default();
        assert_eq!(
            wait_or_kill(&mut child, Duration::from_millis(200), &never).unwrap(),
            None
        );
        assert!(start.elapsed() < Duration::from_secs(5));
        let mut quick = Command::new("true").spawn().unwrap();
        let status = wait_or_kill(&mut quick, Duration::from_secs(5), &never).unwrap();
        assert!(status.is_some_and(|s| s.success()));
    }

    #[test]
    fn a_cancel_kills_the_child_at_once() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let cancel = Cancel::default();
        let other = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            other.cancel();
        });
        let start = Instant::now();
        let err = wait_or_kill(&mut child, Duration::from_secs(30), &cancel).unwrap_err();
        assert!(err.is::<Cancelled>());
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(child.try_wait().unwrap().is_some(), "the child is gone");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let out: String = (0..40).map(|i| format!("line {i}\n")).collect();
        let t = tail("stderr", "", &out);
        assert!(t.starts_with("stderr:\n  line 25\n"), "{t}");
        assert!(t.ends_with("  line 39\n"));
        assert_eq!(tail("x", "", "\n\n"), "");
    }
}
