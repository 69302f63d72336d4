//! `kernlings reset NAME`: put the original stub back, keeping the learner's version.
//!
//! The originals are kept in `.kernlings/originals/` the first time kernlings runs: git's
//! `HEAD` version where the course is a clone (a learner may edit before that first run),
//! else the file as found. The learner's version goes to `.kernlings/backups/`.
//!
//! A course update (a `git pull` that changes a stub) would leave the kept original stale:
//! `reset` would bring back the old stub and `check-solutions` grade it. Next to each original,
//! `<file>.shipped` names the git blob of the stub it was last reconciled with; when `HEAD`'s
//! blob differs, the original is refreshed from `HEAD` (see `refresh_originals`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context};
use chrono::Local;

use super::{show, Course};
use crate::curriculum::{self, Exercise};
use crate::state::State;

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

/// Where the blob id of the stub an original was last reconciled with is kept.
fn shipped_path(saved: &Path) -> PathBuf {
    let mut name = saved.as_os_str().to_owned();
    name.push(".shipped");
    PathBuf::from(name)
}

/// Brings kept originals up to date with the course in git's `HEAD`, and returns sentences for
/// the learner where their file needs them to choose (empty when the course is not in git).
///
/// An original differs from `HEAD`'s stub either because the course changed the stub (then
/// `reset` must restore the new one) or because the learner committed their own work in their
/// fork (then the kept original is the stub and must stay). Learner work was graded: `HEAD`'s
/// version matching the file the learner graded last is theirs; anything else is the course's.
/// Each `HEAD` blob is judged once: its id is kept in `<file>.shipped`.
pub fn refresh_originals(course: &Course) -> anyhow::Result<Vec<String>> {
    let Some(blobs) = head_blobs(course) else {
        return Ok(Vec::new());
    };
    let mut state = None;
    let mut said = Vec::new();
    for ex in &course.curriculum.exercises {
        let saved = originals(&course.root).join(&ex.file);
        let Ok(kept) = fs::read(&saved) else {
            continue;
        };
        let Some(blob) = blobs.get(&format!("exercises/{}", ex.file)) else {
            continue;
        };
        let shipped = shipped_path(&saved);
        if fs::read_to_string(&shipped).ok().as_deref() == Some(blob.as_str()) {
            continue;
        }
        let Some(stub) = git_blob(course, blob) else {
            continue;
        };
        let state = match &mut state {
            Some(state) => state,
            None => state.insert(State::load(&course.root)?),
        };
        let learners = state.exercise(&ex.name).last_hash.as_deref()
            == Some(crate::grade::source_hash(&stub).as_str());
        if stub != kept && !learners {
            fs::write(&saved, &stub)
                .with_context(|| format!("cannot refresh {}", saved.display()))?;
            let path = curriculum::exercise_path(&course.root, ex);
            let current = fs::read(&path).ok();
            if current.as_deref() != Some(stub.as_slice()) {
                let cmd = crate::toolchain::command_name();
                said.push(format!(
                    "the course changed the stub of {} since you started it; your file keeps \
                     your version. `{cmd} diff {name}` shows it against the new stub, and `{cmd} \
                     reset {name}` starts over from the new stub (your version is backed up).",
                    course.display_path(&path),
                    name = ex.name
                ));
            }
        }
        fs::write(&shipped, blob).with_context(|| format!("cannot write {}", shipped.display()))?;
    }
    Ok(said)
}

/// `exercises/<file>` -> the blob id of that file in `HEAD`; `None` outside git.
fn head_blobs(course: &Course) -> Option<BTreeMap<String, String>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(&course.root)
        .args(["ls-tree", "-r", "HEAD", "./exercises/"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    // `<mode> blob <id>\t<path>`, the path relative to the course directory.
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let blobs = text
        .lines()
        .filter_map(|line| {
            let (meta, path) = line.split_once('\t')?;
            let id = meta.split_whitespace().nth(2)?;
            Some((path.to_string(), id.to_string()))
        })
        .collect();
    Some(blobs)
}

fn git_blob(course: &Course, id: &str) -> Option<Vec<u8>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(&course.root)
        .args(["cat-file", "blob", id])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status.success().then_some(out.stdout)
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
