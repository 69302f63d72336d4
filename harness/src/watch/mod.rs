//! `kernlings watch`: the learner's loop. Shows the current exercise, re-grades it on every
//! save, and takes one-key commands. Moving on is always the learner's choice (`n`).
//!
//! Events from the file watcher, the keyboard (or stdin lines without a terminal) and the
//! grading thread arrive on one channel. Grading runs on a thread of its own, in a child
//! process, so keys stay live: `q` or Ctrl-C kill the child and quit at once, `r` restarts it.
//! SIGTERM, SIGHUP and SIGINT arrive as events too: watch leaves the same way, the terminal
//! put back, and exits with the signal's status.

mod files;
mod input;
mod list;
mod view;

use std::cell::Cell;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::commands::{hint, reset, show, Attempt, Course};
use crate::curriculum::{self, Exercise};
use crate::grade::{Cancel, Cancelled};
use crate::outcome::Outcome;
use crate::state::{self, State};
use list::ListView;
use view::{Line, Parts, Style};

/// Editors save in bursts (write, rename, chmod): grade once the file has been quiet this long.
const DEBOUNCE: Duration = Duration::from_millis(200);
/// How long `q` waits for a cancelled grading run to end: its child, or a `.rs` grader's
/// cargo build, is killed with its process group within a watchdog tick.
const QUIT_GRACE: Duration = Duration::from_millis(500);

pub enum Event {
    Key(Key),
    /// A file under exercises/ changed.
    Changed(PathBuf),
    /// The learner's input ended (stdin closed in line mode).
    InputClosed,
    Resized,
    /// A grading run ended: its id, and what came of it.
    Graded(u64, anyhow::Result<Attempt>),
    /// SIGTERM, SIGHUP or SIGINT: leave as `q` does.
    Signal(i32),
}

/// Why the loop ended.
enum Leave {
    Quit,
    InputEnded,
    Signal(i32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Up,
    Down,
    Enter,
    Esc,
    /// Ctrl-C, which raw mode delivers as a key.
    Interrupt,
}

/// What a key asks the loop to do beyond redrawing.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    Redraw,
    Grade,
    Quit,
    Next,
    /// One more hint level was opened: record it.
    Hint,
    /// Make exercise `i` current (from the list).
    GoTo(usize),
    Reset(usize),
}

/// The last grading of the current exercise.
enum Shown {
    Graded(Box<Outcome>),
    Missing(PathBuf),
    /// kernlings itself failed: say so, and keep watching.
    Broken(String),
}

struct Grading {
    id: u64,
    started: Instant,
    cancel: Cancel,
}

struct App {
    course: Arc<Course>,
    /// An index into the curriculum's exercises.
    current: usize,
    /// The progress state as last read, for drawing.
    state: State,
    grading: Option<Grading>,
    runs: u64,
    shown: Option<Shown>,
    details: bool,
    scroll: usize,
    /// How many lines the last drawing could scroll through: `j` stops at the last one.
    scrollable: Cell<usize>,
    hints_shown: usize,
    /// Whether the current module's intro is on screen (`i` toggles it).
    intro: bool,
    /// Progress state moved aside and the like: on top until the next key.
    notices: Vec<String>,
    /// A line under the result: why `n` did nothing, that every exercise is done.
    note: String,
    /// Shown on every screen when file watching could not start.
    manual: Option<String>,
    list: Option<ListView>,
}

pub fn run(course: &Course) -> anyhow::Result<ExitCode> {
    // Watch redraws the whole screen: a notice on stderr would be wiped at once.
    state::hold_notices();
    let state = State::load(&course.root)?;
    let Some(current) = state.current(&course.curriculum) else {
        anyhow::bail!("the curriculum has no exercises yet");
    };
    let current = index_of(course, current);
    let course = Arc::new(Course {
        root: course.root.clone(),
        curriculum: course.curriculum.clone(),
        global: course.global.clone(),
    });
    let (tx, rx) = mpsc::channel();
    let exercises_dir = course.root.join("exercises");
    let exercises_dir = exercises_dir.canonicalize().unwrap_or(exercises_dir);
    let watcher = files::watch(&exercises_dir, tx.clone());
    let manual = watcher
        .as_ref()
        .err()
        .map(|e| format!("File watching is unavailable ({e:#}): press r to re-run after saving."));
    let mut screen = input::start(tx.clone());
    let mut app = App::new(course.clone(), current, state, manual);
    app.arrive();
    app.start_grading(&tx);
    app.draw(&mut screen);
    let mut saved_at: Option<Instant> = None;
    // Input that ends (a pipe, /dev/null) still sees the grade under way to its verdict.
    let mut input_closed = false;
    let leave = loop {
        // While grading on a terminal, a tick a second keeps the elapsed time honest; while
        // the background set-up works, it keeps its status line current (and removes it at
        // the end, with no key pressed).
        let busy = app.grading.is_some() || crate::cpu_setup::background_running();
        let tick = (busy && screen.is_terminal()).then(|| Instant::now() + Duration::from_secs(1));
        let deadline = [saved_at.map(|t| t + DEBOUNCE), tick]
            .into_iter()
            .flatten()
            .min();
        let event = match deadline {
            Some(at) => match rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(event) => Some(event),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => break Leave::InputEnded,
            },
            None => match rx.recv() {
                Ok(event) => Some(event),
                Err(_) => break Leave::InputEnded,
            },
        };
        let Some(event) = event else {
            if saved_at.is_some_and(|t| t + DEBOUNCE <= Instant::now()) {
                saved_at = None;
                app.start_grading(&tx);
            }
            app.draw(&mut screen);
            continue;
        };
        match event {
            Event::Changed(path) => {
                if path == exercises_dir.join(&app.exercise().file) {
                    saved_at = Some(Instant::now());
                }
                continue;
            }
            Event::InputClosed if app.grading.is_none() => break Leave::InputEnded,
            Event::InputClosed => {
                input_closed = true;
                continue;
            }
            Event::Resized => {}
            Event::Signal(sig) => break Leave::Signal(sig),
            Event::Graded(id, result) => {
                if !app.graded(id, result) {
                    continue;
                }
                if input_closed {
                    app.draw(&mut screen);
                    break Leave::InputEnded;
                }
            }
            Event::Key(key) => match app.key(key) {
                Action::Quit => break Leave::Quit,
                Action::Redraw => {}
                action => {
                    // A key that grades makes a pending save's grade moot.
                    saved_at = None;
                    app.apply(action, &tx);
                }
            },
        }
        app.draw(&mut screen);
    };
    if let Some(grading) = app.grading.take() {
        grading.cancel.cancel();
        let until = Instant::now() + QUIT_GRACE;
        while let Ok(event) = rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
            if matches!(event, Event::Graded(id, _) if id == grading.id) {
                break;
            }
        }
    }
    drop(screen);
    // After SIGHUP the terminal is gone: writes fail, and must not panic.
    let mut err = std::io::stderr();
    for notice in state::take_notices() {
        let _ = writeln!(err, "kernlings: {notice}");
    }
    let mut out = std::io::stdout();
    match leave {
        Leave::InputEnded => {
            let _ = writeln!(out, "No more input: leaving watch.");
        }
        Leave::Signal(sig) => {
            let name = match sig {
                libc::SIGTERM => "SIGTERM",
                libc::SIGHUP => "SIGHUP (the terminal went away)",
                _ => "SIGINT",
            };
            let _ = writeln!(out, "Stopped by {name}: your progress is saved.");
        }
        Leave::Quit => {}
    }
    let state = State::load(&course.root)?;
    let _ = writeln!(
        out,
        "Bye! {} of {} exercises done. Run `{}` to pick up where you left off.",
        state.done_count(&course.curriculum),
        course.curriculum.exercises.len(),
        crate::toolchain::command_name().trim_end_matches(" --")
    );
    Ok(match leave {
        // As a shell reports a process killed by the signal: 128 + its number.
        Leave::Signal(sig) => ExitCode::from(128 + sig as u8),
        _ => ExitCode::SUCCESS,
    })
}

fn index_of(course: &Course, ex: &Exercise) -> usize {
    course
        .curriculum
        .exercises
        .iter()
        .position(|e| e.name == ex.name)
        .unwrap_or(0)
}

impl App {
    fn new(course: Arc<Course>, current: usize, state: State, manual: Option<String>) -> App {
        App {
            course,
            current,
            state,
            grading: None,
            runs: 0,
            shown: None,
            details: false,
            scroll: 0,
            scrollable: Cell::new(0),
            hints_shown: 0,
            intro: false,
            notices: state::take_notices(),
            note: String::new(),
            manual,
            list: None,
        }
    }

    fn exercise(&self) -> &Exercise {
        &self.course.curriculum.exercises[self.current]
    }

    /// The learner starts on the current exercise: it is saved as current (so `list`, `hint`
    /// and the next start agree), and its module's intro is shown the first time.
    fn arrive(&mut self) {
        let ex = self.exercise().clone();
        let first_time = State::update(&self.course.root, |s| {
            s.current = Some(ex.name.clone());
            s.intros_seen.insert(ex.module.clone())
        });
        self.intro = match first_time {
            Ok(first) => first,
            Err(e) => {
                self.note = format!("could not save your progress: {e:#}");
                false
            }
        };
        self.refresh();
    }

    /// Re-reads the progress state; what it had to move aside comes to the top.
    fn refresh(&mut self) {
        match State::load(&self.course.root) {
            Ok(s) => self.state = s,
            Err(e) => self.note = format!("could not read your progress: {e:#}"),
        }
        self.notices.extend(state::take_notices());
    }

    /// Grades the current exercise on a thread; a run still going is cancelled (its child is
    /// killed) and its result, when it comes, ignored.
    fn start_grading(&mut self, tx: &Sender<Event>) {
        if let Some(old) = self.grading.take() {
            old.cancel.cancel();
        }
        self.runs += 1;
        let cancel = Cancel::default();
        let (id, course, index, tx) = (self.runs, self.course.clone(), self.current, tx.clone());
        let token = cancel.clone();
        std::thread::spawn(move || {
            let ex = &course.curriculum.exercises[index];
            let result = course.attempt_cancellable(ex, None, &token);
            let _ = tx.send(Event::Graded(id, result));
        });
        self.grading = Some(Grading {
            id,
            started: Instant::now(),
            cancel,
        });
    }

    /// Takes a finished run; `false` when it was a cancelled or superseded one.
    fn graded(&mut self, id: u64, result: anyhow::Result<Attempt>) -> bool {
        if self.grading.as_ref().is_none_or(|g| g.id != id) {
            return false;
        }
        self.grading = None;
        self.shown = Some(match result {
            Ok(Attempt::Graded(o)) => Shown::Graded(o),
            Ok(Attempt::Missing(path)) => Shown::Missing(path),
            Err(e) if e.is::<Cancelled>() => return false,
            Err(e) => Shown::Broken(format!("{e:#}")),
        });
        self.scroll = 0;
        self.refresh();
        true
    }

    /// What a key does: pure, apart from what the returned action asks for.
    fn key(&mut self, key: Key) -> Action {
        self.notices.clear();
        self.note.clear();
        if key == Key::Interrupt {
            return Action::Quit;
        }
        if let Some(list) = &mut self.list {
            let names: Vec<&str> = self
                .course
                .curriculum
                .exercises
                .iter()
                .map(|e| e.name.as_str())
                .collect();
            let done: Vec<bool> = names.iter().map(|n| self.state.is_done(n)).collect();
            return match list.key(key, &done, &names) {
                list::Effect::Stay => Action::Redraw,
                list::Effect::Back => {
                    self.list = None;
                    Action::Redraw
                }
                list::Effect::MakeCurrent(i) => {
                    self.list = None;
                    Action::GoTo(i)
                }
                list::Effect::Reset(i) => Action::Reset(i),
            };
        }
        match key {
            Key::Char('q') | Key::Esc => return Action::Quit,
            Key::Char('r') => return Action::Grade,
            Key::Char('n') => {
                if self.state.is_done(&self.exercise().name) {
                    return Action::Next;
                }
                self.note = format!(
                    "`{}` has not passed yet: n moves on once it does.",
                    self.exercise().name
                );
            }
            Key::Char('h') => {
                if self.hints_shown < self.exercise().hints.len() {
                    self.hints_shown += 1;
                    return Action::Hint;
                }
                self.note = "That was the last hint.".into();
            }
            Key::Char('d') => {
                self.details = !self.details;
                self.scroll = 0;
            }
            Key::Char('j') | Key::Down => {
                self.scroll = (self.scroll + 1).min(self.scrollable.get().saturating_sub(1))
            }
            Key::Char('k') | Key::Up => self.scroll = self.scroll.saturating_sub(1),
            Key::Char('i') => self.intro = !self.intro,
            Key::Char('l') => self.list = Some(ListView::new(self.current)),
            _ => {}
        }
        Action::Redraw
    }

    fn apply(&mut self, action: Action, tx: &Sender<Event>) {
        match action {
            Action::Grade => self.start_grading(tx),
            Action::Next => {
                let next = self
                    .state
                    .next_pending(&self.course.curriculum, Some(&self.exercise().name))
                    .map(|ex| index_of(&self.course, ex));
                match next {
                    Some(i) => self.go_to(i, tx),
                    None => {
                        self.note = format!(
                            "Every exercise is done! `{} report` writes your PROGRESS.md.",
                            crate::toolchain::command_name()
                        )
                    }
                }
            }
            Action::GoTo(i) => self.go_to(i, tx),
            Action::Hint => {
                let (name, seen) = (self.exercise().name.clone(), self.hints_shown);
                let saved = State::update(&self.course.root, |s| {
                    let entry = s.exercises.entry(name).or_default();
                    entry.hints_seen = entry.hints_seen.max(seen);
                });
                if let Err(e) = saved {
                    self.note = format!("could not save your progress: {e:#}");
                }
            }
            Action::Reset(i) => {
                let ex = self.course.curriculum.exercises[i].clone();
                let said = reset::reset(&self.course, &ex)
                    .unwrap_or_else(|e| vec![format!("could not reset {}: {e:#}", ex.name)]);
                if let Some(list) = &mut self.list {
                    list.message = said.iter().map(|s| view::strip_ansi(s)).collect();
                }
                // The current exercise's file changed: the file watcher re-grades it.
            }
            Action::Redraw | Action::Quit => {}
        }
    }

    fn go_to(&mut self, i: usize, tx: &Sender<Event>) {
        self.current = i;
        self.hints_shown = 0;
        self.details = false;
        self.scroll = 0;
        self.shown = None;
        self.arrive();
        self.start_grading(tx);
    }

    fn draw(&mut self, screen: &mut input::Screen) {
        let (width, height) = screen.size();
        let lines = self.render(width, height);
        screen.show(&lines, width);
    }

    /// The whole screen for a terminal of `width` × `height` (no height: line mode).
    fn render(&self, width: usize, height: Option<usize>) -> Vec<Line> {
        let ex = self.exercise();
        let mut parts = Parts::default();
        for notice in &self.notices {
            parts.top.extend(view::wrap(Style::Yellow, notice, width));
        }
        if let Some(list) = &self.list {
            let rows = height.map_or(usize::MAX, |h| {
                h.saturating_sub(parts.top.len() + FOOTER_LINES)
            });
            parts.before = list.render(
                &self.course.curriculum,
                &self.state,
                self.current,
                width,
                rows,
            );
            parts.footer = self.footer(
                width,
                "↑↓/j k move · Enter make current · f filter · r reset · q back",
            );
            return view::layout(width, height, parts, 0);
        }
        self.render_result(ex, width, &mut parts);
        if self.hints_shown > 0 {
            parts.after.push(Line::default());
            parts.after.extend(view::wrap(
                Style::Plain,
                &hint::hints(ex, self.hints_shown),
                width,
            ));
        }
        // What the background set-up (NVRTC, the CPU driver) is doing, or why it failed.
        let setup = crate::cpu_setup::background_status();
        for note in [
            self.manual.as_deref(),
            Some(self.note.as_str()),
            setup.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter(|n| !n.is_empty())
        {
            parts.after.extend(view::wrap(Style::Yellow, note, width));
        }
        let keys = match (&self.grading, self.state.is_done(&ex.name)) {
            (Some(_), _) => "q quit · r restart · h hint · l list",
            (None, true) => "n next · h hint · d details · l list · r re-run · q quit",
            (None, false) => "h hint · d details · l list · r re-run · q quit",
        };
        parts.footer = self.footer(width, keys);
        self.scrollable.set(parts.flexible.len());
        view::layout(width, height, parts, self.scroll)
    }

    fn render_result(&self, ex: &Exercise, width: usize, parts: &mut Parts) {
        if self.intro {
            if let Some(module) = self.course.curriculum.module(&ex.module) {
                parts.before.push(Line::new(
                    Style::Bold,
                    format!("Module {}: {}", module.id, module.title),
                ));
                parts.before.extend(view::wrap(
                    Style::Plain,
                    &view::reflow(&module.intro),
                    width,
                ));
                parts
                    .before
                    .push(Line::new(Style::Dim, "(i hides this introduction)"));
            }
        }
        if let Some(g) = &self.grading {
            parts.top.push(Line::new(
                Style::Yellow,
                format!("⋯ grading {}… {} s", ex.name, g.started.elapsed().as_secs()),
            ));
            if let Some(last) = self.state.exercise(&ex.name).last {
                let when = last
                    .at
                    .with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M");
                parts.top.push(Line::new(
                    Style::Dim,
                    format!("last result ({when}): {}", last.summary),
                ));
            }
            return;
        }
        let Some(shown) = &self.shown else { return };
        let outcome = match shown {
            Shown::Missing(path) => {
                parts.top.push(Line::new(
                    Style::Red,
                    format!(
                        "✗ {} is missing: `{} reset {}` restores the original stub",
                        self.course.display_path(path),
                        crate::toolchain::command_name(),
                        ex.name
                    ),
                ));
                return;
            }
            Shown::Broken(e) => {
                parts.top.push(Line::new(
                    Style::Red,
                    "✗ kernlings could not grade this attempt:",
                ));
                parts.flexible = view::wrap(Style::Plain, e, width);
                return;
            }
            Shown::Graded(o) => o,
        };
        let (style, words) = view::verdict(&ex.name, outcome);
        parts.top.extend(
            view::wrap(style, &words, width)
                .into_iter()
                .take(VERDICT_LINES),
        );
        for line in view::essentials(outcome) {
            parts.before.extend(view::wrap(Style::Plain, &line, width));
        }
        parts.flexible = if self.details {
            view::wrap(Style::Plain, &show::outcome(ex, outcome), width)
        } else {
            let indented: String = view::failure_details(outcome)
                .lines()
                .map(|l| format!("  {l}\n"))
                .collect();
            view::wrap(Style::Plain, &indented, width)
        };
        if outcome.passed() {
            parts.after.push(Line::new(
                Style::Green,
                "Passed! n moves on to the next exercise, or keep improving this one.",
            ));
            let solution = curriculum::solution_path(&self.course.root, ex);
            if solution.is_file() {
                parts
                    .after
                    .push(Line::new(Style::Plain, "solution for comparison: ").link(
                        Style::Bold,
                        self.course.display_path(&solution),
                        view::file_url(&solution),
                    ));
            }
        }
        let replay = format!(
            "graded on {}; replay these inputs: {} run {} --seed {}",
            outcome.backend.device,
            crate::toolchain::command_name(),
            ex.name,
            outcome.seed
        );
        parts.after.extend(view::wrap(Style::Dim, &replay, width));
    }

    /// A rule, the exercise and its file (a link), progress, and the keys.
    fn footer(&self, width: usize, keys: &str) -> Vec<Line> {
        let ex = self.exercise();
        let list = &self.course.curriculum.exercises;
        let path = curriculum::exercise_path(&self.course.root, ex);
        let done = self.state.done_count(&self.course.curriculum);
        let module = self
            .course
            .curriculum
            .module(&ex.module)
            .map_or(String::new(), |m| format!(" · module {} {}", m.id, m.title));
        vec![
            Line::new(Style::Dim, "─".repeat(width.min(RULE_MAX))),
            Line::new(
                Style::Bold,
                format!(
                    "Exercise {} of {}: {}",
                    self.current + 1,
                    list.len(),
                    ex.name
                ),
            )
            .push(Style::Plain, " · ")
            .link(
                Style::Bold,
                self.course.display_path(&path),
                view::file_url(&path),
            ),
            Line::new(
                Style::Plain,
                format!(
                    "progress {} {done}/{} done{module}",
                    show::bar(done, list.len(), (width / 3).clamp(10, 30)),
                    list.len()
                ),
            ),
            Line::new(Style::Dim, keys),
        ]
    }
}

/// The footer's lines: the rule, the exercise, progress, the keys.
const FOOTER_LINES: usize = 4;
/// A verdict longer than this (a long failure summary) is cut: details come below it.
const VERDICT_LINES: usize = 3;
/// The rule's width where the screen has none (line mode).
const RULE_MAX: usize = 80;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{BackendInfo, Correctness, LaunchCounters};
    use clap::Parser;

    /// An app on a copy of the fixture course (drawing reads the progress state there).
    fn app() -> (App, tempfile::TempDir) {
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/basic");
        let dir = tempfile::tempdir().unwrap();
        let copied = std::process::Command::new("cp")
            .arg("-r")
            .arg(fixture.join("."))
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(copied.success());
        let root = dir.path().to_str().unwrap();
        let cli = crate::cli::Cli::try_parse_from(["kernlings", "--root", root]).unwrap();
        let course = Course::open(&cli.global).unwrap();
        (App::new(Arc::new(course), 0, State::fresh(), None), dir)
    }

    fn outcome(correctness: Correctness) -> Outcome {
        Outcome {
            exercise: "first".into(),
            seed: 42,
            backend: BackendInfo {
                kind: "cpu".into(),
                device: "kernlings CPU driver (PTX interpreter)".into(),
            },
            correctness,
            speed: None,
            speed_skipped: Some("speed is not measured on the CPU backend: no GPU".into()),
            counters: (0..6)
                .map(|i| LaunchCounters {
                    kernel: format!("k{i}"),
                    instructions: 1000,
                    global_sectors: 64,
                    global_sectors_min: 64,
                    shared_bank_conflicts: 0,
                    divergent_branches: 1,
                    worst_site: None,
                })
                .collect(),
            load_sweep: None,
        }
    }

    fn texts(lines: &[Line]) -> Vec<String> {
        lines.iter().map(Line::text).collect()
    }

    #[test]
    fn a_long_pass_fits_80_by_24_with_verdict_and_footer() {
        let (mut app, _dir) = app();
        let cases = (0..40)
            .map(|i| format!("n={i}: every element matches"))
            .collect();
        app.grading = Some(Grading {
            id: 1,
            started: Instant::now(),
            cancel: Cancel::default(),
        });
        app.intro = true;
        assert!(app.graded(
            1,
            Ok(Attempt::Graded(Box::new(outcome(Correctness::Passed {
                cases
            }))))
        ));
        let screen = texts(&app.render(80, Some(24)));
        assert_eq!(screen.len(), 24);
        assert!(
            screen.iter().all(|l| l.chars().count() <= 80),
            "{screen:#?}"
        );
        assert!(screen[0].starts_with("✓ first passed"), "{screen:#?}");
        assert!(screen.iter().any(|l| l == "Module 01: Fixture basics"));
        assert!(screen
            .iter()
            .any(|l| l == "✓ 40 checks passed (d lists them)"));
        assert!(screen
            .iter()
            .any(|l| l.starts_with("CPU counters (6 launches)")));
        assert!(screen
            .iter()
            .any(|l| l == "solution for comparison: solutions/01/first.cu"));
        assert!(screen[20].starts_with("────"), "{screen:#?}");
        assert!(screen[21].starts_with("Exercise 1 of 3: first · exercises/01/first.cu"));
        assert!(screen[22].starts_with("progress ["));
        assert!(screen[23].contains("q quit"));
        // d shows every check; the footer stays.
        app.key(Key::Char('d'));
        let details = texts(&app.render(80, Some(24)));
        assert!(details
            .iter()
            .any(|l| l.contains("n=0: every element matches")));
        assert!(details[23].contains("q quit"));
    }

    #[test]
    fn a_long_failure_keeps_its_verdict_and_counts_what_is_cut() {
        let (mut app, _dir) = app();
        app.grading = Some(Grading {
            id: 7,
            started: Instant::now(),
            cancel: Cancel::default(),
        });
        let details = (0..200)
            .map(|i| format!("index {i}: got 0, want 1\n"))
            .collect();
        let failed = Correctness::Failed {
            summary: "wrong values at 200 of 1024 elements".into(),
            details,
        };
        // A superseded run's result is dropped.
        assert!(!app.graded(6, Ok(Attempt::Missing(PathBuf::from("x")))));
        assert!(app.graded(7, Ok(Attempt::Graded(Box::new(outcome(failed))))));
        let screen = texts(&app.render(80, Some(24)));
        assert_eq!(screen.len(), 24);
        assert!(screen[0].starts_with("✗ first: wrong values at 200 of 1024 elements"));
        assert!(
            screen.iter().any(|l| l.contains("more line(s)")),
            "{screen:#?}"
        );
        assert!(!screen.iter().any(|l| l.starts_with("solution")));
        assert!(screen[23].starts_with("h hint"), "no n before a pass");
        app.key(Key::Char('j'));
        let scrolled = texts(&app.render(80, Some(24)));
        assert!(scrolled.iter().any(|l| l == "  index 1: got 0, want 1"));
        assert!(!scrolled.iter().any(|l| l == "  index 0: got 0, want 1"));
    }

    #[test]
    fn keys_do_what_the_footer_says() {
        let (mut app, _dir) = app();
        app.notices.push("kept as state.json.unreadable-1".into());
        assert_eq!(app.key(Key::Char('n')), Action::Redraw);
        assert!(app.notices.is_empty(), "a key clears the notice");
        assert_eq!(
            app.note,
            "`first` has not passed yet: n moves on once it does."
        );
        assert_eq!(app.key(Key::Char('h')), Action::Hint);
        assert_eq!(app.key(Key::Char('r')), Action::Grade);
        assert_eq!(app.key(Key::Char('l')), Action::Redraw);
        let list = texts(&app.render(80, Some(24)));
        assert!(
            list.iter().any(|l| l.starts_with(">▶ 01 first")),
            "{list:#?}"
        );
        assert_eq!(app.key(Key::Down), Action::Redraw);
        assert_eq!(app.key(Key::Enter), Action::GoTo(1));
        assert!(app.list.is_none());
        assert_eq!(app.key(Key::Interrupt), Action::Quit);
        assert_eq!(app.key(Key::Char('q')), Action::Quit);
    }
}
