//! Grades module 01 end to end through the real child process: every solution passes, every
//! untouched stub fails, every known-wrong version fails with the words its first line
//! expects. It needs a backend (a GPU, or the CPU driver) and the `kernlings` binary next to
//! the test executable (`cargo build` first); without them it says so and passes.
//!
//! `KERNLINGS_ROOT` points at a repository copy (default: this one), `KERNLINGS_PREBUILT` at
//! prebuilt Rust graders, `KERNLINGS_TEST_SPEED=1` also measures speed on a GPU, and
//! `KERNLINGS_TEST_LOG=<file>` receives every attempt's full message, and
//! `KERNLINGS_TEST_ONLY=<exercise>` grades just that exercise.

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

/// Grade one file; prints its row (and logs its message) under `label`.
fn attempt(ex: &Exercise, label: &str, source: &Path, speed: bool, timeout: u64) -> Outcome {
    let start = std::time::Instant::now();
    let outcome = grade(&GradeRequest {
        root: root(),
        exercise: ex.clone(),
        source: source.to_path_buf(),
        seed: None,
        speed,
        backend: BackendChoice::Auto,
        timeout: Duration::from_secs(timeout),
        prebuilt: std::env::var_os("KERNLINGS_PREBUILT").map(PathBuf::from),
    })
    .unwrap();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{:<14} {label:<22} {secs:>5.1} s  {}",
        ex.name,
        first_line_summary(&outcome)
    );
    if let Some(log) = std::env::var_os("KERNLINGS_TEST_LOG") {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let _ = writeln!(
            f,
            "=== {} {label} ({secs:.1} s)\n{}\n",
            ex.name,
            message(&outcome)
        );
    }
    outcome
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
    let only = std::env::var("KERNLINGS_TEST_ONLY").ok();
    let chosen = |e: &&Exercise| e.module == MODULE && only.as_ref().is_none_or(|o| *o == e.name);
    for ex in curriculum.exercises.iter().filter(chosen) {
        let solution = root.join("solutions").join(&ex.file);
        let o = attempt(ex, "solution", &solution, speed, 60);
        if !o.passed() {
            problems.push(format!(
                "{}: the solution must pass:\n{}",
                ex.name,
                message(&o)
            ));
        }
        let stub = root.join("exercises").join(&ex.file);
        let o = attempt(ex, "stub", &stub, false, 20);
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
            let case = file.file_stem().unwrap().to_string_lossy();
            let o = attempt(ex, &case, &file, false, 5);
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

/// Every module-01 `.cu` file compiles: stubs fail by their TODOs, known-wrong versions by
/// their bug, never by a syntax error. Needs only NVRTC (set LD_LIBRARY_PATH to its lib dir).
#[test]
fn every_module_01_kernel_compiles() {
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        eprintln!("SKIPPED: no libnvrtc on the loader path");
        return;
    }
    let root = root();
    let mut files = Vec::new();
    for dir in ["exercises/01_basics", "solutions/01_basics"] {
        files.extend(
            std::fs::read_dir(root.join(dir))
                .unwrap()
                .map(|e| e.unwrap().path()),
        );
    }
    for ex in ["thread_index", "vector_add", "grid_stride", "rgb_to_gray"] {
        let dir = root.join("harness/wrong").join(ex);
        files.extend(std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()));
    }
    // compile_error.cu exists to fail: it is graded as a compile error.
    let cu: Vec<_> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "cu"))
        .filter(|p| !p.ends_with("compile_error.cu"))
        .collect();
    assert!(cu.len() > 20, "{} .cu files", cu.len());
    for path in cu {
        let src = std::fs::read_to_string(path).unwrap();
        let shown = super::display_path(&root, path);
        if let Err(e) = super::compile::compile(&src, &shown, (7, 5), &[]).unwrap() {
            panic!("{shown} does not compile:\n{}", e.0);
        }
    }
}

/// On a real GPU, in this process: the check API on a naive SGEMM (odd sizes, f64
/// reference), cuBLAS as the timed baseline, and an fp16 header through the toolkit's
/// include dir. Says SKIPPED elsewhere.
#[test]
fn naive_sgemm_against_cublas_on_a_gpu() {
    use cudarc::driver::{CudaContext, LaunchConfig};

    use super::check::{blocks_for, CheckCtx, Launch};
    use super::speed::Work;
    use crate::curriculum::{Baseline, ExerciseKind, SpeedBar, Tolerance};
    use crate::toolchain::BackendKind;

    let Some(device) = toolchain::real_gpu() else {
        eprintln!("SKIPPED: no NVIDIA GPU");
        return;
    };
    let setup = toolchain::prepare_child(BackendChoice::Gpu).unwrap();
    let cuda = CudaContext::new(0).unwrap();
    unsafe { cuda.disable_event_tracking() };
    let cc = cuda.compute_capability().unwrap();
    let src = r#"
#include <cuda_fp16.h>
extern "C" __global__ void naive_sgemm(const float* a, const float* b, float* c, int m, int n, int k) {
    int col = blockIdx.x * blockDim.x + threadIdx.x;
    int row = blockIdx.y * blockDim.y + threadIdx.y;
    if (row < m && col < n) {
        float acc = 0.0f;
        for (int i = 0; i < k; ++i) acc += a[row * k + i] * b[i * n + col];
        c[row * n + col] = acc;
    }
}
extern "C" __global__ void half_roundtrip(float* x) { x[0] = __half2float(__float2half(x[0])); }
"#;
    let ptx = super::compile::compile(src, "smoke.cu", cc, &setup.include_dirs)
        .unwrap()
        .unwrap_or_else(|e| panic!("{}", e.0));
    let module = cuda.load_module(ptx).unwrap();
    let exercise = Exercise {
        name: "smoke".into(),
        module: "smoke".into(),
        file: "smoke.cu".into(),
        kind: ExerciseKind::Cuda,
        hints: vec![],
        check: "smoke".into(),
        sizes: vec![],
        tolerance: Some(Tolerance {
            rtol: 1e-4,
            atol: 1e-4,
        }),
        speed: Some(SpeedBar {
            baseline: Baseline::Cublas,
            bar: 0.01,
            size: vec![2048, 2048, 2048],
        }),
    };
    let mut ctx = CheckCtx::new(cuda, module, exercise, BackendKind::Gpu, 42, true);
    let kernel = ctx.kernel("naive_sgemm").unwrap();
    let cfg = |m: usize, n: usize| LaunchConfig {
        grid_dim: (blocks_for(n, 16), blocks_for(m, 16), 1),
        block_dim: (16, 16, 1),
        shared_mem_bytes: 0,
    };
    let (m, n, k) = (67, 45, 33);
    let (a, b) = (ctx.random_f32(m * k), ctx.random_f32(k * n));
    let want: Vec<f32> = (0..m * n)
        .map(|i| {
            (0..k)
                .map(|p| a[i / n * k + p] as f64 * b[p * n + i % n] as f64)
                .sum::<f64>() as f32
        })
        .collect();
    let (da, db) = (ctx.input("A", &a).unwrap(), ctx.input("B", &b).unwrap());
    let dc = ctx.output_2d::<f32>("C", m, n).unwrap();
    ctx.launch(
        &kernel,
        cfg(m, n),
        crate::args![&da, &db, &dc, m as i32, n as i32, k as i32],
    )
    .unwrap();
    ctx.expect(&dc, &want).unwrap();

    let s = 2048;
    let (a, b) = (ctx.random_f32(s * s), ctx.random_f32(s * s));
    let (da, db) = (ctx.input("A", &a).unwrap(), ctx.input("B", &b).unwrap());
    let dc = ctx.output::<f32>("C", s * s).unwrap();
    let args = crate::args![&da, &db, &dc, s as i32, s as i32, s as i32];
    let learner = Launch {
        kernel: &kernel,
        cfg: cfg(s, s),
        args,
    };
    ctx.measure_speed(learner, Work::Gemm { m: s, n: s, k: s }, None)
        .unwrap();
    let speed = ctx.speed.take().unwrap();
    println!(
        "{device}: naive SGEMM {s}^3: {} = {:.3} of cuBLAS (learner {:.1} us p10 {:.1} p90 {:.1}, \
         cuBLAS {:.1} us, {} samples)",
        speed.achieved,
        speed.ratio,
        speed.learner.median_us,
        speed.learner.p10_us,
        speed.learner.p90_us,
        speed.baseline_timing.median_us,
        speed.learner.samples
    );
    assert!(speed.ratio > 0.01 && speed.ratio < 1.0, "{speed:?}");
}
