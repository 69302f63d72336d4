//! The driver as cudarc sees it: a directory with libcuda.so -> this crate's cdylib, first on
//! LD_LIBRARY_PATH of a child process that uses cudarc's safe API end to end.

mod common;
use std::path::PathBuf;
use std::process::Command;

const CHILD_ENV: &str = "KERNLINGS_E2E_CHILD";

const SRC: &str = r#"
extern "C" __global__ void vector_add(const float* a, const float* b, float* c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) c[i] = a[i] + b[i];
}
extern "C" __global__ void hello(int x) {
    if (threadIdx.x < 2) printf("thread %d says %d and %.2f %s\n", threadIdx.x, x, 1.5f, "hi");
}
extern "C" __global__ void oob(float* c, int n) {
    c[blockIdx.x * blockDim.x + threadIdx.x + n] = 1.0f;
}
"#;

/// The driver library of this test's profile, or the release one; `cargo test` builds only
/// the rlib, so build the release cdylib (as kernlings does) when neither is there.
fn cdylib() -> PathBuf {
    // target/<profile>/deps/<test> -> target/<profile>/libkernlings_cpu_driver.so
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let target = profile_dir.parent().unwrap();
    let candidates = [profile_dir.to_path_buf(), target.join("release")];
    if let Some(lib) = candidates
        .iter()
        .map(|d| d.join("libkernlings_cpu_driver.so"))
        .find(|l| l.exists())
    {
        return lib;
    }
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "build",
            "--release",
            "-p",
            "kernlings-cpu-driver",
            "--target-dir",
        ])
        .arg(target)
        .status()
        .expect("running cargo to build the CPU driver");
    assert!(status.success(), "cargo could not build the CPU driver");
    target.join("release/libkernlings_cpu_driver.so")
}

/// Runs the test `child` of this binary in a child process whose LD_LIBRARY_PATH puts the
/// CPU driver first, as kernlings does: its stdout, stderr and report file.
fn run_child(child: &str) -> (String, String, String) {
    let nvrtc_dir = common::ensure_nvrtc_dir();
    let lib = cdylib();
    assert!(lib.exists(), "{} was not built", lib.display());
    let dir = std::env::temp_dir().join(format!("kernlings-e2e-{child}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["libcuda.so", "libcuda.so.1"] {
        std::fs::copy(&lib, dir.join(name)).unwrap();
    }
    let report = dir.join("report.jsonl");
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", child, "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, "1")
        .env(
            "LD_LIBRARY_PATH",
            format!("{}:{}", dir.display(), nvrtc_dir.display()),
        )
        .env("KERNLINGS_CPU_REPORT", &report)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("CHILD OK"),
        "child did not run:\n{stdout}\n{stderr}"
    );
    let lines = std::fs::read_to_string(&report).unwrap_or_default();
    std::fs::remove_dir_all(&dir).ok();
    (stdout, stderr, lines)
}

#[test]
fn cudarc_safe_api_end_to_end() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let (stdout, _, lines) = run_child("child_program");
    // Device printf goes to the process's stdout, lane by lane.
    let hello = "thread 0 says 42 and 1.50 hi\nthread 1 says 42 and 1.50 hi\n";
    assert!(stdout.contains(hello), "{stdout}");
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 3, "one report line per launch: {lines:?}");
    assert!(
        lines[0].contains("\"kernel\":\"vector_add\"") && lines[0].contains("\"diagnostic\":null")
    );
    assert!(
        lines[2].contains("\"kind\":\"out_of_bounds\""),
        "{}",
        lines[2]
    );
}

/// Runs only inside the child that `cudarc_safe_api_end_to_end` starts.
#[test]
fn child_program() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    use cudarc::driver::{sys, CudaContext, LaunchConfig, PushKernelArg};
    use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions};
    let ctx = CudaContext::new(0).unwrap();
    assert_eq!(
        ctx.name().unwrap(),
        "kernlings CPU driver (PTX interpreter)"
    );
    assert_eq!(ctx.compute_capability().unwrap(), (9, 0));
    let stream = ctx.default_stream();
    let opts = CompileOptions {
        arch: Some("compute_90"),
        options: vec!["--generate-line-info".into()],
        ..Default::default()
    };
    let ptx = compile_ptx_with_opts(SRC, opts).unwrap();
    let module = ctx.load_module(ptx).unwrap();
    let f = module.load_function("vector_add").unwrap();
    let n = 100_003usize;
    let a: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
    let b: Vec<f32> = (0..n).map(|i| 3.0 - i as f32).collect();
    let da = stream.clone_htod(&a).unwrap();
    let db = stream.clone_htod(&b).unwrap();
    let mut dc = stream.alloc_zeros::<f32>(n).unwrap();
    let start = ctx
        .new_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT))
        .unwrap();
    let end = ctx
        .new_event(Some(sys::CUevent_flags::CU_EVENT_DEFAULT))
        .unwrap();
    start.record(&stream).unwrap();
    let n_arg = n as i32;
    let mut launch = stream.launch_builder(&f);
    launch.arg(&da).arg(&db).arg(&mut dc).arg(&n_arg);
    unsafe { launch.launch(LaunchConfig::for_num_elems(n as u32)) }.unwrap();
    end.record(&stream).unwrap();
    stream.synchronize().unwrap();
    let ms = start.elapsed_ms(&end).unwrap();
    assert!(ms > 0.0, "elapsed {ms}");
    let c = stream.clone_dtoh(&dc).unwrap();
    assert!(c
        .iter()
        .zip(a.iter().zip(&b))
        .all(|(c, (a, b))| *c == a + b));
    let hello = module.load_function("hello").unwrap();
    let forty_two = 42i32;
    let mut launch = stream.launch_builder(&hello);
    launch.arg(&forty_two);
    unsafe { launch.launch(LaunchConfig::for_num_elems(32)) }.unwrap();
    // An out-of-bounds write fails the launch with the GPU's error, and the error sticks.
    let oob = module.load_function("oob").unwrap();
    let mut small = stream.alloc_zeros::<f32>(16).unwrap();
    let sixteen = 16i32;
    let mut launch = stream.launch_builder(&oob);
    launch.arg(&mut small).arg(&sixteen);
    let err = unsafe { launch.launch(LaunchConfig::for_num_elems(16)) }.unwrap_err();
    assert_eq!(err.0, sys::CUresult::CUDA_ERROR_ILLEGAL_ADDRESS);
    assert_eq!(
        stream.synchronize().unwrap_err().0,
        sys::CUresult::CUDA_ERROR_ILLEGAL_ADDRESS
    );
    println!("CHILD OK");
}

const WARP_SIZE_SRC: &str = r#"
extern "C" __global__ void warp_sums(const float* x, float* sums, int* size) {
    float v = x[threadIdx.x];
    for (int o = warpSize / 2; o > 0; o /= 2) v += __shfl_down_sync(0xffffffffu, v, o);
    if (threadIdx.x % warpSize == 0) sums[threadIdx.x / warpSize] = v;
    if (threadIdx.x == 0) *size = warpSize;
}
"#;

/// A PTX typo the way a learner makes one: inline asm, which NVRTC passes through unchecked.
const BAD_ASM_SRC: &str = r#"extern "C" __global__ void lane(int* out) {
    int l;
    asm volatile("mov.u32 %0, %%lane_id;" : "=r"(l));
    out[threadIdx.x] = l;
}
"#;

/// `warpSize` compiles (NVRTC emits the PTX constant WARP_SZ), loads and runs through cudarc;
/// a module the interpreter refuses leaves its reason and the learner's line in the report,
/// where the grader reads it (cudarc only sees CUDA_ERROR_INVALID_PTX).
#[test]
fn warp_size_runs_and_a_load_error_names_its_line() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let (_, stderr, lines) = run_child("child_warp_size_and_bad_ptx");
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 2, "a launch, then a load error: {lines:?}");
    assert!(lines[0].contains("\"diagnostic\":null"), "{}", lines[0]);
    let reason = "unknown name `%lane_id` in `mov.u32";
    assert!(
        lines[1].starts_with("{\"load_error\"") && lines[1].contains(reason),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains("(line 3)"), "{}", lines[1]);
    assert!(stderr.contains(reason), "{stderr}");
}

#[test]
fn child_warp_size_and_bad_ptx() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    use cudarc::driver::{sys, CudaContext, LaunchConfig, PushKernelArg};
    use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions};
    let ctx = CudaContext::new(0).unwrap();
    let stream = ctx.default_stream();
    let opts = || CompileOptions {
        arch: Some("compute_90"),
        options: vec!["--generate-line-info".into()],
        ..Default::default()
    };
    let ptx = compile_ptx_with_opts(WARP_SIZE_SRC, opts()).unwrap();
    assert!(ptx.to_src().contains("WARP_SZ"), "{}", ptx.to_src());
    let module = ctx.load_module(ptx).unwrap();
    let f = module.load_function("warp_sums").unwrap();
    let x: Vec<f32> = (0..64).map(|i| i as f32).collect();
    let dx = stream.clone_htod(&x).unwrap();
    let mut sums = stream.alloc_zeros::<f32>(2).unwrap();
    let mut size = stream.alloc_zeros::<i32>(1).unwrap();
    let mut launch = stream.launch_builder(&f);
    launch.arg(&dx).arg(&mut sums).arg(&mut size);
    let cfg = LaunchConfig {
        grid_dim: (1, 1, 1),
        block_dim: (64, 1, 1),
        shared_mem_bytes: 0,
    };
    unsafe { launch.launch(cfg) }.unwrap();
    assert_eq!(stream.clone_dtoh(&size).unwrap(), [32]);
    assert_eq!(stream.clone_dtoh(&sums).unwrap(), [496.0, 1520.0]);
    let bad = compile_ptx_with_opts(BAD_ASM_SRC, opts()).unwrap();
    let err = ctx.load_module(bad).map(|_| ()).unwrap_err();
    assert_eq!(err.0, sys::CUresult::CUDA_ERROR_INVALID_PTX);
    println!("CHILD OK");
}
