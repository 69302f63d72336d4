//! `kernlings hint [NAME]`: one more hint level on each call, the earlier ones repeated.

use std::process::ExitCode;

use super::{show, Course};
use crate::curriculum::Exercise;
use crate::state::State;

pub fn run(course: &Course, name: Option<&str>, all: bool) -> anyhow::Result<ExitCode> {
    let ex = match name {
        Some(name) => course.exercise(name)?,
        None => match State::load(&course.root)?.current(&course.curriculum) {
            Some(ex) => ex,
            None => anyhow::bail!("the curriculum has no exercises"),
        },
    };
    let seen = State::update(&course.root, |s| {
        let entry = s.exercises.entry(ex.name.clone()).or_default();
        entry.hints_seen = if all {
            ex.hints.len()
        } else {
            (entry.hints_seen + 1).min(ex.hints.len())
        };
        entry.hints_seen
    })?;
    print!("{}", hints(ex, seen));
    Ok(ExitCode::SUCCESS)
}

/// The first `levels` hints of `ex`, numbered, with a word on what comes next.
pub fn hints(ex: &Exercise, levels: usize) -> String {
    let total = ex.hints.len();
    let mut out = String::new();
    for (i, hint) in ex.hints.iter().take(levels).enumerate() {
        out.push_str(&show::bold(&format!(
            "Hint {}/{total} for {}:",
            i + 1,
            ex.name
        )));
        out.push('\n');
        for line in hint.trim_end().lines() {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
    }
    let note = if levels < total {
        "Ask again for the next level."
    } else {
        "That was the last hint."
    };
    out.push_str(&show::dim(note));
    out.push('\n');
    out
}
