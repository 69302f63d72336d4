//! The learner's side of watch: single keys in raw mode on a terminal, or lines on stdin when
//! there is none (a pipe, an editor's task runner, CI). `Screen` draws for either.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::mpsc::Sender;

use crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::{cursor, terminal, ExecutableCommand};

use super::{Event, Key};

/// Owns the terminal while watch runs; dropping it restores cooked mode.
pub struct Screen {
    raw: bool,
}

impl Drop for Screen {
    fn drop(&mut self) {
        if self.raw {
            let _ = terminal::disable_raw_mode();
            let _ = std::io::stdout().execute(cursor::Show);
        }
    }
}

impl Screen {
    /// Redraws everything: a cleared screen on a terminal, a separated block in line mode.
    pub fn show(&mut self, text: &str) {
        let mut out = std::io::stdout().lock();
        if self.raw {
            let _ = out.execute(terminal::Clear(terminal::ClearType::All));
            let _ = out.execute(cursor::MoveTo(0, 0));
            // Raw mode does not turn \n into \r\n.
            let _ = out.write_all(text.replace('\n', "\r\n").as_bytes());
        } else {
            let _ = writeln!(out, "----");
            let _ = out.write_all(text.as_bytes());
        }
        let _ = out.flush();
    }
}

/// Starts reading the learner's input on a thread, sending `Event::Key`s to `tx`.
pub fn start(tx: Sender<Event>) -> Screen {
    if std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal()
        && terminal::enable_raw_mode().is_ok()
    {
        std::thread::spawn(move || keys(tx));
        return Screen { raw: true };
    }
    println!("No terminal: line mode. Type n, h, l, r or q and press Enter.");
    std::thread::spawn(move || lines(tx));
    Screen { raw: false }
}

fn keys(tx: Sender<Event>) {
    while let Ok(event) = event::read() {
        let TermEvent::Key(k) = event else { continue };
        if k.kind == KeyEventKind::Release {
            continue;
        }
        // Raw mode turns Ctrl-C into a key press: it quits like `q`, restoring the terminal.
        let key = match k.code {
            KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => Some(Key::Quit),
            KeyCode::Esc => Some(Key::Quit),
            KeyCode::Char(c) => Key::from_char(c),
            _ => None,
        };
        if let Some(key) = key {
            if tx.send(Event::Key(key)).is_err() {
                return;
            }
        }
    }
    let _ = tx.send(Event::InputClosed);
}

fn lines(tx: Sender<Event>) {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if let Some(key) = line.trim().chars().next().and_then(Key::from_char) {
            if tx.send(Event::Key(key)).is_err() {
                return;
            }
        }
    }
    let _ = tx.send(Event::InputClosed);
}
