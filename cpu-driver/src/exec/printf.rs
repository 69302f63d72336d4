//! Device-side `printf`: the format string and the argument buffer vprintf receives, turned
//! into text. Arguments are packed as C varargs: ints as 4 bytes (8 with `l`/`ll`), floats
//! promoted to double, pointers and strings as 8 bytes, each aligned to its size.

/// Formats `fmt`; `arg(offset, size)` reads an argument's bits, `string(ptr)` a C string.
pub fn format(
    fmt: &[u8],
    mut arg: impl FnMut(usize, usize) -> Option<u64>,
    mut string: impl FnMut(u64) -> String,
) -> String {
    let mut out = String::new();
    let mut off = 0usize;
    let mut i = 0;
    while i < fmt.len() {
        if fmt[i] != b'%' {
            let end = fmt[i..]
                .iter()
                .position(|&c| c == b'%')
                .map_or(fmt.len(), |p| i + p);
            out.push_str(&String::from_utf8_lossy(&fmt[i..end]));
            i = end;
            continue;
        }
        // %[flags][width][.precision][length]conversion
        let start = i;
        i += 1;
        while i < fmt.len() && b"-+ #0".contains(&fmt[i]) {
            i += 1;
        }
        let spec_start = i;
        while i < fmt.len() && (fmt[i].is_ascii_digit() || fmt[i] == b'.') {
            i += 1;
        }
        let spec = String::from_utf8_lossy(&fmt[spec_start..i]).into_owned();
        let (width, precision): (usize, Option<usize>) = match spec.split_once('.') {
            Some((w, p)) => (w.parse().unwrap_or(0), p.parse().ok()),
            None => (spec.parse().unwrap_or(0), None),
        };
        let mut long = false;
        while i < fmt.len() && b"hlLzjt".contains(&fmt[i]) {
            long |= fmt[i] == b'l' || fmt[i] == b'z' || fmt[i] == b'j';
            i += 1;
        }
        let Some(&conv) = fmt.get(i) else {
            out.push_str(&String::from_utf8_lossy(&fmt[start..]));
            break;
        };
        i += 1;
        let size = match conv {
            b'd' | b'i' | b'u' | b'x' | b'X' | b'o' | b'c' if !long => 4,
            b'%' => 0,
            _ => 8,
        };
        let mut next = || -> Option<u64> {
            off = off.div_ceil(size) * size;
            let v = arg(off, size);
            off += size;
            v
        };
        let left = fmt[start + 1..spec_start].contains(&b'-');
        let zero = fmt[start + 1..spec_start].contains(&b'0');
        let text = match conv {
            b'%' => "%".to_string(),
            b'd' | b'i' => match next() {
                Some(v) if size == 4 => (v as u32 as i32).to_string(),
                Some(v) => (v as i64).to_string(),
                None => break,
            },
            b'u' => match next() {
                Some(v) => v.to_string(),
                None => break,
            },
            b'x' => next().map(|v| format!("{v:x}")).unwrap_or_default(),
            b'X' => next().map(|v| format!("{v:X}")).unwrap_or_default(),
            b'o' => next().map(|v| format!("{v:o}")).unwrap_or_default(),
            b'c' => next()
                .map(|v| char::from(v as u8).to_string())
                .unwrap_or_default(),
            b'p' => next().map(|v| format!("{v:#x}")).unwrap_or_default(),
            b's' => next().map(&mut string).unwrap_or_default(),
            b'f' | b'F' | b'e' | b'E' | b'g' | b'G' => {
                let x = f64::from_bits(next().unwrap_or(0));
                let p = precision.unwrap_or(6);
                match conv {
                    b'e' | b'E' => format!("{x:.p$e}"),
                    b'g' | b'G' => format!("{x}"),
                    _ => format!("{x:.p$}"),
                }
            }
            other => format!("%{}", other as char),
        };
        let pad = width.saturating_sub(text.chars().count());
        if left {
            out.push_str(&text);
            out.push_str(&" ".repeat(pad));
        } else {
            out.push_str(&(if zero { "0" } else { " " }).repeat(pad));
            out.push_str(&text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_like_c() {
        let args: Vec<u8> = [
            7u32.to_le_bytes().to_vec(),
            0u32.to_le_bytes().to_vec(),
            2.5f64.to_bits().to_le_bytes().to_vec(),
        ]
        .concat();
        let arg = |off: usize, size: usize| {
            let mut b = [0u8; 8];
            b[..size].copy_from_slice(&args[off..off + size]);
            Some(u64::from_le_bytes(b))
        };
        let s = super::format(b"t=%d v=%5.2f %%\n", arg, |_| String::new());
        assert_eq!(s, "t=7 v= 2.50 %\n");
    }
}
