//! `kernlings serve NAME`: build the learner's server exercise into its grader and run it in
//! serving mode (the harness's continuous batcher; the fake model, or with `--model smollm2`
//! SmolLM2-135M on the CPU), in the foreground, so the learner can curl it. Ctrl-C stops it.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::Context as _;

use super::Course;
use crate::cli::ServeModel;
use crate::{cpu_setup, grade};

pub fn run(course: &Course, name: &str, port: u16, model: ServeModel) -> anyhow::Result<ExitCode> {
    let ex = course.exercise(name)?;
    let source = course.root.join("exercises").join(&ex.file);
    // The weights first: a download that cannot happen fails before a long build.
    let real = match model {
        ServeModel::Fake => None,
        ServeModel::Smollm2 => Some((cpu_setup::smollm2_gguf()?, smollm2_crate(&course.root)?)),
    };
    println!(
        "building your server ({}){} ...",
        course.display_path(&source),
        match real {
            Some(_) => " with SmolLM2 (candle: a few minutes the first time)",
            None => "",
        }
    );
    let crate_dir = real.as_ref().map(|(_, dir)| dir.as_path());
    let binary = match grade::server_binary(&course.root, ex, &source, crate_dir)? {
        Ok(binary) => binary,
        Err(errors) => {
            println!("{errors}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut serve = Command::new(&binary);
    serve.arg("--serve").arg(port.to_string());
    if let Some((gguf, _)) = &real {
        serve.arg("--smollm2").arg(gguf);
    }
    let status = serve
        .status()
        .with_context(|| format!("running {}", binary.display()))?;
    Ok(super::exit(status.success()))
}

/// harness/smollm2, the real model's crate: in the course, else in the checkout this
/// kernlings was built from.
fn smollm2_crate(root: &Path) -> anyhow::Result<PathBuf> {
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR"));
    [root.join("harness"), built_from.to_path_buf()]
        .into_iter()
        .map(|d| d.join("smollm2"))
        .find(|d| d.join("Cargo.toml").is_file())
        .context("the real model's crate (harness/smollm2) is neither in the course nor in the checkout kernlings was built from")
}
