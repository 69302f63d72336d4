//! The grader binary's side of its protocol with kernlings (harness/src/grade/rust_exercise.rs).
//!
//! `grader <case-dir>`: `params.txt` holds `name value` lines, `<name>.f32` the inputs as
//! little-endian f32. The grader writes its outputs the same way, and `timings.txt`
//! (`learner_us ...` and `baseline_us ...` lines) when the exercise is timed on the CPU.
//! Last it writes `status`: `ok`, or `learner-error`/`harness-error` and a message. A run
//! that leaves no status ended inside the learner's code (exit, panic, crash), whatever its
//! exit code says. kernlings checks the outputs; nothing here decides whether the learner passed.

#![allow(dead_code)] // each grader uses the part it needs

use std::path::PathBuf;

pub struct Case {
    dir: PathBuf,
    params: Vec<(String, f64)>,
}


impl Case {
    pub fn from_args() -> Case {
        let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| harness_error("usage: grader <case-dir>")));
        let text = std::fs::read_to_string(dir.join("params.txt")).unwrap_or_default();
        let params = text
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(k, v)| (k.to_string(), v.trim().parse().unwrap_or(f64::NAN)))
            .collect();
        Case { dir, params }
    }

    pub fn param(&self, name: &str) -> f64 {
        let found = self.params.iter().find(|(k, _)| k == name);
        found.map(|(_, v)| *v).unwrap_or_else(|| harness_error(&format!("no parameter {name}")))
    }

    pub fn f32s(&self, name: &str) -> Vec<f32> {
        let path = self.dir.join(format!("{name}.f32"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| harness_error(&format!("{}: {e}", path.display())));
        bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    }

    pub fn write_f32s(&self, name: &str, values: &[f32]) {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let path = self.dir.join(format!("{name}.f32"));
        std::fs::write(&path, bytes).unwrap_or_else(|e| harness_error(&format!("{}: {e}", path.display())));
    }

    pub fn write_timings(&self, learner_us: &[f64], baseline_us: &[f64]) {
        let line = |name: &str, xs: &[f64]| {
            format!("{name} {}\n", xs.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" "))
        };
        let text = line("learner_us", learner_us) + &line("baseline_us", baseline_us);
        std::fs::write(self.dir.join("timings.txt"), text).unwrap_or_else(|e| harness_error(&e.to_string()));
    }

    pub fn write_text(&self, name: &str, text: &str) {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| harness_error(&format!("{}: {e}", path.display())));
    }

    /// The learner's code returned and every output is written.
    pub fn done(&self) {
        status(&self.dir, "ok");
    }
}

fn status(dir: &std::path::Path, text: &str) {
    // A status that cannot be written reads as "ended inside the learner's code": exit loudly.
    if std::fs::write(dir.join("status"), text).is_err() {
        std::process::exit(70);
    }
}

/// The case directory, for the error paths that have no `Case` yet.
fn case_dir() -> PathBuf {
    PathBuf::from(std::env::args().nth(1).unwrap_or_default())
}

pub fn learner_error(message: &str) -> ! {
    status(&case_dir(), &format!("learner-error\n{message}"));
    std::process::exit(0)
}

pub fn harness_error(message: &str) -> ! {
    status(&case_dir(), &format!("harness-error\n{message}"));
    std::process::exit(0)
}
