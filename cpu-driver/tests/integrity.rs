//! Grading integrity: coalescing judged per access site, redux.sync under the collectives' mask
//! rules, cp.async copies that land only when waited for (kernels in kernels/integrity.cu).

mod common;
use common::*;
use kernlings_cpu_driver::report::{Diagnostic, LaunchReport};

const SRC: &str = include_str!("kernels/integrity.cu");

/// The line of kernels/integrity.cu marked `// @mark`.
fn line_of(mark: &str) -> u32 {
    let tag = format!("// @{mark}");
    SRC.lines()
        .position(|l| l.trim_end().ends_with(&tag))
        .unwrap_or_else(|| panic!("no {tag} in integrity.cu")) as u32
        + 1
}

fn ok(r: &LaunchReport) {
    assert!(r.diagnostic.is_none(), "{:?}", r.diagnostic);
}

#[test]
fn redundant_coalesced_loads_do_not_hide_a_strided_store() {
    let gpu = Gpu::new(&compile_file("integrity.cu"));
    let n = 64;
    let x = randf(n * n, 1, -1.0, 1.0);
    let (din, dout) = (gpu.upload(&x), gpu.alloc::<f32>(n * n));
    let r = gpu.launch(
        "diluted_transpose",
        [2, 2, 1],
        [32, 8, 1],
        0,
        &[Arg::Ptr(din), Arg::Ptr(dout), Arg::I32(n as i32)],
    );
    ok(&r);
    let out: Vec<f32> = gpu.download(dout, n * n);
    assert!((0..n * n).all(|i| out[(i % n) * n + i / n] == x[i]));
    let c = &r.counters;
    // The launch: 17 coalesced loads and one 8x store per element, under the 1.5x bar.
    let launch = c.global_sectors as f64 / c.global_sectors_min as f64;
    assert!(launch < 1.5, "launch ratio {launch}");
    let site = c.worst_site.as_ref().expect("a worst site");
    assert_eq!(
        (site.access.as_str(), site.line),
        ("store", line_of("strided_store"))
    );
    // Each warp store: 32 lanes in 32 rows, one sector each, where 4 sectors hold 128 bytes
    // (NVRTC unrolls the loop: each of its stores is a site of its own).
    assert_eq!(site.sectors, 8 * site.sectors_min);
    assert!(site.sectors >= (n * n / 32 * 32 / 4) as u64, "{site:?}");
}

/// A contiguous run of lanes is as coalesced as its alignment allows: three floats across a
/// sector boundary take two sectors, which the launch counts, but the site is not blamed.
#[test]
fn a_contiguous_tail_across_a_sector_boundary_is_no_worse_site() {
    let gpu = Gpu::new(&compile_file("integrity.cu"));
    let out = gpu.alloc::<f32>(32);
    let r = gpu.launch(
        "tail_store",
        [1, 1, 1],
        [32, 1, 1],
        0,
        &[Arg::Ptr(out), Arg::I32(6), Arg::I32(3)],
    );
    ok(&r);
    let c = &r.counters;
    assert_eq!((c.global_sectors, c.global_sectors_min), (2, 1));
    let site = c.worst_site.as_ref().expect("a worst site");
    assert_eq!((site.sectors, site.sectors_min), (2, 2));
}

#[test]
fn redux_sync_reduces_over_its_mask() {
    let gpu = Gpu::new(&compile_file("integrity.cu"));
    let v: Vec<u32> = randu(32, 2)
        .into_iter()
        .enumerate()
        // Negative values as s32, and a spread that tells unsigned from signed order.
        .map(|(i, r)| if i % 3 == 0 { r | 0x8000_0000 } else { r >> 4 })
        .collect();
    let (din, dout) = (gpu.upload(&v), gpu.alloc::<u32>(32 * 16));
    ok(&gpu.launch(
        "redux_all",
        [1, 1, 1],
        [32, 1, 1],
        0,
        &[Arg::Ptr(din), Arg::Ptr(dout)],
    ));
    let out: Vec<u32> = gpu.download(dout, 32 * 16);
    let over = |lanes: &[u32]| {
        let s: Vec<i32> = lanes.iter().map(|&x| x as i32).collect();
        (
            lanes.iter().fold(0u32, |a, &x| a.wrapping_add(x)),
            *lanes.iter().min().unwrap(),
            *lanes.iter().max().unwrap(),
            *s.iter().min().unwrap() as u32,
            *s.iter().max().unwrap() as u32,
            lanes.iter().fold(!0u32, |a, &x| a & x),
            lanes.iter().fold(0u32, |a, &x| a | x),
            lanes.iter().fold(0u32, |a, &x| a ^ x),
        )
    };
    let (add, umin, umax, smin, smax, and, or, xor) = over(&v);
    for l in 0..32 {
        let o = &out[l * 16..l * 16 + 16];
        assert_eq!(
            o[..9],
            [add, umin, umax, add, smin, smax, and, or, xor],
            "lane {l}"
        );
        let half = if l < 16 { &v[..16] } else { &v[16..] };
        let (add, _, umax, smin, smax, and, or, xor) = over(half);
        assert_eq!(o[9..], [add, smin, umax, and, or, xor, smax], "lane {l}");
    }
}

#[test]
fn redux_sync_mask_naming_returned_lanes_is_reported() {
    let gpu = Gpu::new(&compile_file("integrity.cu"));
    let (din, dout) = (gpu.upload(&[1u32; 32]), gpu.alloc::<u32>(32));
    let r = gpu.launch(
        "redux_after_return",
        [1, 1, 1],
        [32, 1, 1],
        0,
        &[Arg::Ptr(din), Arg::Ptr(dout)],
    );
    match r.diagnostic {
        Some(Diagnostic::WarpMask {
            intrinsic,
            mask,
            exited,
            line,
            ..
        }) => {
            assert_eq!(intrinsic, "__reduce_add_sync");
            assert_eq!((mask, exited), (u32::MAX, 0xfff0_0000));
            assert_eq!(line, line_of("redux_after_return"));
        }
        d => panic!("expected a warp-mask diagnostic, got {d:?}"),
    }
}

fn cp_async_modes(mode: i32) -> (LaunchReport, Vec<f32>, Vec<f32>) {
    let gpu = Gpu::new(&compile_file("integrity.cu"));
    let x = randf(128, 3, -5.0, 5.0);
    let (dx, dy) = (gpu.upload(&x), gpu.alloc::<f32>(128));
    let r = gpu.launch(
        "cp_async_modes",
        [1, 1, 1],
        [32, 1, 1],
        0,
        &[Arg::Ptr(dx), Arg::Ptr(dy), Arg::I32(mode)],
    );
    let y = gpu.download(dy, 128);
    (r, x, y)
}

#[test]
fn cp_async_lands_when_waited_for() {
    for mode in [0, 3] {
        let (r, x, y) = cp_async_modes(mode);
        ok(&r);
        for t in 0..32 {
            assert_eq!(y[4 * t..4 * t + 4], x[4 * (31 - t)..4 * (31 - t) + 4]);
        }
    }
}

#[test]
fn reading_a_cp_async_destination_before_its_wait_is_reported() {
    // mode 1 forgets the wait, mode 2 the commit (wait_group waits for committed groups).
    for mode in [1, 2] {
        let (r, _, _) = cp_async_modes(mode);
        match &r.diagnostic {
            Some(Diagnostic::CpAsyncPending {
                location,
                write: false,
                thread,
                line,
                copier,
                copy_line,
                ..
            }) => {
                // Lane 0 reads s[31] first, which thread 31's copy fills.
                assert_eq!((*thread, *copier), ([0, 0, 0], [31, 0, 0]), "mode {mode}");
                assert_eq!(location.byte_offset, 31 * 16);
                assert_eq!(*line, line_of("cp_async_read"));
                assert_eq!(*copy_line, line_of("cp_async_issue"));
            }
            d => panic!("mode {mode}: expected a cp.async diagnostic, got {d:?}"),
        }
        assert_eq!(r.diagnostic.unwrap().cu_result(), 719);
    }
}

#[test]
fn a_pipeline_waiting_one_group_too_few_is_reported() {
    let gpu = Gpu::new(&compile_file("integrity.cu"));
    let tiles = 5;
    let x = randf(tiles * 128, 4, -1.0, 1.0);
    let (dx, dy) = (gpu.upload(&x), gpu.alloc::<f32>(128));
    let run = |wrong: i32| {
        gpu.launch(
            "cp_async_pipeline",
            [1, 1, 1],
            [32, 1, 1],
            0,
            &[
                Arg::Ptr(dx),
                Arg::Ptr(dy),
                Arg::I32(tiles as i32),
                Arg::I32(wrong),
            ],
        )
    };
    ok(&run(0));
    let y: Vec<f32> = gpu.download(dy, 128);
    for t in 0..32 {
        for c in 0..4 {
            let want: f32 = (0..tiles).map(|k| x[k * 128 + 4 * (31 - t) + c]).sum();
            assert!((y[4 * t + c] - want).abs() < 1e-5, "thread {t}");
        }
    }
    match run(1).diagnostic {
        Some(Diagnostic::CpAsyncPending { line, .. }) => {
            assert_eq!(line, line_of("pipeline_read"))
        }
        d => panic!("expected a cp.async diagnostic, got {d:?}"),
    }
}

/// `cp.async.mbarrier.arrive` completes copies through an mbarrier the interpreter does not
/// model: it is reported as unsupported at its line, not run as a copy.
#[test]
fn cp_async_mbarrier_arrive_is_unsupported() {
    let ptx = ".version 8.0\n.target sm_90\n.address_size 64\n.visible .entry k()\n{\n\
               .reg .b64 %rd<2>;\n.shared .align 8 .b64 bar;\nmov.u64 %rd1, bar;\n.loc 1 4 1\n\
               cp.async.mbarrier.arrive.shared.b64 [%rd1];\nret;\n}\n";
    let gpu = Gpu::new(ptx);
    match gpu.launch("k", [1, 1, 1], [1, 1, 1], 0, &[]).diagnostic {
        Some(Diagnostic::Unsupported { instruction, line }) => {
            assert!(
                instruction.starts_with("cp.async.mbarrier.arrive"),
                "{instruction}"
            );
            assert_eq!(line, 4);
        }
        d => panic!("expected unsupported, got {d:?}"),
    }
}
