//! `kernlings verify`: grade every exercise in order and stop at the first that fails.

use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use super::{exit, show, Attempt, Course};
use crate::outcome::Outcome;

#[derive(Serialize)]
struct Report<'a> {
    passed: bool,
    /// The exercise that failed, where verify stopped.
    stopped_at: Option<&'a str>,
    results: Vec<Entry<'a>>,
}

#[derive(Serialize)]
struct Entry<'a> {
    exercise: &'a str,
    passed: bool,
    /// The learner's file does not exist (reset restores it).
    missing: bool,
    outcome: Option<Outcome>,
}

pub fn run(course: &Course, json: bool, prebuilt: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let total = course.curriculum.exercises.len();
    let mut results = Vec::new();
    let mut stopped_at = None;
    for (i, ex) in course.curriculum.exercises.iter().enumerate() {
        let attempt = course.attempt(ex, prebuilt.clone())?;
        let passed = attempt.passed();
        if !json {
            println!("{} {}", show::dim(&format!("[{}/{total}]", i + 1)), ex.name);
            print!("{}", show::attempt(course, ex, &attempt));
        }
        let (missing, outcome) = match attempt {
            Attempt::Graded(o) => (false, Some(*o)),
            Attempt::Missing(_) => (true, None),
        };
        results.push(Entry {
            exercise: &ex.name,
            passed,
            missing,
            outcome,
        });
        if !passed {
            stopped_at = Some(ex.name.as_str());
            break;
        }
    }
    let passed = stopped_at.is_none();
    if json {
        let report = Report {
            passed,
            stopped_at,
            results,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if passed {
        println!(
            "{}",
            show::green(&format!(
                "All {total} exercises pass. `{} report` writes your PROGRESS.md.",
                crate::toolchain::command_name()
            ))
        );
    } else {
        println!(
            "{}",
            show::red(&format!(
                "verify stopped at `{}` ({} of {total} pass before it).",
                stopped_at.unwrap_or_default(),
                results.len() - 1
            ))
        );
    }
    Ok(exit(passed))
}
