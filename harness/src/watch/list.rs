//! Watch's list (`l`): move with arrows or j/k, filter by status (`f`), make an exercise the
//! current one (Enter), reset one (`r`, then `y`), back with `q` or Esc. Keys and drawing are
//! pure: the watch loop carries out what `key` asks for.

use super::view::{Line, Style};
use super::Key;
use crate::curriculum::Curriculum;
use crate::state::State;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    All,
    Pending,
    Done,
}

impl Filter {
    fn next(self) -> Filter {
        match self {
            Filter::All => Filter::Pending,
            Filter::Pending => Filter::Done,
            Filter::Done => Filter::All,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Filter::All => "all",
            Filter::Pending => "pending",
            Filter::Done => "done",
        }
    }

    fn keeps(self, done: bool) -> bool {
        match self {
            Filter::All => true,
            Filter::Pending => !done,
            Filter::Done => done,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Effect {
    Stay,
    Back,
    /// Make this exercise (an index into the curriculum) the current one.
    MakeCurrent(usize),
    Reset(usize),
}

#[derive(Debug, Clone)]
pub struct ListView {
    /// An index into the curriculum's exercises.
    pub selected: usize,
    pub filter: Filter,
    /// `r` was pressed: the next key says whether to reset the selected exercise.
    pub confirm_reset: bool,
    /// A line under the list: what a reset did, why nothing is shown.
    pub message: Vec<String>,
}

impl ListView {
    pub fn new(current: usize) -> ListView {
        ListView {
            selected: current,
            filter: Filter::All,
            confirm_reset: false,
            message: Vec::new(),
        }
    }

    fn visible(&self, done: &[bool]) -> Vec<usize> {
        (0..done.len())
            .filter(|&i| self.filter.keeps(done[i]))
            .collect()
    }

    /// `done[i]`: whether exercise `i` has passed.
    pub fn key(&mut self, key: Key, done: &[bool], names: &[&str]) -> Effect {
        if std::mem::take(&mut self.confirm_reset) {
            self.message.clear();
            if key == Key::Char('y') {
                return Effect::Reset(self.selected);
            }
            self.message.push("Nothing was reset.".into());
            return Effect::Stay;
        }
        self.message.clear();
        let visible = self.visible(done);
        let at = visible.iter().position(|&i| i == self.selected);
        match key {
            Key::Down | Key::Char('j') => {
                let next = at.map_or(0, |p| (p + 1).min(visible.len().saturating_sub(1)));
                if let Some(&i) = visible.get(next) {
                    self.selected = i;
                }
            }
            Key::Up | Key::Char('k') => {
                let prev = at.map_or(0, |p| p.saturating_sub(1));
                if let Some(&i) = visible.get(prev) {
                    self.selected = i;
                }
            }
            Key::Char('g') => self.selected = visible.first().copied().unwrap_or(self.selected),
            Key::Char('G') => self.selected = visible.last().copied().unwrap_or(self.selected),
            Key::Char('f') => {
                self.filter = self.filter.next();
                let visible = self.visible(done);
                if !visible.contains(&self.selected) {
                    match visible.first() {
                        Some(&i) => self.selected = i,
                        None => self.message.push(format!(
                            "No {} exercises: f shows more.",
                            self.filter.word()
                        )),
                    }
                }
            }
            Key::Enter if at.is_some() => return Effect::MakeCurrent(self.selected),
            Key::Char('r') if at.is_some() => {
                self.confirm_reset = true;
                self.message.push(format!(
                    "Reset {} to its original stub? Your version is kept in .kernlings/backups/. \
                     y resets, any other key keeps it.",
                    names[self.selected]
                ));
            }
            Key::Char('q') | Key::Esc | Key::Char('l') => return Effect::Back,
            _ => {}
        }
        Effect::Stay
    }

    /// The rows that fit in `rows` lines, scrolled so the selected one shows, then messages.
    pub fn render(
        &self,
        curriculum: &Curriculum,
        state: &State,
        current: usize,
        screen_width: usize,
        rows: usize,
    ) -> Vec<Line> {
        let done: Vec<bool> = curriculum
            .exercises
            .iter()
            .map(|e| state.is_done(&e.name))
            .collect();
        let visible = self.visible(&done);
        let widest = |f: fn(&crate::curriculum::Exercise) -> usize| {
            curriculum.exercises.iter().map(f).max().unwrap_or(0)
        };
        let (width, module_width) = (widest(|e| e.name.len()), widest(|e| e.module.len()));
        let mut out = vec![Line::new(
            Style::Bold,
            format!(
                "Exercises ({} shown: {})",
                visible.len(),
                self.filter.word()
            ),
        )];
        let message: Vec<Line> = self
            .message
            .iter()
            .flat_map(|m| super::view::wrap(Style::Yellow, m, screen_width))
            .collect();
        let rows = rows.saturating_sub(1 + message.len()).max(1);
        let at = visible
            .iter()
            .position(|&i| i == self.selected)
            .unwrap_or(0);
        let first = at.saturating_sub(rows.saturating_sub(1));
        for &i in visible.iter().skip(first).take(rows) {
            let ex = &curriculum.exercises[i];
            let entry = state.exercise(&ex.name);
            let cursor = if i == self.selected { ">" } else { " " };
            let marker = if i == current { "▶" } else { " " };
            let status = if done[i] { "done   " } else { "pending" };
            let mut line = Line::new(
                if i == self.selected {
                    Style::Reverse
                } else {
                    Style::Plain
                },
                format!(
                    "{cursor}{marker} {:module_width$} {:width$}  ",
                    ex.module, ex.name
                ),
            )
            .push(if done[i] { Style::Green } else { Style::Yellow }, status);
            if let Some(last) = &entry.last {
                line = line.push(
                    Style::Dim,
                    format!("  {} attempt(s), last: {}", entry.tries(), last.summary),
                );
            }
            out.push(line);
        }
        out.extend(message);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 4] = ["a", "b", "c", "d"];

    #[test]
    fn moves_filters_and_confirms() {
        let done = [true, false, true, false];
        let mut list = ListView::new(1);
        assert_eq!(list.key(Key::Down, &done, &NAMES), Effect::Stay);
        assert_eq!(list.selected, 2);
        list.key(Key::Char('k'), &done, &NAMES);
        list.key(Key::Char('k'), &done, &NAMES);
        list.key(Key::Up, &done, &NAMES);
        assert_eq!(list.selected, 0, "stops at the top");
        // Pending only: the selection moves onto a visible row, and moves among them.
        list.key(Key::Char('f'), &done, &NAMES);
        assert_eq!((list.filter, list.selected), (Filter::Pending, 1));
        list.key(Key::Char('j'), &done, &NAMES);
        assert_eq!(list.selected, 3);
        assert_eq!(list.key(Key::Enter, &done, &NAMES), Effect::MakeCurrent(3));
        // Reset asks first; anything but y keeps the file.
        assert_eq!(list.key(Key::Char('r'), &done, &NAMES), Effect::Stay);
        assert!(list.message[0].starts_with("Reset d to its original stub?"));
        assert_eq!(list.key(Key::Char('n'), &done, &NAMES), Effect::Stay);
        assert_eq!(list.message, ["Nothing was reset."]);
        list.key(Key::Char('r'), &done, &NAMES);
        assert_eq!(list.key(Key::Char('y'), &done, &NAMES), Effect::Reset(3));
        assert_eq!(list.key(Key::Esc, &done, &NAMES), Effect::Back);
        assert_eq!(list.key(Key::Char('q'), &done, &NAMES), Effect::Back);
    }
}
