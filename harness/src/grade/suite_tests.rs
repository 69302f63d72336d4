//! Grades module 01 end to end through the real child process: every solution passes, every
//! untouched stub fails, every known-wrong version fails with the words its first line
//! expects. It needs a backend (a GPU, or the CPU driver) and the `kernlings` binary next to
//! the test executable (`cargo build` first); without them it says so and passes.
//!
//! `KERNLINGS_ROOT` points at a repository copy (default: this one), `KERNLINGS_PREBUILT` at
//! prebuilt Rust graders, `KERNLINGS_TEST_SPEED=1` also measures speed on a GPU.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{grade, GradeRequest};
use crate::curriculum::{Curriculum, Exercise};
use crate::outcome::{Correctness, Outcome};
use crate::toolchain::{self, BackendChoice};

const MODULE: &str = "01_basics";

fn root() -> PathBuf {
    std::env::var_os("KERNLINGS_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}

fn backend_ready() -> bool {
    if let Err(e) = toolchain::prepare_child(BackendChoice::Auto) {
        eprintln!("SKIPPED: no backend to grade on: {e:#}");
        return false;
    }
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("kernlings"));
    if !bin.is_some_and(|b| b.is_file()) {
        eprintln!("SKIPPED: no kernlings binary next to the tests: run `cargo build` first");
        return false;
    }
    true
}

fn attempt(ex: &Exercise, source: &Path, speed: bool, timeout: u64) -> anyhow::Result<Outcome> {
    grade(&GradeRequest {
        root: root(),
        exercise: ex.clone(),
        source: source.to_path_buf(),
        seed: None,
        speed,
        backend: BackendChoice::Auto,
        timeout: Duration::from_secs(timeout),
        prebuilt: std::env::var_os("KERNLINGS_PREBUILT").map(PathBuf::from),
    })
}

fn message(o: &Outcome) -> String {
    match &o.correctness {
        Correctness::Passed { cases } => cases.join("\n"),
        Correctness::CompileError { message } => message.clone(),
        Correctness::Failed { summary, details } => format!("{summary}\n{details}"),
    }
}

fn first_line_summary(o: &Outcome) -> String {
    let speed = o.speed.as_ref().map_or(String::new(), |s| {
        format!(
            " | speed {:.3} (bar {}) {} vs {}: learner {:.1} us, baseline {:.1} us, {:.0}% of limit",
            s.ratio, s.bar, s.achieved, s.baseline, s.learner.median_us, s.baseline_timing.median_us, s.percent_of_limit
        )
    });
    let verdict = match &o.correctness {
        Correctness::Passed { .. } if o.passed() => "PASS".to_string(),
        Correctness::Passed { .. } => "SLOW".to_string(),
        Correctness::CompileError { .. } => "COMPILE ERROR".to_string(),
        Correctness::Failed { summary, .. } => format!("FAIL: {summary}"),
    };
    format!(
        "{verdict}{speed} [{} {}, seed {}]",
        o.backend.kind, o.backend.device, o.seed
    )
}

#[test]
fn module_01_solutions_pass_and_stubs_and_known_wrong_fail() {
    if !backend_ready() {
        return;
    }
    let root = root();
    let text = std::fs::read_to_string(root.join("curriculum.toml")).unwrap();
    let curriculum: Curriculum = toml::from_str(&text).unwrap();
    let speed = std::env::var_os("KERNLINGS_TEST_SPEED").is_some();
    let mut problems = Vec::new();
    for ex in curriculum.exercises.iter().filter(|e| e.module == MODULE) {
        let solution = root.join("solutions").join(&ex.file);
        let o = attempt(ex, &solution, speed, 60).unwrap();
        println!("{:<14} solution       {}", ex.name, first_line_summary(&o));
        if !o.passed() {
            problems.push(format!(
                "{}: the solution must pass:\n{}",
                ex.name,
                message(&o)
            ));
        }
        let stub = root.join("exercises").join(&ex.file);
        let o = attempt(ex, &stub, false, 20).unwrap();
        println!("{:<14} stub           {}", ex.name, first_line_summary(&o));
        if o.correctness.passed() {
            problems.push(format!("{}: the untouched stub must fail", ex.name));
        }
        let mut wrong: Vec<PathBuf> = std::fs::read_dir(root.join("harness/wrong").join(&ex.name))
            .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
            .unwrap_or_default();
        wrong.sort();
        for file in wrong {
            let text = std::fs::read_to_string(&file).unwrap();
            let expect = text
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("// expect: "))
                .unwrap_or_else(|| {
                    panic!(
                        "{}: the first line must be `// expect: <words>`",
                        file.display()
                    )
                });
            let o = attempt(ex, &file, false, 10).unwrap();
            let case = file.file_stem().unwrap().to_string_lossy();
            println!("{:<14} {case:<14} {}", ex.name, first_line_summary(&o));
            let msg = message(&o);
            if o.correctness.passed() || !msg.contains(expect.trim()) {
                problems.push(format!(
                    "{}/{case}: expected a failure containing `{expect}`, got:\n{msg}",
                    ex.name
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n\n"));
}

/// Builds every `.rs` grader (stubs, solutions, known-wrong) into `KERNLINGS_GRADERS_OUT`
/// (default target/kernlings-graders/prebuilt), as `kernlings build-graders` will, and checks
/// that a learner's compile error names the learner's file. Slow the first time (it builds
/// cudarc in release): `cargo test -- --ignored rust_graders`.
#[test]
#[ignore]
fn rust_graders_build_and_report_compile_errors() {
    let root = root();
    let text = std::fs::read_to_string(root.join("curriculum.toml")).unwrap();
    let curriculum: Curriculum = toml::from_str(&text).unwrap();
    let out = std::env::var_os("KERNLINGS_GRADERS_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/kernlings-graders/prebuilt"));
    let built = super::build_graders(&root, &curriculum, &out).unwrap();
    println!(
        "built graders for {} files into {}",
        built.len(),
        out.display()
    );
    assert!(out.join("solutions_01_basics_host_launch_rs").is_file());
    assert!(out.join("exercises_01_basics_host_launch_rs").is_file());

    let ex = curriculum
        .exercises
        .iter()
        .find(|e| e.name == "host_launch")
        .unwrap();
    let broken = root.join("target/kernlings-graders/broken_host_launch.rs");
    let solution = std::fs::read_to_string(root.join("solutions").join(&ex.file)).unwrap();
    std::fs::write(
        &broken,
        solution.replace("let n = x.len();", "let n = x.len()"),
    )
    .unwrap();
    let request = GradeRequest {
        root: root.clone(),
        exercise: ex.clone(),
        source: broken.clone(),
        seed: Some(1),
        speed: false,
        backend: BackendChoice::Auto,
        timeout: Duration::from_secs(10),
        prebuilt: None,
    };
    let message = super::rust_exercise::grader_for(&request)
        .unwrap()
        .unwrap_err();
    println!("{message}");
    assert!(
        message.contains("target/kernlings-graders/broken_host_launch.rs:"),
        "{message}"
    );
    assert!(message.contains("expected `;`"), "{message}");
}
