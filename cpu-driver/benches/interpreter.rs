//! Interpreter speed in lane-instructions per second (criterion's "elem/s") on a fixed kernel
//! set: vector add, a shared-memory tree reduction, a tiled matmul.
//! Run: cargo bench -p kernlings-cpu-driver

#[path = "../tests/common/mod.rs"]
mod common;

use common::{compile_file, randf, Arg, Gpu};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

struct Case {
    name: &'static str,
    file: &'static str,
    run: fn(&Gpu) -> u64,
}

fn vector_add(gpu: &Gpu) -> u64 {
    let n = 1 << 20;
    let a = randf(n, 1, -1.0, 1.0);
    let (da, db, dc) = (gpu.upload(&a), gpu.upload(&a), gpu.alloc::<f32>(n));
    let r = gpu.launch(
        "vector_add",
        [(n / 256) as u32, 1, 1],
        [256, 1, 1],
        0,
        &[Arg::Ptr(da), Arg::Ptr(db), Arg::Ptr(dc), Arg::I32(n as i32)],
    );
    for p in [da, db, dc] {
        gpu.drv.mem.free(p);
    }
    r.counters.instructions
}

fn reduce_tree(gpu: &Gpu) -> u64 {
    let n = 1 << 20;
    let a = randf(n, 2, -1.0, 1.0);
    let (din, dpart) = (gpu.upload(&a), gpu.alloc::<f32>(n / 256));
    let r = gpu.launch(
        "reduce_tree",
        [(n / 256) as u32, 1, 1],
        [256, 1, 1],
        0,
        &[Arg::Ptr(din), Arg::Ptr(dpart), Arg::I32(n as i32)],
    );
    gpu.drv.mem.free(din);
    gpu.drv.mem.free(dpart);
    r.counters.instructions
}

fn matmul_tiled(gpu: &Gpu) -> u64 {
    let s = 128;
    let a = randf(s * s, 3, -1.0, 1.0);
    let (da, db, dc) = (gpu.upload(&a), gpu.upload(&a), gpu.alloc::<f32>(s * s));
    let g = (s / 16) as u32;
    let n = s as i32;
    let r = gpu.launch(
        "matmul_tiled",
        [g, g, 1],
        [16, 16, 1],
        0,
        &[
            Arg::Ptr(da),
            Arg::Ptr(db),
            Arg::Ptr(dc),
            Arg::I32(n),
            Arg::I32(n),
            Arg::I32(n),
        ],
    );
    for p in [da, db, dc] {
        gpu.drv.mem.free(p);
    }
    r.counters.instructions
}

fn bench(c: &mut Criterion) {
    let cases = [
        Case {
            name: "vector_add_1M",
            file: "basics.cu",
            run: vector_add,
        },
        Case {
            name: "reduce_tree_1M",
            file: "shared.cu",
            run: reduce_tree,
        },
        Case {
            name: "matmul_tiled_128",
            file: "shared.cu",
            run: matmul_tiled,
        },
    ];
    let mut group = c.benchmark_group("lane_instructions");
    group.sample_size(10);
    for case in cases {
        let ptx = compile_file(case.file);
        let gpu = Gpu::new(&ptx);
        let instructions = (case.run)(&gpu);
        group.throughput(Throughput::Elements(instructions));
        group.bench_function(case.name, |b| b.iter(|| (case.run)(&gpu)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
