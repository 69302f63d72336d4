//! `kernlings serve NAME`: build the learner's server exercise into its grader and run it in
//! serving mode (the fake model, the harness's continuous batcher), in the foreground, so the
//! learner can curl it. Ctrl-C stops it.

use std::process::{Command, ExitCode};

use anyhow::Context as _;

use super::Course;
use crate::grade;

pub fn run(course: &Course, name: &str, port: u16) -> anyhow::Result<ExitCode> {
    let ex = course.exercise(name)?;
    let source = course.root.join("exercises").join(&ex.file);
    println!(
        "building your server ({}) ...",
        course.display_path(&source)
    );
    let binary = match grade::server_binary(&course.root, ex, &source)? {
        Ok(binary) => binary,
        Err(errors) => {
            println!("{errors}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let status = Command::new(&binary)
        .arg("--serve")
        .arg(port.to_string())
        .status()
        .with_context(|| format!("running {}", binary.display()))?;
    Ok(super::exit(status.success()))
}
