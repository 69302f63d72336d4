//! The parent side of grading: start the child with the backend's environment, watch the
//! clock, and turn whatever happens to the child into an `Outcome`.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

use super::child::{blank_outcome, ChildReport, ChildRequest};
use super::{checks, inputs, rust_exercise, GradeRequest};
use crate::curriculum::{Exercise, ExerciseKind};
use crate::outcome::{Correctness, Outcome};
use crate::toolchain::{self, BackendKind};

/// Lines of the child's stderr shown when it crashed.
const STDERR_TAIL_LINES: usize = 15;
/// Output kept from the child: its last 64 KB. A kernel printing in a loop writes hundreds of
/// MB in a watchdog period; everything before the tail is counted and dropped as it arrives.
pub(super) const OUTPUT_KEEP_BYTES: usize = 64 << 10;
/// How long output may keep arriving after the process that wrote it ended: a process it
/// started may still hold the pipe (until the group is killed), so this never waits for EOF.
const DRAIN_GRACE: Duration = Duration::from_millis(200);
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

    pub(super) fn is_set(&self) -> bool {
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
    grade_under(req, &[], cancel)
}

/// As `grade_cancellable`, with the grading child started under `wrapper` (a profiler:
/// `ncu --csv ... <kernlings> __grade <request>`); an empty wrapper starts it directly.
pub fn grade_under(
    req: &GradeRequest,
    wrapper: &[OsString],
    cancel: &Cancel,
) -> anyhow::Result<Outcome> {
    // A check that reads only the file (the test fixture) needs no backend at all.
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
        // As the child names it, so a compile error says the same machine as a result.
        _ if rust_exercise::runs_no_kernels(&req.exercise) => rust_exercise::CPU_ONLY_DEVICE.into(),
        BackendKind::Gpu => toolchain::real_gpu().unwrap_or_else(|| "NVIDIA GPU".into()),
        BackendKind::Cpu => "kernlings CPU driver (PTX interpreter)".into(),
    };

    let scratch = Scratch::new()?;
    let result = scratch.0.join("result.json");
    let grader = match req.exercise.kind {
        ExerciseKind::Cuda => None,
        ExerciseKind::Rust => match rust_exercise::grader_for(req, cancel)? {
            Ok(binary) => Some(binary),
            Err(message) => {
                let mut outcome = blank_outcome(&child_req(result, None), device);
                outcome.correctness = Correctness::CompileError { message };
                return Ok(outcome);
            }
        },
    };
    // A cancel that came after the grader was built stops here.
    if cancel.is_set() {
        return Err(Cancelled.into());
    }
    let request = child_req(result.clone(), grader);
    // An empty file the parent owns: a child that dies leaves it empty.
    std::fs::write(&result, b"").context("creating the result file")?;
    let request_path = scratch.0.join("request.json");
    std::fs::write(&request_path, serde_json::to_vec(&request)?)
        .context("writing the grading request")?;

    let mut cmd = match wrapper.split_first() {
        None => Command::new(child_exe()?),
        Some((program, args)) => {
            let mut cmd = Command::new(program);
            cmd.args(args).arg(child_exe()?);
            cmd
        }
    };
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
        .stderr(Stdio::piped())
        // Its own process group: whatever the learner's code starts (a background process)
        // is in it, and is killed with it when the attempt ends.
        .process_group(0);
    die_with_parent(&mut cmd);
    let mut child = cmd.spawn().context("starting the grading process")?;
    let stdout = Capture::start(child.stdout.take());
    let stderr = Capture::start(child.stderr.take());
    let status = wait_or_kill(&mut child, req.timeout, cancel)?;
    let stdout = stdout.finish();
    let stderr = stderr.finish();

    let mut outcome = blank_outcome(&request, device);
    let Some(status) = status else {
        outcome.correctness = Correctness::Failed {
            summary: timeout_sentence(req.exercise.kind, req.timeout),
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

/// The watchdog's sentence, in the words of what the learner wrote.
fn timeout_sentence(kind: ExerciseKind, timeout: Duration) -> String {
    let secs = timeout.as_secs_f64();
    match kind {
        ExerciseKind::Cuda => format!(
            "your kernel did not finish within {secs} s — an endless loop? a loop bound that \
             never becomes false?"
        ),
        ExerciseKind::Rust => format!(
            "your function did not return within {secs} s — an endless loop? a loop bound that \
             never becomes false? (--timeout SECS gives it longer)"
        ),
    }
}

/// The last `OUTPUT_KEEP_BYTES` of a pipe, read as it arrives so memory stays bounded however
/// much is written, and how many bytes before them were dropped.
#[derive(Default)]
struct Tail {
    kept: std::collections::VecDeque<u8>,
    dropped: u64,
}

pub(super) struct Capture {
    tail: Arc<Mutex<Tail>>,
    eof: Receiver<()>,
}

impl Capture {
    pub(super) fn start(pipe: Option<impl Read + Send + 'static>) -> Capture {
        let tail = Arc::new(Mutex::new(Tail::default()));
        let (done, eof) = mpsc::channel();
        let shared = Arc::clone(&tail);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 16 << 10];
            if let Some(mut p) = pipe {
                loop {
                    match p.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => shared.lock().expect("capture lock").push(&chunk[..n]),
                    }
                }
            }
            let _ = done.send(());
        });
        Capture { tail, eof }
    }

    /// What was captured, once the writer is done: waits for the end of the pipe, but at
    /// most `DRAIN_GRACE`, because a process the learner's code left behind may hold it open.
    pub(super) fn finish(self) -> String {
        let _ = self.eof.recv_timeout(DRAIN_GRACE);
        let tail = self.tail.lock().expect("capture lock");
        let (front, back) = tail.kept.as_slices();
        let text = String::from_utf8_lossy(&[front, back].concat()).into_owned();
        match tail.dropped {
            0 => text,
            n => format!("(… {} of output cut)\n{text}", human_bytes(n)),
        }
    }
}

impl Tail {
    fn push(&mut self, bytes: &[u8]) {
        self.kept.extend(bytes);
        let over = self.kept.len().saturating_sub(OUTPUT_KEEP_BYTES);
        self.kept.drain(..over);
        self.dropped += over as u64;
    }
}

/// `12.3 MB`, `850 KB`, `12 bytes`.
fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.0} KB", n / 1e3)
    } else {
        format!("{n} bytes")
    }
}

/// Waits for the child, killing it at `timeout`; `None` when the watchdog had to, `Cancelled`
/// when `cancel` was set. Either way,
/// everything left in its process group is killed before the child is reaped (while its id
/// cannot yet be reused), so nothing the learner's code started outlives the attempt.
pub(super) fn wait_or_kill(
    child: &mut Child,
    timeout: Duration,
    cancel: &Cancel,
) -> anyhow::Result<Option<ExitStatus>> {
    let start = Instant::now();
    let pid = child.id() as libc::pid_t;
    let kill_group = || unsafe {
        libc::kill(-pid, libc::SIGKILL);
    };
    loop {
        if exited_unreaped(pid).context("waiting for the grading process")? {
            kill_group();
            return Ok(Some(child.wait().context("reaping the grading process")?));
        }
        let cancelled = cancel.is_set();
        if cancelled || start.elapsed() >= timeout {
            kill_group();
            // The child itself too, should it not lead a group of its own.
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

/// Whether `pid` has exited, leaving it a zombie (`WNOWAIT`) so its process-group id stays
/// reserved until the group is killed.
fn exited_unreaped(pid: libc::pid_t) -> std::io::Result<bool> {
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let r = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // With WNOHANG and no state change, waitid leaves si_pid 0.
    Ok(unsafe { info.si_pid() } != 0)
}

/// The sentence for a child that ended without writing a result.
pub fn crash_sentence(status: ExitStatus) -> String {
    match status.signal() {
        Some(sig) => format!(
            "the grading process crashed: killed by {}",
            signal_name(sig)
        ),
        None => format!(
            "the grading process exited (code {}) without a result",
            status.code().unwrap_or(-1)
        ),
    }
}

/// `a segmentation fault (SIGSEGV), signal 11`.
pub(super) fn signal_name(sig: i32) -> String {
    let what = match sig {
        libc::SIGSEGV => "a segmentation fault (SIGSEGV)",
        libc::SIGBUS => "a bus error (SIGBUS)",
        libc::SIGABRT => "an abort (SIGABRT)",
        libc::SIGFPE => "an arithmetic fault (SIGFPE)",
        libc::SIGILL => "an illegal instruction (SIGILL)",
        libc::SIGKILL => "SIGKILL (out of memory?)",
        _ => "a signal",
    };
    format!("{what}, signal {sig}")
}

/// The last lines of the child's output, under a heading, with the note on what was cut.
pub(super) fn tail(heading: &str, stdout: &str, stderr: &str) -> String {
    let text = format!("{stdout}{stderr}");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(STDERR_TAIL_LINES);
    let cut = lines
        .iter()
        .filter(|l| l.starts_with("(… ") && l.ends_with(" of output cut)"))
        .take(2)
        .map(|l| format!("  {l}\n"))
        .collect::<String>();
    let cut = if start > 0 { cut } else { String::new() };
    format!(
        "{heading}:\n{cut}{}\n",
        lines[start..]
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
    fn timeouts_are_told_in_the_words_of_the_exercise() {
        let t = Duration::from_secs(30);
        assert!(timeout_sentence(ExerciseKind::Cuda, t)
            .starts_with("your kernel did not finish within 30 s"));
        assert!(timeout_sentence(ExerciseKind::Rust, t)
            .starts_with("your function did not return within 30 s"));
    }

    #[test]
    fn the_watchdog_kills_what_the_child_started() {
        // The shell starts a sleeper in the background and exits at once: the attempt is over
        // and its group is killed, so the sleeper must be gone.
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & echo $!"])
            .stdout(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn().unwrap();
        let out = Capture::start(child.stdout.take());
        let status = wait_or_kill(&mut child, Duration::from_secs(5), &Cancel::default()).unwrap();
        assert!(status.is_some_and(|s| s.success()));
        let sleeper: libc::pid_t = out.finish().trim().parse().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        // Killed and (its parent gone) reaped by init: no such process, or at most a zombie.
        let stat = std::fs::read_to_string(format!("/proc/{sleeper}/stat")).unwrap_or_default();
        assert!(stat.is_empty() || stat.contains(") Z "), "{stat}");
    }

    #[test]
    fn captured_output_is_bounded_and_says_what_was_cut() {
        let flood = vec![b'x'; 3 << 20];
        let out = Capture::start(Some(std::io::Cursor::new(flood))).finish();
        assert!(
            out.starts_with("(… 3.1 MB of output cut)\n"),
            "{}",
            &out[..40]
        );
        assert_eq!(out.len() - out.find('\n').unwrap() - 1, OUTPUT_KEEP_BYTES);
        let small = Capture::start(Some(std::io::Cursor::new(b"hi\n".to_vec()))).finish();
        assert_eq!(small, "hi\n");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let out: String = (0..40).map(|i| format!("line {i}\n")).collect();
        let t = tail("stderr", "", &out);
        assert!(t.starts_with("stderr:\n  line 25\n"), "{t}");
        assert!(t.ends_with("  line 39\n"));
        assert_eq!(tail("x", "", "\n\n"), "");
        let flood = format!("(… 3.1 MB of output cut)\n{out}");
        assert!(tail("printed", &flood, "")
            .starts_with("printed:\n  (… 3.1 MB of output cut)\n  line 25\n"));
    }
}
