//! `kernlings serve NAME`: build the learner's server exercise into its grader and run it in
//! serving mode (the harness's continuous batcher; the fake model, with `--model smollm2`
//! SmolLM2-135M on the CPU, with `--model smollm2-gpu` the same model on the learner's own
//! kernels), in the foreground, so the learner can curl it. Ctrl-C stops it. `--bench` with
//! the GPU model measures instead of serving: greedy tokens against the CPU model, and a load
//! test through the learner's server, continuous against static.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context as _};

use super::Course;
use crate::cli::ServeModel;
use crate::{cpu_setup, grade, toolchain};

pub struct Options {
    pub model: ServeModel,
    pub bench: bool,
    /// The GPU model runs solutions/' kernels instead of the learner's.
    pub solutions: bool,
    /// A server grader built elsewhere (a GPU machine has no cargo).
    pub grader: Option<PathBuf>,
}

/// The learner kernels the GPU model calls, in the order the grader takes them.
const GPU_KERNELS: [&str; 5] = [
    "rmsnorm_residual",
    "rope",
    "paged_decode",
    "gemv_q4",
    "sgemm_2d_blocktile",
];

pub fn run(course: &Course, name: &str, port: u16, opts: Options) -> anyhow::Result<ExitCode> {
    let ex = course.exercise(name)?;
    let source = course.root.join("exercises").join(&ex.file);
    let gpu = opts.model == ServeModel::Smollm2Gpu;
    if (opts.bench || opts.solutions) && !gpu {
        bail!("--bench and --solutions go with --model smollm2-gpu");
    }
    // The learner's kernels, then the weights: what cannot be used fails before a download,
    // and a download that cannot happen fails before a long build.
    let kernels = match gpu {
        true => Some(gpu_kernels(course, opts.solutions)?),
        false => None,
    };
    let real = match opts.model {
        ServeModel::Fake => None,
        ServeModel::Smollm2 | ServeModel::Smollm2Gpu => {
            Some((cpu_setup::smollm2_gguf()?, smollm2_crate(&course.root)?))
        }
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
    let binary = match &opts.grader {
        Some(binary) => binary.clone(),
        None => match grade::server_binary(&course.root, ex, &source, crate_dir)? {
            Ok(binary) => binary,
            Err(errors) => {
                println!("{errors}");
                return Ok(ExitCode::FAILURE);
            }
        },
    };
    let mut serve = Command::new(&binary);
    match (&real, &kernels) {
        (None, _) => {
            serve.arg("--serve").arg(port.to_string());
        }
        (Some((gguf, _)), None) => {
            serve
                .arg("--serve")
                .arg(port.to_string())
                .arg("--smollm2")
                .arg(gguf);
        }
        (Some((gguf, _)), Some(files)) => {
            match opts.bench {
                true => serve.arg("--bench-gpu").arg(gguf),
                false => serve
                    .arg("--serve")
                    .arg(port.to_string())
                    .arg("--smollm2-gpu")
                    .arg(gguf),
            };
            serve.args(files);
            // NVRTC and the driver (kernlings' own on the CPU backend), as a grading child.
            let setup = toolchain::prepare_child(course.global.backend, &course.root)?;
            println!(
                "the model runs on {}",
                match setup.backend {
                    toolchain::BackendKind::Gpu => "the GPU",
                    toolchain::BackendKind::Cpu =>
                        "kernlings' CPU backend (an interpreter: seconds a token)",
                }
            );
            serve.envs(setup.env.iter().map(|(k, v)| (k, v)));
            let include = std::env::join_paths(&setup.include_dirs)
                .context("an include directory with ':' in its path")?;
            serve.env("KERNLINGS_NVRTC_INCLUDE", include);
        }
    }
    if !opts.bench {
        let status = serve
            .status()
            .with_context(|| format!("running {}", binary.display()))?;
        return Ok(super::exit(status.success()));
    }
    bench(course, serve)
}

/// Runs the bench, its lines shown as they come, and draws its load sweep.
fn bench(course: &Course, mut cmd: Command) -> anyhow::Result<ExitCode> {
    use std::io::BufRead as _;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("running the server grader")?;
    let mut text = String::new();
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line?;
        println!("{line}");
        text += &line;
        text.push('\n');
    }
    let status = child.wait()?;
    if let Some(sweep) = grade::checks::serving::load_sweep(&text)? {
        let dir = course.root.join("progress");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let chart = dir.join("serving-smollm2-gpu.svg");
        crate::report::serving_chart(&chart, &sweep)?;
        println!("the sweep's chart: {}", course.display_path(&chart));
    }
    Ok(super::exit(status.success()))
}

/// The files of the GPU model's kernels: the learner's (each must pass its own exercise
/// first, so a wrong kernel is found by its grader, not by garbled text), or solutions/'.
fn gpu_kernels(course: &Course, solutions: bool) -> anyhow::Result<Vec<PathBuf>> {
    let state = crate::state::State::load(&course.root)?;
    let mut files = Vec::new();
    let mut missing = Vec::new();
    for name in GPU_KERNELS {
        let ex = course.exercise(name)?;
        let dir = if solutions { "solutions" } else { "exercises" };
        files.push(course.root.join(dir).join(&ex.file));
        if !solutions && !state.is_done(name) {
            missing.push(name);
        }
    }
    if !missing.is_empty() {
        bail!(
            "the GPU model runs on your kernels, and {} {} not passed yet: `{} run {}` first \
             (or --solutions for the course's)",
            missing.join(", "),
            if missing.len() == 1 { "has" } else { "have" },
            toolchain::command_name(),
            missing[0]
        );
    }
    Ok(files)
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
