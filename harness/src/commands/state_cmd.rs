//! `kernlings state list|restore`: the copies of the progress state kept aside when one could
//! not be read (or was replaced by a restore), and bringing one back.

use std::fs;
use std::process::ExitCode;

use super::{show, Course};
use crate::cli::StateAction;
use crate::state::{self, State};

pub fn run(course: &Course, action: &StateAction) -> anyhow::Result<ExitCode> {
    match action {
        StateAction::List => {
            list(course)?;
            Ok(ExitCode::SUCCESS)
        }
        StateAction::Restore { name } => {
            let (restored, replaced) = State::restore(&course.root, name.as_deref())?;
            if let Some(replaced) = replaced {
                println!(
                    "The progress state it replaces is kept as {}.",
                    course.display_path(&replaced)
                );
            }
            let done = State::load(&course.root)?.done_count(&course.curriculum);
            println!(
                "{}",
                show::green(&format!(
                    "Restored {}: {done} of {} exercises done.",
                    course.display_path(&restored),
                    course.curriculum.exercises.len()
                ))
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Each kept copy, newest first, with what it holds or why it cannot be restored as it is.
fn list(course: &Course) -> anyhow::Result<()> {
    let kept = State::kept(&course.root)?;
    if kept.is_empty() {
        println!("No kept copies of your progress state.");
        return Ok(());
    }
    println!("Kept copies of your progress state, newest first:");
    for path in &kept {
        let what = match fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|b| state::parse(&b))
        {
            Ok(s) => show::green(&format!(
                "{} of {} exercises done",
                s.done_count(&course.curriculum),
                course.curriculum.exercises.len()
            )),
            Err(problem) => show::yellow(&format!("fix it first: {problem}")),
        };
        println!(
            "  {}  {what}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
    }
    let cmd = crate::toolchain::command_name();
    println!(
        "`{cmd} state restore` brings back the newest; `{cmd} state restore NAME` a named one."
    );
    Ok(())
}
