//! What watch draws, as a pure function of its state and the terminal size: a verdict on top,
//! the essentials under it, long output collapsed, and a footer (exercise, file, progress,
//! keys) that is always on screen. `Screen` paints the lines; tests read them.

use std::fmt::Write as _;

use crate::commands::show;
use crate::outcome::{Correctness, Outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Bold,
    Dim,
    Green,
    Red,
    Yellow,
    /// The selected row of the list.
    Reverse,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub text: String,
    pub style: Style,
    /// A `file://` URL: painted as an OSC 8 hyperlink on a terminal.
    pub link: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line {
    pub spans: Vec<Span>,
}

impl Line {
    pub fn new(style: Style, text: impl Into<String>) -> Line {
        Line::default().push(style, text)
    }

    pub fn push(mut self, style: Style, text: impl Into<String>) -> Line {
        self.spans.push(Span {
            text: text.into(),
            style,
            link: None,
        });
        self
    }

    pub fn link(mut self, style: Style, text: impl Into<String>, url: String) -> Line {
        self.spans.push(Span {
            text: text.into(),
            style,
            link: Some(url),
        });
        self
    }

    pub fn text(&self) -> String {
        self.spans.iter().map(|s| s.text.as_str()).collect()
    }

    /// Cut to `width` columns, ending in `…` when something was cut.
    pub fn truncate(mut self, width: usize) -> Line {
        let mut left = width;
        let mut kept = Vec::new();
        let total: usize = self.spans.iter().map(|s| s.text.chars().count()).sum();
        if total <= width {
            return self;
        }
        left = left.saturating_sub(1);
        for mut span in self.spans.drain(..) {
            let n = span.text.chars().count();
            if n <= left {
                left -= n;
                kept.push(span);
                continue;
            }
            span.text = span.text.chars().take(left).collect();
            kept.push(span);
            break;
        }
        Line { spans: kept }.push(Style::Dim, "…")
    }
}

/// Splits text (ANSI colours removed) into lines of at most `width` columns, one style,
/// breaking between words where it can and keeping each line's indentation.
pub fn wrap(style: Style, text: &str, width: usize) -> Vec<Line> {
    let width = width.max(8);
    let mut out = Vec::new();
    for raw in strip_ansi(text).lines() {
        let raw = raw.trim_end();
        let lead: String = raw.chars().take_while(|c| *c == ' ').collect();
        // A list item's later lines hang under its text.
        let hang = if raw[lead.len()..].starts_with("- ") {
            "  "
        } else {
            ""
        };
        let mut indent = lead.clone();
        let mut line = String::new();
        let mut len = 0;
        for word in raw[lead.len()..].split(' ') {
            let n = word.chars().count();
            if len > 0 && len + 1 + n > width {
                out.push(Line::new(style, std::mem::take(&mut line)));
                len = 0;
                indent = format!("{lead}{hang}");
            }
            if len == 0 {
                line.push_str(&indent);
                len = indent.len();
            } else {
                line.push(' ');
                len += 1;
            }
            // A word longer than the line is cut where the line ends.
            let mut chars = word.chars().peekable();
            while chars.peek().is_some() {
                if len >= width {
                    out.push(Line::new(style, std::mem::take(&mut line)));
                    len = 0;
                    indent = format!("{lead}{hang}");
                }
                line.push(chars.next().expect("peeked"));
                len += 1;
            }
        }
        out.push(Line::new(style, line));
    }
    out
}

/// Joins the hard-wrapped lines of prose (a module intro) into paragraphs and list items, so
/// `wrap` can fill them to the screen's width. A blank line or a `- ` item starts anew; an
/// indented line continues the item above it.
pub fn reflow(text: &str) -> String {
    let mut out = String::new();
    // What the previous line was: nothing to join to, a paragraph, or a list item.
    let (mut in_paragraph, mut in_item) = (false, false);
    for (i, line) in text.trim_end().lines().enumerate() {
        let line = line.trim_end();
        let item = line.starts_with("- ") || line.starts_with("* ");
        let indented = line.starts_with(' ');
        let joins =
            !line.is_empty() && !item && ((indented && in_item) || (!indented && in_paragraph));
        if joins {
            out.push(' ');
            out.push_str(line.trim_start());
        } else {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(line);
            in_item = item;
            in_paragraph = !line.is_empty() && !item && !indented;
        }
    }
    out
}

/// Removes CSI (`ESC [ ... letter`) and OSC (`ESC ] ... ESC \`) sequences: `show` colours its
/// text for the terminal, and watch re-styles it after wrapping.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The verdict of a graded attempt, in words and a style.
pub fn verdict(name: &str, o: &Outcome) -> (Style, String) {
    let (style, words) = match &o.correctness {
        Correctness::Passed { .. } if o.passed() => (Style::Green, format!("✓ {name} passed")),
        Correctness::Passed { .. } => (
            Style::Yellow,
            format!("✗ {name} is correct but not fast enough yet"),
        ),
        Correctness::CompileError { .. } => (Style::Red, format!("✗ {name} does not compile")),
        Correctness::Failed { summary, .. } => {
            let first = summary.lines().next().unwrap_or("").trim();
            (Style::Red, format!("✗ {name}: {first}"))
        }
    };
    (style, words)
}

/// The essentials under the verdict, collapsed: one line for the checks that passed, one for
/// the CPU counters, the speed verdict. Details (a failure's where-and-what, a compiler's
/// message) come separately, as they are the part that may be cut to fit.
pub fn essentials(o: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    if let Correctness::Passed { cases } = &o.correctness {
        out.push(format!(
            "✓ {} check{} passed (d lists them)",
            cases.len(),
            if cases.len() == 1 { "" } else { "s" }
        ));
    }
    if let Some(line) = show::speed_line(o) {
        out.push(strip_ansi(&line));
    }
    if !o.counters.is_empty() {
        let sum = |f: fn(&crate::outcome::LaunchCounters) -> u64| -> u64 {
            o.counters.iter().map(f).sum()
        };
        let mut line = format!(
            "CPU counters ({} launch{}): {} instructions, {} global sectors (minimum {}), {} bank \
             conflicts, {} divergent branches",
            o.counters.len(),
            if o.counters.len() == 1 { "" } else { "es" },
            sum(|c| c.instructions),
            sum(|c| c.global_sectors),
            sum(|c| c.global_sectors_min),
            sum(|c| c.shared_bank_conflicts),
            sum(|c| c.divergent_branches)
        );
        let _ = write!(line, " (d: per launch)");
        out.push(line);
    }
    out
}

/// The part of an outcome worth reading first when it failed.
pub fn failure_details(o: &Outcome) -> &str {
    match &o.correctness {
        Correctness::Passed { .. } => "",
        Correctness::CompileError { message } => message,
        Correctness::Failed { details, .. } => details,
    }
}

/// The parts of a screen, top to bottom. Only `flexible` is cut (and scrolled) to fit.
#[derive(Default)]
pub struct Parts {
    pub top: Vec<Line>,
    pub before: Vec<Line>,
    pub flexible: Vec<Line>,
    pub after: Vec<Line>,
    pub footer: Vec<Line>,
}

/// Puts together a screen of exactly `height` lines (when `height` is set): `top` always,
/// then `before`, as much of `flexible` as fits from `scroll` on, `after`, and the footer at
/// the bottom. What is cut is counted in a line of its own.
pub fn layout(width: usize, height: Option<usize>, parts: Parts, scroll: usize) -> Vec<Line> {
    let fit =
        |lines: Vec<Line>| -> Vec<Line> { lines.into_iter().map(|l| l.truncate(width)).collect() };
    let top = fit(parts.top);
    let before = fit(parts.before);
    let flexible = fit(parts.flexible);
    let after = fit(parts.after);
    let footer = fit(parts.footer);
    let Some(height) = height else {
        return [top, before, flexible, after, footer].concat();
    };
    let mut screen = top;
    let room = height.saturating_sub(screen.len() + footer.len());
    let scroll = scroll.min(flexible.len().saturating_sub(1));
    let mut body = before;
    let rest = &flexible[scroll.min(flexible.len())..];
    let space = room.saturating_sub(body.len() + after.len());
    if rest.len() <= space {
        body.extend_from_slice(rest);
    } else if space > 0 {
        body.extend_from_slice(&rest[..space - 1]);
        let hidden = rest.len() - (space - 1);
        body.push(Line::new(
            Style::Dim,
            format!("… {hidden} more line(s): j/k scroll, d shows every detail"),
        ));
    }
    body.extend(after);
    body.truncate(room);
    screen.extend(body);
    while screen.len() + footer.len() < height {
        screen.push(Line::default());
    }
    screen.extend(footer);
    screen.truncate(height);
    screen
}

/// `file:///abs/path`, with the bytes a URL cannot hold percent-encoded.
pub fn file_url(path: &std::path::Path) -> String {
    let mut url = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(b as char);
        } else {
            let _ = write!(url, "%{b:02X}");
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_and_wrapping_keep_the_width() {
        let line = Line::new(Style::Bold, "abcdef").push(Style::Dim, "ghij");
        assert_eq!(line.clone().truncate(10).text(), "abcdefghij");
        assert_eq!(line.truncate(8).text(), "abcdefg…");
        let lines = wrap(
            Style::Plain,
            "\x1b[31mabcdefghijk\x1b[0m\n\n  xy zw uv ab cd",
            8,
        );
        let texts: Vec<_> = lines.iter().map(Line::text).collect();
        assert_eq!(texts, ["abcdefgh", "ijk", "", "  xy zw", "  uv ab", "  cd"]);
        assert_eq!(
            reflow("one two\nthree\n\n- item\n  more\n- two\nnext\nline"),
            "one two three\n\n- item more\n- two\nnext line"
        );
        let item = wrap(Style::Plain, "- aaaa bbbb cccc", 10);
        let texts: Vec<_> = item.iter().map(Line::text).collect();
        assert_eq!(texts, ["- aaaa", "  bbbb", "  cccc"]);
        assert_eq!(strip_ansi("\x1b]8;;file:///a\x1b\\a\x1b]8;;\x1b\\"), "a");
    }

    #[test]
    fn layout_cuts_the_flexible_part_and_pins_the_footer() {
        let many = |n: usize, what: &str| -> Vec<Line> {
            (0..n)
                .map(|i| Line::new(Style::Plain, format!("{what} {i}")))
                .collect()
        };
        let parts = Parts {
            top: many(1, "top"),
            before: many(2, "fixed"),
            flexible: many(30, "flex"),
            after: many(1, "after"),
            footer: many(2, "foot"),
        };
        let screen = layout(20, Some(10), parts, 0);
        let texts: Vec<_> = screen.iter().map(Line::text).collect();
        assert_eq!(texts.len(), 10);
        assert_eq!(texts[0], "top 0");
        assert_eq!(texts[3], "flex 0");
        assert!(texts[6].starts_with("… 27 more"), "{texts:?}");
        assert_eq!(texts[7], "after 0");
        assert_eq!(&texts[8..], ["foot 0", "foot 1"]);
        assert_eq!(
            file_url(std::path::Path::new("/a b/ü.cu")),
            "file:///a%20b/%C3%BC.cu"
        );
    }
}
