//! `.rs` exercises. The learner's file is `#[path]`-included into a grader crate kernlings
//! generates under `target/kernlings-graders/` (outside the workspace, so a learner's compile
//! error never breaks the project's `cargo test`). The child draws the inputs, runs the
//! grader binary on them, and checks its outputs: the learner's code never gives its own
//! verdict. The protocol is in harness/rust-graders/protocol.rs.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use anyhow::{bail, Context as _};

use super::child::{blank_outcome, failed, ChildRequest};
use super::compare::{self, Failure, Shape};
use super::inputs::{self, InputRng};
use super::parent::{die_with_parent, signal_name, tail, wait_or_kill, Cancel, Capture};
use super::speed::timing;
use super::{display_path, GradeRequest};
use crate::curriculum::{Curriculum, Exercise, ExerciseKind, Tolerance};
use crate::outcome::{Correctness, Outcome, SpeedResult};
use crate::toolchain::{self, BackendKind};

const PROTOCOL: &str = include_str!("../../rust-graders/protocol.rs");
/// Module 10's model, block manager and reference schedulers, a module of each serving grader.
const SERVING: &str = include_str!("../../rust-graders/serving.rs");
const LOADTEST: &str = include_str!("../../rust-graders/loadtest.rs");
/// The real model behind the server (`--model smollm2`), compiled only with its feature.
const SMOLLM2: &str = include_str!("../../rust-graders/smollm2.rs");
/// `--model smollm2-gpu --bench`: the real model on the learner's kernels, measured.
const SMOLLM2_BENCH: &str = include_str!("../../rust-graders/smollm2_bench.rs");
/// The scheduler graders' `blocks.rs`: module 08's allocator (`{{BLOCK_ALLOCATOR}}` becomes
/// its file), or the harness's reference. `blocks_module` picks one.
const BLOCKS_MODULE08: &str = include_str!("../../rust-graders/blocks_module08.rs");
const BLOCKS_REFERENCE: &str = include_str!("../../rust-graders/blocks_reference.rs");
/// Module 08's allocator exercise, which module 10's schedulers run on.
const BLOCK_ALLOCATOR: (&str, &str) = ("block_allocator", "08_kv_cache/block_allocator.rs");

/// The grader's `main.rs` for a check; `{{LEARNER}}` becomes the learner's file.
fn template(check: &str) -> Option<&'static str> {
    Some(match check {
        "host_launch" => include_str!("../../rust-graders/host_launch.rs"),
        "cpu_matmul" => include_str!("../../rust-graders/cpu_matmul.rs"),
        "block_allocator" => include_str!("../../rust-graders/block_allocator.rs"),
        "quantize_q4" => include_str!("../../rust-graders/quantize_q4.rs"),
        "quantize_int8" => include_str!("../../rust-graders/quantize_int8.rs"),
        "static_batching" | "continuous_batching" => {
            include_str!("../../rust-graders/batching.rs")
        }
        "serving_server" => include_str!("../../rust-graders/server.rs"),
        _ => return None,
    })
}

/// The grader's modules besides `main.rs` and `protocol.rs`.
fn modules(check: &str) -> &'static [(&'static str, &'static str)] {
    match check {
        "static_batching" | "continuous_batching" => &[("serving.rs", SERVING)],
        "serving_server" => &[
            ("serving.rs", SERVING),
            ("loadtest.rs", LOADTEST),
            ("smollm2.rs", SMOLLM2),
            ("smollm2_bench.rs", SMOLLM2_BENCH),
        ],
        _ => &[],
    }
}

/// Whether the grader of `check` runs kernels: module 00's plain Rust and module 10's fake
/// model do not, so grading them needs neither NVRTC nor a driver.
pub(super) fn runs_kernels(check: &str) -> bool {
    !matches!(
        check,
        "cpu_matmul"
            | "block_allocator"
            | "quantize_q4"
            | "quantize_int8"
            | "static_batching"
            | "continuous_batching"
            | "serving_server"
    )
}

/// The grader crate's dependencies: cudarc for host code, nothing for the schedulers, and
/// for the server the async stack with the fewest features that serve and load-test HTTP.
fn dependencies(check: &str) -> &'static str {
    match check {
        "static_batching" | "continuous_batching" => "",
        "serving_server" => {
            r#"tokio = { version = "1", default-features = false, features = ["rt-multi-thread", "net", "time", "sync", "macros"] }
axum = { version = "0.8", default-features = false, features = ["http1", "json", "tokio"] }
hyper = { version = "1", default-features = false, features = ["client", "http1"] }
hyper-util = { version = "0.1", default-features = false, features = ["tokio"] }
http-body-util = "0.1"
hdrhistogram = { version = "7", default-features = false }
serde = { version = "1", features = ["derive"] }
serde_json = "1"
futures-util = { version = "0.3", default-features = false }
"#
        }
        _ => {
            // half: fp16 for the quantization exercises (the harness's own version, from the
            // project's lock file).
            r#"cudarc = { version = "0.19", default-features = false, features = ["std", "driver", "nvrtc", "cuda-13000", "dynamic-loading"] }
half = "2"
"#
        }
    }
}

/// The functions a grader calls in the learner's file, as the learner must declare them:
/// a compile error at the call site in the generated crate is told as this, at the learner's
/// own line.
fn expected_fns(check: &str) -> &'static [(&'static str, &'static str)] {
    match check {
        "host_launch" => &[(
            "saxpy_on_gpu",
            "pub fn saxpy_on_gpu(ctx: &Arc<CudaContext>, saxpy: &CudaFunction, alpha: f32, \
             x: &[f32], y: &[f32]) -> Result<Vec<f32>, DriverError>",
        )],
        "cpu_matmul" => &[(
            "matmul",
            "pub fn matmul(a: &[f32], b: &[f32], c: &mut [f32], m: usize, k: usize, n: usize)",
        )],
        "block_allocator" => &[
            (
                "append_token",
                "pub fn append_token(&mut self, seq: SeqId) -> Result<Option<(BlockId, BlockId)>, OutOfBlocks>",
            ),
            (
                "add_sequence",
                "pub fn add_sequence(&mut self, seq: SeqId, tokens: usize) -> Result<(), OutOfBlocks>",
            ),
        ],
        "quantize_int8" => &[
            ("quantize_symmetric", "pub fn quantize_symmetric(w: &[f32], rows: usize, cols: usize, per_channel: bool) -> Symmetric"),
            ("quantize_asymmetric", "pub fn quantize_asymmetric(w: &[f32], rows: usize, cols: usize, per_channel: bool) -> Asymmetric"),
            ("clip_percentile", "pub fn clip_percentile(x: &[f32], percentile: f64) -> f32"),
            ("quantization_error", "pub fn quantization_error(x: &[f32], clip: f32) -> (f64, f64)"),
        ],
        // The dequantizers first: "dequantize_q4_0" contains "quantize_q4_0".
        "quantize_q4" => &[
            (
                "dequantize_q4_0",
                "pub fn dequantize_q4_0(blocks: &[u8]) -> Vec<f32>",
            ),
            (
                "dequantize_q4_1",
                "pub fn dequantize_q4_1(blocks: &[u8]) -> Vec<f32>",
            ),
            (
                "quantize_q4_0",
                "pub fn quantize_q4_0(x: &[f32]) -> Vec<u8>",
            ),
            (
                "quantize_q4_1",
                "pub fn quantize_q4_1(x: &[f32]) -> Vec<u8>",
            ),
        ],
        "static_batching" | "continuous_batching" => &[(
            "new",
            "pub struct Scheduler, with `pub fn new(limits: Limits) -> Scheduler` and \
             `impl Schedule for Scheduler`",
        )],
        "serving_server" => &[(
            "serve",
            "pub async fn serve(listener: tokio::net::TcpListener, engine: Engine, config: ServerConfig)",
        )],
        _ => &[],
    }
}

/// Parent side: the grader binary for this attempt, built now or found prebuilt.
/// `Ok(Err(message))` is the learner's compile error; a build stopped through `cancel` (watch:
/// the file saved again, or `q`) is the error `Cancelled`.
pub(super) fn grader_for(
    req: &GradeRequest,
    cancel: &Cancel,
) -> anyhow::Result<Result<PathBuf, String>> {
    let display = display_path(&req.root, &req.source);
    let key = key(&display);
    let source = std::fs::read_to_string(&req.source)
        .with_context(|| format!("reading {}", req.source.display()))?;
    if let Some(dir) = &req.prebuilt {
        let stamp = std::fs::read_to_string(dir.join(format!("{key}.source-hash")))
            .with_context(|| format!("no prebuilt grader for {display} in {}", dir.display()))?;
        if stamp.trim() != hash(&source) {
            bail!("the prebuilt grader for {display} in {} was built from another version of the file: run `kernlings build-graders` again", dir.display());
        }
        let errors = dir.join(format!("{key}.compile-error"));
        if errors.is_file() {
            return Ok(Err(std::fs::read_to_string(errors)?));
        }
        return Ok(Ok(dir.join(key)));
    }
    build(&req.root, &req.exercise, &req.source, &display, cancel)
}

/// `kernlings serve`: the grader of a server exercise built from `source`, which run as
/// `BINARY --serve PORT` serves the learner's server with the fake model instead of grading
/// it. With `smollm2` (the directory of harness/smollm2) it is built with the real model too,
/// served by `BINARY --serve PORT --smollm2 GGUF`: a grader of its own, so candle never
/// enters the one that grades. `Ok(Err(message))` is the learner's compile error; `Err` when
/// `ex` is not a server.
pub fn server_binary(
    root: &Path,
    ex: &Exercise,
    source: &Path,
    smollm2: Option<&Path>,
) -> anyhow::Result<Result<PathBuf, String>> {
    if ex.check != "serving_server" {
        bail!(
            "`{}` is not a server exercise: `kernlings serve` starts module 10's `server`",
            ex.name
        );
    }
    build_with(
        root,
        ex,
        source,
        &display_path(root, source),
        &Cancel::default(),
        smollm2,
    )
}

/// Build the grader for every `.rs` exercise's stub, solution and known-wrong versions into
/// `out` (for a grading machine without cargo: `--prebuilt out`). Returns the files graded.
pub fn build_graders(
    root: &Path,
    curriculum: &Curriculum,
    out: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut built = Vec::new();
    for ex in curriculum
        .exercises
        .iter()
        .filter(|e| e.kind == ExerciseKind::Rust)
    {
        let mut sources = vec![
            root.join("exercises").join(&ex.file),
            root.join("solutions").join(&ex.file),
        ];
        if let Ok(dir) = std::fs::read_dir(root.join("harness/wrong").join(&ex.name)) {
            sources.extend(
                dir.filter_map(|e| Some(e.ok()?.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "rs")),
            );
        }
        for source in sources {
            let display = display_path(root, &source);
            let key = key(&display);
            let text =
                std::fs::read_to_string(&source).with_context(|| format!("reading {display}"))?;
            let errors = out.join(format!("{key}.compile-error"));
            let _ = std::fs::remove_file(&errors);
            match build(root, ex, &source, &display, &Cancel::default())? {
                Ok(binary) => {
                    std::fs::copy(&binary, out.join(&key))
                        .with_context(|| format!("copying the grader for {display}"))?;
                }
                Err(message) => std::fs::write(&errors, message)?,
            }
            std::fs::write(out.join(format!("{key}.source-hash")), hash(&text))?;
            built.push(source);
        }
    }
    Ok(built)
}

/// A file name for a source path: `solutions/01_basics/host_launch.rs` ->
/// `solutions_01_basics_host_launch_rs`.
fn key(display: &str) -> String {
    display
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Stable across kernlings builds, so prebuilt graders stay valid (unlike `DefaultHasher`).
fn hash(text: &str) -> String {
    source_hash(text.as_bytes())
}

/// A file's content hash, stable across kernlings builds (also what tells an edit from a
/// re-grade in the progress state).
pub fn source_hash(bytes: &[u8]) -> String {
    format!("{:016x}", inputs::fnv1a(0, bytes))
}

/// The harness's reference code a learner's file must not call: it is compiled into the same
/// grader crate (Rust's privacy cannot hide it there), and a scheduler that delegates to it
/// would pass every check. A name in a `//` comment does not count.
/// The versions the server grader was tested with (tokio, axum, hyper, ...): cargo keeps them
/// and only renames the root package.
const SERVER_LOCK: &str = include_str!("../../rust-graders/server.Cargo.lock");
/// The same for the server grader with the real model (candle, tokenizers besides).
const SERVER_SMOLLM2_LOCK: &str = include_str!("../../rust-graders/server-smollm2.Cargo.lock");

fn names_a_reference(source: &str, check: &str) -> Option<&'static str> {
    const SCHEDULERS: &[&str] = &["RefStatic", "RefContinuous", "FakeProbe", "FakeState"];
    let forbidden: &[&str] = match check {
        "static_batching" | "continuous_batching" => SCHEDULERS,
        _ => &[],
    };
    let code = source.lines().map(|l| l.split("//").next().unwrap_or(""));
    let mut words = code.flat_map(|l| l.split(|c: char| !(c.is_alphanumeric() || c == '_')));
    words.find_map(|w| forbidden.iter().copied().find(|f| *f == w))
}

/// The block allocator a scheduler file runs on, as its grader's `blocks.rs`. The learner's
/// scheduler (a file under exercises/) runs on the learner's module 08 block_allocator when its
/// file now is the one that last passed, on the harness's reference otherwise; the course's own
/// files (solutions, known-wrong versions, kept originals) on module 08's solution, so
/// check-solutions grades the scheduler solutions with the allocator solution.
fn blocks_module(root: &Path, source: &Path) -> anyhow::Result<String> {
    let (name, file) = BLOCK_ALLOCATOR;
    let module08 = |path: PathBuf, whose: String| {
        BLOCKS_MODULE08
            .replace(
                "{{BLOCK_ALLOCATOR}}",
                &format!("{:?}", path.display().to_string()),
            )
            .replace("{{WHOSE}}", &format!("{whose:?}"))
    };
    let reference = |why: &str| {
        BLOCKS_REFERENCE.replace(
            "{{WHOSE}}",
            &format!("{:?}", format!("kernlings' reference ({why})")),
        )
    };
    if !source.starts_with(root.join("exercises")) {
        let solution = root.join("solutions").join(file);
        return Ok(module08(
            solution,
            format!("module 08's solution, solutions/{file}"),
        ));
    }
    let learner = root.join("exercises").join(file);
    // No progress yet (a fresh checkout): nothing passed, and no .kernlings/ is made for it.
    let state = match crate::state::State::path(root).is_file() {
        true => crate::state::State::load(root)?.exercise(name),
        false => Default::default(),
    };
    let passed = state.first_done.is_some() && state.last.as_ref().is_some_and(|l| l.passed);
    Ok(match std::fs::read(&learner) {
        Ok(bytes) if passed && state.last_hash.as_deref() == Some(&source_hash(&bytes)) => {
            module08(
                learner,
                format!("your 08 block_allocator, exercises/{file}"),
            )
        }
        Ok(_) if state.first_done.is_some() => reference(&format!(
            "exercises/{file} changed since it last passed: `{} run {name}` to use yours",
            toolchain::command_name()
        )),
        _ => reference(&format!("{name} not passed yet")),
    })
}

fn build(
    root: &Path,
    ex: &Exercise,
    source: &Path,
    display: &str,
    cancel: &Cancel,
) -> anyhow::Result<Result<PathBuf, String>> {
    build_with(root, ex, source, display, cancel, None)
}

/// `build`, with the real model's crate (harness/smollm2) as a dependency when `smollm2` is
/// its directory.
fn build_with(
    root: &Path,
    ex: &Exercise,
    source: &Path,
    display: &str,
    cancel: &Cancel,
    smollm2: Option<&Path>,
) -> anyhow::Result<Result<PathBuf, String>> {
    let template = template(&ex.check)
        .with_context(|| format!("no grader template for check `{}`", ex.check))?;
    let graders = root.join("target/kernlings-graders");
    // The course's root in the name too: courses sharing one build directory (TARGET_ENV)
    // must not overwrite each other's grader binary.
    let course = hash(&root.display().to_string());
    let mut name = format!("grader-{}-{}", key(display).replace('_', "-"), &course[..8]);
    if smollm2.is_some() {
        name += "-smollm2";
    }
    let dir = graders.join(&name);
    std::fs::create_dir_all(dir.join("src"))
        .with_context(|| format!("creating {}", dir.display()))?;
    let learner = source
        .canonicalize()
        .with_context(|| format!("finding {display}"))?;
    if let Some(name) = names_a_reference(&std::fs::read_to_string(&learner)?, &ex.check) {
        return Ok(Err(format!(
            "{display} uses `{name}`, the harness's own scheduler, which the grader compiles \
             beside your file to measure yours against: the scheduler must be yours."
        )));
    }
    let main = template.replace(
        "{{LEARNER}}",
        &format!("{:?}", learner.display().to_string()),
    );
    write_if_changed(&dir.join("src/main.rs"), &main)?;
    write_if_changed(&dir.join("src/protocol.rs"), PROTOCOL)?;
    for (file, text) in modules(&ex.check) {
        write_if_changed(&dir.join("src").join(file), text)?;
    }
    if matches!(ex.check.as_str(), "static_batching" | "continuous_batching") {
        write_if_changed(&dir.join("src/blocks.rs"), &blocks_module(root, source)?)?;
    }
    write_if_changed(
        &dir.join("Cargo.toml"),
        &manifest(&name, &ex.check, smollm2),
    )?;
    // The project's lock file pins the same cudarc the harness was tested with; the server's
    // async stack is in no workspace crate, so its grader ships a lock of its own.
    let lock = match ex.check.as_str() {
        "serving_server" if smollm2.is_some() => Some(SERVER_SMOLLM2_LOCK.to_string()),
        "serving_server" => Some(SERVER_LOCK.to_string()),
        _ => std::fs::read_to_string(root.join("Cargo.lock")).ok(),
    };
    if let Some(lock) = lock {
        if !dir.join("Cargo.lock").exists() {
            std::fs::write(dir.join("Cargo.lock"), lock)?;
        }
    }
    // One build directory for every grader, so cudarc is compiled once; tests point it at
    // the workspace's so a temporary course does not compile cudarc again.
    let target = std::env::var_os(TARGET_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| graders.join("target"));
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .args([
            "build",
            "--release",
            "--quiet",
            "--message-format=json",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target);
    let output = output_unless_cancelled(cargo, cancel).context(
        "running cargo to build the grader (is cargo installed? on a machine without it, use --prebuilt)",
    )?;
    if !output.status.success() {
        let learner_text = std::fs::read_to_string(&learner).unwrap_or_default();
        let errors = compile_errors(
            &String::from_utf8_lossy(&output.stdout),
            (&learner.display().to_string(), display),
            &learner_text,
            expected_fns(&ex.check),
        );
        if errors.is_empty() {
            // Not the learner's code: cargo itself failed (no network for cudarc, say).
            bail!(
                "building the grader for {display} failed:\n{}",
                String::from_utf8_lossy(&output.stderr).trim_end()
            );
        }
        return Ok(Err(errors));
    }
    Ok(Ok(target.join("release").join(&name)))
}

/// Runs `cmd` to the end and returns what it wrote, unless `cancel` is set first: then it and
/// everything it started (cargo's rustc and build scripts, in its process group) are killed
/// within a watchdog tick and the error is `Cancelled`. A build of cudarc takes a minute; a
/// learner who saves again must not wait for the stale one.
fn output_unless_cancelled(mut cmd: Command, cancel: &Cancel) -> anyhow::Result<Output> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    die_with_parent(&mut cmd);
    let mut child = cmd.spawn()?;
    // Read whole, on threads, so a full pipe never stalls the build; cargo's JSON messages
    // for one small crate are bounded.
    let read_all = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = read_all(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = read_all(child.stderr.take().map(|p| Box::new(p) as _));
    let status = wait_or_kill(&mut child, Duration::MAX, cancel)?
        .expect("no watchdog limit: only a cancel stops the build early");
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Where grader crates are built, instead of `target/kernlings-graders/target`.
const TARGET_ENV: &str = "KERNLINGS_GRADER_TARGET";

/// The compiler's errors from cargo's JSON messages, told against the learner's file. An error
/// in the learner's file keeps rustc's own rendering with the path the learner knows. An error
/// in the generated grader (the learner never sees it: a missing function, a wrong signature)
/// becomes a line at the learner's `fn`, or line 1, saying what kernlings calls.
fn compile_errors(
    json_lines: &str,
    (absolute, shown): (&str, &str),
    learner_text: &str,
    expected: &[(&str, &str)],
) -> String {
    let mut out = Vec::new();
    for line in json_lines.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let m = &msg["message"];
        if msg["reason"] != "compiler-message" || m["level"] != "error" {
            continue;
        }
        let spans = m["spans"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let primary = spans.iter().find(|s| s["is_primary"] == true);
        let in_learner = primary.is_some_and(|s| {
            s["file_name"]
                .as_str()
                .is_some_and(|f| f == absolute || f.ends_with(shown))
        });
        let Some(primary) = primary else {
            // "aborting due to 2 previous errors" and the like say nothing new.
            continue;
        };
        if in_learner {
            let rendered = m["rendered"].as_str().unwrap_or_default();
            out.push(rendered.replace(absolute, shown).trim_end().to_string());
            continue;
        }
        // At the grader's call site: name the function it calls.
        let text = primary["text"][0]["text"].as_str().unwrap_or_default();
        let called = expected
            .iter()
            .find(|(name, _)| text.contains(name))
            .or(expected.first());
        let message = m["message"].as_str().unwrap_or("error");
        let Some((name, signature)) = called else {
            out.push(format!("{shown}: error: {message}"));
            continue;
        };
        let defined = learner_text
            .lines()
            .position(|l| l.contains(&format!("fn {name}")))
            .map(|i| i + 1);
        let what = match defined {
            None => format!(
                "kernlings calls `{name}` from your file, and your file has no `fn {name}` \
                 (an empty file? a renamed function?)"
            ),
            Some(_) => format!("kernlings cannot call your `{name}` as it is declared: {message}"),
        };
        out.push(format!(
            "{shown}:{}: error: {what}\n  kernlings calls it as: {signature}",
            defined.unwrap_or(1)
        ));
    }
    out.dedup();
    out.join("\n\n")
}

fn manifest(name: &str, check: &str, smollm2: Option<&Path>) -> String {
    let mut dependencies = dependencies(check).to_string();
    // The server grader's `smollm2` feature compiles the real model in; declared in both
    // so the cfg is a known one.
    let features = match smollm2 {
        Some(dir) => {
            // With its GPU model (cudarc, loaded at run time): `--model smollm2-gpu`.
            dependencies += &format!(
                "kernlings-smollm2 = {{ path = {:?}, features = [\"gpu\"] }}\n",
                dir.display()
            );
            "[features]\ndefault = [\"smollm2\"]\nsmollm2 = []\n"
        }
        None if check == "serving_server" => "[features]\nsmollm2 = []\n",
        None => "",
    };
    format!(
        r#"# Generated by kernlings: the grader for one learner file. Do not edit.
[package]
name = "{name}"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
{dependencies}
{features}
# Not part of the kernlings workspace.
[workspace]
"#
    )
}

fn write_if_changed(path: &Path, text: &str) -> anyhow::Result<()> {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// What a Rust check works with: inputs, the grader binary, comparisons.
pub struct RustCtx {
    grader: PathBuf,
    /// The learner's file as the compiler names it, and as the learner knows it.
    source: (String, String),
    exercise: Exercise,
    seed: u64,
    rng: InputRng,
    scratch: PathBuf,
    timing: bool,
    runs: usize,
    pub(super) case: String,
    pub(super) cases: Vec<String>,
    pub(super) speed: Option<SpeedResult>,
    pub(super) load_sweep: Option<crate::outcome::LoadSweep>,
}

/// The files one grader run wrote.
pub struct GraderRun {
    dir: PathBuf,
}

impl GraderRun {
    /// The output `name`; missing means the learner's code did not produce it.
    pub fn f32s(&self, name: &str) -> anyhow::Result<Vec<f32>> {
        let bytes = std::fs::read(self.dir.join(format!("{name}.f32")))
            .map_err(|_| Failure::new(format!("your code produced no `{name}`"), ""))?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// A text output; missing means the grader ended before writing it.
    pub fn text(&self, name: &str) -> anyhow::Result<String> {
        std::fs::read_to_string(self.dir.join(name))
            .map_err(|_| Failure::new(format!("the grader wrote no `{name}`"), "").into())
    }

    /// `(learner, baseline)` samples in microseconds, when the grader timed them.
    pub fn timings(&self) -> Option<(Vec<f64>, Vec<f64>)> {
        let text = std::fs::read_to_string(self.dir.join("timings.txt")).ok()?;
        let line = |name: &str| -> Option<Vec<f64>> {
            let l = text.lines().find(|l| l.starts_with(name))?;
            l.split_whitespace()
                .skip(1)
                .map(|x| x.parse().ok())
                .collect()
        };
        Some((line("learner_us")?, line("baseline_us")?))
    }
}

impl RustCtx {
    pub fn sizes(&self) -> Vec<Vec<usize>> {
        self.exercise.sizes.clone()
    }

    /// The size of the timed case, when speed is to be measured in this run.
    pub fn speed_size(&self) -> Option<Vec<usize>> {
        let bar = self.exercise.speed.as_ref()?;
        self.timing.then(|| bar.size.clone())
    }

    pub fn tolerance(&self) -> Tolerance {
        self.exercise
            .tolerance
            .unwrap_or(super::check::DEFAULT_TOLERANCE)
    }

    /// As `CheckCtx::case`: each case's inputs come from a stream of its own.
    pub fn case(&mut self, label: impl Into<String>) {
        self.case = label.into();
        self.rng = inputs::rng(inputs::case_seed(self.seed, &self.case));
    }

    pub fn random_f32(&mut self, n: usize) -> Vec<f32> {
        inputs::f32s(&mut self.rng, n)
    }

    /// A position in `0..n`, e.g. an element to check that the learner's code cannot predict.
    pub fn random_index(&mut self, n: usize) -> usize {
        rand::Rng::gen_range(&mut self.rng, 0..n)
    }

    /// Run the grader binary (the learner's code) on `params` and `inputs`.
    pub fn run(
        &mut self,
        params: &[(&str, f64)],
        inputs: &[(&str, &[f32])],
    ) -> anyhow::Result<GraderRun> {
        self.runs += 1;
        let dir = self.scratch.join(format!("case{}", self.runs));
        std::fs::create_dir_all(&dir)?;
        let text: String = params.iter().map(|(k, v)| format!("{k} {v:?}\n")).collect();
        std::fs::write(dir.join("params.txt"), text)?;
        for (name, values) in inputs {
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            std::fs::write(dir.join(format!("{name}.f32")), bytes)?;
        }
        let mut cmd = Command::new(&self.grader);
        cmd.arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        super::parent::die_with_parent(&mut cmd);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("running the grader {}", self.grader.display()))?;
        let stdout = Capture::start(child.stdout.take());
        let stderr = Capture::start(child.stderr.take());
        // Waits for the grader alone, not for its pipes: a process the learner's code started
        // may hold them open; it is killed with the attempt's process group (parent.rs).
        let status = child.wait().context("waiting for the grader")?;
        let (stdout, stderr) = (stdout.finish(), stderr.finish());
        let printed = |text: &str| text.trim_end().replace(&self.source.0, &self.source.1);
        let (stdout, stderr) = (printed(&stdout), printed(&stderr));
        let said = tail("your code printed", &format!("{stdout}\n"), &stderr);
        let written = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        let (kind, message) = written.split_once('\n').unwrap_or((&written, ""));
        match kind {
            "ok" => Ok(GraderRun { dir }),
            "learner-error" => Err(Failure::new(
                "your function returned an error",
                format!("{message}\n{said}"),
            )
            .into()),
            "harness-error" => bail!("the grader failed: {message}"),
            _ => Err(ended_early(status, &stderr, said).into()),
        }
    }
    /// Compare an output with the reference and record the passing case. Zeros where
    /// values belong usually mean elements nothing wrote: the learner allocated the output.
    pub fn expect(&mut self, name: &str, got: &[f32], want: &[f32]) -> anyhow::Result<()> {
        if got.len() != want.len() {
            bail!(Failure::new(
                format!(
                    "`{name}` has {} elements, expected {}",
                    got.len(),
                    want.len()
                ),
                ""
            ));
        }
        match compare::compare(name, Shape::Linear, got, want, self.tolerance()) {
            Ok(line) => {
                self.cases.push(format!("{}: {line}", self.case));
                Ok(())
            }
            Err(mut f) => {
                let wrong_zeros = got
                    .iter()
                    .zip(want)
                    .filter(|(g, w)| **g == 0.0 && **w != 0.0)
                    .count();
                if wrong_zeros > 0 {
                    f.details += &format!(
                        "{wrong_zeros} wrong elements are exactly 0: never written? Does your launch \
                         configuration cover all {} elements?\n",
                        want.len()
                    );
                }
                Err(f.into())
            }
        }
    }

    /// Record a CPU speed result from the grader's timings (learner vs the naive baseline,
    /// timed in the grader's one process).
    pub fn record_cpu_speed(
        &mut self,
        run: &GraderRun,
        achieved: impl Fn(f64) -> String,
    ) -> anyhow::Result<()> {
        let (Some(bar), true) = (self.exercise.speed.clone(), self.timing) else {
            return Ok(());
        };
        let (learner, baseline) = run.timings().context("the grader wrote no timings")?;
        if learner.is_empty() || baseline.is_empty() {
            bail!("the grader wrote empty timings");
        }
        let (l, b) = (timing(&learner), timing(&baseline));
        let ratio = b.median_us / l.median_us;
        self.speed = Some(SpeedResult {
            baseline: "cpu-naive".into(),
            ratio,
            bar: bar.bar,
            passed: ratio >= bar.bar,
            achieved: achieved(l.median_us),
            // No device limit is measured for CPU code: the speed-up is the whole story.
            percent_of_limit: 0.0,
            learner: l,
            baseline_timing: b,
        });
        Ok(())
    }
}

/// A grader that left no status ended inside the learner's code: a panic, `exit`, a crash.
fn ended_early(status: std::process::ExitStatus, stderr: &str, said: String) -> Failure {
    if stderr.contains("panicked at") {
        return panicked(stderr);
    }
    if stderr.contains("has overflowed its stack") {
        return Failure::new(
            "your code overflowed its stack",
            format!(
                "Deep recursion, or a large array on the stack (a Vec lives on the heap).\n{said}"
            ),
        );
    }
    let summary = match (status.code(), status.signal()) {
        (Some(code), _) => format!("your code called exit({code})"),
        (None, Some(sig)) => format!("your code crashed: killed by {}", signal_name(sig)),
        (None, None) => "your code ended before returning".to_string(),
    };
    Failure::new(
        summary,
        format!(
            "kernlings calls your function and checks what it returns; the process ended \
             before your function returned, so there was nothing to check.\n{said}"
        ),
    )
}

/// `thread 'main' panicked at /abs/learner.rs:12:5:\nnot yet implemented` -> a failure
/// whose summary is the panic message.
fn panicked(stderr: &str) -> Failure {
    let mut lines = stderr.lines().skip_while(|l| !l.contains("panicked at"));
    let place = lines.next().unwrap_or_default();
    let message = lines.next().unwrap_or("(no message)").trim().to_string();
    let place = place
        .split("panicked at ")
        .nth(1)
        .unwrap_or("")
        .trim_end_matches(':');
    Failure::new(
        format!("your code panicked: {message}"),
        format!("at {place}\nA panic (unwrap on an error, todo!(), an index out of range) fails the attempt.\n"),
    )
}

/// What an exercise timed against a naive Rust version is graded on: it runs no kernels
/// (module 00), so naming the GPU or the PTX interpreter would credit the wrong machine.
pub(super) const CPU_ONLY_DEVICE: &str = "this machine's CPU (Rust, no kernels)";

pub(super) fn runs_no_kernels(exercise: &Exercise) -> bool {
    exercise.speed.as_ref().map(|s| s.baseline) == Some(crate::curriculum::Baseline::CpuNaive)
        || (exercise.kind == ExerciseKind::Rust && !runs_kernels(&exercise.check))
}

/// Child side: grade a `.rs` exercise with its check.
pub(super) fn run_check(
    req: &ChildRequest,
    check: super::checks::RustCheck,
) -> anyhow::Result<Outcome> {
    let device = match req.backend {
        _ if runs_no_kernels(&req.request.exercise) => CPU_ONLY_DEVICE.into(),
        BackendKind::Gpu => toolchain::real_gpu().unwrap_or_else(|| "NVIDIA GPU".into()),
        BackendKind::Cpu => "kernlings CPU driver (PTX interpreter)".into(),
    };
    let mut outcome = blank_outcome(req, device);
    let grader = req
        .grader
        .clone()
        .context("no grader binary for a Rust exercise")?;
    let scratch = req
        .result
        .parent()
        .context("the result file has no directory")?
        .join("rust-cases");
    let r = &req.request;
    let absolute = r.source.canonicalize().unwrap_or_else(|_| r.source.clone());
    let mut ctx = RustCtx {
        grader,
        source: (
            absolute.display().to_string(),
            display_path(&r.root, &r.source),
        ),
        exercise: r.exercise.clone(),
        seed: req.seed,
        rng: inputs::rng(req.seed),
        scratch,
        timing: r.speed && outcome.speed_skipped.is_none(),
        runs: 0,
        case: String::new(),
        cases: Vec::new(),
        speed: None,
        load_sweep: None,
    };
    match check(&mut ctx) {
        Ok(()) => {
            outcome.correctness = Correctness::Passed { cases: ctx.cases };
            outcome.speed = ctx.speed;
            outcome.load_sweep = ctx.load_sweep;
        }
        Err(e) => outcome.correctness = failed(&ctx.case, e)?,
    }
    Ok(outcome)
}

#[cfg(test)]
mod reference_names {
    use super::names_a_reference;

    #[test]
    fn a_scheduler_that_names_the_reference_is_refused_but_a_comment_is_not() {
        let cheat = "use crate::serving::{RefContinuous, Schedule};\nstruct S(RefContinuous);";
        assert_eq!(
            names_a_reference(cheat, "continuous_batching"),
            Some("RefContinuous")
        );
        let fine = "// unlike RefContinuous, this one is mine\nstruct RefContinuousish;";
        assert_eq!(names_a_reference(fine, "continuous_batching"), None);
        assert_eq!(names_a_reference(cheat, "server"), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_become_the_summary() {
        let stderr = "thread 'main' panicked at exercises/01_basics/host_launch.rs:20:5:\nnot yet implemented\nnote: run with `RUST_BACKTRACE=1`";
        let f = panicked(stderr);
        assert_eq!(f.summary, "your code panicked: not yet implemented");
        assert!(
            f.details
                .starts_with("at exercises/01_basics/host_launch.rs:20:5\n"),
            "{}",
            f.details
        );
    }

    #[test]
    fn grader_timings_are_read_back() {
        let dir = std::env::temp_dir().join(format!("kernlings-timings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // As protocol.rs's write_timings writes them.
        std::fs::write(
            dir.join("timings.txt"),
            "learner_us 1.5 2 2.5\nbaseline_us 10 11 12\n",
        )
        .unwrap();
        let run = GraderRun { dir: dir.clone() };
        assert_eq!(
            run.timings(),
            Some((vec![1.5, 2.0, 2.5], vec![10.0, 11.0, 12.0]))
        );
        std::fs::write(dir.join("timings.txt"), "learner_us 1.5 x\n").unwrap();
        assert_eq!(run.timings(), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_cancelled_build_is_killed_with_what_it_started() {
        // A stand-in for cargo: it starts a compiler-like child and waits on it.
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("sleep 30 & echo $! > {}; wait", pid_file.display()));
        let cancel = Cancel::default();
        let token = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            token.cancel();
        });
        let start = std::time::Instant::now();
        let err = output_unless_cancelled(cmd, &cancel).unwrap_err();
        assert!(err.is::<super::super::Cancelled>(), "{err:#}");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        let sleeper = std::fs::read_to_string(&pid_file).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        // It shared the build's process group: killed, then reaped by init (or a zombie).
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", sleeper.trim())).unwrap_or_default();
        assert!(stat.is_empty() || stat.contains(") Z "), "{stat}");
    }

    #[test]
    fn a_finished_build_returns_its_output() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 3"]);
        let out = output_unless_cancelled(cmd, &Cancel::default()).unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(
            (&out.stdout[..], &out.stderr[..]),
            (&b"out\n"[..], &b"err\n"[..])
        );
    }

    #[test]
    fn only_the_real_model_grader_depends_on_candle() {
        let plain = manifest("g", "serving_server", None);
        assert!(!plain.contains("kernlings-smollm2"), "{plain}");
        assert!(plain.contains("smollm2 = []"), "{plain}");
        assert!(!SERVER_LOCK.contains("candle"));
        let real = manifest("g", "serving_server", Some(Path::new("/c/harness/smollm2")));
        assert!(
            real.contains(
                r#"kernlings-smollm2 = { path = "/c/harness/smollm2", features = ["gpu"] }"#
            ),
            "{real}"
        );
        assert!(real.contains(r#"default = ["smollm2"]"#), "{real}");
        assert!(SERVER_SMOLLM2_LOCK.contains("name = \"candle-transformers\""));
    }

    #[test]
    fn keys_are_file_names() {
        assert_eq!(
            key("solutions/01_basics/host_launch.rs"),
            "solutions_01_basics_host_launch_rs"
        );
        assert_eq!(hash("a"), hash("a"));
        assert_ne!(hash("a"), hash("b"));
    }
}

#[cfg(test)]
mod block_allocator_choice {
    use super::{blocks_module, source_hash};
    use crate::state::{ExerciseState, LastResult, State};

    /// `blocks.rs`'s `WHOSE` line, which the output shows.
    fn whose(text: &str) -> &str {
        text.lines().find(|l| l.contains("WHOSE: &str")).unwrap()
    }

    #[test]
    fn the_learner_scheduler_runs_on_their_allocator_only_while_it_passes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let file = root.join("exercises/08_kv_cache/block_allocator.rs");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "// mine\n").unwrap();
        let scheduler = root.join("exercises/10_serving/continuous_batching.rs");
        let solution = root.join("solutions/10_serving/continuous_batching.rs");

        // Nothing passed yet, and no progress directory is made for the question.
        let fresh = blocks_module(root, &scheduler).unwrap();
        assert!(whose(&fresh).contains("reference (block_allocator not passed yet)"));
        assert!(!root.join(".kernlings").exists());
        // The course's own files run on module 08's solution, whatever the state.
        let ours = blocks_module(root, &solution).unwrap();
        assert!(
            ours.contains("solutions/08_kv_cache/block_allocator.rs\"]"),
            "{ours}"
        );

        let now = chrono::Utc::now();
        let mut state = State::fresh();
        state.exercises.insert(
            "block_allocator".into(),
            ExerciseState {
                first_done: Some(now),
                last: Some(LastResult {
                    at: now,
                    passed: true,
                    summary: String::new(),
                    seed: 1,
                }),
                last_hash: Some(source_hash(b"// mine\n")),
                ..ExerciseState::default()
            },
        );
        state.save(root).unwrap();
        let theirs = blocks_module(root, &scheduler).unwrap();
        assert!(
            whose(&theirs).contains("your 08 block_allocator"),
            "{theirs}"
        );
        assert!(theirs.contains(&format!("{:?}]", file.display().to_string())));

        std::fs::write(&file, "// mine, edited\n").unwrap();
        let edited = blocks_module(root, &scheduler).unwrap();
        assert!(
            whose(&edited).contains("changed since it last passed"),
            "{edited}"
        );
    }
}
