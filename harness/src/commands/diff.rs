//! `kernlings diff NAME`: what the learner changed in an exercise, against its original stub
//! (the copy kept in `.kernlings/originals/`, or git's `HEAD`; see reset.rs).

use std::process::ExitCode;

use anyhow::Context as _;
use similar::{ChangeTag, TextDiff};

use super::{reset, show, Course};
use crate::curriculum;

pub fn run(course: &Course, name: &str) -> anyhow::Result<ExitCode> {
    let ex = course.exercise(name)?;
    let path = curriculum::exercise_path(&course.root, ex);
    let shown = course.display_path(&path);
    let original = String::from_utf8_lossy(&reset::original(course, ex)?).into_owned();
    let current = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {shown} (`kernlings reset {name}` restores it)"))?;
    let diff = TextDiff::from_lines(&original, &current);
    let Some(counts) = summary(&original, &current) else {
        println!("{shown} is the original stub: nothing changed yet.");
        return Ok(ExitCode::SUCCESS);
    };
    println!("{shown}: {counts} against the original stub\n");
    let unified = diff
        .unified_diff()
        .context_radius(3)
        .header("original stub", &shown)
        .to_string();
    for line in unified.lines() {
        let colored = match line.as_bytes().first() {
            Some(b'+') if !line.starts_with("+++") => show::green(line),
            Some(b'-') if !line.starts_with("---") => show::red(line),
            Some(b'@') => show::dim(line),
            _ => line.to_string(),
        };
        println!("{colored}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `12 lines added, 3 removed`, or `None` when the texts are the same.
pub fn summary(original: &str, current: &str) -> Option<String> {
    let diff = TextDiff::from_lines(original, current);
    let (mut added, mut removed) = (0, 0);
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => added += 1,
            ChangeTag::Delete => removed += 1,
            ChangeTag::Equal => {}
        }
    }
    let lines = |n: usize| if n == 1 { "line" } else { "lines" };
    match (added, removed) {
        (0, 0) => None,
        (a, 0) => Some(format!("{a} {} added", lines(a))),
        (0, r) => Some(format!("{r} {} removed", lines(r))),
        (a, r) => Some(format!("{a} {} added, {r} removed", lines(a))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_count_lines() {
        assert_eq!(summary("a\nb\n", "a\nb\n"), None);
        assert_eq!(
            summary("a\n// TODO\nc\n", "a\nx = 1;\ny = 2;\nc\n").as_deref(),
            Some("2 lines added, 1 removed")
        );
        assert_eq!(summary("a\n", "a\nb\n").as_deref(), Some("1 line added"));
        assert_eq!(summary("a\nb\n", "a\n").as_deref(), Some("1 line removed"));
    }
}
