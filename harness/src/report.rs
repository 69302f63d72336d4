//! `kernlings report`: PROGRESS.md, a weekly page a learner can hand to a mentor, and its
//! charts in `progress/`.
//!
//! Everything is regenerated from the progress state (and saved profiles) except the check-in
//! answers, which the learner writes between marker comments and which survive every
//! regeneration. Three answers start pre-filled (the week, hours estimated from attempt
//! times, exercises completed) and stay kernlings' until the learner edits them.

mod charts;

pub(crate) use charts::serving as serving_chart;

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Datelike, Duration, FixedOffset, Local, NaiveDate, Utc};

use crate::commands::profile::{self, Profile};
use crate::commands::{show, Course};
use crate::curriculum::{Curriculum, Exercise};
use crate::state::{BestSpeed, State};

pub const FILE_NAME: &str = "PROGRESS.md";
/// The charts' directory, next to PROGRESS.md.
pub const CHARTS_DIR: &str = "progress";
/// The shipped PROGRESS.md says it is a template: the first report replaces it whole.
const TEMPLATE_MARK: &str = "<!-- kernlings:template -->";
/// Ends an answer kernlings pre-filled; deleting it makes the answer the learner's.
const ESTIMATE_MARK: &str =
    "<!-- kernlings:estimate: delete this comment to keep your own text -->";
/// Attempts closer than this belong to one working session.
const SESSION_GAP_MINUTES: i64 = 30;
/// Reading the lesson before the first save of a session counts too.
const SESSION_LEAD_IN_MINUTES: i64 = 10;

/// The check-in questions: (marker key, heading, pre-filled by kernlings).
const QUESTIONS: [(&str, &str, bool); 6] = [
    ("week", "Week of", true),
    ("hours", "Hours this week", true),
    ("completed", "Exercises completed", true),
    ("learned", "What I learned", false),
    ("stuck", "Where I'm stuck", false),
    ("plan", "Next week's plan", false),
];

pub fn write(course: &Course) -> anyhow::Result<ExitCode> {
    let path = course.root.join(FILE_NAME);
    let old = match fs::read_to_string(&path) {
        Ok(text) if text.contains(TEMPLATE_MARK) => None,
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let answers = old.as_deref().map(Answers::read).unwrap_or_default();
    if let (Some(old), false) = (&old, answers.complete) {
        // Markers were edited away: keep the whole old page rather than guess at its answers.
        let backup = course.root.join(".kernlings").join("backups").join(format!(
            "{FILE_NAME}.{}",
            Local::now().format("%Y%m%d-%H%M%S")
        ));
        fs::create_dir_all(backup.parent().expect("a file has a parent"))?;
        fs::write(&backup, old).with_context(|| format!("cannot back up {}", path.display()))?;
        println!(
            "{FILE_NAME}'s check-in markers were not all intact; the old page is saved as {}.",
            course.display_path(&backup)
        );
    }
    let state = State::load(&course.root)?;
    let now = Local::now().fixed_offset();
    let profiles: Vec<(String, Vec<Profile>)> = course
        .curriculum
        .exercises
        .iter()
        .map(|ex| (ex.name.clone(), profile::load(&course.root, &ex.name)))
        .filter(|(_, p)| !p.is_empty())
        .collect();
    let charts = write_charts(&course.root.join(CHARTS_DIR), &course.curriculum, &state)?;
    let page = Page {
        curriculum: &course.curriculum,
        state: &state,
        now,
        answers: &answers,
        profiles: &profiles,
        charts: &charts,
    };
    let text = page.render();
    let tmp = path.with_extension("md.tmp");
    fs::write(&tmp, &text).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "Wrote {FILE_NAME}: {} of {} exercises done{}.",
        state.done_count(&course.curriculum),
        course.curriculum.exercises.len(),
        match charts.len() {
            0 => String::new(),
            n => format!(", {n} chart(s) in {CHARTS_DIR}/"),
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// The learner's check-in answers found in an existing page.
#[derive(Debug, Default, PartialEq)]
pub struct Answers {
    by_key: Vec<(String, String)>,
    /// Every marker pair found was whole and found once; at least one was found. A pair absent
    /// altogether is a question an older kernlings did not ask.
    complete: bool,
}

impl Answers {
    pub fn read(page: &str) -> Answers {
        let mut by_key = Vec::new();
        let mut complete = true;
        for (key, ..) in QUESTIONS {
            let (begin, end) = markers(key);
            match (page.find(&begin), page.find(&end)) {
                (None, None) => {}
                (Some(b), Some(e))
                    if b < e
                        && page.matches(&begin).count() == 1
                        && page.matches(&end).count() == 1 =>
                {
                    let text = page[b + begin.len()..e].trim_matches('\n').to_string();
                    by_key.push((key.to_string(), text));
                }
                _ => complete = false,
            }
        }
        let complete = complete && !by_key.is_empty();
        Answers { by_key, complete }
    }

    fn get(&self, key: &str) -> &str {
        self.by_key
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }
}

fn markers(key: &str) -> (String, String) {
    (
        format!("<!-- kernlings:begin {key} -->"),
        format!("<!-- kernlings:end {key} -->"),
    )
}

/// The Monday that starts `day`'s week.
pub fn week_start(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

fn local_day(at: DateTime<Utc>, tz: &FixedOffset) -> NaiveDate {
    at.with_timezone(tz).date_naive()
}

/// Working sessions in `times`: attempts less than `SESSION_GAP_MINUTES` apart belong to one,
/// which lasts from `SESSION_LEAD_IN_MINUTES` before its first attempt to its last.
/// Returns (sessions, hours).
pub fn sessions(times: &[DateTime<Utc>]) -> (usize, f64) {
    let mut times = times.to_vec();
    times.sort();
    let mut count = 0;
    let mut minutes = 0i64;
    let mut start: Option<DateTime<Utc>> = None;
    for (i, t) in times.iter().enumerate() {
        let s = *start.get_or_insert(*t);
        let next = times.get(i + 1);
        if next.is_none_or(|n| (*n - *t).num_minutes() >= SESSION_GAP_MINUTES) {
            count += 1;
            minutes += (*t - s).num_minutes() + SESSION_LEAD_IN_MINUTES;
            start = None;
        }
    }
    (count, minutes as f64 / 60.0)
}

/// `45 min`, `2 h 05 min`, `3 days`.
fn span(d: Duration) -> String {
    let minutes = d.num_minutes().max(0);
    match minutes {
        m if m < 60 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h {:02} min", m / 60, m % 60),
        m => format!("{} days", m / (24 * 60)),
    }
}

/// Where a best speed was measured, in a few words.
fn measured_on(s: &BestSpeed) -> String {
    if s.baseline == "cpu-naive" {
        "CPU (Rust)".into()
    } else if s.device.contains("CPU driver") {
        "CPU backend".into()
    } else {
        s.device.clone()
    }
}

/// What a ratio is of: `0.86 of copy`, `3.97× naive Rust`.
fn unit(baseline: &str) -> String {
    match baseline {
        "copy" => "of copy".into(),
        "cublas" => "of cuBLAS".into(),
        "naive" => "× naive kernel".into(),
        "cpu-naive" => "× naive Rust".into(),
        other => format!("× {other}"),
    }
}

/// `3.61 TB/s` -> 3.61e12 (bytes/s), `41.2 TFLOP/s` -> 4.12e13: (value, is FLOP/s).
fn parse_rate(text: &str) -> Option<(f64, bool)> {
    let (number, unit) = text.trim().split_once(' ')?;
    let v: f64 = number.parse().ok()?;
    let (scale, rest) = match unit.chars().next()? {
        'T' => (1e12, &unit[1..]),
        'G' => (1e9, &unit[1..]),
        'M' => (1e6, &unit[1..]),
        'k' | 'K' => (1e3, &unit[1..]),
        _ => (1.0, unit),
    };
    match rest {
        "B/s" => Some((v * scale, false)),
        "FLOP/s" => Some((v * scale, true)),
        _ => None,
    }
}

/// FLOP per byte of DRAM traffic for an exercise's timed case, where the kernel does
/// arithmetic worth plotting: GEMMs (2mnk over the three matrices, each moved once), sums and
/// scans (one add per element read); elementwise adds. Copies, transposes and counting have
/// no FLOP to place on a roofline.
fn intensity(ex: &Exercise) -> Option<f64> {
    let size = &ex.speed.as_ref()?.size;
    let check = ex.check.as_str();
    Some(if check.starts_with("sgemm") {
        let [m, n, k] = size[..] else { return None };
        let (m, n, k) = (m as f64, n as f64, k as f64);
        2.0 * m * n * k / (4.0 * (m * k + k * n + m * n))
    } else if check == "vector_add" || check == "grid_stride" {
        1.0 / 12.0
    } else if check.starts_with("reduce") {
        1.0 / 4.0
    } else if check.starts_with("scan") {
        1.0 / 8.0
    } else {
        return None;
    })
}

/// The device limits the outcomes measured: a speed against copy at p% of the limit puts
/// copy bandwidth at achieved / p; the same for cuBLAS and FLOP/s. The best figures are kept.
fn limits(curriculum: &Curriculum, state: &State) -> charts::Limits {
    let mut limits = charts::Limits::default();
    for ex in &curriculum.exercises {
        let Some(s) = state
            .exercises
            .get(&ex.name)
            .and_then(|e| e.best_speed.as_ref())
        else {
            continue;
        };
        let (Some((rate, is_flops)), true) = (parse_rate(&s.achieved), s.percent_of_limit > 0.0)
        else {
            continue;
        };
        let limit = rate / (s.percent_of_limit / 100.0);
        // The slot follows what was measured: a bytes-moved speed against a cuBLAS baseline
        // (gemv_q4 against cuBLAS's GEMV) is a bandwidth, not a FLOP/s peak.
        let slot = match is_flops {
            false => &mut limits.bandwidth,
            true => &mut limits.peak,
        };
        if !matches!(s.baseline.as_str(), "copy" | "cublas") {
            continue;
        }
        *slot = Some(slot.map_or(limit, |l: f64| l.max(limit)));
    }
    limits
}

fn write_charts(
    dir: &Path,
    curriculum: &Curriculum,
    state: &State,
) -> anyhow::Result<Vec<(&'static str, &'static str)>> {
    let mut bars = Vec::new();
    let mut points = Vec::new();
    for ex in &curriculum.exercises {
        let Some(s) = state
            .exercises
            .get(&ex.name)
            .and_then(|e| e.best_speed.as_ref())
        else {
            continue;
        };
        bars.push(charts::SpeedBar {
            name: ex.name.clone(),
            ratio: s.ratio,
            bar: s.bar,
            unit: unit(&s.baseline),
        });
        // Only kernels timed on a GPU belong on its roofline.
        if s.baseline == "cpu-naive" || s.device.contains("CPU") {
            continue;
        }
        let (Some(i), Some((rate, is_flops))) = (intensity(ex), parse_rate(&s.achieved)) else {
            continue;
        };
        points.push(charts::RoofPoint {
            name: ex.name.clone(),
            intensity: i,
            flops: if is_flops { rate } else { rate * i },
        });
    }
    let sweep = curriculum
        .exercises
        .iter()
        .find_map(|ex| state.exercises.get(&ex.name)?.load_sweep.as_ref());
    charts::write_all(dir, &bars, limits(curriculum, state), &points, sweep)
}

/// Everything one page is made from.
pub struct Page<'a> {
    pub curriculum: &'a Curriculum,
    pub state: &'a State,
    pub now: DateTime<FixedOffset>,
    pub answers: &'a Answers,
    pub profiles: &'a [(String, Vec<Profile>)],
    /// (alt text, file name in `progress/`) of the charts written.
    pub charts: &'a [(&'static str, &'static str)],
}

impl Page<'_> {
    pub fn render(&self) -> String {
        let (curriculum, state) = (self.curriculum, self.state);
        let tz = self.now.offset();
        let this_week = week_start(self.now.date_naive());
        let last_week = this_week - Duration::days(7);
        let mut out = String::new();
        let _ = writeln!(out, "# kernlings progress\n");
        let _ = writeln!(
            out,
            "Generated by `kernlings report` on {}; this week is Monday {} to Sunday {}. \
             This page is yours: commit it in your fork. The check-in at the end is yours to \
             write; `kernlings report` keeps it.\n",
            self.now.format("%Y-%m-%d %H:%M"),
            this_week,
            this_week + Duration::days(6)
        );

        // Finished this week, with dates.
        let mut finished: Vec<(NaiveDate, &str, &str)> = curriculum
            .exercises
            .iter()
            .filter_map(|ex| {
                let day = local_day(state.exercises.get(&ex.name)?.first_done?, tz);
                Some((day, ex.name.as_str(), ex.module.as_str()))
            })
            .collect();
        finished.sort();
        let this: Vec<_> = finished
            .iter()
            .filter(|(d, ..)| week_start(*d) == this_week)
            .collect();
        let _ = writeln!(out, "## Finished this week\n");
        if this.is_empty() {
            let _ = writeln!(out, "Nothing finished yet this week.");
        }
        for (day, name, module) in &this {
            let _ = writeln!(out, "- {day} — `{name}` (module {module})");
        }

        // This week against last week.
        let count_finished = |week: NaiveDate| {
            finished
                .iter()
                .filter(|(d, ..)| week_start(*d) == week)
                .count()
        };
        let edits_in = |week: NaiveDate| -> Vec<DateTime<Utc>> {
            state
                .exercises
                .values()
                .flat_map(|e| e.edits.iter().copied())
                .filter(|t| week_start(local_day(*t, tz)) == week)
                .collect()
        };
        let activity = |week: NaiveDate| {
            let days: Vec<_> = state
                .days
                .iter()
                .filter(|(d, _)| week_start(**d) == week)
                .collect();
            let attempts: u32 = days.iter().map(|(_, a)| a.attempts).sum();
            let active = days.iter().filter(|(_, a)| a.attempts > 0).count();
            (attempts, active)
        };
        let (now_edits, before_edits) = (edits_in(this_week), edits_in(last_week));
        let ((s_now, h_now), (s_before, h_before)) =
            (sessions(&now_edits), sessions(&before_edits));
        let (attempts_now, active_now) = activity(this_week);
        let (attempts_before, active_before) = activity(last_week);
        let _ = writeln!(out, "\n## This week vs last week\n");
        let _ = writeln!(out, "| | this week | last week |\n| --- | ---: | ---: |");
        let _ = writeln!(
            out,
            "| exercises finished | {} | {} |",
            count_finished(this_week),
            count_finished(last_week)
        );
        let _ = writeln!(
            out,
            "| attempts (edited files graded) | {} | {} |",
            now_edits.len(),
            before_edits.len()
        );
        let _ = writeln!(
            out,
            "| graded runs (with re-runs) | {attempts_now} | {attempts_before} |"
        );
        let _ = writeln!(
            out,
            "| estimated hours (sessions) | {h_now:.1} ({s_now}) | {h_before:.1} ({s_before}) |"
        );
        let _ = writeln!(out, "| days active | {active_now} | {active_before} |");

        // Per-module progress, then per exercise.
        let _ = writeln!(out, "\n## Progress by module\n");
        let _ = writeln!(out, "| module | done | progress |\n| --- | ---: | --- |");
        for module in &curriculum.modules {
            let names: Vec<&str> = curriculum
                .exercises
                .iter()
                .filter(|e| e.module == module.id)
                .map(|e| e.name.as_str())
                .collect();
            if names.is_empty() {
                continue;
            }
            let done = names.iter().filter(|n| state.is_done(n)).count();
            let _ = writeln!(
                out,
                "| {} {} | {done}/{} | {} |",
                module.id,
                module.title,
                names.len(),
                bar(done, names.len())
            );
        }
        let done = state.done_count(curriculum);
        let total = curriculum.exercises.len();
        let _ = writeln!(out, "| **all** | {done}/{total} | {} |", bar(done, total));
        self.exercises(&mut out);
        self.speeds(&mut out);
        self.profiles(&mut out);
        self.check_in(&mut out, this_week, &this, h_now, s_now);
        out
    }

    /// One row per exercise the learner has touched.
    fn exercises(&self, out: &mut String) {
        let tz = self.now.offset();
        let rows: Vec<String> = self
            .curriculum
            .exercises
            .iter()
            .filter_map(|ex| {
                let e = self.state.exercises.get(&ex.name)?;
                if e.attempts == 0 && e.first_done.is_none() {
                    return None;
                }
                let attempts = e.tries();
                let done = e
                    .first_done
                    .map_or("-".to_string(), |d| local_day(d, tz).to_string());
                let to_pass = match (e.edits.first(), e.first_done) {
                    (Some(first), Some(done)) if done >= *first => span(done - *first),
                    _ => "-".into(),
                };
                let speed = e.best_speed.as_ref().map_or("-".to_string(), |s| {
                    format!(
                        "{} {}, {}",
                        show::ratio(s.ratio),
                        unit(&s.baseline),
                        measured_on(s)
                    )
                });
                Some(format!(
                    "| {} | `{}` | {done} | {attempts} | {}/{} | {to_pass} | {speed} |",
                    ex.module,
                    ex.name,
                    e.hints_seen,
                    ex.hints.len()
                ))
            })
            .collect();
        let _ = writeln!(out, "\n## Exercises\n");
        if rows.is_empty() {
            let _ = writeln!(out, "No exercise attempted yet.");
            return;
        }
        let _ = writeln!(
            out,
            "Attempts count graded saves that changed the file; time to pass runs from the \
             first graded attempt.\n"
        );
        let _ = writeln!(
            out,
            "| module | exercise | done | attempts | hints | first attempt → pass | best speed |"
        );
        let _ = writeln!(out, "| --- | --- | --- | ---: | ---: | ---: | --- |");
        for row in rows {
            let _ = writeln!(out, "{row}");
        }
    }

    fn speeds(&self, out: &mut String) {
        let tz = self.now.offset();
        let _ = writeln!(out, "\n## Best speeds\n");
        let speeds: Vec<_> = self
            .curriculum
            .exercises
            .iter()
            .filter_map(|ex| Some((ex, self.state.exercises.get(&ex.name)?.best_speed.as_ref()?)))
            .collect();
        if speeds.is_empty() {
            let _ = writeln!(
                out,
                "No speed measured yet: kernels are timed on an NVIDIA GPU (module 00's Rust on \
                 the CPU), after a correct run."
            );
        } else {
            let _ = writeln!(
                out,
                "| exercise | ratio | bar | % of device limit | achieved | measured on | date |"
            );
            let _ = writeln!(out, "| --- | ---: | ---: | ---: | ---: | --- | --- |");
            for (ex, s) in speeds {
                let _ = writeln!(
                    out,
                    "| `{}` | {} vs {} | {} | {} | {} | {} | {} |",
                    ex.name,
                    show::ratio(s.ratio),
                    s.baseline,
                    show::ratio(s.bar),
                    show::limit_percent(&s.baseline, s.percent_of_limit)
                        .unwrap_or_else(|| "-".into()),
                    s.achieved,
                    measured_on(s),
                    local_day(s.at, tz)
                );
            }
        }
        for (alt, file) in self.charts {
            let _ = writeln!(out, "\n![{alt}]({CHARTS_DIR}/{file})");
        }
        if !self.charts.iter().any(|(_, f)| *f == "roofline.svg") {
            let _ = writeln!(
                out,
                "\nThe roofline chart appears once a GPU has timed a GEMM, reduction, scan or \
                 vector kernel of yours beside its copy or cuBLAS baseline."
            );
        }
    }

    fn profiles(&self, out: &mut String) {
        if self.profiles.is_empty() {
            return;
        }
        let tz = self.now.offset();
        let _ = writeln!(out, "\n## Profiles\n");
        let _ = writeln!(
            out,
            "Recorded with `kernlings profile NAME [--note \"naive vs tiled: ...\"]`.\n"
        );
        for (name, list) in self.profiles {
            for p in list {
                let _ = writeln!(
                    out,
                    "### `{name}`, {} — kernel `{}`, {}\n",
                    local_day(p.at, tz),
                    p.kernel,
                    p.source
                );
                if let Some(note) = &p.note {
                    let _ = writeln!(out, "> {note}\n");
                }
                let _ = writeln!(
                    out,
                    "| counter | value | what it means |\n| --- | ---: | --- |"
                );
                for r in &p.readings {
                    let _ = writeln!(out, "| {} | {} | {} |", r.what, r.value, r.meaning);
                }
                let _ = writeln!(out);
            }
        }
    }

    /// The check-in: the learner's own words, kept between the markers; the pre-filled answers
    /// are refreshed until the learner makes them theirs.
    fn check_in(
        &self,
        out: &mut String,
        this_week: NaiveDate,
        finished: &[&(NaiveDate, &str, &str)],
        hours: f64,
        sessions: usize,
    ) {
        let _ = writeln!(out, "\n## Check-in\n");
        let _ = writeln!(
            out,
            "Write your answers between the marker lines; `kernlings report` keeps them. \
             Pre-filled answers are estimates: edit them and delete their `estimate` comment to \
             keep your own."
        );
        for (key, heading, prefilled) in QUESTIONS {
            let (begin, end) = markers(key);
            let answer = self.answers.get(key);
            let estimate = || match key {
                "week" => format!("{this_week} to {}", this_week + Duration::days(6)),
                "hours" => format!(
                    "about {hours:.1} h in {sessions} session(s), estimated from your graded \
                     attempts"
                ),
                _ if finished.is_empty() => "none yet".into(),
                _ => finished
                    .iter()
                    .map(|(_, name, _)| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let text = if prefilled && (answer.is_empty() || answer.contains(ESTIMATE_MARK)) {
                format!("{} {ESTIMATE_MARK}", estimate())
            } else {
                answer.to_string()
            };
            let _ = writeln!(out, "\n### {heading}\n\n{begin}");
            if !text.is_empty() {
                let _ = writeln!(out, "{text}");
            }
            let _ = writeln!(out, "{end}");
        }
    }
}

fn bar(done: usize, total: usize) -> String {
    const WIDTH: usize = 20;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(0);
    let percent = (done * 100).checked_div(total).unwrap_or(0);
    format!(
        "`{}{}` {percent}%",
        "█".repeat(filled),
        "░".repeat(WIDTH - filled)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{BestSpeed, DayActivity, ExerciseState};

    fn curriculum() -> Curriculum {
        toml::from_str(
            r#"format = 1
[[modules]]
id = "01"
title = "Threads"
intro = "i"
[[exercises]]
name = "indexing"
module = "01"
file = "a.cu"
kind = "cuda"
hints = ["h"]
check = "c"
[[exercises]]
name = "vector_add"
module = "01"
file = "b.cu"
kind = "cuda"
hints = ["h"]
check = "c"
"#,
        )
        .unwrap()
    }

    fn render(
        curriculum: &Curriculum,
        state: &State,
        now: DateTime<FixedOffset>,
        answers: &Answers,
    ) -> String {
        Page {
            curriculum,
            state,
            now,
            answers,
            profiles: &[],
            charts: &[],
        }
        .render()
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn now() -> DateTime<FixedOffset> {
        // Sunday 2026-11-22, 23:30 at UTC+2: still Sunday locally, already Sunday 21:30 in UTC.
        "2026-11-22T23:30:00+02:00".parse().unwrap()
    }

    #[test]
    fn weeks_start_on_monday() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(week_start(d("2026-11-22")), d("2026-11-16"));
        assert_eq!(week_start(d("2026-11-16")), d("2026-11-16"));
        assert_eq!(week_start(d("2026-11-15")), d("2026-11-09"));
        assert_eq!(week_start(d("2027-01-01")), d("2026-12-28"));
    }

    #[test]
    fn buckets_by_local_week() {
        let mut state = State::fresh();
        // 2026-11-15T22:30Z is Sunday in UTC but Monday 00:30 at UTC+2: this week.
        state.exercises.insert(
            "indexing".into(),
            ExerciseState {
                first_done: Some(at("2026-11-15T22:30:00Z")),
                attempts: 3,
                ..Default::default()
            },
        );
        // Last week, in any zone.
        state.exercises.insert(
            "vector_add".into(),
            ExerciseState {
                first_done: Some(at("2026-11-11T12:00:00Z")),
                attempts: 2,
                best_speed: Some(BestSpeed {
                    at: at("2026-11-11T12:00:00Z"),
                    ratio: 0.91,
                    bar: 0.85,
                    baseline: "copy".into(),
                    percent_of_limit: 91.0,
                    achieved: "3.86 TB/s".into(),
                    device: "NVIDIA H200".into(),
                }),
                ..Default::default()
            },
        );
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        state.days.insert(
            d("2026-11-16"),
            DayActivity {
                attempts: 3,
                passes: 1,
            },
        );
        state.days.insert(
            d("2026-11-11"),
            DayActivity {
                attempts: 2,
                passes: 1,
            },
        );
        let page = render(&curriculum(), &state, now(), &Answers::default());
        assert!(
            page.contains("- 2026-11-16 — `indexing` (module 01)"),
            "{page}"
        );
        assert!(!page.contains("- 2026-11-11"), "{page}");
        assert!(page.contains("| exercises finished | 1 | 1 |"), "{page}");
        assert!(
            page.contains("| graded runs (with re-runs) | 3 | 2 |"),
            "{page}"
        );
        assert!(
            page.contains("| 01 Threads | 2/2 | `████████████████████` 100% |"),
            "{page}"
        );
        assert!(page.contains("| `vector_add` | 0.91 vs copy | 0.85 | 91% | 3.86 TB/s | NVIDIA H200 | 2026-11-11 |"), "{page}");
    }

    #[test]
    fn answers_survive_regeneration() {
        let page = render(&curriculum(), &State::fresh(), now(), &Answers::default());
        assert!(Answers::read(&page).complete);
        let (begin, _) = markers("stuck");
        let written = page.replacen(
            &begin,
            &format!("{begin}\nShared memory bank conflicts.\n\n- and `__syncthreads`"),
            1,
        );
        let answers = Answers::read(&written);
        assert!(answers.complete);
        let again = render(&curriculum(), &State::fresh(), now(), &answers);
        assert!(again.contains("Shared memory bank conflicts.\n\n- and `__syncthreads`\n<!-- kernlings:end stuck -->"), "{again}");
        assert_eq!(
            Answers::read(&again),
            answers,
            "a second regeneration changes nothing"
        );
    }

    #[test]
    fn broken_markers_are_noticed() {
        let page = render(&curriculum(), &State::fresh(), now(), &Answers::default());
        let (_, end) = markers("plan");
        let broken = page.replace(&end, "");
        assert!(!Answers::read(&broken).complete);
        assert!(!Answers::read("# my own notes").complete);
    }

    #[test]
    fn sessions_split_at_half_an_hour() {
        let t = |m: i64| at("2026-11-20T10:00:00Z") + Duration::minutes(m);
        assert_eq!(sessions(&[]), (0, 0.0));
        // 0..20 min is one session (20 + 10 lead-in), 90 alone another (10).
        let (n, hours) = sessions(&[t(20), t(0), t(10), t(90)]);
        assert_eq!(n, 2);
        assert!((hours - 40.0 / 60.0).abs() < 1e-9, "{hours}");
        assert_eq!(
            sessions(&[t(0), t(30)]).0,
            2,
            "a 30-minute gap ends a session"
        );
    }

    #[test]
    fn estimates_are_refreshed_until_the_learner_owns_them() {
        let mut state = State::fresh();
        let now_utc = now().with_timezone(&Utc);
        state.exercises.insert(
            "indexing".into(),
            ExerciseState {
                first_done: Some(now_utc),
                attempts: 2,
                edits: vec![now_utc - Duration::minutes(20), now_utc],
                last_hash: Some("h".into()),
                hints_seen: 1,
                ..Default::default()
            },
        );
        let page = render(&curriculum(), &state, now(), &Answers::default());
        assert!(page.contains("about 0.5 h in 1 session(s)"), "{page}");
        assert!(
            page.contains("`indexing` <!-- kernlings:estimate"),
            "{page}"
        );
        assert!(
            page.contains("| 01 | `indexing` | 2026-11-22 | 2 | 1/1 | 20 min | - |"),
            "{page}"
        );
        // The learner replaces the hours answer: it is kept; the others stay estimates.
        let (begin, end) = markers("hours");
        let b = page.find(&begin).unwrap() + begin.len();
        let e = page.find(&end).unwrap();
        let mine = format!("{}\n3 hours, honestly\n{}", &page[..b], &page[e..]);
        let again = render(&curriculum(), &state, now(), &Answers::read(&mine));
        assert!(
            again.contains(&format!("{begin}\n3 hours, honestly\n{end}")),
            "{again}"
        );
        assert!(again.contains("2026-11-16 to 2026-11-22 <!-- kernlings:estimate"));
    }

    #[test]
    fn pages_from_before_the_new_questions_are_complete() {
        let old: String = ["hours", "learned", "stuck", "plan"]
            .iter()
            .map(|k| {
                let (b, e) = markers(k);
                format!("{b}\nmine {k}\n{e}\n")
            })
            .collect();
        let answers = Answers::read(&old);
        assert!(answers.complete);
        assert_eq!(answers.get("stuck"), "mine stuck");
        assert_eq!(answers.get("week"), "");
    }

    #[test]
    fn device_limits_and_roofline_points_come_from_best_speeds() {
        assert_eq!(parse_rate("3.61 TB/s"), Some((3.61e12, false)));
        assert_eq!(parse_rate("41.20 TFLOP/s"), Some((41.2e12, true)));
        assert_eq!(parse_rate("812.40 MB/s"), Some((812.4e6, false)));
        assert_eq!(parse_rate("fast"), None);
        let mut state = State::fresh();
        let speed = |baseline: &str, pct: f64, achieved: &str| BestSpeed {
            at: at("2026-11-20T10:00:00Z"),
            ratio: pct / 100.0,
            bar: 0.1,
            baseline: baseline.into(),
            percent_of_limit: pct,
            achieved: achieved.into(),
            device: "NVIDIA H200".into(),
        };
        for (name, s) in [
            ("indexing", speed("copy", 80.0, "3.20 TB/s")),
            ("vector_add", speed("cublas", 10.0, "5.00 TFLOP/s")),
        ] {
            state.exercises.insert(
                name.into(),
                ExerciseState {
                    best_speed: Some(s),
                    ..Default::default()
                },
            );
        }
        let l = limits(&curriculum(), &state);
        assert!((l.bandwidth.unwrap() - 4.0e12).abs() < 1e3);
        assert!((l.peak.unwrap() - 50.0e12).abs() < 1e3);
    }

    #[test]
    fn charts_are_svg_files() {
        let dir = tempfile::tempdir().unwrap();
        let bars = [charts::SpeedBar {
            name: "vector_add".into(),
            ratio: 0.8,
            bar: 0.75,
            unit: "of copy".into(),
        }];
        let points = [charts::RoofPoint {
            name: "sgemm".into(),
            intensity: 680.0,
            flops: 9e12,
        }];
        let limits = charts::Limits {
            bandwidth: Some(4.2e12),
            peak: Some(51e12),
        };
        let written = charts::write_all(dir.path(), &bars, limits, &points, None).unwrap();
        assert_eq!(written.len(), 2);
        for (_, file) in written {
            let svg = fs::read_to_string(dir.path().join(file)).unwrap();
            assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        }
        let none =
            charts::write_all(dir.path(), &[], charts::Limits::default(), &[], None).unwrap();
        assert!(none.is_empty());
    }
}
