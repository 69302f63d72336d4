//! The CPU driver's PTX fixtures against the recorded outputs (cpu-driver/tests/fixtures):
//! `kernlings dev parity run --check` on the CPU backend, with no NVRTC and no GPU. The
//! recording was made on an H200 (README, "The interpreter's parity fixtures"); a difference
//! means the interpreter does not compute what the hardware does. A ratchet: only the
//! differences listed in parity_known_differences.txt (each with its reason) are allowed, and
//! a listed one that no longer differs fails too, so the list only shrinks and stays true.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `kernlings dev parity run` on the CPU backend against `recording`, allowing `allowed`.
fn parity(recording: &Path, allowed: &Path) -> Output {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let fixtures = repo.join("cpu-driver/tests/fixtures");
    Command::new(env!("CARGO_BIN_EXE_kernlings"))
        .args(["dev", "parity", "run", "--backend", "cpu", "--fixtures"])
        .arg(fixtures.join("parity"))
        .arg("--check")
        .arg(recording)
        .arg("--allow")
        .arg(allowed)
        .arg("--root")
        .arg(&repo)
        // The fixtures are PTX already: nothing may need downloading.
        .env("KERNLINGS_OFFLINE", "1")
        .output()
        .unwrap()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cpu-driver/tests/fixtures")
}

#[test]
fn fixtures_match_the_recorded_gpu_outputs_but_the_known_differences() {
    let f = fixtures();
    let out = parity(
        &f.join("gpu_parity.txt"),
        &f.join("parity_known_differences.txt"),
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("match"), "{stdout}");
}

#[test]
fn a_known_difference_that_no_longer_differs_fails() {
    let f = fixtures();
    let known = std::fs::read_to_string(f.join("parity_known_differences.txt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("known.txt");
    std::fs::write(
        &file,
        format!("{known}int32/int32_ops add.s32 thread 0: stale on purpose\n"),
    )
    .unwrap();
    let out = parity(&f.join("gpu_parity.txt"), &file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("1 difference(s)"), "{stdout}");
    assert!(
        stdout
            .contains("int32/int32_ops add.s32 thread 0: listed as a known difference but matches"),
        "{stdout}"
    );
}

#[test]
fn a_changed_recording_is_reported_by_kernel_op_and_thread() {
    let fixtures = fixtures();
    let recorded = std::fs::read_to_string(fixtures.join("gpu_parity.txt")).unwrap();
    // One element of an exact op, and one of an approximate op moved past its tolerance.
    let changed: String = recorded
        .lines()
        .map(|l| match l.split_once(": ") {
            Some((key, words)) if key == "int32/int32_ops add.s32 0" => {
                format!("{key}: 12345678{}\n", &words[8..])
            }
            Some((key, words)) if key == "approx/sfu_ops ex2.approx.f32 0" => {
                let first = u32::from_str_radix(&words[..8], 16).unwrap() + 5;
                format!("{key}: {first:08x}{}\n", &words[8..])
            }
            _ => format!("{l}\n"),
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("changed.txt");
    std::fs::write(&file, changed).unwrap();
    let out = parity(&file, &fixtures.join("parity_known_differences.txt"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("2 difference(s)"), "{stdout}");
    assert!(
        stdout.contains("int32/int32_ops add.s32 thread 0 (in: 0x0, 0x0, 0x0): got 0x00000000, recorded 0x12345678"),
        "{stdout}"
    );
    assert!(
        stdout.contains("approx/sfu_ops ex2.approx.f32 thread 0"),
        "{stdout}"
    );
}
