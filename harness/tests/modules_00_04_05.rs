//! Modules 04 (reduction) and 05 (scan, histogram) — and, on request, 00 (CPU warm-up) —
//! graded end to end by the real binary:
//! `kernlings check-solutions` must find every solution passing, every untouched stub failing
//! and every known-wrong kernel failing with the words its first line expects. Runs on the
//! GPU or the CPU backend, whichever `--backend auto` finds; says so and passes when neither
//! can grade here.

use std::path::Path;
use std::process::Command;

fn check_module(module: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO_BIN_EXE_kernlings"))
        .args([
            "check-solutions",
            "--no-speed",
            "--json",
            "--module",
            module,
            "--root",
        ])
        .arg(&root)
        .output()
        .expect("running kernlings check-solutions");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    let rows = report["rows"].as_array().expect("a rows array");
    assert!(!rows.is_empty(), "no exercises in module {module}");
    let verdict = |r: &serde_json::Value| r["verdict"].as_str().unwrap_or("").to_string();
    if rows
        .iter()
        .all(|r| verdict(r).contains("could not grade it"))
    {
        eprintln!(
            "SKIPPED {module}: no backend to grade on: {}",
            verdict(&rows[0])
        );
        return;
    }
    let bad: Vec<String> = rows
        .iter()
        .filter(|r| r["ok"] != true)
        .map(|r| format!("{} {}: {}", r["exercise"], r["what"], verdict(r)))
        .collect();
    assert!(bad.is_empty(), "module {module}:\n{}", bad.join("\n"));
    assert!(
        report["lint"].as_array().is_some_and(|l| l.is_empty()),
        "{}",
        report["lint"]
    );
}

#[test]
fn module_04_reduction() {
    check_module("04_reduction");
}

#[test]
fn module_05_scan_histogram() {
    check_module("05_scan_histogram");
}

/// Builds a grader binary per `.rs` file in release mode (cudarc included the first time):
/// minutes, so only on request: `cargo test --test modules_00_04_05 -- --ignored`.
#[test]
#[ignore]
fn module_00_cpu_warmup() {
    check_module("00_cpu_warmup");
}
