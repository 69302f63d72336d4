//! `kernlings reset NAME`: put the original stub back, keeping the learner's version.
//!
//! The original comes from `.kernlings/originals/`, copied the first time kernlings sees each
//! exercise, or else from git's `HEAD`. The learner's version goes to `.kernlings/backups/`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context};
use chrono::Local;

use super::{show, Course};
use crate::curriculum::{self, Exercise};

fn originals(root: &Path) -> PathBuf {
    root.join(".kernlings").join("originals")
}

/// Copies each exercise file not yet saved, so `reset` works even outside git.
pub fn save_originals(course: &Course) -> anyhow::Result<()> {
    for ex in &course.curriculum.exercises {
        let saved = originals(&course.root).join(&ex.file);
        let path = curriculum::exercise_path(&course.root, ex);
        if saved.exists() || !path.exists() {
            continue;
        }
        fs::create_dir_all(saved.parent().expect("a file has a parent"))?;
        fs::copy(&path, &saved)
            .with_context(|| format!("cannot save the original of {}", path.display()))?;
    }
    Ok(())
}

pub fn run(course: &Course, name: &str) -> anyhow::Result<ExitCode> {
    let ex = course.exercise(name)?;
    let path = curriculum::exercise_path(&course.root, ex);
    let shown = course.display_path(&path);
    let original = original(course, ex)?;
    let current = fs::read(&path).ok();
    if current.as_deref() == Some(original.as_slice()) {
        println!("{shown} is already the original stub; nothing changed.");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(current) = current {
        let stamp = Local::now().format("%Y%m%d-%H%M%S");
        let backup = course
            .root
            .join(".kernlings")
            .join("backups")
            .join(format!("{}.{stamp}", ex.file));
        fs::create_dir_all(backup.parent().expect("a file has a parent"))?;
        fs::write(&backup, current)
            .with_context(|| format!("cannot back up {}", path.display()))?;
        println!(
            "Your version of {shown} is saved as {}.",
            course.display_path(&backup)
        );
    }
    fs::create_dir_all(path.parent().expect("a file has a parent"))?;
    fs::write(&path, original).with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "{}",
        show::green(&format!("Reset {shown} to the original stub."))
    );
    Ok(ExitCode::SUCCESS)
}

fn original(course: &Course, ex: &Exercise) -> anyhow::Result<Vec<u8>> {
    let saved = originals(&course.root).join(&ex.file);
    if let Ok(bytes) = fs::read(&saved) {
        return Ok(bytes);
    }
    // `./` makes the path relative to the course directory, wherever the git top level is.
    let spec = format!("HEAD:./exercises/{}", ex.file);
    let git = Command::new("git")
        .arg("-C")
        .arg(&course.root)
        .args(["show", &spec])
        .output();
    match git {
        Ok(out) if out.status.success() => Ok(out.stdout),
        _ => bail!(
            "no original of exercises/{} to restore: none saved in .kernlings/originals/ and git has none",
            ex.file
        ),
    }
}
