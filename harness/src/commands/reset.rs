//! `kernlings reset NAME`: put the original stub back, keeping the learner's version.
//!
//! The originals are kept in `.kernlings/originals/` the first time kernlings runs: git's
//! `HEAD` version where the course is a clone (a learner may edit before that first run),
//! else the file as found. The learner's version goes to `.kernlings/backups/`.

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

/// Keeps an original of each exercise not yet kept, so `reset` works later, in git or not.
pub fn save_originals(course: &Course) -> anyhow::Result<()> {
    // A `.kernlings` that is not a directory is moved aside here, with a message, rather than
    // failing below with a bare "Not a directory".
    crate::state::state_dir(&course.root)?;
    for ex in &course.curriculum.exercises {
        let saved = originals(&course.root).join(&ex.file);
        if saved.exists() {
            continue;
        }
        let path = curriculum::exercise_path(&course.root, ex);
        let Some(bytes) = git_head(course, ex).or_else(|| fs::read(&path).ok()) else {
            continue;
        };
        create_parent(&saved)?;
        fs::write(&saved, bytes)
            .with_context(|| format!("cannot save the original of {}", path.display()))?;
    }
    Ok(())
}

/// The kept original of an exercise, once a learner's command has saved it: the untouched stub
/// even after the learner has solved the exercise in place.
pub fn kept_original(course: &Course, ex: &Exercise) -> Option<PathBuf> {
    Some(originals(&course.root).join(&ex.file)).filter(|p| p.is_file())
}

pub fn run(course: &Course, name: &str) -> anyhow::Result<ExitCode> {
    for line in reset(course, course.exercise(name)?)? {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Restores the stub, keeping the learner's version; returns what it did, in sentences (the
/// last one in green). Shared by `reset` and watch's list.
pub fn reset(course: &Course, ex: &Exercise) -> anyhow::Result<Vec<String>> {
    let path = curriculum::exercise_path(&course.root, ex);
    let shown = course.display_path(&path);
    let original = original(course, ex)?;
    let current = fs::read(&path).ok();
    if current.as_deref() == Some(original.as_slice()) {
        return Ok(vec![format!(
            "{shown} is already the original stub; nothing changed."
        )]);
    }
    let mut said = Vec::new();
    if let Some(current) = current {
        let stamp = Local::now().format("%Y%m%d-%H%M%S-%3f");
        let backup = course
            .root
            .join(".kernlings")
            .join("backups")
            .join(format!("{}.{stamp}", ex.file));
        create_parent(&backup)?;
        let changed = super::diff::summary(
            &String::from_utf8_lossy(&original),
            &String::from_utf8_lossy(&current),
        )
        .unwrap_or_default();
        fs::write(&backup, current).with_context(|| {
            format!("cannot back up {} to {}", path.display(), backup.display())
        })?;
        said.push(format!(
            "Your version of {shown} ({changed} against the stub) is saved as {}.",
            course.display_path(&backup)
        ));
    }
    create_parent(&path)?;
    fs::write(&path, original).with_context(|| format!("cannot write {}", path.display()))?;
    said.push(show::green(&format!("Reset {shown} to the original stub.")));
    Ok(said)
}

fn create_parent(path: &Path) -> anyhow::Result<()> {
    let dir = path.parent().expect("a file has a parent");
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

pub(super) fn original(course: &Course, ex: &Exercise) -> anyhow::Result<Vec<u8>> {
    let saved = originals(&course.root).join(&ex.file);
    if let Ok(bytes) = fs::read(&saved) {
        return Ok(bytes);
    }
    match git_head(course, ex) {
        Some(bytes) => Ok(bytes),
        None => bail!(
            "no original of exercises/{} to restore: none kept in .kernlings/originals/ and git has none",
            ex.file
        ),
    }
}

/// The exercise as committed in git's `HEAD`, if the course is in a repository that has it.
fn git_head(course: &Course, ex: &Exercise) -> Option<Vec<u8>> {
    // `./` makes the path relative to the course directory, wherever the git top level is.
    let spec = format!("HEAD:./exercises/{}", ex.file);
    let out = Command::new("git")
        .arg("-C")
        .arg(&course.root)
        .args(["show", &spec])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout)
}
