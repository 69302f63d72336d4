//! `kernlings check-solutions` (instructor): lint the curriculum, then prove that every solution
//! passes, every untouched stub fails, and every known-wrong kernel fails with its message.
//!
//! A known-wrong version is `harness/wrong/<exercise>/<case>.cu|.rs`. Its first line names words
//! the failure must contain on the CPU backend, whose diagnostics (races, barriers, coalescing)
//! a GPU cannot give; an optional second line says what must happen on a GPU instead:
//!
//! ```text
//! // expect: data race on shared memory
//! // expect-gpu: elements of C are wrong
//! ```
//!
//! `// expect-gpu: too slow` grades it with speed on and requires correct values under the bar;
//! `// expect-gpu: not on a GPU — <reason>` skips it on a GPU (a race that may pass by luck), and
//! the run says how many such versions only the CPU backend catches. `// expect: not on the
//! CPU — <reason>` (with an `// expect-gpu:` line) is the converse: a bug only a GPU-sized
//! case reaches.
//!
//! A calibration kernel is `harness/calibration/<exercise>/<name>.cu`: the literature's kernel
//! for a rung, written in the exercise's frame, which is how a bar is set and kept honest.
//!
//! ```text
//! // calibrate: pass          (or `too slow`: the previous rung's idea, in this rung's frame)
//! // source: siboehm/SGEMM_CUDA kernel 5, 2D blocktiling; the stub's launch bounds
//! // expect-cpu: not coalesced   (optional, `too slow` only: what the CPU counters say instead)
//! ```
//!
//! On the CPU backend both must be correct (or fail with the `expect-cpu` words); on a GPU a
//! `pass` kernel must pass its bar and a `too slow` one must be correct and under it. The run
//! ends with a table of each one's ratio, bar and margin.
//!
//! The stubs state no figure the harness does not enforce: every `<n>%`, `<n>x` or
//! `<n> of copy|cuBLAS|naive` in a stub's comments must be the exercise's bar.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::{exit, show, Course};
use crate::curriculum::{self, Baseline, Exercise, ExerciseKind};
use crate::grade;
use crate::outcome::{Correctness, Outcome};

pub struct Filter {
    pub module: Option<String>,
    pub exercise: Option<String>,
}

#[derive(Serialize)]
struct Report {
    passed: bool,
    lint: Vec<String>,
    rows: Vec<Row>,
    /// The calibration kernels' rows again, with their margins to the bar.
    calibration: Vec<CalibSummary>,
}

/// One calibration kernel's result, for the table that bars are set from.
#[derive(Serialize)]
struct CalibSummary {
    exercise: String,
    kernel: String,
    /// "pass" or "too slow".
    expected: String,
    source: String,
    ok: bool,
    ratio: Option<f64>,
    bar: Option<f64>,
    /// (ratio - bar) / bar in percent: positive above the bar.
    margin_percent: Option<f64>,
}

#[derive(Serialize)]
struct Row {
    exercise: String,
    /// "solution", "stub", or "wrong/<case>".
    what: String,
    ok: bool,
    /// Not graded on this backend (`// expect-gpu: not on a GPU`); never a violation.
    skipped: bool,
    /// Why it is a violation, or what happened when it is fine.
    verdict: String,
    ratio: Option<f64>,
    bar: Option<f64>,
    device: Option<String>,
    outcome: Option<Outcome>,
}

/// One file to grade and what must happen to it.
struct Job<'a> {
    ex: &'a Exercise,
    what: String,
    source: PathBuf,
    expect: Expect,
    /// Set for a calibration kernel.
    calib: Option<CalibHeader>,
}

#[derive(Debug, PartialEq)]
enum Expect {
    Pass,
    Fail,
    /// Fail, with these words somewhere in the failure text.
    FailWith(String),
    /// Passes, and on a GPU with speed on it must have been timed (a calibration kernel).
    PassTimed,
    /// Correct values; speed is not judged (the CPU backend, or --no-speed).
    Correct,
    /// Correct values, but under the speed bar.
    TooSlow,
    /// Not graded on this backend, for this reason.
    Skip(String),
}

/// The header of a known-wrong version.
#[derive(Debug, PartialEq)]
struct WrongHeader {
    /// `// expect: <words>`: the failure on the CPU backend.
    cpu: String,
    /// `// expect-gpu: ...`, when a GPU shows the bug differently.
    gpu: Option<Expect>,
}

const HEADER_FORMAT: &str =
    "the first line must be `// expect: <words the failure must contain>`, \
     optionally followed by `// expect-gpu: <words>`, `// expect-gpu: too slow` or \
     `// expect-gpu: not on a GPU — <reason>`";

/// Reads the `// expect:` line and the optional `// expect-gpu:` line under it.
fn parse_header(text: &str) -> Result<WrongHeader, String> {
    let mut lines = text.lines().map(str::trim);
    let cpu = lines
        .next()
        .and_then(|l| l.strip_prefix("// expect:"))
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .ok_or_else(|| HEADER_FORMAT.to_string())?;
    let second = lines.next().unwrap_or("");
    let Some(gpu) = second.strip_prefix("// expect-gpu:") else {
        // A misspelt GPU line would otherwise be read as a comment and silently ignored.
        if second.starts_with("// expect") {
            return Err(HEADER_FORMAT.to_string());
        }
        return Ok(WrongHeader {
            cpu: cpu.to_string(),
            gpu: None,
        });
    };
    let gpu = gpu.trim();
    let expect = if gpu.is_empty() {
        return Err(HEADER_FORMAT.to_string());
    } else if gpu.eq_ignore_ascii_case("too slow") {
        Expect::TooSlow
    } else if let Some(rest) = strip_prefix_ignore_case(gpu, "not on a GPU") {
        let reason = rest.trim_start_matches([' ', '—', '-', ':']).trim();
        if reason.is_empty() {
            return Err("`// expect-gpu: not on a GPU` needs a reason: \
                        `// expect-gpu: not on a GPU — <why a GPU cannot show the bug>`"
                .to_string());
        }
        Expect::Skip(reason.to_string())
    } else {
        Expect::FailWith(gpu.to_string())
    };
    Ok(WrongHeader {
        cpu: cpu.to_string(),
        gpu: Some(expect),
    })
}

/// What a calibration kernel is: the rung's own kernel, or the rung below it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rung {
    Pass,
    TooSlow,
}

/// The three header lines of `harness/calibration/<exercise>/<name>.cu`.
#[derive(Debug, Clone, PartialEq)]
struct CalibHeader {
    rung: Rung,
    source: String,
    /// `// expect-cpu: <words>`: a too-slow kernel the CPU backend's counters reject.
    cpu: Option<String>,
}

const CALIB_FORMAT: &str = "the first line must be `// calibrate: pass` or      `// calibrate: too slow`, the second `// source: <paper or repo, kernel, what was adapted>`,      and an optional third `// expect-cpu: <words>` (too slow only)";

fn parse_calib_header(text: &str) -> Result<CalibHeader, String> {
    let mut lines = text.lines().map(str::trim);
    let rung = match lines
        .next()
        .and_then(|l| l.strip_prefix("// calibrate:"))
        .map(|r| r.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("pass") => Rung::Pass,
        Some("too slow") => Rung::TooSlow,
        _ => return Err(CALIB_FORMAT.to_string()),
    };
    let source = lines
        .next()
        .and_then(|l| l.strip_prefix("// source:"))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| CALIB_FORMAT.to_string())?
        .to_string();
    let third = lines.next().unwrap_or("");
    let cpu = match third.strip_prefix("// expect-cpu:").map(str::trim) {
        Some("") => return Err(CALIB_FORMAT.to_string()),
        Some(_) if rung == Rung::Pass => {
            return Err(
                "`// expect-cpu:` is for `too slow` kernels: a rung's own kernel \
                        must pass on every backend"
                    .to_string(),
            )
        }
        Some(words) => Some(words.to_string()),
        None if third.starts_with("// expect") => return Err(CALIB_FORMAT.to_string()),
        None => None,
    };
    Ok(CalibHeader { rung, source, cpu })
}

impl CalibHeader {
    /// What must happen on this backend: speed is judged only on a GPU with speed on.
    fn expect(&self, on_gpu: bool, speed: bool) -> Expect {
        match (self.rung, on_gpu && speed) {
            (Rung::Pass, true) => Expect::PassTimed,
            (Rung::TooSlow, true) => Expect::TooSlow,
            (Rung::TooSlow, false) if !on_gpu => match &self.cpu {
                Some(words) => Expect::FailWith(words.clone()),
                None => Expect::Correct,
            },
            _ => Expect::Correct,
        }
    }

    fn expected(&self) -> &'static str {
        match self.rung {
            Rung::Pass => "pass",
            Rung::TooSlow => "too slow",
        }
    }
}

fn strip_prefix_ignore_case<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

impl WrongHeader {
    /// What must happen on this backend. `speed` says whether a GPU run measures speed at all:
    /// without it a too-slow kernel cannot fail.
    fn expect(self, on_gpu: bool, speed: bool) -> Expect {
        match self.gpu {
            Some(Expect::TooSlow) if on_gpu && !speed => {
                Expect::Skip("correct but too slow, and speed is off (--no-speed)".into())
            }
            Some(gpu) if on_gpu => gpu,
            // `// expect: not on the CPU — <reason>`: a bug only a GPU-sized case reaches.
            _ if !on_gpu => match strip_prefix_ignore_case(&self.cpu, "not on the CPU") {
                Some(rest) => {
                    Expect::Skip(rest.trim_start_matches([' ', '—', '-', ':']).trim().into())
                }
                None => Expect::FailWith(self.cpu),
            },
            _ => Expect::FailWith(self.cpu),
        }
    }
}

pub fn run(
    course: &Course,
    filter: Filter,
    json: bool,
    prebuilt: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let selected: Vec<&Exercise> = course
        .curriculum
        .exercises
        .iter()
        .filter(|e| filter.module.as_ref().is_none_or(|m| &e.module == m))
        .filter(|e| filter.exercise.as_ref().is_none_or(|n| &e.name == n))
        .collect();
    if selected.is_empty() {
        anyhow::bail!("no exercise matches the --module / --exercise filter");
    }
    let whole = filter.module.is_none() && filter.exercise.is_none();
    let mut lint = lint(course, &selected, whole);
    let jobs = jobs(course, &selected, &mut lint);

    let progress = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(jobs.len() as u64)
    };
    progress.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("a valid template"),
    );
    let mut rows = Vec::new();
    for job in &jobs {
        progress.set_message(format!("{} {}", job.ex.name, job.what));
        rows.push(grade_job(course, job, prebuilt.clone()));
        progress.inc(1);
    }
    progress.finish_and_clear();

    let passed = lint.is_empty() && rows.iter().all(|r| r.ok);
    let calibration = calib_summary(&jobs, &rows);
    if json {
        let report = Report {
            passed,
            lint,
            rows,
            calibration,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", table(&rows));
        if !calibration.is_empty() {
            print!("{}", calib_table(&calibration));
        }
        for problem in &lint {
            println!("{} {problem}", show::red("lint:"));
        }
        let bad = rows.iter().filter(|r| !r.ok).count() + lint.len();
        let skipped = rows.iter().filter(|r| r.skipped).count();
        if skipped > 0 {
            println!("{}", cpu_only_line(skipped));
        }
        if passed {
            println!(
                "{}",
                show::green(&format!("All {} checks hold.", rows.len() - skipped))
            );
        } else {
            println!("{}", show::red(&format!("{bad} violation(s).")));
        }
    }
    Ok(exit(passed))
}

/// What a curriculum must satisfy beyond `Curriculum::load`'s validation.
fn lint(course: &Course, selected: &[&Exercise], whole: bool) -> Vec<String> {
    let mut out = Vec::new();
    for ex in selected {
        let stub = curriculum::exercise_path(&course.root, ex);
        let solution = curriculum::solution_path(&course.root, ex);
        let untouched = super::reset::kept_original(course, ex).unwrap_or_else(|| stub.clone());
        for path in [&stub, &solution] {
            if !path.is_file() {
                out.push(format!(
                    "{}: {} is missing",
                    ex.name,
                    course.display_path(path)
                ));
            }
        }
        if let Ok(text) = fs::read_to_string(&untouched) {
            if !text.contains("TODO") {
                out.push(format!(
                    "{}: the stub {} has no TODO telling the learner what to do",
                    ex.name,
                    course.display_path(&untouched)
                ));
            }
            let shown = course.display_path(&untouched);
            out.extend(
                figure_problems(ex, &text)
                    .into_iter()
                    .map(|p| format!("{shown}:{p}")),
            );
        }
        // What `dev new` left for the author to write.
        out.extend(super::dev::scaffold_left(course, ex));
    }
    if whole {
        let named: HashSet<PathBuf> = course
            .curriculum
            .exercises
            .iter()
            .map(|e| PathBuf::from(&e.file))
            .collect();
        for tree in ["exercises", "solutions"] {
            for file in files_under(&course.root.join(tree)) {
                let rel = file
                    .strip_prefix(course.root.join(tree))
                    .expect("listed under the tree");
                // Module READMEs are lessons, not stray files.
                if !named.contains(rel) && rel.file_name().is_none_or(|n| n != "README.md") {
                    out.push(format!(
                        "{tree}/{} is not named by any exercise in curriculum.toml",
                        rel.display()
                    ));
                }
            }
        }
        for (dir, shown) in [
            (wrong_dir(&course.root), "harness/wrong"),
            (calib_dir(&course.root), "harness/calibration"),
        ] {
            let Ok(dirs) = fs::read_dir(dir) else {
                continue;
            };
            for dir in dirs.flatten() {
                let name = dir.file_name().to_string_lossy().into_owned();
                if course.curriculum.exercise(&name).is_none() {
                    out.push(format!(
                        "{shown}/{name} names no exercise in curriculum.toml"
                    ));
                }
            }
        }
    }
    out
}

fn jobs<'a>(course: &Course, selected: &[&'a Exercise], lint: &mut Vec<String>) -> Vec<Job<'a>> {
    let on_gpu = course.on_gpu();
    let speed = !course.global.no_speed;
    let mut jobs = Vec::new();
    for ex in selected.iter().copied() {
        let solution = curriculum::solution_path(&course.root, ex);
        if solution.is_file() {
            jobs.push(Job {
                ex,
                what: "solution".into(),
                source: solution,
                expect: Expect::Pass,
                calib: None,
            });
        }
        // A learner's tree holds solved exercises: grade the kept original, the untouched stub.
        let (what, stub) = match super::reset::kept_original(course, ex) {
            Some(kept) => ("stub (kept original)", kept),
            None => ("stub", curriculum::exercise_path(&course.root, ex)),
        };
        if stub.is_file() {
            jobs.push(Job {
                ex,
                what: what.into(),
                source: stub,
                expect: Expect::Fail,
                calib: None,
            });
        }
        let wanted = match ex.kind {
            ExerciseKind::Cuda => "cu",
            ExerciseKind::Rust => "rs",
        };
        let mut cases = files_under(&wrong_dir(&course.root).join(&ex.name));
        cases.sort();
        for case in cases {
            let shown = course.display_path(&case);
            if case.extension().and_then(|e| e.to_str()) != Some(wanted) {
                lint.push(format!(
                    "{shown}: a known-wrong version of a {wanted} exercise must end in .{wanted}"
                ));
                continue;
            }
            let header = match parse_header(&fs::read_to_string(&case).unwrap_or_default()) {
                Ok(h) => h,
                Err(problem) => {
                    lint.push(format!("{shown}: {problem}"));
                    continue;
                }
            };
            if header.gpu == Some(Expect::TooSlow) && ex.speed.is_none() {
                lint.push(format!(
                    "{shown}: `// expect-gpu: too slow`, but {} has no speed bar",
                    ex.name
                ));
                continue;
            }
            let stem = case.file_stem().unwrap_or_default().to_string_lossy();
            jobs.push(Job {
                ex,
                what: format!("wrong/{stem}"),
                source: case.clone(),
                expect: header.expect(on_gpu, speed),
                calib: None,
            });
        }
        let mut kernels = files_under(&calib_dir(&course.root).join(&ex.name));
        kernels.sort();
        for kernel in kernels {
            let shown = course.display_path(&kernel);
            if ex.kind != ExerciseKind::Cuda || kernel.extension().is_none_or(|e| e != "cu") {
                lint.push(format!(
                    "{shown}: calibration kernels are .cu files of CUDA exercises"
                ));
                continue;
            }
            let header = match parse_calib_header(&fs::read_to_string(&kernel).unwrap_or_default())
            {
                Ok(h) => h,
                Err(problem) => {
                    lint.push(format!("{shown}: {problem}"));
                    continue;
                }
            };
            if ex.speed.is_none() {
                lint.push(format!(
                    "{shown}: {} has no speed bar to calibrate",
                    ex.name
                ));
                continue;
            }
            let stem = kernel.file_stem().unwrap_or_default().to_string_lossy();
            jobs.push(Job {
                ex,
                what: format!("calib/{stem}"),
                source: kernel.clone(),
                expect: header.expect(on_gpu, speed),
                calib: Some(header),
            });
        }
    }
    jobs
}

/// The calibration rows, in job order, with their margins.
fn calib_summary(jobs: &[Job], rows: &[Row]) -> Vec<CalibSummary> {
    jobs.iter()
        .zip(rows)
        .filter_map(|(job, row)| {
            let header = job.calib.as_ref()?;
            let margin = match (row.ratio, row.bar) {
                (Some(r), Some(b)) if b > 0.0 => Some((r - b) / b * 100.0),
                _ => None,
            };
            Some(CalibSummary {
                exercise: row.exercise.clone(),
                kernel: row.what.trim_start_matches("calib/").to_string(),
                expected: header.expected().to_string(),
                source: header.source.clone(),
                ok: row.ok,
                ratio: row.ratio,
                bar: row.bar,
                margin_percent: margin,
            })
        })
        .collect()
}

fn grade_job(course: &Course, job: &Job, prebuilt: Option<PathBuf>) -> Row {
    let mut request = course.request(job.ex, job.source.clone(), prebuilt);
    // Timing is what proves a solution or a too-slow kernel; any other only has to fail.
    let timed = matches!(
        job.expect,
        Expect::Pass | Expect::PassTimed | Expect::TooSlow
    );
    request.speed &= timed;
    let mut row = Row {
        exercise: job.ex.name.clone(),
        what: job.what.clone(),
        ok: false,
        skipped: false,
        verdict: String::new(),
        ratio: None,
        // A calibration row always shows the bar it is calibrated against.
        bar: job
            .ex
            .speed
            .as_ref()
            .filter(|_| timed || job.calib.is_some())
            .map(|s| s.bar),
        device: None,
        outcome: None,
    };
    if let Expect::Skip(reason) = &job.expect {
        (row.ok, row.skipped) = (true, true);
        let on = if course.on_gpu() {
            "the GPU"
        } else {
            "the CPU backend"
        };
        row.verdict = format!("on {on}: {reason}");
        return row;
    }
    let outcome = match grade::grade(&request) {
        Ok(o) => o,
        Err(e) => {
            row.verdict = format!("kernlings could not grade it: {e:#}");
            return row;
        }
    };
    row.ratio = outcome.speed.as_ref().map(|s| s.ratio);
    if let Some(speed) = &outcome.speed {
        row.bar = Some(speed.bar);
    }
    row.device = Some(outcome.backend.device.clone());
    (row.ok, row.verdict) = verdict(&job.expect, &outcome, job.ex.speed.is_some());
    let idea = job.ex.speed.as_ref().and_then(|b| b.idea.as_deref());
    if let Some(near) = outcome
        .speed
        .as_ref()
        .and_then(|s| show::near_miss(s, idea))
    {
        let _ = write!(row.verdict, "; {near}");
    }
    row.outcome = Some(outcome);
    row
}

/// Whether `outcome` is what `expect` asks for, and the words for the table.
/// `has_bar`: the exercise has a speed bar, so a solution should have been timed.
fn verdict(expect: &Expect, outcome: &Outcome, has_bar: bool) -> (bool, String) {
    let line = show::one_line(outcome);
    match (expect, outcome.passed()) {
        (Expect::Skip(_), _) => unreachable!("a skipped version is never graded"),
        (Expect::Pass, true) if outcome.speed.is_none() && has_bar => {
            (true, format!("passes: {line} (speed not measured)"))
        }
        (Expect::Pass, true) => (true, format!("passes: {line}")),
        (Expect::Pass, false) => (false, format!("solution fails: {line}")),
        (Expect::PassTimed, true) if outcome.speed.is_none() => (
            false,
            format!(
                "correct, but speed was not measured ({}), so it cannot pass its bar",
                outcome
                    .speed_skipped
                    .as_deref()
                    .unwrap_or("no reason given")
            ),
        ),
        (Expect::PassTimed, true) => (true, format!("passes: {line}")),
        (Expect::PassTimed, false) => (false, format!("must pass its bar, but: {line}")),
        (Expect::Correct, _) if outcome.correctness.passed() => {
            (true, format!("passes correctness: {line}"))
        }
        (Expect::Correct, _) => (false, format!("must be correct, but: {line}")),
        (Expect::TooSlow, _) => match (&outcome.correctness, &outcome.speed) {
            (Correctness::Passed { .. }, Some(s)) if !s.passed => {
                (true, format!("fails on speed: {line}"))
            }
            (Correctness::Passed { .. }, Some(_)) => {
                (false, format!("passes, but must be too slow: {line}"))
            }
            (Correctness::Passed { .. }, None) => (
                false,
                format!(
                    "correct, but speed was not measured ({}), so it cannot be too slow",
                    outcome
                        .speed_skipped
                        .as_deref()
                        .unwrap_or("no reason given")
                ),
            ),
            _ => (
                false,
                format!("must be correct but too slow, yet fails: {line}"),
            ),
        },
        (_, true) => (false, "passes, but must fail".to_string()),
        (Expect::Fail, false) => (true, format!("fails: {line}")),
        (Expect::FailWith(words), false) => {
            if contains_words(&failure_text(&outcome.correctness), words) {
                (true, format!("fails with \"{words}\""))
            } else {
                (
                    false,
                    format!("fails, but the message lacks \"{words}\": {line}"),
                )
            }
        }
    }
}

/// Everything the learner would read about a failure.
fn failure_text(c: &Correctness) -> String {
    match c {
        Correctness::Passed { .. } => String::new(),
        Correctness::CompileError { message } => message.clone(),
        Correctness::Failed { summary, details } => format!("{summary}\n{details}"),
    }
}

/// Case-insensitive, with runs of whitespace treated as one space.
fn contains_words(text: &str, words: &str) -> bool {
    let squash = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    squash(text).contains(&squash(words))
}

/// Skipped rows are visible, not silent: the GPU run says how much it leaves to the CPU backend.
fn cpu_only_line(skipped: usize) -> String {
    match skipped {
        1 => "1 known-wrong version is caught only by the CPU backend (skipped on the GPU).".into(),
        n => format!(
            "{n} known-wrong versions are caught only by the CPU backend (skipped on the GPU)."
        ),
    }
}

fn table(rows: &[Row]) -> String {
    let headers = ["exercise", "what", "verdict", "ratio", "bar", "device"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            let fmt = |v: Option<f64>| v.map(show::ratio).unwrap_or_else(|| "-".into());
            [
                r.exercise.clone(),
                r.what.clone(),
                format!(
                    "{} {}",
                    match (r.skipped, r.ok) {
                        (true, _) => "skipped",
                        (false, true) => "ok",
                        (false, false) => "VIOLATION",
                    },
                    r.verdict
                ),
                fmt(r.ratio),
                fmt(r.bar),
                r.device.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    // The verdict can be long; cap its column so the table stays readable.
    widths[2] = widths[2].min(70);
    let mut out = String::new();
    let line = |cells: &[String]| -> String {
        let parts: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| {
                let c: String = if c.chars().count() > w {
                    c.chars().take(w - 1).chain(['…']).collect()
                } else {
                    c.clone()
                };
                format!("{c:w$}")
            })
            .collect();
        format!("{}\n", parts.join(" | ").trim_end())
    };
    out.push_str(&line(&headers.map(String::from)));
    out.push_str(&line(&widths.map(|w| "-".repeat(w))));
    for (row, cell) in rows.iter().zip(&cells) {
        let text = line(cell);
        out.push_str(&if row.ok { text } else { show::red(&text) });
    }
    // One line per distinct problem: a missing backend should not print the same line 30 times.
    let mut problems: Vec<(&str, Vec<String>)> = Vec::new();
    for row in rows.iter().filter(|r| !r.ok) {
        let who = format!("{} ({})", row.exercise, row.what);
        match problems
            .iter_mut()
            .find(|(verdict, _)| *verdict == row.verdict)
        {
            Some((_, list)) => list.push(who),
            None => problems.push((&row.verdict, vec![who])),
        }
    }
    for (verdict, who) in problems {
        let shown = match who.len() {
            1..=3 => who.join(", "),
            n => format!("{} and {} more", who[..2].join(", "), n - 2),
        };
        let _ = writeln!(out, "{} {shown}: {verdict}", show::red("✗"));
    }
    out
}

/// The calibration summary: what bars are set from.
fn calib_table(rows: &[CalibSummary]) -> String {
    let fmt = |v: Option<f64>| v.map(show::ratio).unwrap_or_else(|| "-".into());
    let headers = [
        "exercise", "kernel", "expected", "ratio", "bar", "margin %", "ok",
    ];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.exercise.clone(),
                r.kernel.clone(),
                r.expected.clone(),
                fmt(r.ratio),
                fmt(r.bar),
                r.margin_percent
                    .map(|m| format!("{m:+.1}"))
                    .unwrap_or_else(|| "-".into()),
                if r.ok { "ok" } else { "VIOLATION" }.into(),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let parts: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect();
        format!("{}\n", parts.join(" | ").trim_end())
    };
    let mut out = String::from("\ncalibration (the literature's kernel for each rung):\n");
    out.push_str(&line(&headers.map(String::from)));
    out.push_str(&line(&widths.map(|w| "-".repeat(w))));
    for (row, cell) in rows.iter().zip(&cells) {
        let text = line(cell);
        out.push_str(&if row.ok { text } else { show::red(&text) });
    }
    out
}

/// A speed figure a stub's comment states, and its 1-based line.
#[derive(Debug, PartialEq)]
struct Figure {
    line: usize,
    /// As written, e.g. "35%", "0.45 of cuBLAS", "7x".
    text: String,
    /// The number as written, without its unit.
    number: String,
    unit: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    /// `<n>%`: a fraction of copy bandwidth or cuBLAS.
    Percent,
    /// `<n> of copy|cuBLAS|naive`.
    Ratio,
    /// `<n>x` or `<n>×`: a multiple of a naive version.
    Times,
}

/// The speed figures in the `//` comments of `text`. A number joined to a letter, `.`, `/`
/// or `^` before it (`sm_90`, `2/3`, `2^26`) or to a letter or digit after its `x` (`32x32`,
/// `0xff`) is not one.
fn figures(text: &str) -> Vec<Figure> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(at) = line.find("//") else {
            continue;
        };
        let comment: Vec<char> = line[at..].chars().collect();
        let mut j = 0;
        while j < comment.len() {
            let starts = comment[j].is_ascii_digit()
                && (j == 0
                    || !(comment[j - 1].is_alphanumeric() || "._/^".contains(comment[j - 1])));
            if !starts {
                j += 1;
                continue;
            }
            let mut end = j;
            while end < comment.len() && (comment[end].is_ascii_digit() || comment[end] == '.') {
                end += 1;
            }
            let number: String = comment[j..end].iter().collect::<String>();
            let number = number.trim_end_matches('.').to_string();
            let rest: String = comment[end..].iter().collect();
            let next_ok = |k: usize| comment.get(k).is_none_or(|c| !c.is_alphanumeric());
            let found = if rest.starts_with('%') {
                Some((Unit::Percent, number.len() + 1))
            } else if (rest.starts_with('x') || rest.starts_with('×')) && next_ok(end + 1) {
                Some((Unit::Times, number.len() + 1))
            } else {
                let lower = rest.to_lowercase();
                ["copy", "cublas", "naive"]
                    .iter()
                    .find_map(|what| {
                        [" of ", " of the "].iter().find_map(|of| {
                            let phrase = format!("{of}{what}");
                            lower.starts_with(&phrase).then_some(phrase.chars().count())
                        })
                    })
                    .map(|len| (Unit::Ratio, number.len() + len))
            };
            if let Some((unit, len)) = found {
                out.push(Figure {
                    line: i + 1,
                    text: comment[j..(j + len).min(comment.len())].iter().collect(),
                    number,
                    unit,
                });
            }
            j = end.max(j + 1);
        }
    }
    out
}

/// `<line>: <problem>` for every figure in a stub that is not the exercise's bar as the harness
/// prints it: a stated speed that nothing enforces drifts from the bar that is graded.
fn figure_problems(ex: &Exercise, text: &str) -> Vec<String> {
    figures(text)
        .into_iter()
        .filter_map(|f| {
            let Some(speed) = &ex.speed else {
                return Some(format!(
                    "{}: states \"{}\", but {} has no speed bar; say it without a figure",
                    f.line, f.text, ex.name
                ));
            };
            let times_bar = matches!(speed.baseline, Baseline::Naive | Baseline::CpuNaive);
            let (stated, bar) = match f.unit {
                Unit::Percent if !times_bar => (f.number.parse::<f64>().ok()? / 100.0, speed.bar),
                Unit::Ratio if !times_bar => (f.number.parse::<f64>().ok()?, speed.bar),
                Unit::Times if times_bar => (f.number.parse::<f64>().ok()?, speed.bar),
                _ => {
                    return Some(format!(
                        "{}: states \"{}\", a figure of another kind than {}'s bar ({})",
                        f.line,
                        f.text,
                        ex.name,
                        show::ratio(speed.bar)
                    ))
                }
            };
            // The bar itself, not a rounding of it: "0.5 of cuBLAS" misleads when the bar is 0.45.
            let same = |bar: f64| (stated - bar).abs() <= 1e-9 * bar.abs().max(1.0);
            let also = times_bar && speed.also.iter().any(|a| same(a.bar));
            (!same(bar) && !also).then(|| {
                format!(
                    "{}: states \"{}\" ({}), but curriculum.toml's bar for {} is {}",
                    f.line,
                    f.text,
                    show::ratio(stated),
                    ex.name,
                    show::ratio(bar)
                )
            })
        })
        .collect()
}

fn wrong_dir(root: &Path) -> PathBuf {
    root.join("harness").join("wrong")
}

fn calib_dir(root: &Path) -> PathBuf {
    root.join("harness").join("calibration")
}

/// Every file under `dir`, recursively; nothing when it does not exist.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::outcome::{BackendInfo, SpeedResult, Timing};

    #[test]
    fn header_without_gpu_line_expects_the_cpu_words_everywhere() {
        let h = parse_header("// expect: data race\n// Known-wrong: no barrier.\n").unwrap();
        assert_eq!(h.cpu, "data race");
        assert_eq!(h.gpu, None);
        assert_eq!(h.expect(true, true), Expect::FailWith("data race".into()));
    }

    #[test]
    fn header_gpu_words_apply_only_on_a_gpu() {
        let text =
            "// expect: data race on shared memory\n// expect-gpu:  elements of C are wrong \n";
        let cpu = parse_header(text).unwrap().expect(false, true);
        assert_eq!(cpu, Expect::FailWith("data race on shared memory".into()));
        let gpu = parse_header(text).unwrap().expect(true, true);
        assert_eq!(gpu, Expect::FailWith("elements of C are wrong".into()));
    }

    #[test]
    fn header_special_gpu_forms() {
        let slow = parse_header("// expect: not coalesced\n// expect-gpu: too slow").unwrap();
        assert_eq!(slow.gpu, Some(Expect::TooSlow));
        assert_eq!(
            slow.expect(false, true),
            Expect::FailWith("not coalesced".into())
        );
        let slow = parse_header("// expect: not coalesced\n// expect-gpu: Too Slow").unwrap();
        assert!(matches!(slow.expect(true, false), Expect::Skip(r) if r.contains("--no-speed")));

        let race =
            "// expect: data race\n// expect-gpu: not on a GPU — the race often gives right sums";
        assert_eq!(
            parse_header(race).unwrap().expect(true, true),
            Expect::Skip("the race often gives right sums".into())
        );
        let race = "// expect: data race\n// expect-gpu: not on a GPU - luck";
        assert_eq!(
            parse_header(race).unwrap().gpu,
            Some(Expect::Skip("luck".into()))
        );
    }

    #[test]
    fn header_mistakes_are_refused() {
        assert!(parse_header("").is_err());
        assert!(parse_header("// expect:   \n").is_err());
        assert!(parse_header("// Known-wrong\n// expect: sum").is_err());
        assert!(parse_header("// expect: sum\n// expect-gpu:").is_err());
        assert!(parse_header("// expect: sum\n// expect-gpu too slow").is_err());
        assert!(parse_header("// expect: sum\n// expect: twice").is_err());
        let no_reason = parse_header("// expect: data race\n// expect-gpu: not on a GPU —");
        assert!(no_reason.unwrap_err().contains("needs a reason"));
    }

    fn outcome(correctness: Correctness, speed: Option<(f64, bool)>) -> Outcome {
        let timing = Timing {
            median_us: 1.0,
            p10_us: 1.0,
            p90_us: 1.0,
            samples: 10,
        };
        Outcome {
            exercise: "sgemm_coalesced".into(),
            seed: 1,
            backend: BackendInfo {
                kind: "gpu".into(),
                device: "NVIDIA H200".into(),
            },
            correctness,
            speed: speed.map(|(ratio, passed)| SpeedResult {
                baseline: "cuBLAS".into(),
                ratio,
                bar: 0.08,
                passed,
                learner: timing.clone(),
                baseline_timing: timing.clone(),
                achieved: "1 TFLOP/s".into(),
                percent_of_limit: ratio * 100.0,
            }),
            speed_skipped: None,
            counters: Vec::new(),
            load_sweep: None,
        }
    }

    fn correct() -> Correctness {
        Correctness::Passed { cases: Vec::new() }
    }

    fn wrong(summary: &str) -> Correctness {
        Correctness::Failed {
            summary: summary.into(),
            details: "first mismatches in C:".into(),
        }
    }

    #[test]
    fn too_slow_holds_only_for_correct_values_under_the_bar() {
        let (ok, text) = verdict(
            &Expect::TooSlow,
            &outcome(correct(), Some((0.01, false))),
            true,
        );
        assert!(ok, "{text}");
        assert!(text.contains("too slow"), "{text}");
        let (ok, text) = verdict(
            &Expect::TooSlow,
            &outcome(correct(), Some((0.2, true))),
            true,
        );
        assert!(!ok && text.contains("must be too slow"), "{text}");
        let (ok, text) = verdict(&Expect::TooSlow, &outcome(correct(), None), true);
        assert!(!ok && text.contains("not measured"), "{text}");
        let (ok, text) = verdict(
            &Expect::TooSlow,
            &outcome(wrong("3 of 9 elements of C are wrong"), None),
            true,
        );
        assert!(
            !ok && text.contains("3 of 9 elements of C are wrong"),
            "{text}"
        );
    }

    #[test]
    fn expected_words_are_looked_for_in_summary_and_details() {
        let failed = outcome(wrong("every element of C is wrong (4 of 4)"), None);
        let words = |w: &str| Expect::FailWith(w.into());
        assert!(verdict(&words("every element of C is wrong"), &failed, true).0);
        assert!(verdict(&words("first mismatches in C"), &failed, true).0);
        let (ok, text) = verdict(&words("data race"), &failed, true);
        assert!(!ok && text.contains("lacks \"data race\""), "{text}");
        let (ok, text) = verdict(&words("data race"), &outcome(correct(), None), true);
        assert!(!ok && text == "passes, but must fail", "{text}");
    }

    #[test]
    fn a_solution_must_pass_and_says_when_it_was_not_timed() {
        let (ok, text) = verdict(&Expect::Pass, &outcome(correct(), None), true);
        assert!(ok && text.ends_with("(speed not measured)"), "{text}");
        let (ok, _) = verdict(
            &Expect::Pass,
            &outcome(correct(), Some((0.01, false))),
            true,
        );
        assert!(!ok);
        let (ok, _) = verdict(&Expect::Fail, &outcome(wrong("nothing"), None), false);
        assert!(ok);
    }

    #[test]
    fn a_skipped_row_is_shown_with_its_reason_and_is_no_violation() {
        let row = Row {
            exercise: "reduce_tree".into(),
            what: "wrong/sync_inside_if".into(),
            ok: true,
            skipped: true,
            verdict: "on the GPU: passes by luck".into(),
            ratio: None,
            bar: None,
            device: None,
            outcome: None,
        };
        let text = table(&[row]);
        assert!(
            text.contains("skipped on the GPU: passes by luck"),
            "{text}"
        );
        assert!(!text.contains("VIOLATION") && !text.contains('✗'), "{text}");
    }

    #[test]
    fn cpu_only_line_counts() {
        assert!(cpu_only_line(1).starts_with("1 known-wrong version is"));
        assert!(cpu_only_line(7).starts_with("7 known-wrong versions are caught only by the CPU"));
    }

    #[test]
    fn calibration_headers() {
        let h = parse_calib_header("// calibrate: pass\n// source: siboehm k5\n").unwrap();
        assert_eq!(
            (h.rung, h.source.as_str(), h.cpu.as_deref()),
            (Rung::Pass, "siboehm k5", None)
        );
        assert_eq!(h.expect(true, true), Expect::PassTimed);
        assert_eq!(h.expect(false, true), Expect::Correct);
        assert_eq!(h.expect(true, false), Expect::Correct);
        let slow = "// calibrate: Too Slow\n// source: k1\n// expect-cpu: not coalesced\n";
        let h = parse_calib_header(slow).unwrap();
        assert_eq!(h.expect(true, true), Expect::TooSlow);
        assert_eq!(
            h.expect(false, true),
            Expect::FailWith("not coalesced".into())
        );
        let h = parse_calib_header("// calibrate: too slow\n// source: k3\n").unwrap();
        assert_eq!(h.expect(false, true), Expect::Correct);

        assert!(parse_calib_header("// calibrate: fast\n// source: x").is_err());
        assert!(parse_calib_header("// calibrate: pass\n").is_err());
        assert!(parse_calib_header("// calibrate: pass\n// source:  \n").is_err());
        assert!(parse_calib_header("// source: x\n// calibrate: pass").is_err());
        let cpu_on_pass = "// calibrate: pass\n// source: x\n// expect-cpu: words";
        assert!(parse_calib_header(cpu_on_pass)
            .unwrap_err()
            .contains("too slow"));
        assert!(parse_calib_header("// calibrate: too slow\n// source: x\n// expect: y").is_err());
    }

    #[test]
    fn a_calibration_kernel_must_be_timed_on_a_gpu() {
        let (ok, text) = verdict(&Expect::PassTimed, &outcome(correct(), None), true);
        assert!(!ok && text.contains("not measured"), "{text}");
        let (ok, text) = verdict(
            &Expect::PassTimed,
            &outcome(correct(), Some((0.07, false))),
            true,
        );
        assert!(!ok && text.contains("must pass its bar"), "{text}");
        assert!(
            verdict(
                &Expect::PassTimed,
                &outcome(correct(), Some((0.09, true))),
                true
            )
            .0
        );
        let (ok, text) = verdict(&Expect::Correct, &outcome(wrong("C is wrong"), None), true);
        assert!(!ok && text.contains("must be correct"), "{text}");
        assert!(verdict(&Expect::Correct, &outcome(correct(), None), true).0);
    }

    #[test]
    fn figures_are_found_in_comments_only() {
        let text = "// Aim: 35% of it, 0.45 of cuBLAS, 7x the naive loop, 1.5× more.\n\
                    // Not figures: 32x32 tiles, 0xffu, 2/3 of the copy, 8 x 8, sm_90%, 2^26x.\n\
                    int x = i % 32; float y = 3x;\n\
                    //! and 0.5 of the copy bandwidth\n";
        let found = figures(text);
        let found: Vec<(usize, &str, Unit)> = found
            .iter()
            .map(|f| (f.line, f.number.as_str(), f.unit))
            .collect();
        assert_eq!(
            found,
            vec![
                (1, "35", Unit::Percent),
                (1, "0.45", Unit::Ratio),
                (1, "7", Unit::Times),
                (1, "1.5", Unit::Times),
                (4, "0.5", Unit::Ratio),
            ]
        );
    }

    fn exercise(speed: &str) -> Exercise {
        toml::from_str(&format!(
            "name = \"sgemm_2d_blocktile\"\nmodule = \"03\"\nfile = \"x.cu\"\nkind = \"cuda\"\n\
             hints = []\ncheck = \"c\"\n{speed}"
        ))
        .unwrap()
    }

    #[test]
    fn a_stated_figure_must_be_the_bar() {
        let ex = exercise("speed = { baseline = \"cublas\", bar = 0.45, size = [1] }");
        let stub = "// one\n// Aim: well above step 4 (bar: about 35% of cuBLAS).\n";
        let problems = figure_problems(&ex, stub);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("2: states \"35%\" (0.35), but curriculum.toml's bar for sgemm_2d_blocktile is 0.45"),
            "{}",
            problems[0]
        );
        assert!(figure_problems(&ex, "// bar: 45% of cuBLAS, i.e. 0.45 of cuBLAS\n").is_empty());
        // A rounding of the bar is not the bar: 0.5 is not 0.45.
        assert_eq!(figure_problems(&ex, "// 0.5 of cuBLAS\n").len(), 1);
        // A multiple is not a fraction of cuBLAS.
        let kind = figure_problems(&ex, "// 2x step 4\n");
        assert!(kind[0].contains("another kind"), "{kind:?}");

        let cpu = exercise("speed = { baseline = \"cpu-naive\", bar = 4.5, size = [1] }");
        assert!(figure_problems(&cpu, "//! the bar is 4.5x the naive loop\n").is_empty());
        assert!(figure_problems(&cpu, "//! the bar is 7x the naive loop\n")[0].contains("is 4.50"));

        let none = exercise("");
        assert!(figure_problems(&none, "// 80% of copy\n")[0].contains("has no speed bar"));
    }

    #[test]
    fn expected_words_match_loosely_but_not_falsely() {
        let text = "C[1000..1023] was never   written\n— does your grid cover N?";
        assert!(contains_words(text, "never written"));
        assert!(contains_words(text, "Grid Cover"));
        assert!(!contains_words(text, "out of bounds"));
    }
}
