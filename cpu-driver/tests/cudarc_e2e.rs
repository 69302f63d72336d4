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

#[test]
fn cudarc_safe_api_end_to_end() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let nvrtc_dir = common::ensure_nvrtc_dir();
    let lib = cdylib();
    assert!(lib.exists(), "{} was not built", lib.display());
    let dir = std::env::temp_dir().join(format!("kernlings-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["libcuda.so", "libcuda.so.1"] {
        std::fs::copy(&lib, dir.join(name)).unwrap();
    }
    let report = dir.join("report.jsonl");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_program",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, "1")
        .env(
            "LD_LIBRARY_PATH",
            format!("{}:{}", dir.display(), nvrtc_dir.display()),
        )
        .env("KERNLINGS_CPU_REPORT", &report)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    // Device printf goes to the process's stdout, lane by lane.
    let hello = "thread 0 says 42 and 1.50 hi\nthread 1 says 42 and 1.50 hi\n";
    assert!(stdout.contains(hello), "{stdout}");
    assert!(
        stdout.contains("CHILD OK"),
        "child did not run:\n{stdout}\n{stderr}"
    );
    let lines = std::fs::read_to_string(&report).unwrap();
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
    std::fs::remove_dir_all(&dir).ok();
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
