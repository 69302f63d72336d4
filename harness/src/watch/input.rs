//! The learner's side of watch: single keys in raw mode on a terminal, or lines on stdin when
//! there is none (a pipe, an editor's task runner, CI). `Screen` paints for either.
//!
//! On a terminal watch draws on the alternate screen in raw mode; every way out (a return, an
//! error, a panic, SIGTERM, SIGHUP) puts the terminal back: `Drop` for the first two, a panic
//! hook for the third, and for signals a thread that turns them into an `Event::Signal`, so the
//! loop leaves through the same `Drop`.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::mpsc::Sender;

use crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::style::{Attribute, Color, Print, SetAttribute, SetForegroundColor};
use crossterm::{cursor, terminal, QueueableCommand};

use super::view::{Line, Style};
use super::{Event, Key};
use crate::commands::show;

/// Without a terminal nothing is cut or wrapped: whatever shows the lines wraps them.
const LINE_MODE_WIDTH: usize = usize::MAX;

/// Owns the terminal while watch runs; dropping it restores it.
pub struct Screen {
    raw: bool,
}

impl Drop for Screen {
    fn drop(&mut self) {
        if self.raw {
            restore_terminal();
        }
    }
}

fn restore_terminal() {
    let mut out = std::io::stdout();
    let _ = out
        .queue(terminal::LeaveAlternateScreen)
        .and_then(|o| o.queue(cursor::Show))
        .and_then(|o| o.queue(terminal::EnableLineWrap));
    let _ = out.flush();
    let _ = terminal::disable_raw_mode();
}

impl Screen {
    /// `(width, height)` to draw for; no height in line mode, where nothing scrolls away.
    pub fn size(&self) -> (usize, Option<usize>) {
        if !self.raw {
            return (LINE_MODE_WIDTH, None);
        }
        let (w, h) = terminal::size().unwrap_or((80, 24));
        (usize::from(w.max(20)), Some(usize::from(h.max(8))))
    }

    pub fn is_terminal(&self) -> bool {
        self.raw
    }

    /// Redraws everything: in place on a terminal, a separated block in line mode.
    pub fn show(&mut self, lines: &[Line], width: usize) {
        let mut out = std::io::stdout().lock();
        if !self.raw {
            let _ = writeln!(out, "----");
            for line in lines {
                let _ = writeln!(out, "{}", line.text().trim_end());
            }
            let _ = out.flush();
            return;
        }
        let _ = out.queue(cursor::MoveTo(0, 0));
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                let _ = out.queue(Print("\r\n"));
            }
            paint(&mut out, line);
            // After a full-width line the cursor sits on its last column: clearing from there
            // would erase that column.
            if line.text().chars().count() < width {
                let _ = out.queue(terminal::Clear(terminal::ClearType::UntilNewLine));
            }
        }
        let _ = out.queue(terminal::Clear(terminal::ClearType::FromCursorDown));
        let _ = out.flush();
    }
}

fn paint(out: &mut impl Write, line: &Line) {
    let colors = show::colors();
    for span in &line.spans {
        if let Some(url) = &span.link {
            let _ = write!(out, "\x1b]8;;{url}\x1b\\");
        }
        if colors {
            let _ = match span.style {
                Style::Plain => Ok(&mut *out),
                Style::Bold => out.queue(SetAttribute(Attribute::Bold)),
                Style::Dim => out.queue(SetAttribute(Attribute::Dim)),
                Style::Green => out.queue(SetForegroundColor(Color::Green)),
                Style::Red => out.queue(SetForegroundColor(Color::Red)),
                Style::Yellow => out.queue(SetForegroundColor(Color::Yellow)),
                Style::Reverse => out.queue(SetAttribute(Attribute::Reverse)),
            };
        }
        let _ = out.write_all(span.text.as_bytes());
        if colors && span.style != Style::Plain {
            let _ = out.queue(SetAttribute(Attribute::Reset));
        }
        if span.link.is_some() {
            let _ = out.write_all(b"\x1b]8;;\x1b\\");
        }
    }
}

/// The signals that end watch the way `q` does. Raw mode turns Ctrl-C into a key, but `kill`
/// can still send SIGINT. Registered before the terminal is taken: from then on they no longer
/// kill kernlings outright, with the terminal left raw and the grading child orphaned.
const LEAVING_SIGNALS: [i32; 3] = [
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
    signal_hook::consts::SIGINT,
];

fn forward_signals(tx: Sender<Event>) {
    let mut signals = match signal_hook::iterator::Signals::new(LEAVING_SIGNALS) {
        Ok(signals) => signals,
        // Without the handler a signal kills kernlings as before: nothing better to do.
        Err(_) => return,
    };
    std::thread::spawn(move || {
        for sig in signals.forever() {
            if tx.send(Event::Signal(sig)).is_err() {
                return;
            }
        }
    });
}

/// Starts reading the learner's input on a thread, sending `Event`s to `tx`.
pub fn start(tx: Sender<Event>) -> Screen {
    forward_signals(tx.clone());
    if std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal()
        && terminal::enable_raw_mode().is_ok()
    {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
        let mut out = std::io::stdout();
        let _ = out
            .queue(terminal::EnterAlternateScreen)
            .and_then(|o| o.queue(cursor::Hide))
            .and_then(|o| o.queue(terminal::DisableLineWrap));
        let _ = out.flush();
        std::thread::spawn(move || keys(tx));
        return Screen { raw: true };
    }
    println!("No terminal: line mode. Type n, h, d, l, r or q and press Enter.");
    std::thread::spawn(move || lines(tx));
    Screen { raw: false }
}

fn keys(tx: Sender<Event>) {
    while let Ok(event) = event::read() {
        let key = match event {
            TermEvent::Key(k) if k.kind != KeyEventKind::Release => match k.code {
                // Raw mode turns Ctrl-C into a key press: it quits like `q`.
                KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => Key::Interrupt,
                KeyCode::Char(c) => Key::Char(c),
                KeyCode::Up => Key::Up,
                KeyCode::Down => Key::Down,
                KeyCode::Enter => Key::Enter,
                KeyCode::Esc => Key::Esc,
                _ => continue,
            },
            TermEvent::Resize(..) => {
                if tx.send(Event::Resized).is_err() {
                    return;
                }
                continue;
            }
            _ => continue,
        };
        if tx.send(Event::Key(key)).is_err() {
            return;
        }
    }
    let _ = tx.send(Event::InputClosed);
}

fn lines(tx: Sender<Event>) {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let key = match line.trim().chars().next() {
            Some(c) => Key::Char(c),
            None => Key::Enter,
        };
        if tx.send(Event::Key(key)).is_err() {
            return;
        }
    }
    let _ = tx.send(Event::InputClosed);
}
