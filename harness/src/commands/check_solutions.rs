//! `kernlings check-solutions` (instructor): lint the curriculum, then prove that every solution
//! passes, every untouched stub fails, and every known-wrong kernel fails with its message.

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

enum Expect {
    Pass,
    Fail,
    /// Fail, with these words somewhere in the failure text.
    FailWith(String),
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
        if passed {
            println!(
                "{}",
                show::green(&format!("All {} checks hold.", rows.len()))
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
        for path in [&stub, &solution] {
            if !path.is_file() {
                out.push(format!(
                    "{}: {} is missing",
                    ex.name,
                    course.display_path(path)
                ));
            }
        }
        if let Ok(text) = fs::read_to_string(&stub) {
            if !text.contains("TODO") {
                out.push(format!(
                    "{}: the stub {} has no TODO telling the learner what to do",
                    ex.name,
                    course.display_path(&stub)
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
        let stub = curriculum::exercise_path(&course.root, ex);
        if stub.is_file() {
            jobs.push(Job {
                ex,
                what: "stub".into(),
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
            let first = fs::read_to_string(&case)
                .unwrap_or_default()
                .lines()
                .next()
                .unwrap_or("")
                .to_string();
            let Some(words) = first
                .trim()
                .strip_prefix("// expect:")
                .map(str::trim)
                .filter(|w| !w.is_empty())
            else {
                lint.push(format!(
                    "{shown}: the first line must be `// expect: <words the failure must contain>`"
                ));
                continue;
            };
            let stem = case.file_stem().unwrap_or_default().to_string_lossy();
            jobs.push(Job {
                ex,
                what: format!("wrong/{stem}"),
                source: case.clone(),
                expect: Expect::FailWith(words.to_string()),
            });
        }
    }
    jobs
}

fn grade_job(course: &Course, job: &Job, prebuilt: Option<PathBuf>) -> Row {
    let mut request = course.request(job.ex, job.source.clone(), prebuilt);
    // Timing is what proves a solution; a stub or wrong kernel only has to fail.
    let solution = matches!(job.expect, Expect::Pass);
    request.speed &= solution;
    let mut row = Row {
        exercise: job.ex.name.clone(),
        what: job.what.clone(),
        ok: false,
        verdict: String::new(),
        ratio: None,
        bar: job.ex.speed.as_ref().filter(|_| solution).map(|s| s.bar),
        device: None,
        outcome: None,
    };
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
    let text = failure_text(&outcome.correctness);
    (row.ok, row.verdict) = match (&job.expect, outcome.passed()) {
        (Expect::Pass, true) if outcome.speed.is_none() && job.ex.speed.is_some() => (
            true,
            format!("passes: {} (speed not measured)", show::one_line(&outcome)),
        ),
        (Expect::Pass, true) => (true, format!("passes: {}", show::one_line(&outcome))),
        (Expect::Pass, false) => (
            false,
            format!("solution fails: {}", show::one_line(&outcome)),
        ),
        (_, true) => (false, "passes, but must fail".to_string()),
        (Expect::Fail, false) => (true, format!("fails: {}", show::one_line(&outcome))),
        (Expect::FailWith(words), false) => {
            if contains_words(&text, words) {
                (true, format!("fails with \"{words}\""))
            } else {
                (
                    false,
                    format!(
                        "fails, but the message lacks \"{words}\": {}",
                        show::one_line(&outcome)
                    ),
                )
            }
        }
    };
    row.outcome = Some(outcome);
    row
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

fn table(rows: &[Row]) -> String {
    let headers = ["exercise", "what", "verdict", "ratio", "bar", "device"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            let fmt = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into());
            [
                r.exercise.clone(),
                r.what.clone(),
                format!("{} {}", if r.ok { "ok" } else { "VIOLATION" }, r.verdict),
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

    #[test]
    fn expected_words_match_loosely_but_not_falsely() {
        let text = "C[1000..1023] was never   written\n— does your grid cover N?";
        assert!(contains_words(text, "never written"));
        assert!(contains_words(text, "Grid Cover"));
        assert!(!contains_words(text, "out of bounds"));
    }
}
