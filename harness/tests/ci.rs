//! CI runs exactly the test command the README gives (issue 9): `.ci/run`'s command is the
//! one in the README's set-up section, word for word.

use std::path::Path;

#[test]
fn ci_runs_the_readmes_test_command() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let ci = std::fs::read_to_string(repo.join(".ci/run")).unwrap();
    let after = readme
        .split("exactly what CI runs (`.ci/run`)")
        .nth(1)
        .expect("the README names the test command CI runs");
    let command = after
        .lines()
        .skip_while(|l| !l.starts_with("```"))
        .nth(1)
        .expect("a code block after that sentence");
    let last = ci
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .expect(".ci/run is empty");
    assert_eq!(last, command);
    assert!(command.contains("cargo test --workspace"), "{command}");
}
