//! `kernlings watch`: the learner's loop. Shows the current exercise, re-grades it on every
//! save, and takes one-key commands. Moving on is always the learner's choice (`n`).
//!
//! Events from the file watcher and the keyboard (or stdin lines without a terminal) arrive on
//! one channel; grading runs on this thread, in a child process, so a crash or hang in the
//! learner's kernel is just a failed attempt.

mod files;
mod input;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::commands::{hint, list, show, Attempt, Course};
use crate::curriculum::{self, Exercise};
use crate::state::State;

/// Editors save in bursts (write, rename, chmod): grade once the file has been quiet this long.
const DEBOUNCE: Duration = Duration::from_millis(200);

pub enum Event {
    Key(Key),
    /// A file under exercises/ changed.
    Changed(PathBuf),
    /// The learner's input ended (stdin closed in line mode).
    InputClosed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Next,
    Hint,
    List,
    Rerun,
    Quit,
}

impl Key {
    pub fn from_char(c: char) -> Option<Key> {
        match c.to_ascii_lowercase() {
            'n' => Some(Key::Next),
            'h' => Some(Key::Hint),
            'l' => Some(Key::List),
            'r' => Some(Key::Rerun),
            'q' => Some(Key::Quit),
            _ => None,
        }
    }
}

struct App<'c> {
    course: &'c Course,
    current: &'c Exercise,
    /// The last grading of the current exercise, ready to print.
    result: String,
    hints_shown: usize,
    showing_list: bool,
    /// A one-line note under the result: why `n` did nothing, that every exercise is done.
    note: String,
    /// Shown on every screen when file watching could not start.
    manual: Option<String>,
}

pub fn run(course: &Course) -> anyhow::Result<ExitCode> {
    let state = State::load(&course.root)?;
    let Some(current) = state.current(&course.curriculum) else {
        anyhow::bail!("the curriculum has no exercises yet");
    };
    // `list`, `hint` and the next start show where watch is, even once it has passed.
    let name = current.name.clone();
    State::update(&course.root, |s| s.current = Some(name))?;
    let (tx, rx) = mpsc::channel();
    let exercises_dir = course.root.join("exercises");
    let exercises_dir = exercises_dir.canonicalize().unwrap_or(exercises_dir);
    let watcher = files::watch(&exercises_dir, tx.clone());
    let manual = watcher
        .as_ref()
        .err()
        .map(|e| format!("File watching is unavailable ({e:#}): press r to re-run after saving."));
    let mut screen = input::start(tx);
    let mut app = App {
        course,
        current,
        result: String::new(),
        hints_shown: 0,
        showing_list: false,
        note: String::new(),
        manual,
    };
    app.grade(&mut screen);
    let mut saved_at: Option<Instant> = None;
    let input_ended = loop {
        let event = match saved_at {
            Some(at) => {
                match rx.recv_timeout((at + DEBOUNCE).saturating_duration_since(Instant::now())) {
                    Ok(event) => event,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        saved_at = None;
                        app.grade(&mut screen);
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break true,
                }
            }
            None => match rx.recv() {
                Ok(event) => event,
                Err(_) => break true,
            },
        };
        match event {
            Event::Changed(path) => {
                if path == exercises_dir.join(&app.current.file) {
                    saved_at = Some(Instant::now());
                }
            }
            Event::Key(Key::Quit) => break false,
            Event::InputClosed => break true,
            Event::Key(key) => {
                // A key that grades (r, or n to a new exercise) makes a pending save's grade moot.
                if matches!(key, Key::Rerun | Key::Next) {
                    saved_at = None;
                }
                app.key(key, &mut screen)?
            }
        }
    };
    drop(screen);
    if input_ended {
        println!("No more input: leaving watch.");
    }
    let state = State::load(&course.root)?;
    println!(
        "Bye! {} of {} exercises done. Run `kernlings` to pick up where you left off.",
        state.done_count(&course.curriculum),
        course.curriculum.exercises.len()
    );
    Ok(ExitCode::SUCCESS)
}

impl App<'_> {
    fn grade(&mut self, screen: &mut input::Screen) {
        self.showing_list = false;
        self.note.clear();
        let mut text = format!("{}\n", self.header());
        let state = State::load(&self.course.root).unwrap_or_else(|_| State::fresh());
        if let Some(last) = state.exercise(&self.current.name).last {
            let when = last
                .at
                .with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M");
            let _ = writeln!(text, "last result ({when}): {}", last.summary);
        }
        let _ = writeln!(
            text,
            "{}",
            show::dim(&format!("grading {}…", self.current.name))
        );
        screen.show(&text);
        self.result = match self.course.attempt(self.current, None) {
            Ok(attempt @ Attempt::Graded(_)) => {
                let mut text = show::attempt(self.course, self.current, &attempt);
                if attempt.passed() {
                    text.push_str(&show::green(
                        "\nPassed! Press n for the next exercise, or keep improving it.\n",
                    ));
                }
                text
            }
            Ok(missing) => show::attempt(self.course, self.current, &missing),
            // A failure of kernlings itself: say so, and keep watching.
            Err(e) => format!(
                "{} kernlings could not grade this attempt: {e:#}\n",
                show::red("✗")
            ),
        };
        self.draw(screen);
    }

    fn key(&mut self, key: Key, screen: &mut input::Screen) -> anyhow::Result<()> {
        self.note.clear();
        match key {
            Key::Rerun => {
                self.grade(screen);
                return Ok(());
            }
            Key::Hint => {
                self.showing_list = false;
                if self.hints_shown < self.current.hints.len() {
                    self.hints_shown += 1;
                    let name = self.current.name.clone();
                    let seen = self.hints_shown;
                    State::update(&self.course.root, |s| {
                        let entry = s.exercises.entry(name).or_default();
                        entry.hints_seen = entry.hints_seen.max(seen);
                    })?;
                }
            }
            Key::List => self.showing_list = !self.showing_list,
            Key::Next => return self.next(screen),
            Key::Quit => {}
        }
        self.draw(screen);
        Ok(())
    }

    /// Moves to the next exercise not done, but only once the current one has passed.
    fn next(&mut self, screen: &mut input::Screen) -> anyhow::Result<()> {
        let state = State::load(&self.course.root)?;
        if !state.is_done(&self.current.name) {
            self.note = format!(
                "`{}` has not passed yet: n moves on once it does.",
                self.current.name
            );
            self.draw(screen);
            return Ok(());
        }
        let Some(next) = state.next_pending(&self.course.curriculum, Some(&self.current.name))
        else {
            self.note =
                "Every exercise is done! `kernlings report` writes your PROGRESS.md.".into();
            self.draw(screen);
            return Ok(());
        };
        self.current = next;
        self.hints_shown = 0;
        let name = next.name.clone();
        State::update(&self.course.root, |s| s.current = Some(name))?;
        self.grade(screen);
        Ok(())
    }

    fn header(&self) -> String {
        let list = &self.course.curriculum.exercises;
        let index = list
            .iter()
            .position(|e| e.name == self.current.name)
            .unwrap_or(0)
            + 1;
        let module = self
            .course
            .curriculum
            .module(&self.current.module)
            .map_or(String::new(), |m| m.title.clone());
        let path = curriculum::exercise_path(&self.course.root, self.current);
        format!(
            "{} {}\nEdit {} and save: it is graded on every save.\n",
            show::bold(&format!(
                "Exercise {index} of {}: {}",
                list.len(),
                self.current.name
            )),
            show::dim(&format!("(module {} {module})", self.current.module)),
            show::bold(&self.course.display_path(&path)),
        )
    }

    fn draw(&self, screen: &mut input::Screen) {
        let mut text = self.header();
        text.push('\n');
        let state = State::load(&self.course.root).unwrap_or_else(|_| State::fresh());
        if self.showing_list {
            text.push_str(&list::render(&self.course.curriculum, &state));
            text.push_str(&show::dim("(press l again for the exercise)\n"));
        } else {
            text.push_str(&self.result);
            if self.hints_shown > 0 {
                text.push('\n');
                text.push_str(&hint::hints(self.current, self.hints_shown));
            }
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
        {
            if !note.is_empty() {
                let _ = writeln!(text, "\n{}", show::yellow(note));
            }
        }
        // The list ends with its own progress bar.
        if !self.showing_list {
            let total = self.course.curriculum.exercises.len();
            let done = state.done_count(&self.course.curriculum);
            let _ = writeln!(
                text,
                "\nprogress {} {done}/{total} done",
                show::bar(done, total, 30)
            );
        }
        text.push_str(&show::dim("n next · h hint · l list · r re-run · q quit"));
        text.push('\n');
        screen.show(&text);
    }
}
