//! Known-wrong kernels: each fails the launch with its own diagnostic, naming threads and lines.

mod common;
use common::*;
use kernlings_cpu_driver::report::Diagnostic;

#[test]
fn out_of_bounds_write_names_thread_block_and_line() {
    let ptx = compile_file("wrong.cu");
    let gpu = Gpu::new(&ptx);
    let n = 1000;
    let (da, dc) = (gpu.alloc::<f32>(n), gpu.alloc::<f32>(n));
    let r = gpu.launch(
        "oob_write",
        [4, 1, 1],
        [256, 1, 1],
        0,
        &[Arg::Ptr(da), Arg::Ptr(dc), Arg::I32(n as i32)],
    );
    match r.diagnostic {
        // Element 1000 is thread 232 of block 3: the read of a[1000] on line 4 faults first.
        Some(Diagnostic::OutOfBounds {
            address,
            bytes: 4,
            write: false,
            thread,
            block,
            line,
            ..
        }) => {
            assert_eq!(address, da + 4000);
            assert_eq!((thread, block, line), ([232, 0, 0], [3, 0, 0], 4));
        }
        d => panic!("expected an out-of-bounds read, got {d:?}"),
    }
    assert_eq!(r.diagnostic.unwrap().cu_result(), 700);
}

#[test]
fn missing_syncthreads_is_a_shared_race() {
    let ptx = compile_file("wrong.cu");
    let gpu = Gpu::new(&ptx);
    let (din, dout) = (gpu.alloc::<f32>(512), gpu.alloc::<f32>(512));
    let r = gpu.launch(
        "race_missing_sync",
        [2, 1, 1],
        [256, 1, 1],
        0,
        &[Arg::Ptr(din), Arg::Ptr(dout), Arg::I32(512)],
    );
    match r.diagnostic {
        Some(Diagnostic::SharedRace {
            location,
            thread_a,
            thread_b,
            kinds,
            line_a,
            line,
            ..
        }) => {
            assert_eq!(location.array, "s");
            assert_eq!(kinds, "write/read");
            assert_eq!((line_a, line), (10, 12));
            // Thread 0 reads s[1], which thread 1 wrote: even in one warp, that needs a barrier.
            assert_eq!((thread_a, thread_b), ([1, 0, 0], [0, 0, 0]));
            assert_eq!(location.byte_offset, 4);
        }
        d => panic!("expected a race, got {d:?}"),
    }
}

#[test]
fn syncthreads_inside_a_branch_is_divergent() {
    let ptx = compile_file("wrong.cu");
    let gpu = Gpu::new(&ptx);
    let dout = gpu.alloc::<f32>(256);
    let r = gpu.launch(
        "divergent_barrier",
        [1, 1, 1],
        [256, 1, 1],
        0,
        &[Arg::Ptr(dout), Arg::I32(256)],
    );
    match r.diagnostic {
        Some(Diagnostic::BarrierDivergence {
            waiting_count,
            elsewhere_count,
            exited,
            line,
            ..
        }) => {
            assert_eq!(
                (waiting_count, elsewhere_count, exited, line),
                (100, 156, true, 20)
            );
        }
        d => panic!("expected barrier divergence, got {d:?}"),
    }
}

#[test]
fn reading_unwritten_shared_memory_is_reported() {
    let ptx = compile_file("wrong.cu");
    let gpu = Gpu::new(&ptx);
    let dout = gpu.alloc::<f32>(256);
    let r = gpu.launch(
        "uninit_shared",
        [1, 1, 1],
        [256, 1, 1],
        0,
        &[Arg::Ptr(dout), Arg::I32(256)],
    );
    match r.diagnostic {
        Some(Diagnostic::UninitSharedRead {
            location,
            thread,
            line,
            ..
        }) => {
            assert_eq!(
                (location.array.as_str(), location.byte_offset, thread, line),
                ("s", 512, [128, 0, 0], 30)
            );
        }
        d => panic!("expected an uninitialised read, got {d:?}"),
    }
}

#[test]
fn endless_loop_hits_the_instruction_budget() {
    let ptx = compile_file("wrong.cu");
    let gpu = Gpu::new(&ptx);
    let dout = gpu.alloc::<i32>(64);
    let t = std::time::Instant::now();
    let r = gpu.launch(
        "endless",
        [1, 1, 1],
        [32, 1, 1],
        0,
        &[Arg::Ptr(dout), Arg::I32(64)],
    );
    match r.diagnostic {
        Some(ref d @ Diagnostic::InstructionBudget { thread, line, .. }) => {
            assert_eq!(thread, [0, 0, 0]);
            assert!(line == 35 || line == 36, "line {line}");
            assert_eq!(d.cu_result(), 702);
        }
        d => panic!("expected the budget to stop it, got {d:?}"),
    }
    assert!(t.elapsed().as_secs_f64() < 10.0, "took {:?}", t.elapsed());
}

#[test]
fn unsupported_instruction_names_itself() {
    let ptx = ".version 9.0\n.target sm_90\n.address_size 64\n.visible .entry k()\n{\n.reg .b32 %r<2>;\n.loc 1 7 1\nsuspend.frobnicate.b32 %r1, 3;\nret;\n}\n";
    let gpu = Gpu::new(ptx);
    let r = gpu.launch("k", [1, 1, 1], [1, 1, 1], 0, &[]);
    match r.diagnostic {
        Some(Diagnostic::Unsupported { instruction, line }) => {
            assert!(
                instruction.starts_with("suspend.frobnicate.b32"),
                "{instruction}"
            );
            assert_eq!(line, 7);
        }
        d => panic!("expected unsupported, got {d:?}"),
    }
}

#[test]
fn in_place_scan_races_even_within_one_warp() {
    let ptx = compile_file("wrong.cu");
    let gpu = Gpu::new(&ptx);
    let (din, dout) = (gpu.alloc::<i32>(64), gpu.alloc::<i32>(64));
    let r = gpu.launch(
        "scan_in_place_race",
        [1, 1, 1],
        [64, 1, 1],
        0,
        &[Arg::Ptr(din), Arg::Ptr(dout), Arg::I32(64)],
    );
    match r.diagnostic {
        Some(Diagnostic::SharedRace {
            location,
            kinds,
            thread_a,
            thread_b,
            ..
        }) => {
            assert_eq!(location.array, "s");
            // Thread 2 reads s[1], then thread 1 writes it back before any barrier.
            assert_eq!(
                (kinds.as_str(), thread_a, thread_b),
                ("read/write", [2, 0, 0], [1, 0, 0])
            );
        }
        d => panic!("expected a race, got {d:?}"),
    }
}

#[test]
fn failed_assert_is_a_trap_naming_the_thread() {
    let ptx = compile_file("wrong.cu");
    let gpu = Gpu::new(&ptx);
    let mut a = vec![1i32; 64];
    a[37] = -5;
    let da = gpu.upload(&a);
    let r = gpu.launch(
        "failing_assert",
        [1, 1, 1],
        [64, 1, 1],
        0,
        &[Arg::Ptr(da), Arg::I32(64)],
    );
    match r.diagnostic {
        Some(ref d @ Diagnostic::Trap { thread, .. }) => {
            assert_eq!(thread, [37, 0, 0]);
            assert_eq!(d.cu_result(), 710);
        }
        d => panic!("expected a trap, got {d:?}"),
    }
}
