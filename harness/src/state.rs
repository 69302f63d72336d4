//! The learner's progress: `.kernlings/state.json`.
//!
//! Written atomically (temp file, fsync, rename) so a crash or Ctrl-C mid-write leaves either
//! the old file or the new one. A file that cannot be read is moved aside, never dropped.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::curriculum::Curriculum;
use crate::outcome::Outcome;

/// Bumped when the layout changes in a way older builds cannot read.
pub const VERSION: u32 = 1;

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
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExerciseState {
    /// When it first passed; it stays done after that.
    pub first_done: Option<DateTime<Utc>>,
    pub attempts: u32,
    pub last: Option<LastResult>,
    pub best_speed: Option<BestSpeed>,
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

impl State {
    pub fn path(root: &Path) -> PathBuf {
        root.join(".kernlings").join("state.json")
    }

    /// Reads the state; a missing file is a fresh start. A file that does not parse (or comes
    /// from a newer kernlings) is renamed to `state.json.unreadable-<time>` and reported on
    /// stderr, and the learner starts from a fresh state.
    pub fn load(root: &Path) -> anyhow::Result<State> {
        let path = State::path(root);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::fresh()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let problem = match serde_json::from_str::<State>(&text) {
            Ok(state) if state.version <= VERSION => return Ok(state),
            Ok(state) => format!(
                "it was written by a newer kernlings (state version {}, this one reads {VERSION})",
                state.version
            ),
            Err(e) => format!("it does not parse ({e})"),
        };
        let aside = path.with_file_name(format!(
            "state.json.unreadable-{}",
            Utc::now().format("%Y%m%d-%H%M%S")
        ));
        fs::rename(&path, &aside)
            .with_context(|| format!("cannot move {} aside", path.display()))?;
        eprintln!(
            "kernlings: could not use {}: {problem}.\n  It is kept as {}; starting from a fresh progress state.",
            path.display(),
            aside.display()
        );
        Ok(State::fresh())
    }

    pub fn fresh() -> State {
        State {
            version: VERSION,
            ..State::default()
        }
    }

    /// Writes atomically: a temp file in the same directory, fsync, rename, fsync the directory.
    pub fn save(&self, root: &Path) -> anyhow::Result<()> {
        let path = State::path(root);
        let dir = path.parent().expect("state path has a parent");
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let tmp = dir.join(format!("state.json.tmp-{}", std::process::id()));
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

    /// Load, change, save: a short read-modify-write so `watch` and a `run` in another terminal
    /// lose as little as possible of each other's progress.
    pub fn update<T>(root: &Path, change: impl FnOnce(&mut State) -> T) -> anyhow::Result<T> {
        let mut state = State::load(root)?;
        let out = change(&mut state);
        state.save(root)?;
        Ok(out)
    }

    pub fn exercise(&self, name: &str) -> ExerciseState {
        self.exercises.get(name).cloned().unwrap_or_default()
    }

    pub fn is_done(&self, name: &str) -> bool {
        self.exercises
            .get(name)
            .is_some_and(|e| e.first_done.is_some())
    }

    /// Counts one graded attempt: attempts, last result, first-done time, best speed, the day.
    pub fn record(
        &mut self,
        outcome: &Outcome,
        summary: String,
        now: DateTime<Utc>,
        day: NaiveDate,
    ) {
        let passed = outcome.passed();
        let entry = self.exercises.entry(outcome.exercise.clone()).or_default();
        entry.attempts += 1;
        entry.last = Some(LastResult {
            at: now,
            passed,
            summary,
            seed: outcome.seed,
        });
        if passed && entry.first_done.is_none() {
            entry.first_done = Some(now);
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
        }
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn round_trip_and_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::load(dir.path()).unwrap();
        assert_eq!(state, State::fresh());
        let now = Utc::now();
        state.record(&outcome("a", false, None), "wrong".into(), now, day());
        state.record(&outcome("a", true, Some(0.8)), "ok".into(), now, day());
        state.record(&outcome("a", true, Some(0.6)), "ok".into(), now, day());
        state.current = Some("a".into());
        state.save(dir.path()).unwrap();
        let back = State::load(dir.path()).unwrap();
        assert_eq!(back, state);
        let a = back.exercise("a");
        assert_eq!(a.attempts, 3);
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
        let leftovers: Vec<_> = fs::read_dir(dir.path().join(".kernlings"))
            .unwrap()
            .collect();
        assert_eq!(leftovers.len(), 1, "no temp file left behind");
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
        let aside: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
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
