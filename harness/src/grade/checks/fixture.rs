//! `fixture`: a check that needs no GPU, for the harness's own tests. It reads markers in the
//! graded file and acts them out, so integration tests drive the real child process and
//! watchdog on fixture curricula: the first marker in the file decides.

use std::path::Path;

use anyhow::Context;

use crate::outcome::Correctness;

pub const NAME: &str = "fixture";

/// What a marker asks the check to do.
#[derive(Debug, PartialEq, Eq)]
enum Marker {
    Pass,
    /// A compile error at this 1-based line.
    CompileError(usize),
    Crash,
    Hang,
}

const MARKERS: [&str; 4] = [
    "FIXTURE_PASS",
    "FIXTURE_COMPILE_ERROR",
    "FIXTURE_CRASH",
    "FIXTURE_HANG",
];

fn first_marker(text: &str) -> Option<Marker> {
    let (at, name) = MARKERS
        .iter()
        .filter_map(|m| Some((text.find(m)?, *m)))
        .min()?;
    Some(match name {
        "FIXTURE_PASS" => Marker::Pass,
        "FIXTURE_COMPILE_ERROR" => Marker::CompileError(text[..at].matches('\n').count() + 1),
        "FIXTURE_CRASH" => Marker::Crash,
        _ => Marker::Hang,
    })
}

/// Grades `source` by its markers. A crash aborts this (child) process the way a kernel fault
/// kills it; a hang never returns, so the parent's watchdog has to end it.
pub fn check(source: &Path) -> anyhow::Result<Correctness> {
    let text = std::fs::read_to_string(source)
        .with_context(|| format!("cannot read {}", source.display()))?;
    Ok(match first_marker(&text) {
        Some(Marker::Pass) => Correctness::Passed { cases: vec!["fixture: FIXTURE_PASS found".into()] },
        Some(Marker::CompileError(line)) => Correctness::CompileError {
            message: format!("{}:{line}: error: FIXTURE_COMPILE_ERROR asks for a compile error here", source.display()),
        },
        Some(Marker::Crash) => std::process::abort(),
        Some(Marker::Hang) => loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        },
        None => Correctness::Failed {
            summary: "wrong values: 3 of 33 elements differ (fixture)".into(),
            details: "index  expected  got\n    0      1.50  0.00\n    1      2.25  0.00\n    2     -0.75  0.00".into(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_marker_decides() {
        assert_eq!(
            first_marker("a\nb FIXTURE_COMPILE_ERROR\nFIXTURE_PASS"),
            Some(Marker::CompileError(2))
        );
        assert_eq!(
            first_marker("FIXTURE_PASS FIXTURE_HANG"),
            Some(Marker::Pass)
        );
        assert_eq!(first_marker("x FIXTURE_CRASH"), Some(Marker::Crash));
        assert_eq!(first_marker("// TODO"), None);
    }

    #[test]
    fn no_marker_means_wrong_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.cu");
        std::fs::write(&path, "// TODO\n").unwrap();
        let c = check(&path).unwrap();
        assert!(
            matches!(c, Correctness::Failed { ref summary, .. } if summary.starts_with("wrong values")),
            "{c:?}"
        );
        std::fs::write(&path, "\n\nFIXTURE_COMPILE_ERROR\n").unwrap();
        let Correctness::CompileError { message } = check(&path).unwrap() else {
            panic!()
        };
        assert!(
            message.contains(&format!("{}:3: error", path.display())),
            "{message}"
        );
    }
}
