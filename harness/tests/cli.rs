//! The real `kernlings` binary on fixture courses (harness/tests/fixtures/), graded by the
//! `fixture` check through the real child process and watchdog: no GPU needed.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kernlings");

/// A copy of a fixture course in a temporary directory.
struct Course {
    dir: tempfile::TempDir,
}

impl Course {
    fn new() -> Course {
        let dir = tempfile::tempdir().unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/basic");
        copy_dir(&fixture, dir.path());
        Course { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path(rel), text).unwrap();
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        // On PATH, as after `cargo install`: messages name commands as `kernlings ...`.
        let path = std::env::var_os("PATH").unwrap_or_default();
        let bin_dir = Path::new(BIN).parent().unwrap().to_path_buf();
        let path =
            std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(&path)))
                .unwrap();
        // The fixture check needs no backend; naming one keeps kernlings from probing for a GPU.
        cmd.env("PATH", path)
            .args(args)
            .args(["--backend", "cpu"])
            .current_dir(self.root())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        Run(self.cmd(args).output().unwrap())
    }

    fn state(&self) -> serde_json::Value {
        serde_json::from_str(&self.read(".kernlings/state.json")).unwrap()
    }
}

struct Run(Output);

impl Run {
    fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    /// Asserts the exit code and that stdout contains every piece, showing both streams if not.
    fn expect(&self, code: i32, pieces: &[&str]) -> &Run {
        let out = self.stdout();
        assert_eq!(
            self.code(),
            code,
            "exit code\nstdout:\n{out}\nstderr:\n{}",
            self.stderr()
        );
        for piece in pieces {
            assert!(
                out.contains(piece),
                "missing {piece:?}\nstdout:\n{out}\nstderr:\n{}",
                self.stderr()
            );
        }
        self
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

const PASS: &str = "// FIXTURE_PASS\n__global__ void k() {}\n";

#[test]
fn off_path_messages_name_the_command_that_works_from_the_checkout() {
    let course = Course::new();
    let run = Run(course
        .cmd(&["run", "first"])
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap());
    run.expect(
        1,
        &["replay these inputs: cargo run --release -p kernlings -- run first --seed "],
    );
}

#[test]
fn watch_off_path_names_the_cargo_command() {
    // Every command watch tells the learner to type must work where they are: with kernlings
    // not on PATH that is the cargo command, in the replay line and in the goodbye alike.
    let course = Course::new();
    let mut cmd = course.cmd(&[]);
    cmd.env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let out = Stream::new(child.stdout.take().unwrap());
    out.wait_for(
        "replay these inputs: cargo run --release -p kernlings -- run first",
        1,
    );
    writeln!(stdin, "q").unwrap();
    out.wait_for("Run `cargo run --release -p kernlings` to pick up", 1);
    assert!(child.wait().unwrap().success());
    assert!(
        !out.text().contains("kernlings run first"),
        "{}",
        out.text()
    );
}

#[test]
fn untouched_stub_fails_with_wrong_values_and_a_replayable_seed() {
    let course = Course::new();
    let run = course.run(&["run", "first"]);
    run.expect(
        1,
        &[
            "✗ first: wrong values",
            "index  expected  got",
            "replay these inputs: kernlings run first --seed ",
        ],
    );
    let seed: String = run
        .stdout()
        .split("--seed ")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    course
        .run(&["run", "first", "--seed", &seed])
        .expect(1, &[&format!("kernlings run first --seed {seed}\n")]);
}

#[test]
fn passing_exercise_exits_zero_and_is_recorded() {
    let course = Course::new();
    course.run(&["run", "first"]).expect(1, &[]);
    course.write("exercises/01/first.cu", PASS);
    course.run(&["run", "first"]).expect(0, &["✓ first passed"]);
    let state = course.state();
    assert_eq!(state["version"], 1);
    assert_eq!(state["exercises"]["first"]["attempts"], 2);
    assert_eq!(state["exercises"]["first"]["last"]["passed"], true);
    assert!(
        state["exercises"]["first"]["first_done"].is_string(),
        "{state}"
    );
    assert!(state["exercises"]["second"].is_null());
}

#[test]
fn compile_error_names_file_and_line() {
    let course = Course::new();
    course.write(
        "exercises/01/first.cu",
        "// line 1\nFIXTURE_COMPILE_ERROR\n",
    );
    course
        .run(&["run", "first"])
        .expect(1, &["✗ first does not compile", "first.cu:2: error"]);
}

#[test]
fn missing_file_says_how_to_restore_it() {
    let course = Course::new();
    course.run(&["list"]).expect(0, &[]); // the first run keeps the originals
    std::fs::remove_file(course.path("exercises/01/first.cu")).unwrap();
    course.run(&["run", "first"]).expect(
        1,
        &["exercises/01/first.cu is missing: `kernlings reset first` restores the original stub"],
    );
    course
        .run(&["reset", "first"])
        .expect(0, &["Reset exercises/01/first.cu to the original stub."]);
    assert!(course.read("exercises/01/first.cu").contains("TODO"));
}

#[test]
fn crash_is_a_failed_attempt() {
    let course = Course::new();
    course.write("exercises/01/first.cu", "FIXTURE_CRASH\n");
    let run = course.run(&["run", "first"]);
    run.expect(1, &["✗ first: the grading process crashed"]);
    assert_eq!(course.state()["exercises"]["first"]["attempts"], 1);
}

#[test]
fn hang_is_killed_by_the_watchdog() {
    let course = Course::new();
    course.write("exercises/01/first.cu", "FIXTURE_HANG\n");
    let start = Instant::now();
    course
        .run(&["run", "first", "--timeout", "1"])
        .expect(1, &["✗ first: your kernel did not finish within 1 s"]);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn hints_come_one_level_at_a_time() {
    let course = Course::new();
    course.run(&["hint"]).expect(
        0,
        &[
            "Hint 1/2 for first:",
            "Look for the marker.",
            "Ask again for the next level.",
        ],
    );
    let run = course.run(&["hint", "first"]);
    run.expect(
        0,
        &[
            "Hint 1/2",
            "Hint 2/2 for first:",
            "Write the pass marker",
            "That was the last hint.",
        ],
    );
    course
        .run(&["hint", "third", "--all"])
        .expect(0, &["Hint 1/1 for third:", "Same as before."]);
    course.run(&["hint", "nope"]).expect(2, &[]);
}

#[test]
fn list_shows_modules_status_and_current() {
    let course = Course::new();
    course.write("exercises/01/first.cu", PASS);
    course.run(&["run", "first"]).expect(0, &[]);
    let run = course.run(&["list"]);
    run.expect(
        0,
        &[
            "01 Fixture basics",
            "02 Fixture more",
            "first   done",
            "▶ second  pending",
            "1/3 done",
        ],
    );
}

#[test]
fn reset_restores_the_stub_and_backs_up_the_learner() {
    let course = Course::new();
    let stub = course.read("exercises/01/first.cu");
    course.run(&["list"]).expect(0, &[]);
    course.write("exercises/01/first.cu", "// my careful work\n");
    let run = course.run(&["reset", "first"]);
    run.expect(
        0,
        &[
            "Your version of exercises/01/first.cu (1 line added, ",
            "removed against the stub) is saved as .kernlings/backups/01/first.cu.",
            "Reset exercises/01/first.cu",
        ],
    );
    assert_eq!(course.read("exercises/01/first.cu"), stub);
    let backups: Vec<_> = std::fs::read_dir(course.path(".kernlings/backups/01"))
        .unwrap()
        .collect();
    assert_eq!(backups.len(), 1);
    let saved = std::fs::read_to_string(backups[0].as_ref().unwrap().path()).unwrap();
    assert_eq!(saved, "// my careful work\n");
    course
        .run(&["reset", "first"])
        .expect(0, &["already the original stub; nothing changed"]);
}

#[test]
fn verify_stops_at_the_first_failure() {
    let course = Course::new();
    course.write("exercises/01/first.cu", PASS);
    let run = course.run(&["verify"]);
    run.expect(
        1,
        &[
            "[1/3] first",
            "✓ first passed",
            "[2/3] second",
            "verify stopped at `second` (1 of 3 pass before it).",
        ],
    );
    assert!(!run.stdout().contains("third"));

    let json = course.run(&["verify", "--json"]);
    json.expect(1, &[]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout()).unwrap();
    assert_eq!(v["passed"], false);
    assert_eq!(v["stopped_at"], "second");
    assert_eq!(v["results"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["results"][1]["outcome"]["correctness"]["status"],
        "failed"
    );

    course.write("exercises/01/second.cu", PASS);
    course.write("exercises/02/third.cu", PASS);
    course
        .run(&["verify"])
        .expect(0, &["All 3 exercises pass."]);
}

#[test]
fn report_regenerates_and_keeps_the_learners_answers() {
    let course = Course::new();
    course.write("exercises/01/first.cu", PASS);
    course.run(&["run", "first"]).expect(0, &[]);
    course
        .run(&["report"])
        .expect(0, &["Wrote PROGRESS.md: 1 of 3 exercises done."]);
    let page = course.read("PROGRESS.md");
    assert!(page.contains("`first` (module 01)"), "{page}");
    assert!(page.contains("| 01 Fixture basics | 1/2 |"), "{page}");
    let begin = "<!-- kernlings:begin learned -->";
    course.write(
        "PROGRESS.md",
        &page.replace(begin, &format!("{begin}\nGrids cover N, not more.")),
    );
    course.write("exercises/01/second.cu", PASS);
    course.run(&["run", "second"]).expect(0, &[]);
    course.run(&["report"]).expect(0, &["2 of 3"]);
    let page = course.read("PROGRESS.md");
    assert!(
        page.contains(&format!(
            "{begin}\nGrids cover N, not more.\n<!-- kernlings:end learned -->"
        )),
        "{page}"
    );
    assert!(page.contains("| 01 Fixture basics | 2/2 |"), "{page}");
}

#[test]
fn corrupt_state_is_moved_aside_with_a_message() {
    let course = Course::new();
    std::fs::create_dir_all(course.path(".kernlings")).unwrap();
    course.write(".kernlings/state.json", "{ not json");
    let run = course.run(&["list"]);
    run.expect(0, &["0/3 done"]);
    assert!(
        run.stderr().contains("state.json.unreadable-"),
        "{}",
        run.stderr()
    );
}

/// The files in `.kernlings/` whose names start with `prefix`.
fn kept(course: &Course, prefix: &str) -> Vec<String> {
    std::fs::read_dir(course.path(".kernlings"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

#[test]
fn non_utf8_state_is_moved_aside_not_an_error() {
    let course = Course::new();
    course.run(&["run", "first"]).expect(1, &[]);
    std::fs::write(
        course.path(".kernlings/state.json"),
        b"{\"version\":1,\xff\xfe}",
    )
    .unwrap();
    let run = course.run(&["list"]);
    run.expect(0, &["0/3 done"]);
    assert!(
        run.stderr().contains("it does not parse"),
        "{}",
        run.stderr()
    );
    assert_eq!(kept(&course, "state.json.unreadable-").len(), 1);
}

#[test]
fn kernlings_dir_as_a_file_is_kept_and_named() {
    let course = Course::new();
    course.write(".kernlings", "not a directory");
    let run = course.run(&["list"]);
    run.expect(0, &["0/3 done"]);
    let err = run.stderr();
    assert!(err.contains(".kernlings is not a directory"), "{err}");
    assert!(err.contains(".kernlings.unreadable-"), "{err}");
    assert!(course.path(".kernlings").is_dir());
    course.run(&["state", "list"]).expect(
        0,
        &[".kernlings.unreadable-", "fix it first: it does not parse"],
    );
}

#[test]
fn state_json_as_a_directory_is_moved_aside() {
    let course = Course::new();
    std::fs::create_dir_all(course.path(".kernlings/state.json")).unwrap();
    let run = course.run(&["run", "first"]);
    run.expect(1, &["✗ first: wrong values"]);
    assert!(
        run.stderr().contains("it is a directory"),
        "{}",
        run.stderr()
    );
    assert_eq!(course.state()["exercises"]["first"]["attempts"], 1);
}

#[test]
fn stale_temp_files_are_removed() {
    let course = Course::new();
    std::fs::create_dir_all(course.path(".kernlings")).unwrap();
    course.write(".kernlings/state.json.tmp-999999", "half a state");
    course.run(&["list"]).expect(0, &[]);
    assert!(!course.path(".kernlings/state.json.tmp-999999").exists());
}

#[test]
fn two_processes_at_once_lose_no_attempt() {
    let course = Arc::new(Course::new());
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let course = course.clone();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    course.run(&["run", "first"]).expect(1, &[]);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(course.state()["exercises"]["first"]["attempts"], 40);
}

#[test]
fn restore_brings_a_kept_state_back() {
    let course = Course::new();
    course.write("exercises/01/first.cu", PASS);
    course.run(&["run", "first"]).expect(0, &[]);
    let good = course.read(".kernlings/state.json");
    // A truncated file: moved aside; restoring it as it is says what to fix.
    course.write(".kernlings/state.json", &good[..good.len() / 2]);
    course.run(&["list"]).expect(0, &["0/3 done"]);
    let aside = kept(&course, "state.json.unreadable-");
    assert_eq!(aside.len(), 1);
    let run = course.run(&["state", "restore"]);
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr()
            .contains("cannot be restored: it does not parse"),
        "{}",
        run.stderr()
    );
    // Fixed by hand, it comes back; the state it replaces is kept in turn.
    course.write(&format!(".kernlings/{}", aside[0]), &good);
    course.run(&["run", "second"]).expect(1, &[]);
    course
        .run(&["state", "list"])
        .expect(0, &[&aside[0], "1 of 3 exercises done"]);
    course.run(&["state", "restore", &aside[0]]).expect(
        0,
        &["Restored", "1 of 3 exercises done", "state.json.replaced-"],
    );
    course.run(&["list"]).expect(0, &["1/3 done"]);
    assert!(kept(&course, "state.json.unreadable-").is_empty());
    assert_eq!(kept(&course, "state.json.replaced-").len(), 1);
}

#[test]
fn corrupt_state_in_watch_is_shown_on_screen() {
    let course = Course::new();
    course.write("exercises/01/first.cu", PASS);
    course.run(&["run", "first"]).expect(0, &[]);
    course.write(".kernlings/state.json", "{ not json");
    let mut cmd = course.cmd(&[]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let out = Stream::new(child.stdout.take().unwrap());
    out.wait_for("✓ first passed", 1);
    let text = out.text();
    assert!(text.contains("state.json.unreadable-"), "{text}");
    assert!(text.contains("kernlings state restore"), "{text}");
    writeln!(stdin, "q").unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn malformed_curriculum_is_a_clear_error() {
    let course = Course::new();
    let text = course
        .read("curriculum.toml")
        .replace("module = \"02\"", "module = \"09\"");
    course.write("curriculum.toml", &text);
    let run = course.run(&["list"]);
    run.expect(2, &[]);
    let err = run.stderr();
    assert!(
        err.contains("curriculum.toml:33: exercise `third`: field `module`: unknown module `09` (modules: 01, 02)"),
        "{err}"
    );
}

#[test]
fn root_is_found_upward_or_given() {
    let course = Course::new();
    let mut cmd = course.cmd(&["list"]);
    cmd.current_dir(course.path("exercises/01"));
    assert!(cmd.status().unwrap().success());
    let elsewhere = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("list")
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --root DIR"));
    let out = Command::new(BIN)
        .args(["list", "--root"])
        .arg(course.root())
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn check_solutions_passes_on_a_sound_course() {
    let course = Course::new();
    let run = course.run(&["check-solutions"]);
    run.expect(
        0,
        &[
            "exercise | what",
            "solution",
            "stub",
            "wrong/writes_nothing",
            "wrong/crash",
            "All 8 checks hold.",
        ],
    );
    let json = course.run(&["check-solutions", "--json", "--exercise", "second"]);
    json.expect(0, &[]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout()).unwrap();
    assert_eq!(v["passed"], true);
    assert_eq!(v["rows"].as_array().unwrap().len(), 2);
}

/// A learner's tree holds solved exercises: the gate grades the kept original stubs, so
/// `cargo test` still passes after the learner has made progress.
#[test]
fn check_solutions_grades_the_kept_stub_in_a_learners_tree() {
    let course = Course::new();
    course.run(&["list"]).expect(0, &[]); // a learner's first command keeps the originals
    course.write("exercises/01/second.cu", PASS); // ...who then solves an exercise in place
    course
        .run(&["check-solutions"])
        .expect(0, &["stub (kept original)", "All 8 checks hold."]);
}

#[test]
fn check_solutions_reports_every_violation() {
    let course = Course::new();
    course.write("exercises/01/second.cu", PASS); // a stub that passes, and has no TODO
    course.write("solutions/02/third.cu", "// wrong\n"); // a solution that fails
    course.write("exercises/01/stray.cu", "");
    course.write(
        "harness/wrong/first/writes_nothing.cu",
        "// expect: never written\n",
    );
    let run = course.run(&["check-solutions"]);
    run.expect(
        1,
        &[
            "second (stub): passes, but must fail",
            "third (solution): solution fails: wrong values",
            "first (wrong/writes_nothing): fails, but the message lacks \"never written\"",
            "lint: second: the stub exercises/01/second.cu has no TODO",
            "lint: exercises/01/stray.cu is not named by any exercise",
        ],
    );
}

/// Calibration kernels: a rung's own kernel that fails is a violation, and every one is listed
/// again in the calibration table (and the JSON) with its bar.
#[test]
fn check_solutions_reports_a_failing_calibration_kernel() {
    let course = Course::new();
    let toml = course.read("curriculum.toml").replace(
        "name = \"first\"\nmodule = \"01\"\nfile = \"01/first.cu\"\nkind = \"cuda\"\n",
        "name = \"first\"\nmodule = \"01\"\nfile = \"01/first.cu\"\nkind = \"cuda\"\n\
         speed = { baseline = \"copy\", bar = 0.5, size = [1] }\n",
    );
    assert!(toml.contains("bar = 0.5"));
    course.write("curriculum.toml", &toml);
    std::fs::create_dir_all(course.path("harness/calibration/first")).unwrap();
    course.write(
        "harness/calibration/first/canonical.cu",
        "// calibrate: pass\n// source: a test\n// FIXTURE_PASS\n",
    );
    course.write(
        "harness/calibration/first/broken.cu",
        "// calibrate: pass\n// source: a test, with no marker: wrong values\n",
    );
    course.write(
        "harness/calibration/first/rung_below.cu",
        "// calibrate: too slow\n// source: a test\n// FIXTURE_PASS\n",
    );
    let run = course.run(&["check-solutions", "--exercise", "first"]);
    run.expect(
        1,
        &[
            "calib/canonical",
            "first (calib/broken): must be correct, but: wrong values",
            "calibration (the literature's kernel for each rung):",
            "first    | rung_below | too slow",
            "1 violation(s).",
        ],
    );
    let json = course.run(&["check-solutions", "--json", "--exercise", "first"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout()).unwrap();
    assert_eq!(v["passed"], false);
    let calib = v["calibration"].as_array().unwrap();
    assert_eq!(calib.len(), 3);
    assert_eq!(calib[0]["kernel"], "broken");
    assert_eq!(calib[0]["ok"], false);
    assert_eq!(calib[0]["bar"], 0.5);
}

/// A stub that states a speed the curriculum does not grade fails the lint, with file:line.
#[test]
fn check_solutions_lints_a_stated_figure_against_the_bar() {
    let course = Course::new();
    let toml = course.read("curriculum.toml").replace(
        "name = \"second\"\nmodule = \"01\"\nfile = \"01/second.cu\"\nkind = \"cuda\"\n",
        "name = \"second\"\nmodule = \"01\"\nfile = \"01/second.cu\"\nkind = \"cuda\"\n\
         speed = { baseline = \"copy\", bar = 0.5, size = [1] }\n",
    );
    course.write("curriculum.toml", &toml);
    let stub = course.read("exercises/01/second.cu");
    course.write(
        "exercises/01/second.cu",
        &format!("{stub}// Aim: 50% of copy bandwidth (0.5 of copy).\n// Aim: 80% of copy.\n"),
    );
    let lines = stub.lines().count();
    let run = course.run(&["check-solutions", "--exercise", "second"]);
    run.expect(
        1,
        &[&format!(
            "lint: exercises/01/second.cu:{}: states \"80%\" (0.80), but curriculum.toml's bar for second is 0.50",
            lines + 2
        )],
    );
    assert!(!run.stdout().contains(&format!("second.cu:{}:", lines + 1)));
}

/// Reads a child's stdout on a thread, so a test can wait for text to appear.
struct Stream(Arc<Mutex<String>>);

impl Stream {
    fn new(mut out: impl Read + Send + 'static) -> Stream {
        let buf = Arc::new(Mutex::new(String::new()));
        let shared = buf.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = out.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                shared
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        Stream(buf)
    }

    /// Waits until `text` has appeared `times` times in total.
    fn wait_for(&self, text: &str, times: usize) {
        let start = Instant::now();
        while self.0.lock().unwrap().matches(text).count() < times {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "never saw {text:?} x{times}:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn text(&self) -> String {
        self.0.lock().unwrap().clone()
    }
}

#[test]
fn watch_without_a_terminal_uses_line_mode() {
    let course = Course::new();
    let mut cmd = course.cmd(&[]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let out = Stream::new(child.stdout.take().unwrap());
    out.wait_for("No terminal: line mode", 1);
    out.wait_for("✗ first: wrong values", 1);
    assert!(out.text().contains("Exercise 1 of 3: first"));

    writeln!(stdin, "n").unwrap();
    out.wait_for("`first` has not passed yet: n moves on once it does.", 1);
    writeln!(stdin, "h").unwrap();
    out.wait_for("Hint 1/2 for first:", 1);
    writeln!(stdin, "l").unwrap();
    out.wait_for(">▶ 01 first", 1);
    // The list is interactive: j moves, q goes back to the exercise.
    writeln!(stdin, "j").unwrap();
    out.wait_for(">  01 second", 1);
    writeln!(stdin, "q").unwrap();
    out.wait_for("Hint 1/2 for first:", 2);

    // Saving the file re-grades it; passing never moves on by itself.
    course.write("exercises/01/first.cu", PASS);
    out.wait_for("✓ first passed", 1);
    std::thread::sleep(Duration::from_millis(500));
    assert!(!out.text().contains("Exercise 2 of 3"));
    // Another exercise's file is not the current one: no re-grade.
    course.write("exercises/01/second.cu", PASS);
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(
        out.text().matches("grading first").count(),
        2,
        "{}",
        out.text()
    );

    writeln!(stdin, "n").unwrap();
    out.wait_for("Exercise 2 of 3: second", 1);
    out.wait_for("✓ second passed", 1);
    writeln!(stdin, "q").unwrap();
    assert!(child.wait().unwrap().success());
    out.wait_for("Bye! 2 of 3 exercises done.", 1);
    assert_eq!(course.state()["current"], "second");
}

#[test]
fn watch_survives_a_crash_and_a_hang() {
    let course = Course::new();
    course.write("exercises/01/first.cu", "FIXTURE_CRASH\n");
    let mut cmd = course.cmd(&["--timeout", "1"]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let out = Stream::new(child.stdout.take().unwrap());
    out.wait_for("✗ first: the grading process crashed", 1);
    course.write("exercises/01/first.cu", "FIXTURE_HANG\n");
    out.wait_for("✗ first: your kernel did not finish", 1);
    writeln!(stdin, "r").unwrap();
    out.wait_for("✗ first: your kernel did not finish", 2);
    course.write("exercises/01/first.cu", PASS);
    out.wait_for("✓ first passed", 1);
    drop(stdin); // end of input ends line mode
    assert!(child.wait().unwrap().success());
    assert_eq!(course.state()["exercises"]["first"]["attempts"], 4);
}

#[test]
fn watch_falls_back_to_manual_runs_when_it_cannot_watch() {
    let course = Course::new();
    course.run(&["list"]).expect(0, &[]);
    // Nothing to watch: the learner's tree is gone. `r` still grades; `reset` brings it back.
    std::fs::remove_dir_all(course.path("exercises")).unwrap();
    let mut cmd = course.cmd(&[]);
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let out = Stream::new(child.stdout.take().unwrap());
    out.wait_for("File watching is unavailable", 1);
    out.wait_for("press r to re-run after saving", 1);
    out.wait_for("exercises/01/first.cu is missing", 1);
    course.run(&["reset", "first"]).expect(0, &[]);
    course.write("exercises/01/first.cu", PASS);
    writeln!(stdin, "r").unwrap();
    out.wait_for("✓ first passed", 1);
    writeln!(stdin, "q").unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn build_graders_with_no_rust_exercises_builds_nothing() {
    let course = Course::new();
    let dir = course.path("graders");
    course
        .run(&["build-graders", dir.to_str().unwrap()])
        .expect(0, &["0 grader(s) in"]);
    assert!(dir.is_dir());
}

#[test]
fn reset_falls_back_to_git_when_no_original_was_kept() {
    let course = Course::new();
    let stub = course.read("exercises/01/first.cu");
    // The course lives in a subdirectory of the repository, as kernlings does in a fork.
    let repo = course.root();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "-C"])
            .arg(repo)
            .args(args)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "course"]);
    course.write(
        "exercises/01/first.cu",
        "// edited before kernlings ever ran\n",
    );
    std::fs::remove_dir_all(course.path(".kernlings")).ok();
    let mut cmd = course.cmd(&["reset", "first"]);
    cmd.current_dir(course.path("exercises"));
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(course.read("exercises/01/first.cu"), stub);
}

/// A course of one real exercise (its stub, solution and check), in a temporary directory:
/// `.rs` exercises build their grader crate in the workspace's grader target directory, so
/// cudarc is compiled once for all tests.
struct RealCourse {
    dir: tempfile::TempDir,
}

const MATMUL_ENTRY: &str = r#"format = 1
[[modules]]
id = "00_cpu_warmup"
title = "CPU warm-up"
intro = "i"
[[exercises]]
name = "matmul_blocked"
module = "00_cpu_warmup"
file = "00_cpu_warmup/matmul_blocked.rs"
kind = "rust"
check = "cpu_matmul"
sizes = [[1, 1, 1], [31, 33, 32]]
hints = ["h"]
"#;

const VECTOR_ADD_ENTRY: &str = r#"format = 1
[[modules]]
id = "01_basics"
title = "Threads"
intro = "i"
[[exercises]]
name = "vector_add"
module = "01_basics"
file = "01_basics/vector_add.cu"
kind = "cuda"
check = "vector_add"
sizes = [[1000]]
hints = ["h"]
"#;

impl RealCourse {
    fn new(entry: &str, file: &str) -> RealCourse {
        let dir = tempfile::tempdir().unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        std::fs::write(dir.path().join("curriculum.toml"), entry).unwrap();
        for tree in ["exercises", "solutions"] {
            let to = dir.path().join(tree).join(file);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(repo.join(tree).join(file), to).unwrap();
        }
        std::fs::copy(repo.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
        RealCourse { dir }
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.path().join("exercises").join(file), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Run {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let output = Command::new(BIN)
            .args(args)
            .args(["--backend", "cpu"])
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env(
                "KERNLINGS_GRADER_TARGET",
                repo.join("target/kernlings-graders/target"),
            )
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Run(output)
    }
}

const MATMUL: &str = "00_cpu_warmup/matmul_blocked.rs";

#[test]
fn a_rust_compile_error_names_the_machine_a_result_would() {
    // Module 00 runs no kernels: its results say "this machine's CPU", and so must a file that
    // does not compile, not the PTX interpreter it never reaches.
    let timed = MATMUL_ENTRY.replace(
        "hints = [\"h\"]",
        "speed = { baseline = \"cpu-naive\", bar = 2.0, size = [64, 64, 64] }\nhints = [\"h\"]",
    );
    let course = RealCourse::new(&timed, MATMUL);
    course.write(MATMUL, "");
    let run = course.run(&["run", "matmul_blocked"]);
    run.expect(
        1,
        &["does not compile  (this machine's CPU (Rust, no kernels)"],
    );
    assert!(
        !run.stdout().contains("PTX interpreter"),
        "{}",
        run.stdout()
    );
}

#[test]
fn rust_compile_errors_point_into_the_learners_file() {
    let course = RealCourse::new(MATMUL_ENTRY, MATMUL);
    let file = "exercises/00_cpu_warmup/matmul_blocked.rs";
    let expect_clean = |run: &Run| {
        let out = run.stdout();
        assert!(!out.contains("kernlings-graders"), "{out}");
        assert!(!out.contains("main.rs"), "{out}");
    };
    // An empty file and a renamed function: the grader's call has nothing to call.
    for (text, line) in [("", 1), ("// mine\npub fn mat_mul(_a: &[f32]) {}\n", 1)] {
        course.write(MATMUL, text);
        let run = course.run(&["run", "matmul_blocked"]);
        run.expect(
            1,
            &[
                &format!("{file}:{line}: error: kernlings calls `matmul` from your file, and your file has no `fn matmul`"),
                "kernlings calls it as: pub fn matmul(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize)",
            ],
        );
        expect_clean(&run);
    }
    // A signature of the wrong type: told at the learner's `fn` line.
    course.write(
        MATMUL,
        "// f64, not f32\n\npub fn matmul(_a: &[f64], _b: &[f64], _c: &mut [f64], _m: usize, _k: usize, _n: usize) {}\n",
    );
    let run = course.run(&["run", "matmul_blocked"]);
    run.expect(
        1,
        &[&format!(
            "{file}:3: error: kernlings cannot call your `matmul` as it is declared: mismatched types"
        )],
    );
    expect_clean(&run);
    // A type error inside the learner's code: rustc's own message, with the learner's path.
    course.write(
        MATMUL,
        "pub fn matmul(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize) {\n    let x: u32 = 1.5;\n}\n",
    );
    let run = course.run(&["run", "matmul_blocked"]);
    run.expect(1, &["mismatched types", &format!("{file}:2:")]);
    expect_clean(&run);
}

#[test]
fn rust_exit_and_background_processes_are_the_learners_not_kernlings() {
    let course = RealCourse::new(MATMUL_ENTRY, MATMUL);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let wrong =
        |case: &str| std::fs::read_to_string(repo.join("wrong/matmul_blocked").join(case)).unwrap();
    course.write(MATMUL, &wrong("exits.rs"));
    course
        .run(&["run", "matmul_blocked"])
        .expect(1, &["your code called exit(4)"]);

    // A background process holding the grader's pipes: the attempt still ends at once, on C,
    // and the process does not outlive it.
    course.write(MATMUL, &wrong("leaves_a_process.rs"));
    let start = Instant::now();
    course
        .run(&["run", "matmul_blocked", "--timeout", "20"])
        .expect(1, &["never written — do your loops cover all"]);
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "took {:?}",
        start.elapsed()
    );
    std::thread::sleep(Duration::from_millis(200));
    let survivors: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.trim_end() == "sleep 311.5")
        .collect();
    assert!(survivors.is_empty(), "still running: {survivors:?}");
}

#[test]
fn a_printf_flood_is_cut_to_its_tail() {
    let course = RealCourse::new(VECTOR_ADD_ENTRY, "01_basics/vector_add.cu");
    // 1000 threads x 300 lines, about 8 MB of printf, and c never written.
    course.write(
        "01_basics/vector_add.cu",
        r#"extern "C" __global__ void vector_add(const float* a, const float* b, float* c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        for (int r = 0; r < 300; r++) printf("thread %d says hello, line %d of 300\n", i, r);
    }
}
"#,
    );
    let run = course.run(&["run", "vector_add", "--timeout", "120"]);
    run.expect(1, &["of output cut)", "your code printed:"]);
    assert!(
        run.0.stdout.len() < 100_000,
        "{} bytes shown",
        run.0.stdout.len()
    );
}

#[test]
fn diff_shows_the_changes_against_the_stub_and_reset_counts_them() {
    let course = Course::new();
    course.run(&["list"]).expect(0, &[]);
    course
        .run(&["diff", "first"])
        .expect(0, &["is the original stub: nothing changed yet"]);
    let stub = course.read("exercises/01/first.cu");
    course.write("exercises/01/first.cu", &format!("{stub}// my change\n"));
    course.run(&["diff", "first"]).expect(
        0,
        &[
            "exercises/01/first.cu: 1 line added against the original stub",
            "--- original stub",
            "+++ exercises/01/first.cu",
            "+// my change",
        ],
    );
    course
        .run(&["reset", "first"])
        .expect(0, &["(1 line added against the stub) is saved as"]);
}

#[test]
fn profile_on_the_cpu_backend_shows_and_keeps_the_counters() {
    let course = RealCourse::new(VECTOR_ADD_ENTRY, "01_basics/vector_add.cu");
    let solution =
        std::fs::read_to_string(course.dir.path().join("solutions/01_basics/vector_add.cu"))
            .unwrap();
    course.write("01_basics/vector_add.cu", &solution);
    course
        .run(&["profile", "vector_add", "--note", "first try"])
        .expect(
            0,
            &[
                "Profile of vector_add — kernel `vector_add`, CPU backend",
                "global memory sectors",
                "1.00x the minimum",
                "note: first try",
                "Saved in .kernlings/profiles/vector_add.json",
            ],
        );
}

#[test]
fn the_shipped_template_is_replaced_and_regrades_are_not_attempts() {
    let course = Course::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::fs::copy(repo.join("PROGRESS.md"), course.path("PROGRESS.md")).unwrap();
    course.write("exercises/01/first.cu", PASS);
    course.run(&["run", "first"]).expect(0, &[]);
    course.run(&["run", "first"]).expect(0, &[]);
    let first = &course.state()["exercises"]["first"];
    assert_eq!(first["attempts"], 2);
    assert_eq!(first["edits"].as_array().unwrap().len(), 1, "{first}");
    // `verify` re-grades the unchanged file: still one attempt, in the list as in the report.
    course.run(&["verify"]).expect(1, &["✓ first passed"]);
    course
        .run(&["list"])
        .expect(0, &["first   done     1 attempt(s), last: correct"]);
    let run = course.run(&["report"]);
    run.expect(0, &["Wrote PROGRESS.md"]);
    assert!(!run.stdout().contains("not all intact"), "{}", run.stdout());
    let page = course.read("PROGRESS.md");
    assert!(!page.contains("kernlings:template"), "{page}");
    assert!(page.contains("| `first` |"), "{page}");
    assert!(page.contains("<!-- kernlings:begin week -->"), "{page}");
}

/// `kernlings watch` on a pseudo-terminal: raw mode and the alternate screen while it runs,
/// both undone when SIGTERM or SIGHUP ends it, as `q` would.
#[test]
fn watch_restores_the_terminal_on_sigterm_and_sighup() {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;

    fn termios(fd: i32) -> libc::termios {
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::tcgetattr(fd, &mut t) }, 0);
        t
    }

    for (sig, code) in [(libc::SIGTERM, 143), (libc::SIGHUP, 129)] {
        let course = Course::new();
        let (mut master, mut slave) = (0, 0);
        let size = libc::winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let opened = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(opened, 0);
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let cooked = termios(std::os::fd::AsRawFd::as_raw_fd(&slave));
        assert_ne!(cooked.c_lflag & libc::ICANON, 0);
        let mut cmd = course.cmd(&[]);
        cmd.stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave.try_clone().unwrap());
        // A session of its own with the pty as its terminal, as in a terminal emulator.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY, 0);
                Ok(())
            });
        }
        let mut child = cmd.spawn().unwrap();
        let out = Stream::new(std::fs::File::from(master));
        out.wait_for("\x1b[?1049h", 1); // the alternate screen
        out.wait_for("first: wrong values", 1);
        let raw = termios(std::os::fd::AsRawFd::as_raw_fd(&slave));
        assert_eq!(raw.c_lflag & (libc::ICANON | libc::ECHO), 0, "raw mode");

        assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "watch ignored signal {sig}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(code), "signal {sig}");
        let restored = termios(std::os::fd::AsRawFd::as_raw_fd(&slave));
        assert_eq!(
            restored.c_lflag & (libc::ICANON | libc::ECHO),
            cooked.c_lflag & (libc::ICANON | libc::ECHO),
            "line mode and echo back after signal {sig}"
        );
        out.wait_for("\x1b[?1049l", 1); // left the alternate screen
        out.wait_for("\x1b[?25h", 1); // the cursor shown
        out.wait_for("your progress is saved", 1);
    }
}

/// A course update in git (a pull that changes a stub) refreshes the kept original, so `reset`
/// restores, and `check-solutions` grades, the course's current stub; a learner's own commit
/// of their work is not taken for one.
#[test]
fn a_course_update_refreshes_the_kept_originals() {
    let course = Course::new();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "-C"])
            .arg(course.root())
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "course v1"]);
    course.run(&["list"]).expect(0, &[]); // keeps the v1 originals
    let v1 = course.read("exercises/01/first.cu");

    // The learner works on second; the course then changes both stubs.
    course.write("exercises/01/second.cu", "// my own work\n");
    let v2 =
        "// TODO: v2 of the stub: make this pass with the pass marker\n__global__ void k() {}\n";
    for file in ["exercises/01/first.cu", "exercises/01/second.cu"] {
        course.write(file, v2);
    }
    git(&["commit", "-qam", "course v2"]);
    course.write("exercises/01/second.cu", "// my own work\n");
    let run = course.run(&["list"]);
    run.expect(0, &[]);
    assert_eq!(course.read(".kernlings/originals/01/first.cu"), v2);
    assert_eq!(course.read(".kernlings/originals/01/second.cu"), v2);
    // Said once, for the file that holds the learner's work.
    let said = run.stderr();
    assert!(
        said.contains(
            "the course changed the stub of exercises/01/second.cu since you started it; your \
             file keeps your version. `kernlings diff second` shows it"
        ),
        "{said}"
    );
    assert!(!said.contains("01/first.cu"), "{said}");
    assert!(!course.run(&["list"]).stderr().contains("changed the stub"));
    course.run(&["reset", "second"]).expect(0, &[]);
    assert_eq!(course.read("exercises/01/second.cu"), v2);
    course
        .run(&["check-solutions", "--exercise", "first"])
        .expect(0, &["stub (kept original)"]);
    assert_ne!(v1, v2);

    // The learner solves first and commits it in their fork: the kept original stays the stub.
    course.write("exercises/01/first.cu", PASS);
    course.run(&["run", "first"]).expect(0, &[]);
    git(&["commit", "-qam", "my solution"]);
    course.run(&["list"]).expect(0, &[]);
    assert_eq!(course.read(".kernlings/originals/01/first.cu"), v2);
    course.run(&["reset", "first"]).expect(0, &[]);
    assert_eq!(course.read("exercises/01/first.cu"), v2);
}

/// `dev new` writes a new exercise's files and entry; until the author fills them,
/// check-solutions fails and names every place left, the stub failing as it must.
#[test]
fn dev_new_scaffolds_an_exercise_that_check_solutions_holds_to_account() {
    let course = Course::new();
    course
        .run(&["dev", "new", "02/fourth", "--check", "fixture"])
        .expect(
            0,
            &[
                "exercises/02/fourth.cu",
                "harness/wrong/fourth/TODO_name_the_mistake.cu",
                "kernlings check-solutions --backend cpu --exercise fourth",
            ],
        );
    // Started from `first`, which uses the same check; the entry parses.
    assert!(course
        .read("exercises/02/fourth.cu")
        .ends_with(&course.read("exercises/01/first.cu")));
    course.run(&["list"]).expect(0, &["fourth"]);
    let run = course.run(&["check-solutions", "--exercise", "fourth"]);
    run.expect(
        1,
        &[
            "fourth   | stub ",
            "ok fails",
            "lint: exercises/02/fourth.cu:1: TODO(kernlings dev new) left: write the stub's lesson",
            "lint: solutions/02/fourth.cu:1: TODO(kernlings dev new) left: write the reference solution",
            "lint: harness/wrong/fourth/TODO_name_the_mistake.cu:1: TODO(kernlings dev new) left",
            "TODO(kernlings dev new) left in `fourth`'s entry",
        ],
    );
    // Nothing is overwritten; an unknown check is refused before anything is written.
    let again = course.run(&["dev", "new", "02/fourth", "--check", "fixture"]);
    assert!(again
        .stderr()
        .contains("already has an exercise named `fourth`"));
    let unknown = course.run(&["dev", "new", "02/fifth", "--check", "nope"]);
    assert!(unknown.stderr().contains("no check named `nope`"));
    assert!(!course.path("exercises/02/fifth.cu").exists());
}

#[test]
fn the_gpu_model_waits_for_the_learners_kernels() {
    // The course's own curriculum in a fresh tree: nothing has passed yet.
    let dir = tempfile::tempdir().unwrap();
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::fs::copy(
        checkout.join("curriculum.toml"),
        dir.path().join("curriculum.toml"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("exercises")).unwrap();
    copy_dir(&checkout.join("exercises"), &dir.path().join("exercises"));
    let serve = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(["serve", "server"])
            .args(args)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env("KERNLINGS_OFFLINE", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = serve(&["--model", "smollm2-gpu"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "rmsnorm_residual, rope, paged_decode, gemv_q4, sgemm_2d_blocktile have not passed yet"
        ),
        "{err}"
    );
    let (code, err) = serve(&["--bench"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--bench and --solutions go with --model smollm2-gpu"),
        "{err}"
    );
}
