//! Interpreter speed in lane-instructions per second (criterion's "elem/s") on a fixed kernel
//! set: vector add, a shared-memory tree reduction, a tiled matmul, and module 07's flash
//! attention (float4 shared tiles, exp2, long per-thread register rows).
//! Run: cargo bench -p kernlings-cpu-driver

#[path = "../tests/common/mod.rs"]
mod common;

use common::{compile_file, randf, Arg, Gpu};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kernlings_cpu_driver::report::LaunchReport;

/// One case's launch on buffers uploaded once: only `launch` is timed (the inputs are read,
/// never written, so every launch sees the same ones).
struct Prepared {
    kernel: &'static str,
    grid: [u32; 3],
    block: [u32; 3],
    args: Vec<Arg>,
    bufs: Vec<u64>,
}

impl Prepared {
    fn launch(&self, gpu: &Gpu) -> LaunchReport {
        gpu.launch(self.kernel, self.grid, self.block, 0, &self.args)
    }

    fn free(self, gpu: &Gpu) {
        for p in self.bufs {
            gpu.drv.mem.free(p);
        }
    }
}

struct Case {
    name: &'static str,
    file: &'static str,
    prepare: fn(&Gpu) -> Prepared,
}

fn vector_add(gpu: &Gpu) -> Prepared {
    let n = 1 << 20;
    let a = randf(n, 1, -1.0, 1.0);
    let (da, db, dc) = (gpu.upload(&a), gpu.upload(&a), gpu.alloc::<f32>(n));
    Prepared {
        kernel: "vector_add",
        grid: [(n / 256) as u32, 1, 1],
        block: [256, 1, 1],
        args: vec![Arg::Ptr(da), Arg::Ptr(db), Arg::Ptr(dc), Arg::I32(n as i32)],
        bufs: vec![da, db, dc],
    }
}

fn reduce_tree(gpu: &Gpu) -> Prepared {
    let n = 1 << 20;
    let a = randf(n, 2, -1.0, 1.0);
    let (din, dpart) = (gpu.upload(&a), gpu.alloc::<f32>(n / 256));
    Prepared {
        kernel: "reduce_tree",
        grid: [(n / 256) as u32, 1, 1],
        block: [256, 1, 1],
        args: vec![Arg::Ptr(din), Arg::Ptr(dpart), Arg::I32(n as i32)],
        bufs: vec![din, dpart],
    }
}

fn matmul_tiled(gpu: &Gpu) -> Prepared {
    let s = 128;
    let a = randf(s * s, 3, -1.0, 1.0);
    let (da, db, dc) = (gpu.upload(&a), gpu.upload(&a), gpu.alloc::<f32>(s * s));
    let g = (s / 16) as u32;
    let n = s as i32;
    Prepared {
        kernel: "matmul_tiled",
        grid: [g, g, 1],
        block: [16, 16, 1],
        args: vec![
            Arg::Ptr(da),
            Arg::Ptr(db),
            Arg::Ptr(dc),
            Arg::I32(n),
            Arg::I32(n),
            Arg::I32(n),
        ],
        bufs: vec![da, db, dc],
    }
}

/// The reference solution of module 07, two heads of 128 queries: 4 blocks of 64 threads,
/// four K/V tiles each.
fn flash_attention(gpu: &Gpu) -> Prepared {
    let (heads, s, d) = (2, 128, 64);
    let q = randf(heads * s * d, 4, -1.0, 1.0);
    let k = randf(heads * s * d, 5, -1.0, 1.0);
    let v = randf(heads * s * d, 6, -1.0, 1.0);
    let (dq, dk, dv) = (gpu.upload(&q), gpu.upload(&k), gpu.upload(&v));
    let (dout, dl) = (gpu.alloc::<f32>(heads * s * d), gpu.alloc::<f32>(heads * s));
    Prepared {
        kernel: "flash_attention",
        grid: [(s / 64) as u32, heads as u32, 1],
        block: [64, 1, 1],
        args: vec![
            Arg::Ptr(dq),
            Arg::Ptr(dk),
            Arg::Ptr(dv),
            Arg::Ptr(dout),
            Arg::Ptr(dl),
            Arg::I32(s as i32),
        ],
        bufs: vec![dq, dk, dv, dout, dl],
    }
}

fn cases() -> [Case; 4] {
    [
        Case {
            name: "vector_add_1M",
            file: "basics.cu",
            prepare: vector_add,
        },
        Case {
            name: "reduce_tree_1M",
            file: "shared.cu",
            prepare: reduce_tree,
        },
        Case {
            name: "matmul_tiled_128",
            file: "shared.cu",
            prepare: matmul_tiled,
        },
        Case {
            name: "flash_attention_2x128",
            file: "../../../solutions/07_attention/flash_attention.cu",
            prepare: flash_attention,
        },
    ]
}

fn bench(c: &mut Criterion) {
    let cases = cases();
    // KERNLINGS_BENCH_ONE=<case>:<launches> runs one case that many times and prints its
    // fastest and median launch: on a shared, busy machine the fastest of many launches moves
    // far less than criterion's mean, so two builds compare best run one after the other.
    if let Ok(one) = std::env::var("KERNLINGS_BENCH_ONE") {
        let (name, times) = one.split_once(':').unwrap_or((&one, "10"));
        let case = cases.iter().find(|c| c.name == name).expect("a case name");
        let gpu = Gpu::new(&compile_file(case.file));
        let prepared = (case.prepare)(&gpu);
        let mut secs = Vec::new();
        let mut instructions = 0;
        for _ in 0..times.parse::<u32>().expect("a launch count").max(1) {
            let t = std::time::Instant::now();
            instructions = prepared.launch(&gpu).counters.instructions;
            secs.push(t.elapsed().as_secs_f64());
        }
        secs.sort_by(f64::total_cmp);
        let rate = |s: f64| instructions as f64 / s / 1e6;
        println!(
            "{name}: fastest {:.1} M lane-instr/s, median {:.1}",
            rate(secs[0]),
            rate(secs[secs.len() / 2])
        );
        prepared.free(&gpu);
        return;
    }
    let mut group = c.benchmark_group("lane_instructions");
    group.sample_size(10);
    for case in cases {
        let ptx = compile_file(case.file);
        let gpu = Gpu::new(&ptx);
        let prepared = (case.prepare)(&gpu);
        let first = prepared.launch(&gpu);
        assert!(
            first.diagnostic.is_none(),
            "{}: {:?}",
            case.name,
            first.diagnostic
        );
        // The counters are part of what a learner sees: printed so runs before and after a
        // change to the interpreter can be compared.
        eprintln!("{}: {:?}", case.name, first.counters);
        group.throughput(Throughput::Elements(first.counters.instructions));
        // Inputs are drawn and uploaded once, above: the time is the launch's alone.
        group.bench_function(case.name, |b| b.iter(|| prepared.launch(&gpu)));
        prepared.free(&gpu);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
