//! Modules 02 and 03 end to end through the real grading child: every solution passes,
//! every untouched stub fails, every known-wrong version fails with the words its first line
//! expects (on the CPU backend: the driver's race, barrier and counter findings included).
//! Needs a backend and the `kernlings` binary next to the test executable (`cargo build`
//! first); without them it says SKIPPED and passes, like the module-01 suite.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::curriculum::{Curriculum, Exercise};
use crate::grade::{grade, GradeRequest};
use crate::outcome::{Correctness, Outcome};
use crate::toolchain::{self, BackendChoice};

#[test]
fn module_02_solutions_pass_and_stubs_and_known_wrong_fail() {
    grade_module("02_memory");
}

#[test]
fn module_03_solutions_pass_and_stubs_and_known_wrong_fail() {
    grade_module("03_matmul");
}

fn grade_module(module: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if let Err(e) = toolchain::prepare_child(BackendChoice::Auto) {
        eprintln!("SKIPPED: no backend to grade on: {e:#}");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    if !exe
        .parent()
        .and_then(Path::parent)
        .is_some_and(|d| d.join("kernlings").is_file())
    {
        eprintln!("SKIPPED: no kernlings binary next to the tests: run `cargo build` first");
        return;
    }
    let text = std::fs::read_to_string(root.join("curriculum.toml")).unwrap();
    let curriculum: Curriculum = toml::from_str(&text).unwrap();
    let mut problems = Vec::new();
    for ex in curriculum.exercises.iter().filter(|e| e.module == module) {
        let o = attempt(&root, ex, &root.join("solutions").join(&ex.file));
        if !o.passed() {
            problems.push(format!(
                "{}: the solution must pass:\n{}",
                ex.name,
                message(&o)
            ));
        }
        let o = attempt(&root, ex, &root.join("exercises").join(&ex.file));
        if o.correctness.passed() {
            problems.push(format!("{}: the untouched stub must fail", ex.name));
        }
        let dir = root.join("harness/wrong").join(&ex.name);
        let mut wrong: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        wrong.sort();
        assert!(
            wrong.len() >= 2,
            "{}: at least two known-wrong versions",
            ex.name
        );
        for file in wrong {
            let text = std::fs::read_to_string(&file).unwrap();
            let expect = text
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("// expect: "));
            let expect =
                expect.unwrap_or_else(|| panic!("{}: no `// expect:` line", file.display()));
            let o = attempt(&root, ex, &file);
            let msg = message(&o);
            if o.correctness.passed() || !msg.contains(expect.trim()) {
                problems.push(format!(
                    "{}: expected a failure containing `{expect}`, got:\n{msg}",
                    file.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n\n"));
}

fn attempt(root: &Path, ex: &Exercise, source: &Path) -> Outcome {
    grade(&GradeRequest {
        root: root.to_path_buf(),
        exercise: ex.clone(),
        source: source.to_path_buf(),
        seed: None,
        speed: false,
        backend: BackendChoice::Auto,
        timeout: Duration::from_secs(60),
        prebuilt: None,
    })
    .unwrap()
}

fn message(o: &Outcome) -> String {
    match &o.correctness {
        Correctness::Passed { cases } => cases.join("\n"),
        Correctness::CompileError { message } => message.clone(),
        Correctness::Failed { summary, details } => format!("{summary}\n{details}"),
    }
}
