//! Splitting PTX text into statements of tokens.

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// Identifiers, opcodes with their dotted modifiers, directives, registers, labels.
    Word(String),
    Int(i64),
    /// `0f...` / `0d...` literals, as raw bits.
    F32(u32),
    F64(u64),
    Str(String),
    Punct(char),
}

/// One statement: the tokens up to `;`, a label, a brace, or a line directive.
#[derive(Debug, Clone)]
pub struct Stmt {
    pub toks: Vec<Tok>,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '%' | '$')
}

/// Directives that end at the end of their line instead of a semicolon.
const LINE_DIRECTIVES: &[&str] = &[
    ".loc",
    ".file",
    ".version",
    ".target",
    ".address_size",
    ".section",
];

pub fn statements(src: &str) -> Result<Vec<Stmt>, String> {
    let mut out = Vec::new();
    let mut cur: Vec<Tok> = Vec::new();
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut line_directive = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            if line_directive {
                out.push(Stmt {
                    toks: std::mem::take(&mut cur),
                });
                line_directive = false;
            }
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
            continue;
        }
        if c == '"' {
            let start = i + 1;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += 1;
            }
            cur.push(Tok::Str(chars[start..i.min(chars.len())].iter().collect()));
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            cur.push(number(&text)?);
            continue;
        }
        if is_word_char(c) {
            let start = i;
            while i < chars.len()
                && (is_word_char(chars[i]) || (chars[i] == ':' && chars.get(i + 1) == Some(&':')))
            {
                i += if chars[i] == ':' { 2 } else { 1 };
            }
            let w: String = chars[start..i].iter().collect();
            if cur.is_empty() && LINE_DIRECTIVES.contains(&w.as_str()) {
                line_directive = true;
            }
            // A label ends its statement.
            if cur.is_empty() && chars.get(i) == Some(&':') {
                out.push(Stmt {
                    toks: vec![Tok::Word(w), Tok::Punct(':')],
                });
                i += 1;
                continue;
            }
            cur.push(Tok::Word(w));
            continue;
        }
        match c {
            ';' => {
                out.push(Stmt {
                    toks: std::mem::take(&mut cur),
                });
            }
            '{' | '}'
                if !line_directive
                    && (cur.is_empty()
                        || (c == '{' && is_header(&cur))
                        || (c == '}' && !in_initializer(&cur))) =>
            {
                if !cur.is_empty() {
                    out.push(Stmt {
                        toks: std::mem::take(&mut cur),
                    });
                }
                out.push(Stmt {
                    toks: vec![Tok::Punct(c)],
                });
            }
            _ => cur.push(Tok::Punct(c)),
        }
        i += 1;
    }
    if !cur.is_empty() {
        out.push(Stmt { toks: cur });
    }
    Ok(out)
}

/// A function header (`.entry name(...)`) runs up to its body's brace without a semicolon.
fn is_header(cur: &[Tok]) -> bool {
    let header = cur
        .iter()
        .any(|t| matches!(t, Tok::Word(w) if w == ".entry" || w == ".func"));
    header && !cur.contains(&Tok::Punct('='))
}

/// Inside `= { ... }` or an instruction's vector operand `{%r1, %r2}`, braces are tokens.
fn in_initializer(cur: &[Tok]) -> bool {
    let opens = cur.iter().filter(|t| **t == Tok::Punct('{')).count();
    let closes = cur.iter().filter(|t| **t == Tok::Punct('}')).count();
    opens > closes
}

fn number(text: &str) -> Result<Tok, String> {
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let bad = || format!("bad number `{text}`");
    if let Some(h) = body.strip_prefix("0f").or_else(|| body.strip_prefix("0F")) {
        let bits = u32::from_str_radix(h, 16).map_err(|_| bad())?;
        return Ok(Tok::F32(if neg { bits ^ 0x8000_0000 } else { bits }));
    }
    if let Some(h) = body.strip_prefix("0d").or_else(|| body.strip_prefix("0D")) {
        let bits = u64::from_str_radix(h, 16).map_err(|_| bad())?;
        return Ok(Tok::F64(if neg { bits ^ (1 << 63) } else { bits }));
    }
    let body = body.trim_end_matches(['U', 'u']);
    let v: u64 = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).map_err(|_| bad())?
    } else if body.len() > 1 && body.starts_with('0') && body.chars().all(|c| c.is_ascii_digit()) {
        u64::from_str_radix(&body[1..], 8).map_err(|_| bad())?
    } else {
        body.parse::<u64>().map_err(|_| bad())?
    };
    let v = v as i64;
    Ok(Tok::Int(if neg { v.wrapping_neg() } else { v }))
}
