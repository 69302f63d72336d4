//! The CPU driver's PTX fixtures against the recorded outputs (cpu-driver/tests/fixtures):
//! `kernlings dev parity run --check` on the CPU backend, with no NVRTC and no GPU. The
//! recording is made on a GPU (README, "The interpreter's parity fixtures"); a difference
//! means the interpreter no longer computes what the hardware does.

use std::path::Path;
use std::process::Command;

#[test]
fn fixtures_match_the_recorded_gpu_outputs() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let fixtures = repo.join("cpu-driver/tests/fixtures");
    let out = Command::new(env!("CARGO_BIN_EXE_kernlings"))
        .args(["dev", "parity", "run", "--backend", "cpu", "--fixtures"])
        .arg(fixtures.join("parity"))
        .arg("--check")
        .arg(fixtures.join("gpu_parity.txt"))
        .arg("--root")
        .arg(&repo)
        // The fixtures are PTX already: nothing may need downloading.
        .env("KERNLINGS_OFFLINE", "1")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("match"), "{stdout}");
}

#[test]
fn a_changed_recording_is_reported_by_kernel_op_and_thread() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let fixtures = repo.join("cpu-driver/tests/fixtures");
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
    let out = Command::new(env!("CARGO_BIN_EXE_kernlings"))
        .args(["dev", "parity", "run", "--backend", "cpu", "--fixtures"])
        .arg(fixtures.join("parity"))
        .arg("--check")
        .arg(&file)
        .arg("--root")
        .arg(&repo)
        .env("KERNLINGS_OFFLINE", "1")
        .output()
        .unwrap();
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
