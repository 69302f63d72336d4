//! Times what grading a module-01 exercise costs on the CPU backend: NVRTC compile, module load,
//! and vector add at the sizes a check uses. Run with the CPU driver first on LD_LIBRARY_PATH:
//! LD_LIBRARY_PATH=<dir with libcuda.so>:<nvrtc lib dir> cargo run --release --example module01_timing
use cudarc::driver::{CudaContext, LaunchConfig, PushKernelArg};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions};

const SRC: &str = r#"extern "C" __global__ void vector_add(const float* a, const float* b, float* c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) c[i] = a[i] + b[i];
}"#;

fn main() {
    let t0 = std::time::Instant::now();
    let ctx = CudaContext::new(0).unwrap();
    let stream = ctx.default_stream();
    let opts = CompileOptions {
        arch: Some("compute_90"),
        options: vec!["--generate-line-info".into()],
        ..Default::default()
    };
    let ptx = compile_ptx_with_opts(SRC, opts).unwrap();
    let f = ctx
        .load_module(ptx)
        .unwrap()
        .load_function("vector_add")
        .unwrap();
    println!(
        "context + compile + load: {:.3} s",
        t0.elapsed().as_secs_f64()
    );
    for n in [1usize, 31, 32, 33, 1000, 4097, 1 << 21] {
        let t = std::time::Instant::now();
        let a: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let da = stream.clone_htod(&a).unwrap();
        let db = stream.clone_htod(&a).unwrap();
        let mut dc = stream.alloc_zeros::<f32>(n).unwrap();
        let n32 = n as i32;
        let mut l = stream.launch_builder(&f);
        l.arg(&da).arg(&db).arg(&mut dc).arg(&n32);
        unsafe { l.launch(LaunchConfig::for_num_elems(n as u32)) }.unwrap();
        let c = stream.clone_dtoh(&dc).unwrap();
        assert!(c.iter().enumerate().all(|(i, v)| *v == 2.0 * i as f32));
        println!("n={n}: {:.3} s", t.elapsed().as_secs_f64());
    }
    println!("total: {:.3} s", t0.elapsed().as_secs_f64());
}
