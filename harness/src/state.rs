//! The learner's progress: `.kernlings/state.json`.
//!
//! Every read-modify-write holds an exclusive lock on `.kernlings/state.lock`, so `watch` and
//! a `run` in another terminal never lose each other's attempts. Writes are atomic (temp file,
//! fsync, rename): a crash mid-write leaves the old file or the new one. A state that cannot be
//! read is moved aside under a name the learner is told, never dropped, and
//! `kernlings state restore` brings it back.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::curriculum::Curriculum;
use crate::outcome::Outcome;

/// Bumped when the layout changes in a way older builds cannot read.
pub const VERSION: u32 = 1;
/// The prefix of a state that could not be read, kept next to where it was.
pub const UNREADABLE: &str = "unreadable-";
/// The prefix of a state that `kernlings state restore` replaced.
pub const REPLACED: &str = "replaced-";
/// A writer's temp file: `state.json.tmp-<pid>`.
const TMP_PREFIX: &str = "state.json.tmp-";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// The exercise `watch` shows; `None` means the first one not done.
    pub current: Option<String>,
    /// By exercise name. Names the curriculum no longer has are kept but ignored.
    #[serde(default)]
    pub exercises: BTreeMap<String, ExerciseState>,
    /// Attempts and passes per local day, for the weekly report.
    #[serde(default)]
    pub days: BTreeMap<NaiveDate, DayActivity>,
    /// Modules whose intro `watch` has shown, so it is shown once, when the module starts.
    #[serde(default)]
    pub intros_seen: BTreeSet<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExerciseState {
    /// When it first passed; it stays done after that.
    pub first_done: Option<DateTime<Utc>>,
    /// Every graded run, re-grades of an unchanged file included; `tries` counts attempts.
    pub attempts: u32,
    pub last: Option<LastResult>,
    pub best_speed: Option<BestSpeed>,
    /// The load sweep of the latest passing attempt that ran one (the server exercise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_sweep: Option<crate::outcome::LoadSweep>,
    /// How many hint levels the learner has seen.
    #[serde(default)]
    pub hints_seen: usize,
    /// When each real edit was graded: attempts whose file differed from the last one graded
    /// (re-grades of the same file, as `verify` does, are not edits). Kept by report.rs.
    #[serde(default)]
    pub edits: Vec<DateTime<Utc>>,
    /// The content hash of the file graded last, to tell an edit from a re-grade.
    #[serde(default)]
    pub last_hash: Option<String>,
    /// Graded runs recorded by a kernlings that did not yet tell edits from re-grades: they
    /// count as attempts, since nothing tells them apart now.
    #[serde(default)]
    pub earlier_edits: u32,
}

impl ExerciseState {
    /// The learner's attempts: gradings of a changed file. `verify` or `r` re-grading the same
    /// file is not one more try.
    pub fn tries(&self) -> u32 {
        match self.last_hash {
            // A state from before edits were told apart, not graded since.
            None => self.attempts,
            Some(_) => self.earlier_edits + self.edits.len() as u32,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastResult {
    pub at: DateTime<Utc>,
    pub passed: bool,
    /// One line: "correct, 0.91 of copy bandwidth" or the failure's summary.
    pub summary: String,
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestSpeed {
    pub at: DateTime<Utc>,
    pub ratio: f64,
    pub bar: f64,
    pub baseline: String,
    pub percent_of_limit: f64,
    pub achieved: String,
    pub device: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DayActivity {
    pub attempts: u32,
    pub passes: u32,
}

/// What was moved aside, for the learner. Line commands print it on stderr at once; `watch`
/// holds it and shows it in its top area, where a redraw cannot wipe it.
static NOTICES: Mutex<Vec<String>> = Mutex::new(Vec::new());
static HOLD_NOTICES: AtomicBool = AtomicBool::new(false);

/// From now on, notices wait for `take_notices` instead of going to stderr.
pub fn hold_notices() {
    HOLD_NOTICES.store(true, Ordering::Relaxed);
}

pub fn take_notices() -> Vec<String> {
    std::mem::take(&mut *NOTICES.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Tells the learner: on stderr at once, or in watch's top area once `hold_notices` was called.
pub fn notice(text: String) {
    if HOLD_NOTICES.load(Ordering::Relaxed) {
        NOTICES.lock().unwrap_or_else(|e| e.into_inner()).push(text);
    } else {
        eprintln!("kernlings: {text}");
    }
}

/// An exclusive hold on the progress state, released when dropped (closing the file unlocks).
pub struct Lock {
    _file: fs::File,
}

/// `.kernlings/`, created if missing. Something else in its place (a file) is moved aside, so
/// kernlings can keep progress again, and the learner is told where it went.
pub fn state_dir(root: &Path) -> anyhow::Result<PathBuf> {
    let dir = root.join(".kernlings");
    match fs::metadata(&dir) {
        Ok(meta) if meta.is_dir() => return Ok(dir),
        Ok(_) => {
            if let Some(aside) = move_aside(&dir)? {
                notice(format!(
                    "{} is not a directory, so kernlings could not keep your progress in it.\n  \
                     It is kept as {}; starting a fresh {}. `{} state list` shows kept copies.",
                    dir.display(),
                    aside.display(),
                    dir.display(),
                    crate::toolchain::command_name()
                ));
            }
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    }
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Renames `path` to `<path>.unreadable-<time>`, a name not taken yet. `None` when another
/// kernlings moved it first.
fn move_aside(path: &Path) -> anyhow::Result<Option<PathBuf>> {
    move_to_kept(path, UNREADABLE)
}

fn move_to_kept(path: &Path, prefix: &str) -> anyhow::Result<Option<PathBuf>> {
    let name = path
        .file_name()
        .expect("state paths have a file name")
        .to_string_lossy();
    let stamp = Utc::now().format("%Y%m%d-%H%M%S-%3f");
    let mut aside = path.with_file_name(format!("{name}.{prefix}{stamp}"));
    let mut n = 1;
    while aside.exists() {
        n += 1;
        aside = path.with_file_name(format!("{name}.{prefix}{stamp}-{n}"));
    }
    match fs::rename(path, &aside) {
        Ok(()) => Ok(Some(aside)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| {
            format!(
                "cannot move {} aside to {}",
                path.display(),
                aside.display()
            )
        }),
    }
}

impl State {
    pub fn path(root: &Path) -> PathBuf {
        root.join(".kernlings").join("state.json")
    }

    /// Waits for other kernlings processes to finish their read-modify-write. Temp files left
    /// by a writer that was killed are removed: with the lock held, nobody is writing one.
    pub fn lock(root: &Path) -> anyhow::Result<Lock> {
        let dir = state_dir(root)?;
        let path = dir.join("state.lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        file.lock()
            .with_context(|| format!("cannot lock {}", path.display()))?;
        if let Ok(entries) = fs::read_dir(&dir) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        Ok(Lock { _file: file })
    }

    /// Reads the state; a missing file is a fresh start.
    pub fn load(root: &Path) -> anyhow::Result<State> {
        let lock = State::lock(root)?;
        State::read(root, &lock)
    }

    /// A state that cannot be used (bad JSON or UTF-8, a newer kernlings's, a directory) is
    /// renamed to `state.json.unreadable-<time>`, the learner is told, and progress starts
    /// fresh; `kernlings state restore` brings the kept copy back.
    fn read(root: &Path, _lock: &Lock) -> anyhow::Result<State> {
        let path = State::path(root);
        let problem = match fs::read(&path) {
            Ok(bytes) => match parse(&bytes) {
                Ok(state) => return Ok(state),
                Err(problem) => problem,
            },
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(State::fresh()),
            Err(_) if path.is_dir() => "it is a directory, not a file".to_string(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        if let Some(aside) = move_aside(&path)? {
            notice(format!(
                "could not use {}: {problem}.\n  It is kept as {}; starting from a fresh progress \
                 state. Once it is fixed, `{} state restore` brings it back.",
                path.display(),
                aside.display(),
                crate::toolchain::command_name()
            ));
        }
        Ok(State::fresh())
    }

    pub fn fresh() -> State {
        State {
            version: VERSION,
            ..State::default()
        }
    }

    /// Writes under the lock (see `update` for a read-modify-write).
    #[cfg(test)]
    pub fn save(&self, root: &Path) -> anyhow::Result<()> {
        let lock = State::lock(root)?;
        self.write(root, &lock)
    }

    /// Writes atomically: a temp file in the same directory, fsync, rename, fsync the directory.
    fn write(&self, root: &Path, _lock: &Lock) -> anyhow::Result<()> {
        let path = State::path(root);
        let dir = path.parent().expect("state path has a parent");
        let tmp = dir.join(format!("{TMP_PREFIX}{}", std::process::id()));
        let json = serde_json::to_string_pretty(self).context("serializing progress state")?;
        let write = || -> std::io::Result<()> {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(json.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            fs::rename(&tmp, &path)?;
            fs::File::open(dir)?.sync_all()
        };
        write().with_context(|| format!("cannot write {}", path.display()))
    }

    /// Load, change, save, all under the lock: `watch` and a `run` in another terminal never
    /// lose each other's progress.
    pub fn update<T>(root: &Path, change: impl FnOnce(&mut State) -> T) -> anyhow::Result<T> {
        let lock = State::lock(root)?;
        let mut state = State::read(root, &lock)?;
        let out = change(&mut state);
        state.write(root, &lock)?;
        Ok(out)
    }

    /// Copies of the state kept aside, newest first.
    pub fn kept(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
        let dir = state_dir(root)?;
        let mut kept = Vec::new();
        for (folder, stem) in [(dir.as_path(), "state.json."), (root, ".kernlings.")] {
            let entries = fs::read_dir(folder)
                .with_context(|| format!("cannot read {}", folder.display()))?;
            for entry in entries {
                let entry = entry.with_context(|| format!("cannot read {}", folder.display()))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let Some(rest) = name.strip_prefix(stem) else {
                    continue;
                };
                let stamp = rest
                    .strip_prefix(UNREADABLE)
                    .or_else(|| rest.strip_prefix(REPLACED));
                if let Some(stamp) = stamp.filter(|_| entry.path().is_file()) {
                    kept.push((stamp.to_string(), entry.path()));
                }
            }
        }
        // The stamps are `%Y%m%d-%H%M%S-%3f`: their order is the time order.
        kept.sort();
        Ok(kept.into_iter().rev().map(|(_, path)| path).collect())
    }

    /// Puts a kept copy back as the state: `which` names one (as `state list` shows it), else
    /// the newest. The state it replaces is kept in turn, so a restore can be undone the same
    /// way. Returns the restored copy's path and where the replaced state went.
    pub fn restore(root: &Path, which: Option<&str>) -> anyhow::Result<(PathBuf, Option<PathBuf>)> {
        let lock = State::lock(root)?;
        let kept = State::kept(root)?;
        let chosen = match which {
            Some(name) => kept
                .iter()
                .find(|p| p.file_name().is_some_and(|f| f.to_string_lossy() == name))
                .with_context(|| {
                    format!(
                        "no kept copy named `{name}`: `{} state list` shows them",
                        crate::toolchain::command_name()
                    )
                })?,
            None => kept.first().with_context(|| {
                format!(
                    "no kept copies of your progress in {}",
                    root.join(".kernlings").display()
                )
            })?,
        };
        let bytes =
            fs::read(chosen).with_context(|| format!("cannot read {}", chosen.display()))?;
        let state = parse(&bytes).map_err(|problem| {
            anyhow::anyhow!(
                "{} cannot be restored: {problem}. Fix it in an editor, then run `{} state \
                 restore {}` again.",
                chosen.display(),
                crate::toolchain::command_name(),
                chosen.file_name().unwrap_or_default().to_string_lossy()
            )
        })?;
        let path = State::path(root);
        let replaced = match path.exists() {
            true => move_to_kept(&path, REPLACED)?,
            false => None,
        };
        state.write(root, &lock)?;
        fs::remove_file(chosen).with_context(|| format!("cannot remove {}", chosen.display()))?;
        Ok((chosen.clone(), replaced))
    }

    pub fn exercise(&self, name: &str) -> ExerciseState {
        self.exercises.get(name).cloned().unwrap_or_default()
    }

    pub fn is_done(&self, name: &str) -> bool {
        self.exercises
            .get(name)
            .is_some_and(|e| e.first_done.is_some())
    }

    /// Counts one graded run of a file whose content hash is `hash`: attempts, an edit when
    /// the file changed since the last run, last result, first-done time, best speed, the day.
    pub fn record(
        &mut self,
        outcome: &Outcome,
        summary: String,
        now: DateTime<Utc>,
        day: NaiveDate,
        hash: &str,
    ) {
        let passed = outcome.passed();
        let entry = self.exercises.entry(outcome.exercise.clone()).or_default();
        if entry.last_hash.is_none() {
            // The runs an older kernlings counted: edits, as far as anyone can tell now.
            entry.earlier_edits = entry.attempts;
        }
        entry.attempts += 1;
        if entry.last_hash.as_deref() != Some(hash) {
            entry.edits.push(now);
            entry.last_hash = Some(hash.to_string());
        }
        entry.last = Some(LastResult {
            at: now,
            passed,
            summary,
            seed: outcome.seed,
        });
        if passed && entry.first_done.is_none() {
            entry.first_done = Some(now);
        }
        if let Some(sweep) = outcome.load_sweep.as_ref().filter(|_| passed) {
            entry.load_sweep = Some(sweep.clone());
        }
        if let Some(speed) = outcome
            .speed
            .as_ref()
            .filter(|_| outcome.correctness.passed())
        {
            let better = entry
                .best_speed
                .as_ref()
                .is_none_or(|b| speed.ratio > b.ratio);
            if better {
                entry.best_speed = Some(BestSpeed {
                    at: now,
                    ratio: speed.ratio,
                    bar: speed.bar,
                    baseline: speed.baseline.clone(),
                    percent_of_limit: speed.percent_of_limit,
                    achieved: speed.achieved.clone(),
                    device: outcome.backend.device.clone(),
                });
            }
        }
        let activity = self.days.entry(day).or_default();
        activity.attempts += 1;
        activity.passes += u32::from(passed);
    }

    /// The exercise to work on: the saved current one if the curriculum still has it, else the
    /// first not done, else the last.
    pub fn current<'c>(
        &self,
        curriculum: &'c Curriculum,
    ) -> Option<&'c crate::curriculum::Exercise> {
        self.current
            .as_deref()
            .and_then(|name| curriculum.exercise(name))
            .or_else(|| self.next_pending(curriculum, None))
            .or_else(|| curriculum.exercises.last())
    }

    /// The first exercise not done, looking after `after` first and then wrapping around.
    pub fn next_pending<'c>(
        &self,
        curriculum: &'c Curriculum,
        after: Option<&str>,
    ) -> Option<&'c crate::curriculum::Exercise> {
        let start = after
            .and_then(|name| curriculum.exercises.iter().position(|e| e.name == name))
            .map_or(0, |i| i + 1);
        let list = &curriculum.exercises;
        list[start..]
            .iter()
            .chain(&list[..start])
            .find(|e| !self.is_done(&e.name))
    }

    pub fn done_count(&self, curriculum: &Curriculum) -> usize {
        curriculum
            .exercises
            .iter()
            .filter(|e| self.is_done(&e.name))
            .count()
    }
}

/// A state this build can use, or why not, in words for the learner.
pub fn parse(bytes: &[u8]) -> Result<State, String> {
    match serde_json::from_slice::<State>(bytes) {
        Ok(state) if state.version <= VERSION => Ok(state),
        Ok(state) => Err(format!(
            "it was written by a newer kernlings (state version {}, this one reads {VERSION})",
            state.version
        )),
        Err(e) => Err(format!("it does not parse ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{BackendInfo, Correctness, SpeedResult, Timing};

    fn outcome(name: &str, passed: bool, ratio: Option<f64>) -> Outcome {
        let timing = Timing {
            median_us: 100.0,
            p10_us: 99.0,
            p90_us: 101.0,
            samples: 10,
        };
        Outcome {
            exercise: name.into(),
            seed: 7,
            backend: BackendInfo {
                kind: "gpu".into(),
                device: "NVIDIA H200".into(),
            },
            correctness: if passed {
                Correctness::Passed {
                    cases: vec!["n=1".into()],
                }
            } else {
                Correctness::Failed {
                    summary: "wrong".into(),
                    details: String::new(),
                }
            },
            speed: ratio.map(|ratio| SpeedResult {
                baseline: "copy".into(),
                ratio,
                bar: 0.5,
                passed: ratio >= 0.5,
                learner: timing.clone(),
                baseline_timing: timing.clone(),
                achieved: "3 TB/s".into(),
                percent_of_limit: ratio * 100.0,
            }),
            speed_skipped: None,
            counters: vec![],
            load_sweep: None,
        }
    }

    /// The files in `.kernlings/`, sorted.
    fn names(root: &Path) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(root.join(".kernlings"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn the_load_sweep_of_the_latest_passing_run_is_kept() {
        use crate::outcome::{LoadRow, LoadSweep};
        let with_sweep = |passed: bool, knee_rps: f64| Outcome {
            load_sweep: Some(LoadSweep {
                single_ttft_ms: 3.0,
                knee_rps,
                rows: vec![LoadRow {
                    rps: 40.0,
                    ttft_p50_ms: 4.0,
                    ttft_p99_ms: 8.0,
                    itl_p50_ms: 2.0,
                    tokens_per_s: 500.0,
                    goodput_rps: 39.0,
                }],
            }),
            ..outcome("server", passed, None)
        };
        let mut state = State::fresh();
        let now = Utc::now();
        state.record(&with_sweep(true, 300.0), "ok".into(), now, day(), "h1");
        state.record(&with_sweep(false, 100.0), "no".into(), now, day(), "h2");
        let kept = state.exercise("server").load_sweep.unwrap();
        assert_eq!(
            kept.knee_rps, 300.0,
            "a failed run's sweep replaced a passing one's"
        );
        state.record(&with_sweep(true, 350.0), "ok".into(), now, day(), "h3");
        let kept = state.exercise("server").load_sweep.unwrap();
        assert_eq!(kept.knee_rps, 350.0);
    }

    #[test]
    fn round_trip_and_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::load(dir.path()).unwrap();
        assert_eq!(state, State::fresh());
        let now = Utc::now();
        state.record(&outcome("a", false, None), "wrong".into(), now, day(), "h1");
        state.record(
            &outcome("a", true, Some(0.8)),
            "ok".into(),
            now,
            day(),
            "h2",
        );
        state.record(
            &outcome("a", true, Some(0.6)),
            "ok".into(),
            now,
            day(),
            "h2",
        );
        state.current = Some("a".into());
        state.save(dir.path()).unwrap();
        let back = State::load(dir.path()).unwrap();
        assert_eq!(back, state);
        let a = back.exercise("a");
        assert_eq!(a.attempts, 3);
        assert_eq!(a.tries(), 2, "the third run re-graded the same file");
        assert_eq!(a.first_done, Some(now));
        assert_eq!(
            a.best_speed.unwrap().ratio,
            0.8,
            "a slower run never replaces the best"
        );
        assert_eq!(
            back.days[&day()],
            DayActivity {
                attempts: 3,
                passes: 2
            }
        );
        assert_eq!(
            names(dir.path()),
            ["state.json", "state.lock"],
            "no temp file left behind"
        );
    }

    #[test]
    fn only_changed_files_are_attempts_and_old_states_keep_theirs() {
        let mut state = State::fresh();
        let now = Utc::now();
        let fail = outcome("x", false, None);
        state.record(&fail, "s".into(), now, day(), "h1");
        state.record(&fail, "s".into(), now, day(), "h1"); // a verify re-grade
        state.record(&fail, "s".into(), now, day(), "h2");
        let x = state.exercise("x");
        assert_eq!((x.attempts, x.tries(), x.edits.len()), (3, 2, 2));
        // A state an older kernlings wrote: its runs stay attempts, and the next edit adds one.
        let old = r#"{"version":1,"current":null,"exercises":{"x":{"first_done":null,"attempts":5,"last":null,"best_speed":null}}}"#;
        let mut state: State = serde_json::from_str(old).unwrap();
        assert_eq!(state.exercise("x").tries(), 5);
        state.record(&fail, "s".into(), now, day(), "h1");
        state.record(&fail, "s".into(), now, day(), "h1");
        assert_eq!(state.exercise("x").tries(), 6);
        assert_eq!(state.exercise("x").attempts, 7);
    }

    #[test]
    fn corrupt_file_is_moved_aside_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let path = State::path(dir.path());
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, "{\"version\": 1, \"exer").unwrap();
        let state = State::load(dir.path()).unwrap();
        assert_eq!(state, State::fresh());
        assert!(!path.exists());
        let aside: Vec<_> = names(dir.path())
            .into_iter()
            .filter(|n| n != "state.lock")
            .collect();
        assert_eq!(aside.len(), 1);
        assert!(aside[0].starts_with("state.json.unreadable-"), "{aside:?}");
        let kept = fs::read_to_string(path.with_file_name(&aside[0])).unwrap();
        assert_eq!(kept, "{\"version\": 1, \"exer");
    }

    #[test]
    fn newer_version_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::fresh();
        state.version = VERSION + 1;
        state.save(dir.path()).unwrap();
        assert_eq!(State::load(dir.path()).unwrap(), State::fresh());
    }

    #[test]
    fn save_replaces_without_a_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::fresh();
        state.save(dir.path()).unwrap();
        // A stale temp file from a crashed writer does not confuse the next save or load.
        let stale = State::path(dir.path()).with_file_name("state.json.tmp-1");
        fs::write(&stale, "garbage").unwrap();
        state.current = Some("b".into());
        state.save(dir.path()).unwrap();
        assert_eq!(
            State::load(dir.path()).unwrap().current.as_deref(),
            Some("b")
        );
        assert!(!stale.exists(), "a killed writer's temp file is removed");
    }

    #[test]
    fn concurrent_updates_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let root = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        State::update(&root, |s| {
                            s.record(
                                &outcome("a", false, None),
                                "x".into(),
                                Utc::now(),
                                day(),
                                "h",
                            )
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(State::load(dir.path()).unwrap().exercise("a").attempts, 40);
    }

    #[test]
    fn unreadable_states_are_kept_and_restored() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::fresh();
        state.current = Some("a".into());
        let good = serde_json::to_vec(&state).unwrap();
        let path = State::path(dir.path());
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        // Bad UTF-8 inside a string: moved aside like bad JSON, not an error.
        fs::write(&path, b"{\"version\":1,\"current\":\"\xff\"}").unwrap();
        assert_eq!(State::load(dir.path()).unwrap(), State::fresh());
        let kept = State::kept(dir.path()).unwrap();
        assert_eq!(kept.len(), 1);
        let err = State::restore(dir.path(), None).unwrap_err().to_string();
        assert!(
            err.contains("cannot be restored: it does not parse"),
            "{err}"
        );
        // Fixed by hand, it comes back; the state it replaces is kept in turn.
        fs::write(&kept[0], &good).unwrap();
        State::fresh().save(dir.path()).unwrap();
        let (restored, replaced) = State::restore(dir.path(), None).unwrap();
        assert_eq!(restored, kept[0]);
        assert!(!restored.exists());
        assert_eq!(
            State::load(dir.path()).unwrap().current.as_deref(),
            Some("a")
        );
        let replaced = replaced.unwrap();
        assert_eq!(State::kept(dir.path()).unwrap(), [replaced]);
    }

    #[test]
    fn a_directory_in_the_way_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = State::path(dir.path());
        fs::create_dir_all(&path).unwrap();
        assert_eq!(State::load(dir.path()).unwrap(), State::fresh());
        assert!(!path.exists());
        State::fresh().save(dir.path()).unwrap();
        assert!(path.is_file());
        // `.kernlings` itself a file: kept, and a fresh directory made.
        let other = tempfile::tempdir().unwrap();
        fs::write(other.path().join(".kernlings"), fs::read(&path).unwrap()).unwrap();
        State::fresh().save(other.path()).unwrap();
        assert!(other.path().join(".kernlings").is_dir());
        let kept = State::kept(other.path()).unwrap();
        assert_eq!(kept.len(), 1);
        assert!(kept[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".kernlings.unreadable-"));
        State::restore(other.path(), None).unwrap();
    }

    #[test]
    fn unknown_names_ignored_new_ones_pending() {
        let text = r#"{"version":1,"current":"gone","exercises":{"gone":{"first_done":"2026-11-20T10:00:00Z","attempts":2,"last":null,"best_speed":null}}}"#;
        let state: State = serde_json::from_str(text).unwrap();
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("exercises")).unwrap();
        fs::write(dir.path().join("exercises/x.cu"), "").unwrap();
        let manifest = r#"format = 1
[[modules]]
id = "m"
title = "t"
intro = "i"
[[exercises]]
name = "x"
module = "m"
file = "x.cu"
kind = "cuda"
hints = ["h"]
check = "c"
"#;
        let c = Curriculum::parse(manifest, Path::new("c.toml"), dir.path(), &["c"]).unwrap();
        assert_eq!(state.current(&c).unwrap().name, "x");
        assert_eq!(state.done_count(&c), 0);
        assert!(!state.is_done("x"));
    }
}
