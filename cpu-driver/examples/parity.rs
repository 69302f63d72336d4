//! Same kernels, same inputs, two backends: runs the test kernels through cudarc on whatever
//! libcuda.so the loader finds (the real driver, or the CPU driver placed first on
//! LD_LIBRARY_PATH) and prints one JSON line per case; `compare` checks two such files
//! (integers bitwise, floats within 1e-5 relative).
//!
//!   cargo build --release -p kernlings-cpu-driver --example parity
//!   parity run > gpu.jsonl                 # on the GPU machine (needs tests/kernels/)
//!   LD_LIBRARY_PATH=<cpu driver dir>:<nvrtc dir> parity run > cpu.jsonl
//!   parity compare cpu.jsonl gpu.jsonl

#[path = "../tests/common/mod.rs"]
mod common;

use common::{randf, randu};
use cudarc::driver::{CudaContext, CudaFunction, CudaStream, LaunchConfig, PushKernelArg};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions};
use std::sync::Arc;

/// Output bits and whether they are exact (integers) or floats.
enum Out {
    Ints(Vec<i64>),
    Floats(Vec<f64>),
}

fn cfg(grid: (u32, u32, u32), block: (u32, u32, u32), smem: u32) -> LaunchConfig {
    LaunchConfig {
        grid_dim: grid,
        block_dim: block,
        shared_mem_bytes: smem,
    }
}

fn run_case(name: &str, s: &Arc<CudaStream>, f: &CudaFunction) -> Out {
    let floats = |v: Vec<f32>| Out::Floats(v.into_iter().map(|x| x as f64).collect());
    let ints = |v: Vec<i32>| Out::Ints(v.into_iter().map(|x| x as i64).collect());
    match name {
        "vector_add" => {
            let n = 100_003;
            let (a, b) = (
                s.clone_htod(&randf(n, 1, -10.0, 10.0)).unwrap(),
                s.clone_htod(&randf(n, 2, 5.0, 6.0)).unwrap(),
            );
            let mut c = s.alloc_zeros::<f32>(n).unwrap();
            let n32 = n as i32;
            let mut l = s.launch_builder(f);
            l.arg(&a).arg(&b).arg(&mut c).arg(&n32);
            unsafe { l.launch(LaunchConfig::for_num_elems(n as u32)) }.unwrap();
            floats(s.clone_dtoh(&c).unwrap())
        }
        "int_mix" => {
            let n = 4099;
            let a: Vec<i32> = randu(n, 7).iter().map(|v| *v as i32).collect();
            let a = s.clone_htod(&a).unwrap();
            let mut out = s.alloc_zeros::<i32>(n).unwrap();
            let n32 = n as i32;
            let mut l = s.launch_builder(f);
            l.arg(&a).arg(&mut out).arg(&n32);
            unsafe { l.launch(cfg((17, 1, 1), (256, 1, 1), 0)) }.unwrap();
            ints(s.clone_dtoh(&out).unwrap())
        }
        "math_mix" => {
            let n = 2000;
            let a = s.clone_htod(&randf(n, 8, -4.0, 4.0)).unwrap();
            let mut out = s.alloc_zeros::<f32>(n).unwrap();
            let mut dout = s.alloc_zeros::<f64>(n).unwrap();
            let n32 = n as i32;
            let mut l = s.launch_builder(f);
            l.arg(&a).arg(&mut out).arg(&mut dout).arg(&n32);
            unsafe { l.launch(cfg((8, 1, 1), (256, 1, 1), 0)) }.unwrap();
            let mut v: Vec<f64> = s
                .clone_dtoh(&out)
                .unwrap()
                .into_iter()
                .map(|x| x as f64)
                .collect();
            v.extend(s.clone_dtoh(&dout).unwrap());
            Out::Floats(v)
        }
        "transpose_tiled" | "transpose_conflicts" => {
            let (rows, cols) = (67usize, 45usize);
            let a = s.clone_htod(&randf(rows * cols, 9, -1.0, 1.0)).unwrap();
            let mut out = s.alloc_zeros::<f32>(rows * cols).unwrap();
            let (r, c) = (rows as i32, cols as i32);
            let mut l = s.launch_builder(f);
            l.arg(&a).arg(&mut out).arg(&r).arg(&c);
            unsafe { l.launch(cfg((2, 3, 1), (32, 8, 1), 0)) }.unwrap();
            floats(s.clone_dtoh(&out).unwrap())
        }
        "matmul_tiled" => {
            let (m, n, k) = (37usize, 29usize, 41usize);
            let a = s.clone_htod(&randf(m * k, 10, -1.0, 1.0)).unwrap();
            let b = s.clone_htod(&randf(k * n, 11, -1.0, 1.0)).unwrap();
            let mut c = s.alloc_zeros::<f32>(m * n).unwrap();
            let (mi, ni, ki) = (m as i32, n as i32, k as i32);
            let mut l = s.launch_builder(f);
            l.arg(&a).arg(&b).arg(&mut c).arg(&mi).arg(&ni).arg(&ki);
            unsafe { l.launch(cfg((2, 3, 1), (16, 16, 1), 0)) }.unwrap();
            floats(s.clone_dtoh(&c).unwrap())
        }
        "reduce_tree" => {
            let n = 100_001;
            let a = s.clone_htod(&randf(n, 12, -1.0, 2.0)).unwrap();
            let blocks = n.div_ceil(256);
            let mut part = s.alloc_zeros::<f32>(blocks).unwrap();
            let n32 = n as i32;
            let mut l = s.launch_builder(f);
            l.arg(&a).arg(&mut part).arg(&n32);
            unsafe { l.launch(cfg((blocks as u32, 1, 1), (256, 1, 1), 0)) }.unwrap();
            floats(s.clone_dtoh(&part).unwrap())
        }
        "scan_blelloch" => {
            let n = 256;
            let a: Vec<i32> = randu(n, 14)
                .iter()
                .map(|v| (*v % 100) as i32 - 50)
                .collect();
            let a = s.clone_htod(&a).unwrap();
            let mut out = s.alloc_zeros::<i32>(n).unwrap();
            let n32 = n as i32;
            let mut l = s.launch_builder(f);
            l.arg(&a).arg(&mut out).arg(&n32);
            unsafe { l.launch(cfg((1, 1, 1), (128, 1, 1), 1024)) }.unwrap();
            ints(s.clone_dtoh(&out).unwrap())
        }
        "histogram" => {
            let n = 70_000;
            let a = s.clone_htod(&randu(n, 15)).unwrap();
            let mut bins = s.alloc_zeros::<u32>(256).unwrap();
            let n32 = n as i32;
            let mut l = s.launch_builder(f);
            l.arg(&a).arg(&mut bins).arg(&n32);
            unsafe { l.launch(cfg((16, 1, 1), (192, 1, 1), 0)) }.unwrap();
            Out::Ints(
                s.clone_dtoh(&bins)
                    .unwrap()
                    .into_iter()
                    .map(|x| x as i64)
                    .collect(),
            )
        }
        "vote_ballot" => {
            let n = 100;
            let a: Vec<i32> = randu(n, 18)
                .iter()
                .map(|v| (*v % 4000) as i32 - 2000)
                .collect();
            let a = s.clone_htod(&a).unwrap();
            let mut out = s.alloc_zeros::<u32>(n).unwrap();
            let n32 = n as i32;
            let mut l = s.launch_builder(f);
            l.arg(&a).arg(&mut out).arg(&n32);
            unsafe { l.launch(cfg((1, 1, 1), (128, 1, 1), 0)) }.unwrap();
            Out::Ints(
                s.clone_dtoh(&out)
                    .unwrap()
                    .into_iter()
                    .map(|x| x as i64)
                    .collect(),
            )
        }
        "mma_tile" | "wmma_tile" => {
            let k_rows = if name == "mma_tile" { 128 } else { 256 };
            let a: Vec<u16> = randf(256, 19, -1.0, 1.0)
                .into_iter()
                .map(|x| half::f16::from_f32(x).to_bits())
                .collect();
            let b: Vec<u16> = randf(k_rows, 20, -1.0, 1.0)
                .into_iter()
                .map(|x| half::f16::from_f32(x).to_bits())
                .collect();
            let (a, b) = (s.clone_htod(&a).unwrap(), s.clone_htod(&b).unwrap());
            let mut c = s
                .alloc_zeros::<f32>(if name == "mma_tile" { 128 } else { 256 })
                .unwrap();
            let mut l = s.launch_builder(f);
            l.arg(&a).arg(&b).arg(&mut c);
            unsafe { l.launch(cfg((1, 1, 1), (32, 1, 1), 0)) }.unwrap();
            floats(s.clone_dtoh(&c).unwrap())
        }
        other => panic!("no case {other}"),
    }
}

const CASES: &[(&str, &str)] = &[
    ("basics.cu", "vector_add"),
    ("basics.cu", "int_mix"),
    ("basics.cu", "math_mix"),
    ("shared.cu", "transpose_tiled"),
    ("shared.cu", "transpose_conflicts"),
    ("shared.cu", "matmul_tiled"),
    ("shared.cu", "reduce_tree"),
    ("shared.cu", "scan_blelloch"),
    ("shared.cu", "histogram"),
    ("shared.cu", "vote_ballot"),
    ("tensor.cu", "mma_tile"),
    ("tensor.cu", "wmma_tile"),
];

fn run() {
    let ctx = CudaContext::new(0).unwrap();
    let stream = ctx.default_stream();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kernels");
    let dir = if dir.exists() {
        dir
    } else {
        std::path::PathBuf::from("cpu-driver/tests/kernels")
    };
    let include = std::env::var("KERNLINGS_NVRTC_INCLUDE")
        .ok()
        .or_else(|| common::include_dir().map(|d| d.display().to_string()))
        .unwrap_or_else(|| "/usr/local/cuda/include".into());
    eprintln!("device: {}", ctx.name().unwrap());
    for (file, kernel) in CASES {
        let src = std::fs::read_to_string(dir.join(file)).unwrap();
        let opts = CompileOptions {
            arch: Some("compute_90"),
            include_paths: vec![include.clone()],
            options: vec!["--generate-line-info".into()],
            ..Default::default()
        };
        let module = ctx
            .load_module(compile_ptx_with_opts(&src, opts).unwrap())
            .unwrap();
        let f = module.load_function(kernel).unwrap();
        let (kind, values) = match run_case(kernel, &stream, &f) {
            Out::Ints(v) => ("ints", v.iter().map(|x| x.to_string()).collect::<Vec<_>>()),
            Out::Floats(v) => ("floats", v.iter().map(|x| format!("{x:e}")).collect()),
        };
        println!(
            "{{\"case\":\"{kernel}\",\"kind\":\"{kind}\",\"values\":[{}]}}",
            values.join(",")
        );
    }
}

fn compare(a: &str, b: &str) -> bool {
    let parse = |p: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let (a, b) = (parse(a), parse(b));
    let mut all_ok = true;
    for (x, y) in a.iter().zip(&b) {
        let (xs, ys) = (
            x["values"].as_array().unwrap(),
            y["values"].as_array().unwrap(),
        );
        let exact = x["kind"] == "ints";
        let bad = xs
            .iter()
            .zip(ys)
            .filter(|(p, q)| {
                let (p, q) = (p.as_f64().unwrap(), q.as_f64().unwrap());
                if exact {
                    p != q
                } else {
                    (p - q).abs() > 1e-6 + 1e-5 * p.abs().max(q.abs())
                }
            })
            .count();
        let ok = bad == 0 && xs.len() == ys.len();
        all_ok &= ok;
        let how = if exact { "bitwise" } else { "rtol 1e-5" };
        println!(
            "{:22} {} ({} values, {how}{})",
            x["case"].as_str().unwrap(),
            if ok { "same" } else { "DIFFERENT" },
            xs.len(),
            if bad > 0 {
                format!(", {bad} differ")
            } else {
                String::new()
            }
        );
    }
    all_ok && a.len() == b.len()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("run") => run(),
        Some("compare") if args.len() == 4 => {
            std::process::exit(if compare(&args[2], &args[3]) { 0 } else { 1 })
        }
        _ => {
            eprintln!("usage: parity run > out.jsonl | parity compare a.jsonl b.jsonl");
            std::process::exit(2);
        }
    }
}
