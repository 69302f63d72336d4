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
//! the run says how many such versions only the CPU backend catches.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::{exit, show, Course};
use crate::curriculum::{self, Exercise, ExerciseKind};
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
}

#[derive(Debug, PartialEq)]
enum Expect {
    Pass,
    Fail,
    /// Fail, with these words somewhere in the failure text.
    FailWith(String),
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
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&Report { passed, lint, rows })?
        );
    } else {
        print!("{}", table(&rows));
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
        }
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
        if let Ok(dirs) = fs::read_dir(wrong_dir(&course.root)) {
            for dir in dirs.flatten() {
                let name = dir.file_name().to_string_lossy().into_owned();
                if course.curriculum.exercise(&name).is_none() {
                    out.push(format!(
                        "harness/wrong/{name} names no exercise in curriculum.toml"
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
            });
        }
    }
    jobs
}

fn grade_job(course: &Course, job: &Job, prebuilt: Option<PathBuf>) -> Row {
    let mut request = course.request(job.ex, job.source.clone(), prebuilt);
    // Timing is what proves a solution or a too-slow kernel; any other only has to fail.
    let timed = matches!(job.expect, Expect::Pass | Expect::TooSlow);
    request.speed &= timed;
    let mut row = Row {
        exercise: job.ex.name.clone(),
        what: job.what.clone(),
        ok: false,
        skipped: false,
        verdict: String::new(),
        ratio: None,
        bar: job.ex.speed.as_ref().filter(|_| timed).map(|s| s.bar),
        device: None,
        outcome: None,
    };
    if let Expect::Skip(reason) = &job.expect {
        (row.ok, row.skipped) = (true, true);
        row.verdict = format!("on the GPU: {reason}");
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

fn wrong_dir(root: &Path) -> PathBuf {
    root.join("harness").join("wrong")
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
    fn expected_words_match_loosely_but_not_falsely() {
        let text = "C[1000..1023] was never   written\n— does your grid cover N?";
        assert!(contains_words(text, "never written"));
        assert!(contains_words(text, "Grid Cover"));
        assert!(!contains_words(text, "out of bounds"));
    }
}
