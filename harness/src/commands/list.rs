//! `kernlings list`: every exercise by module, with where the learner stands.

use std::fmt::Write as _;
use std::process::ExitCode;

use super::{show, Course};
use crate::curriculum::Curriculum;
use crate::state::State;

pub fn run(course: &Course) -> anyhow::Result<ExitCode> {
    let state = State::load(&course.root)?;
    print!("{}", render(&course.curriculum, &state));
    Ok(ExitCode::SUCCESS)
}

/// The list, printed; watch has its own, interactive one.
pub fn render(curriculum: &Curriculum, state: &State) -> String {
    let current = state.current(curriculum).map(|e| e.name.as_str());
    let width = curriculum
        .exercises
        .iter()
        .map(|e| e.name.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for module in &curriculum.modules {
        let exercises: Vec<_> = curriculum
            .exercises
            .iter()
            .filter(|e| e.module == module.id)
            .collect();
        if exercises.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "{}",
            show::bold(&format!("{} {}", module.id, module.title))
        );
        for ex in exercises {
            let entry = state.exercise(&ex.name);
            let marker = if Some(ex.name.as_str()) == current {
                "▶"
            } else {
                " "
            };
            let status = if entry.first_done.is_some() {
                show::green("done   ")
            } else {
                show::yellow("pending")
            };
            let mut line = format!(" {marker} {:width$}  {status}", ex.name);
            if let Some(last) = &entry.last {
                let words = format!("{} attempt(s), last: {}", entry.tries(), last.summary);
                let _ = write!(line, "  {}", show::dim(&words));
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    let done = state.done_count(curriculum);
    let total = curriculum.exercises.len();
    let _ = writeln!(
        out,
        "\nprogress {} {done}/{total} done",
        show::bar(done, total, 30)
    );
    out
}
