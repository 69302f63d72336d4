//! Comparing an output with the CPU reference, element by element, and saying what is wrong
//! in words a learner can act on: which ranges were never written, a table of the first
//! mismatches, the largest error.

use std::fmt::Write;

use super::element::Element;
use crate::curriculum::Tolerance;

/// A wrong answer from the learner's code: one sentence, then details ready to print.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub summary: String,
    pub details: String,
}

impl Failure {
    pub fn new(summary: impl Into<String>, details: impl Into<String>) -> Self {
        Failure {
            summary: summary.into(),
            details: details.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.summary)
    }
}

impl std::error::Error for Failure {}

/// How a buffer's elements are addressed in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `C[17]`
    Linear,
    /// Row-major, `gray(row 3, col 17)`.
    Grid { rows: usize, cols: usize },
}

/// Mismatch rows shown in a failure table.
const TABLE_ROWS: usize = 8;
/// Never-written ranges named one by one.
const RANGES_SHOWN: usize = 4;

/// Compare `got` with `want`: exact for integers, `|got - want| <= atol + rtol * |want|` for
/// floats. `Ok` carries the line a passing case prints.
pub fn compare<T: Element>(
    name: &str,
    shape: Shape,
    got: &[T],
    want: &[T],
    tol: Tolerance,
) -> Result<String, Failure> {
    let rule = format!(
        "tolerance: |got - expected| <= {:e} + {:e} * |expected|",
        tol.atol, tol.rtol
    );
    compare_bounded(
        name,
        shape,
        got,
        want,
        |i| tol.atol + tol.rtol * want[i].to_f64().abs(),
        &rule,
    )
}

/// `compare` with a bound of its own for each float element (`bound(i)`), explained by `rule`.
pub fn compare_bounded<T: Element>(
    name: &str,
    shape: Shape,
    got: &[T],
    want: &[T],
    bound: impl Fn(usize) -> f64,
    rule: &str,
) -> Result<String, Failure> {
    assert_eq!(
        got.len(),
        want.len(),
        "{name}: output and reference differ in length"
    );
    let n = want.len();
    let ok = |i: usize| {
        let (g, w) = (got[i], want[i]);
        if T::EXACT {
            return g.bits() == w.bits();
        }
        let (g, w) = (g.to_f64(), w.to_f64());
        (g.is_nan() && w.is_nan()) || (g - w).abs() <= bound(i)
    };
    let wrong: Vec<usize> = (0..n).filter(|&i| !ok(i)).collect();
    if wrong.is_empty() {
        return Ok(format!("{name}: all {n} elements match"));
    }
    let unwritten: Vec<usize> = wrong
        .iter()
        .copied()
        .filter(|&i| got[i].is_poison())
        .collect();

    let summary = if !unwritten.is_empty() {
        format!(
            "{} of {n} elements of {name} were never written",
            unwritten.len()
        )
    } else if wrong.len() == n {
        format!("every element of {name} is wrong ({n} of {n})")
    } else {
        format!("{} of {n} elements of {name} are wrong", wrong.len())
    };

    let mut details = String::new();
    if !unwritten.is_empty() {
        details += &describe_unwritten(name, shape, n, &unwritten);
        details += "\n";
    }
    details += &mismatch_table(name, shape, got, want, &wrong);
    if let Some(line) = max_error_line(name, shape, got, want, &wrong) {
        details += &line;
    }
    if !T::EXACT {
        let _ = writeln!(details, "{rule}");
    }
    Err(Failure { summary, details })
}

/// `C[1000..1023] was never written — does your grid cover all 1024 elements?`, with
/// inclusive ranges; for a grid, a rectangle when the unwritten cells form one.
pub fn describe_unwritten(name: &str, shape: Shape, n: usize, unwritten: &[usize]) -> String {
    let cover = match shape {
        Shape::Linear => format!("does your grid cover all {n} elements?"),
        Shape::Grid { rows, cols } => {
            format!("does your grid cover all {rows} rows x {cols} columns?")
        }
    };
    if let Shape::Grid { cols, .. } = shape {
        if let Some((r0, r1, c0, c1)) = rectangle(unwritten, cols) {
            return format!(
                "{name} rows {r0}..{r1}, columns {c0}..{c1} were never written — {cover}\n"
            );
        }
    }
    let ranges = runs(unwritten);
    let mut text = String::new();
    for (k, &(a, b)) in ranges.iter().take(RANGES_SHOWN).enumerate() {
        let what = match (a == b, shape) {
            (true, _) => format!("{} was", at(name, shape, a)),
            (false, Shape::Linear) => format!("{name}[{a}..{b}] were"),
            (false, Shape::Grid { .. }) => {
                format!("{}..{} were", at(name, shape, a), locate(shape, b))
            }
        };
        let ask = if k == 0 {
            format!(" — {cover}")
        } else {
            String::new()
        };
        let _ = writeln!(text, "{what} never written{ask}");
    }
    if ranges.len() > RANGES_SHOWN {
        let _ = writeln!(text, "(and {} more ranges)", ranges.len() - RANGES_SHOWN);
    }
    text
}

/// Sorted indices to inclusive runs of consecutive ones.
pub fn runs(sorted: &[usize]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &i in sorted {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == i => *end = i,
            _ => out.push((i, i)),
        }
    }
    out
}

/// The bounding box of `cells` (row-major indices), if they fill it exactly.
fn rectangle(cells: &[usize], cols: usize) -> Option<(usize, usize, usize, usize)> {
    let rows = cells.iter().map(|i| i / cols);
    let cs = cells.iter().map(|i| i % cols);
    let (r0, r1) = (rows.clone().min()?, rows.max()?);
    let (c0, c1) = (cs.clone().min()?, cs.max()?);
    ((r1 - r0 + 1) * (c1 - c0 + 1) == cells.len()).then_some((r0, r1, c0, c1))
}

/// `[17]` or `(row 3, col 17)`: where element `i` sits, for messages.
pub fn locate(shape: Shape, i: usize) -> String {
    match shape {
        Shape::Linear => format!("[{i}]"),
        Shape::Grid { cols, .. } => format!("(row {}, col {})", i / cols, i % cols),
    }
}

fn at(name: &str, shape: Shape, i: usize) -> String {
    format!("{name}{}", locate(shape, i))
}

fn mismatch_table<T: Element>(
    name: &str,
    shape: Shape,
    got: &[T],
    want: &[T],
    wrong: &[usize],
) -> String {
    let header = match shape {
        Shape::Linear => "index",
        Shape::Grid { .. } => "(row, col)",
    };
    let mut t = format!(
        "first mismatches in {name}:\n{header:>14} {:>16} {:>16}\n",
        "expected", "got"
    );
    for &i in wrong.iter().take(TABLE_ROWS) {
        let pos = match shape {
            Shape::Linear => i.to_string(),
            Shape::Grid { cols, .. } => format!("({}, {})", i / cols, i % cols),
        };
        let g = if got[i].is_poison() {
            "never written".to_string()
        } else {
            got[i].show()
        };
        let _ = writeln!(t, "{pos:>14} {:>16} {g:>16}", want[i].show());
    }
    if wrong.len() > TABLE_ROWS {
        let _ = writeln!(t, "{:>14} ({} more)", "...", wrong.len() - TABLE_ROWS);
    }
    t
}

/// The largest error among the written elements, with where it is.
fn max_error_line<T: Element>(
    name: &str,
    shape: Shape,
    got: &[T],
    want: &[T],
    wrong: &[usize],
) -> Option<String> {
    let written = wrong.iter().copied().filter(|&i| !got[i].is_poison());
    let (i, err) = written
        .map(|i| (i, (got[i].to_f64() - want[i].to_f64()).abs()))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    Some(format!(
        "max error {} at {} (expected {}, got {})\n",
        if err.is_nan() {
            "NaN".to_string()
        } else {
            format!("{err:.3e}")
        },
        at(name, shape, i),
        want[i].show(),
        got[i].show()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: Tolerance = Tolerance {
        rtol: 1e-5,
        atol: 0.0,
    };

    #[test]
    fn within_tolerance_passes_and_just_outside_fails() {
        let want = [100.0f32, -2.0, 3.5];
        let close = [100.0009f32, -2.00001, 3.5];
        assert!(compare("C", Shape::Linear, &close, &want, TOL).is_ok());
        let off = [100.0f32, -2.0, 3.5001];
        let f = compare("C", Shape::Linear, &off, &want, TOL).unwrap_err();
        assert_eq!(f.summary, "1 of 3 elements of C are wrong");
        assert!(f.details.contains("C[2]"), "{}", f.details);
    }

    #[test]
    fn atol_covers_values_near_zero() {
        let tol = Tolerance {
            rtol: 1e-5,
            atol: 1e-6,
        };
        assert!(compare("C", Shape::Linear, &[5e-7f32], &[0.0], tol).is_ok());
        assert!(compare("C", Shape::Linear, &[5e-6f32], &[0.0], tol).is_err());
    }

    #[test]
    fn integers_are_exact() {
        assert!(compare("h", Shape::Linear, &[1i32, 2], &[1, 2], TOL).is_ok());
        let f = compare("h", Shape::Linear, &[1i32, 3], &[1, 2], TOL).unwrap_err();
        assert!(!f.details.contains("tolerance"), "{}", f.details);
    }

    #[test]
    fn computed_nan_is_wrong_not_unwritten() {
        let f = compare("C", Shape::Linear, &[f32::NAN, 1.0], &[1.0, 1.0], TOL).unwrap_err();
        assert_eq!(f.summary, "1 of 2 elements of C are wrong");
        assert!(f.details.contains("NaN"));
        assert!(!f.details.contains("never written"));
    }

    #[test]
    fn unwritten_tail_is_named_as_a_range() {
        let want: Vec<f32> = (0..1024).map(|i| i as f32 + 0.5).collect();
        let mut got = want.clone();
        got[1000..].fill(f32::POISON);
        let f = compare("C", Shape::Linear, &got, &want, TOL).unwrap_err();
        assert_eq!(f.summary, "24 of 1024 elements of C were never written");
        assert!(
            f.details.contains(
                "C[1000..1023] were never written — does your grid cover all 1024 elements?"
            ),
            "{}",
            f.details
        );
        assert!(
            !f.details.contains("max error"),
            "no written element is wrong"
        );
    }

    #[test]
    fn several_ranges_and_single_elements() {
        assert_eq!(runs(&[1, 2, 3, 7, 9, 10]), vec![(1, 3), (7, 7), (9, 10)]);
        let text = describe_unwritten("C", Shape::Linear, 20, &[1, 2, 3, 7]);
        assert!(text.contains("C[1..3] were never written"), "{text}");
        assert!(text.contains("C[7] was never written\n"), "{text}");
        let many: Vec<usize> = (0..20).step_by(2).collect();
        assert!(describe_unwritten("C", Shape::Linear, 20, &many).contains("(and 6 more ranges)"));
    }

    #[test]
    fn unwritten_rectangle_in_a_grid() {
        let (rows, cols) = (5, 7);
        let cells: Vec<usize> = (0..rows * cols).filter(|i| i % cols >= 4).collect();
        let text = describe_unwritten("gray", Shape::Grid { rows, cols }, rows * cols, &cells);
        assert!(
            text.starts_with("gray rows 0..4, columns 4..6 were never written"),
            "{text}"
        );
    }

    #[test]
    fn everything_wrong_and_the_table() {
        let want: Vec<f32> = (0..20).map(|i| i as f32 + 1.0).collect();
        let got: Vec<f32> = want.iter().map(|x| x * 2.0).collect();
        let f = compare("C", Shape::Linear, &got, &want, TOL).unwrap_err();
        assert_eq!(f.summary, "every element of C is wrong (20 of 20)");
        let lines: Vec<&str> = f.details.lines().collect();
        assert_eq!(lines[0], "first mismatches in C:");
        assert!(lines[1].contains("index") && lines[1].contains("expected"));
        assert_eq!(
            lines[2].split_whitespace().collect::<Vec<_>>(),
            ["0", "1.000000", "2.000000"]
        );
        assert!(f.details.contains("(12 more)"));
        assert!(
            f.details.contains("max error 2.000e1 at C[19]"),
            "{}",
            f.details
        );
    }

    #[test]
    fn grid_positions_use_row_and_col() {
        let want = [1.0f32; 6];
        let mut got = want;
        got[4] = 9.0;
        let f = compare("gray", Shape::Grid { rows: 2, cols: 3 }, &got, &want, TOL).unwrap_err();
        assert!(f.details.contains("(1, 1)"), "{}", f.details);
        assert!(f.details.contains("gray(row 1, col 1)"), "{}", f.details);
    }
}
