//! Curriculum-style kernels compiled with NVRTC and run through the interpreter's Rust API,
//! checked against CPU references.

// References index like the kernels they check.
#![allow(clippy::needless_range_loop)]
mod common;
use common::*;
use kernlings_cpu_driver::report::LaunchReport;

fn ok(r: &LaunchReport) {
    assert!(
        r.diagnostic.is_none(),
        "{} failed: {:?}",
        r.kernel,
        r.diagnostic
    );
}

fn close(got: &[f32], want: &[f64], rtol: f64, atol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            ((*g as f64) - w).abs() <= atol + rtol * w.abs(),
            "element {i}: got {g}, want {w}"
        );
    }
}

#[test]
fn vector_add_all_sizes() {
    let ptx = compile_file("basics.cu");
    let gpu = Gpu::new(&ptx);
    for n in [1usize, 31, 32, 33, 1000, 1 << 20 | 3] {
        let a = randf(n, 1, -10.0, 10.0);
        let b = randf(n, 2, 5.0, 6.0);
        let (da, db, dc) = (gpu.upload(&a), gpu.upload(&b), gpu.alloc::<f32>(n));
        let blocks = n.div_ceil(256) as u32;
        let r = gpu.launch(
            "vector_add",
            [blocks, 1, 1],
            [256, 1, 1],
            0,
            &[Arg::Ptr(da), Arg::Ptr(db), Arg::Ptr(dc), Arg::I32(n as i32)],
        );
        ok(&r);
        let c: Vec<f32> = gpu.download(dc, n);
        for i in 0..n {
            assert_eq!(c[i], a[i] + b[i], "n={n} i={i}");
        }
        // Consecutive threads read consecutive floats: every sector they touch is needed.
        assert_eq!(
            r.counters.global_sectors, r.counters.global_sectors_min,
            "n={n}"
        );
        assert!(r.counters.instructions > 10 * n as u64);
    }
}

#[test]
fn grid_stride_loop_covers_everything_with_a_small_grid() {
    let ptx = compile_file("basics.cu");
    let gpu = Gpu::new(&ptx);
    let n = 100_003;
    let a = randf(n, 3, -1.0, 1.0);
    let b = randf(n, 4, -1.0, 1.0);
    let (da, db, dc) = (gpu.upload(&a), gpu.upload(&b), gpu.alloc::<f32>(n));
    ok(&gpu.launch(
        "grid_stride_add",
        [8, 1, 1],
        [128, 1, 1],
        0,
        &[Arg::Ptr(da), Arg::Ptr(db), Arg::Ptr(dc), Arg::I32(n as i32)],
    ));
    let c: Vec<f32> = gpu.download(dc, n);
    assert!(c
        .iter()
        .zip(a.iter().zip(&b))
        .all(|(c, (a, b))| *c == a + b));
}

#[test]
fn grayscale_2d_grid() {
    let ptx = compile_file("basics.cu");
    let gpu = Gpu::new(&ptx);
    let (w, h) = (37usize, 21usize);
    let rgb: Vec<u8> = randu(w * h * 3, 5).iter().map(|v| *v as u8).collect();
    let (drgb, dg) = (gpu.upload(&rgb), gpu.alloc::<f32>(w * h));
    ok(&gpu.launch(
        "grayscale",
        [3, 2, 1],
        [16, 16, 1],
        0,
        &[
            Arg::Ptr(drgb),
            Arg::Ptr(dg),
            Arg::I32(w as i32),
            Arg::I32(h as i32),
        ],
    ));
    let g: Vec<f32> = gpu.download(dg, w * h);
    let want: Vec<f64> = (0..w * h)
        .map(|i| {
            0.299 * rgb[3 * i] as f64
                + 0.587 * rgb[3 * i + 1] as f64
                + 0.114 * rgb[3 * i + 2] as f64
        })
        .collect();
    close(&g, &want, 1e-5, 1e-4);
}

#[test]
fn float4_loads_and_stores() {
    let ptx = compile_file("basics.cu");
    let gpu = Gpu::new(&ptx);
    let n4 = 1001;
    let a = randf(n4 * 4, 6, -3.0, 3.0);
    let (da, db) = (gpu.upload(&a), gpu.alloc::<f32>(n4 * 4));
    ok(&gpu.launch(
        "float4_scale",
        [8, 1, 1],
        [128, 1, 1],
        0,
        &[
            Arg::Ptr(da),
            Arg::Ptr(db),
            Arg::F32(1.5),
            Arg::I32(n4 as i32),
        ],
    ));
    let b: Vec<f32> = gpu.download(db, n4 * 4);
    assert!(b.iter().zip(&a).all(|(b, a)| *b == a * 1.5));
}

#[test]
fn integer_ops_are_exact() {
    let ptx = compile_file("basics.cu");
    let gpu = Gpu::new(&ptx);
    let n = 4099;
    let a: Vec<i32> = randu(n, 7).iter().map(|v| *v as i32).collect();
    let (da, dout) = (gpu.upload(&a), gpu.alloc::<i32>(n));
    ok(&gpu.launch(
        "int_mix",
        [17, 1, 1],
        [256, 1, 1],
        0,
        &[Arg::Ptr(da), Arg::Ptr(dout), Arg::I32(n as i32)],
    ));
    let out: Vec<i32> = gpu.download(dout, n);
    for i in 0..n {
        let x = a[i];
        let u = x as u32;
        let w = x as i64 * 3 - 7;
        let sum = (x % 5)
            .wrapping_add((u >> 3) as i32)
            .wrapping_add((w >> 2) as i32)
            .wrapping_add(u.count_ones() as i32)
            .wrapping_add(u.leading_zeros() as i32)
            .wrapping_add(x.min(100))
            .wrapping_add(x.max(-100))
            .wrapping_add(((x >> 8) as f32) as i32)
            .wrapping_add((u.reverse_bits() % 1000) as i32)
            .wrapping_add(x.wrapping_abs() % 13);
        assert_eq!(out[i], (x / 7) ^ sum, "i={i} x={x}");
    }
}

#[test]
fn float_math_within_tolerance() {
    let ptx = compile_file("basics.cu");
    let gpu = Gpu::new(&ptx);
    let n = 2000;
    let a = randf(n, 8, -4.0, 4.0);
    let (da, dout, dd) = (gpu.upload(&a), gpu.alloc::<f32>(n), gpu.alloc::<f64>(n));
    ok(&gpu.launch(
        "math_mix",
        [8, 1, 1],
        [256, 1, 1],
        0,
        &[
            Arg::Ptr(da),
            Arg::Ptr(dout),
            Arg::Ptr(dd),
            Arg::I32(n as i32),
        ],
    ));
    let out: Vec<f32> = gpu.download(dout, n);
    let dout: Vec<f64> = gpu.download(dd, n);
    let want: Vec<f64> = a
        .iter()
        .map(|&x| {
            let x = x as f64;
            2.0 * x.exp()
                + x.sin() * x.cos()
                + x.abs().sqrt()
                + x.tanh()
                + (x.abs() + 1.0).ln()
                + 1.0 / (x.abs() + 1.0).sqrt()
                + x / 3.0
                + x.floor()
                + x.max(0.5)
        })
        .collect();
    close(&out, &want, 1e-4, 1e-4);
    for i in 0..n {
        let d = a[i] as f64;
        let w = d * d / 3.0 + d.abs().sqrt() - (d as i32) as f64;
        assert!(
            (dout[i] - w).abs() <= 1e-12 * w.abs().max(1.0),
            "f64 element {i}: {} vs {w}",
            dout[i]
        );
    }
}

fn transpose(kernel: &str) -> LaunchReport {
    let ptx = compile_file("shared.cu");
    let gpu = Gpu::new(&ptx);
    let (rows, cols) = (67usize, 45usize);
    let a = randf(rows * cols, 9, -1.0, 1.0);
    let (din, dout) = (gpu.upload(&a), gpu.alloc::<f32>(rows * cols));
    let grid = [cols.div_ceil(32) as u32, rows.div_ceil(32) as u32, 1];
    let r = gpu.launch(
        kernel,
        grid,
        [32, 8, 1],
        0,
        &[
            Arg::Ptr(din),
            Arg::Ptr(dout),
            Arg::I32(rows as i32),
            Arg::I32(cols as i32),
        ],
    );
    ok(&r);
    let out: Vec<f32> = gpu.download(dout, rows * cols);
    for r in 0..rows {
        for c in 0..cols {
            assert_eq!(out[c * rows + r], a[r * cols + c]);
        }
    }
    r
}

#[test]
fn tiled_transpose_with_padding_has_no_bank_conflicts() {
    let padded = transpose("transpose_tiled");
    let unpadded = transpose("transpose_conflicts");
    assert_eq!(padded.counters.shared_bank_conflicts, 0);
    assert!(
        unpadded.counters.shared_bank_conflicts > 1000,
        "{:?}",
        unpadded.counters
    );
}

#[test]
fn tiled_matmul_odd_sizes() {
    let ptx = compile_file("shared.cu");
    let gpu = Gpu::new(&ptx);
    let (m, n, k) = (37usize, 29usize, 41usize);
    let a = randf(m * k, 10, -1.0, 1.0);
    let b = randf(k * n, 11, -1.0, 1.0);
    let (da, db, dc) = (gpu.upload(&a), gpu.upload(&b), gpu.alloc::<f32>(m * n));
    let grid = [n.div_ceil(16) as u32, m.div_ceil(16) as u32, 1];
    ok(&gpu.launch(
        "matmul_tiled",
        grid,
        [16, 16, 1],
        0,
        &[
            Arg::Ptr(da),
            Arg::Ptr(db),
            Arg::Ptr(dc),
            Arg::I32(m as i32),
            Arg::I32(n as i32),
            Arg::I32(k as i32),
        ],
    ));
    let c: Vec<f32> = gpu.download(dc, m * n);
    let mut want = vec![0f64; m * n];
    for i in 0..m {
        for j in 0..n {
            want[i * n + j] = (0..k)
                .map(|p| a[i * k + p] as f64 * b[p * n + j] as f64)
                .sum();
        }
    }
    close(&c, &want, 1e-4, 1e-4);
}

#[test]
fn reductions_tree_and_shuffle() {
    let ptx = compile_file("shared.cu");
    let gpu = Gpu::new(&ptx);
    let n = 100_001;
    let a = randf(n, 12, -1.0, 2.0);
    let exact: f64 = a.iter().map(|&x| x as f64).sum();
    let blocks = n.div_ceil(256);
    let (din, dpart) = (gpu.upload(&a), gpu.alloc::<f32>(blocks));
    ok(&gpu.launch(
        "reduce_tree",
        [blocks as u32, 1, 1],
        [256, 1, 1],
        0,
        &[Arg::Ptr(din), Arg::Ptr(dpart), Arg::I32(n as i32)],
    ));
    let part: Vec<f32> = gpu.download(dpart, blocks);
    let tree: f64 = part.iter().map(|&x| x as f64).sum();
    assert!(
        (tree - exact).abs() < 1e-3 * exact.abs(),
        "{tree} vs {exact}"
    );
    let dsum = gpu.alloc::<f32>(1);
    let r = gpu.launch(
        "reduce_shfl",
        [20, 1, 1],
        [256, 1, 1],
        0,
        &[Arg::Ptr(din), Arg::Ptr(dsum), Arg::I32(n as i32)],
    );
    ok(&r);
    let s: Vec<f32> = gpu.download(dsum, 1);
    assert!(
        (s[0] as f64 - exact).abs() < 1e-3 * exact.abs(),
        "{} vs {exact}",
        s[0]
    );
    // Float atomics make block order matter: the same launch gives the same bits again.
    let dsum2 = gpu.alloc::<f32>(1);
    ok(&gpu.launch(
        "reduce_shfl",
        [20, 1, 1],
        [256, 1, 1],
        0,
        &[Arg::Ptr(din), Arg::Ptr(dsum2), Arg::I32(n as i32)],
    ));
    assert_eq!(gpu.download::<f32>(dsum2, 1)[0].to_bits(), s[0].to_bits());
}

#[test]
fn atomics_on_ints_and_floats() {
    let ptx = compile_file("shared.cu");
    let gpu = Gpu::new(&ptx);
    let n = 5000;
    let a: Vec<i32> = randu(n, 13).iter().map(|v| (*v % 1000) as i32).collect();
    let (din, di, df, dm) = (
        gpu.upload(&a),
        gpu.alloc::<i32>(1),
        gpu.alloc::<f32>(1),
        gpu.alloc::<u32>(1),
    );
    ok(&gpu.launch(
        "atomics",
        [20, 1, 1],
        [256, 1, 1],
        0,
        &[
            Arg::Ptr(din),
            Arg::Ptr(di),
            Arg::Ptr(df),
            Arg::Ptr(dm),
            Arg::I32(n as i32),
        ],
    ));
    assert_eq!(gpu.download::<i32>(di, 1)[0], a.iter().sum::<i32>());
    let fs: f64 = a.iter().map(|x| (x % 100) as f64 * 0.5).sum();
    assert!((gpu.download::<f32>(df, 1)[0] as f64 - fs).abs() < 1e-3 * fs);
    assert_eq!(
        gpu.download::<u32>(dm, 1)[0],
        *a.iter().max().unwrap() as u32
    );
}

#[test]
fn scans_hillis_steele_and_blelloch() {
    let ptx = compile_file("shared.cu");
    let gpu = Gpu::new(&ptx);
    for n in [1usize, 31, 200, 256] {
        let a: Vec<i32> = randu(n, 14)
            .iter()
            .map(|v| (*v % 100) as i32 - 50)
            .collect();
        let (din, dout) = (gpu.upload(&a), gpu.alloc::<i32>(n));
        ok(&gpu.launch(
            "scan_hillis_steele",
            [1, 1, 1],
            [256, 1, 1],
            2 * 256 * 4,
            &[Arg::Ptr(din), Arg::Ptr(dout), Arg::I32(n as i32)],
        ));
        let out: Vec<i32> = gpu.download(dout, n);
        let mut acc = 0;
        for i in 0..n {
            acc += a[i];
            assert_eq!(out[i], acc, "inclusive n={n} i={i}");
        }
        let dout2 = gpu.alloc::<i32>(n);
        ok(&gpu.launch(
            "scan_blelloch",
            [1, 1, 1],
            [128, 1, 1],
            256 * 4,
            &[Arg::Ptr(din), Arg::Ptr(dout2), Arg::I32(n as i32)],
        ));
        let out: Vec<i32> = gpu.download(dout2, n);
        let mut acc = 0;
        for i in 0..n {
            assert_eq!(out[i], acc, "exclusive n={n} i={i}");
            acc += a[i];
        }
    }
}

#[test]
fn shared_histogram_exact() {
    let ptx = compile_file("shared.cu");
    let gpu = Gpu::new(&ptx);
    let n = 70_000;
    let a = randu(n, 15);
    let (din, dbins) = (gpu.upload(&a), gpu.alloc::<u32>(256));
    ok(&gpu.launch(
        "histogram",
        [16, 1, 1],
        [192, 1, 1],
        0,
        &[Arg::Ptr(din), Arg::Ptr(dbins), Arg::I32(n as i32)],
    ));
    let mut want = vec![0u32; 256];
    a.iter().for_each(|v| want[(*v & 255) as usize] += 1);
    assert_eq!(gpu.download::<u32>(dbins, 256), want);
}

#[test]
fn half_precision_math() {
    let ptx = compile_file("shared.cu");
    let gpu = Gpu::new(&ptx);
    use half::f16;
    let n = 300;
    let a: Vec<f16> = randf(n, 16, -2.0, 2.0)
        .into_iter()
        .map(f16::from_f32)
        .collect();
    let b: Vec<f16> = randf(n, 17, -2.0, 2.0)
        .into_iter()
        .map(f16::from_f32)
        .collect();
    let (da, db, dc, df) = (
        gpu.upload(&a),
        gpu.upload(&b),
        gpu.alloc::<u16>(n),
        gpu.alloc::<f32>(n),
    );
    ok(&gpu.launch(
        "half_math",
        [2, 1, 1],
        [256, 1, 1],
        0,
        &[
            Arg::Ptr(da),
            Arg::Ptr(db),
            Arg::Ptr(dc),
            Arg::Ptr(df),
            Arg::I32(n as i32),
        ],
    ));
    let c: Vec<u16> = gpu.download(dc, n);
    let f: Vec<f32> = gpu.download(df, n);
    for i in 0..n {
        let (x, y) = (a[i].to_f64(), b[i].to_f64());
        let fma = f16::from_f64(x * y + 0.5);
        let want = f16::from_f64(fma.to_f64() * f16::from_f64(x - y).to_f64());
        assert_eq!(c[i], want.to_bits(), "i={i}");
        assert_eq!(
            f[i] as f64,
            f16::from_f64(2.0 * x).to_f64() + f16::from_f64(2.0 * y).to_f64()
        );
    }
}

#[test]
fn warp_vote_and_shuffles() {
    let ptx = compile_file("shared.cu");
    let gpu = Gpu::new(&ptx);
    let n = 100;
    let a: Vec<i32> = randu(n, 18)
        .iter()
        .map(|v| (*v % 4000) as i32 - 2000)
        .collect();
    let (din, dout) = (gpu.upload(&a), gpu.alloc::<u32>(n));
    ok(&gpu.launch(
        "vote_ballot",
        [1, 1, 1],
        [128, 1, 1],
        0,
        &[Arg::Ptr(din), Arg::Ptr(dout), Arg::I32(n as i32)],
    ));
    let out: Vec<u32> = gpu.download(dout, n);
    let v = |i: usize| if i < n { a[i] } else { 0 };
    for i in 0..n {
        let w = i / 32 * 32;
        let ballot = (0..32)
            .filter(|l| v(w + l) > 0)
            .fold(0u32, |m, l| m | 1 << l);
        let all = (0..32).all(|l| v(w + l) > -1000000) as u32;
        let any = (0..32).any(|l| v(w + l) > 1000) as u32;
        let up = if i % 32 >= 1 { v(i - 1) } else { v(i) };
        let want = ballot ^ (all << 1) ^ any ^ v(w + 3) as u32 ^ up as u32;
        assert_eq!(out[i], want, "i={i}");
    }
}

#[test]
fn ldmatrix_and_mma_sync_tile() {
    let ptx = compile_file("tensor.cu");
    let gpu = Gpu::new(&ptx);
    use half::f16;
    let a: Vec<f16> = randf(256, 19, -1.0, 1.0)
        .into_iter()
        .map(f16::from_f32)
        .collect();
    let bt: Vec<f16> = randf(128, 20, -1.0, 1.0)
        .into_iter()
        .map(f16::from_f32)
        .collect();
    let (da, db, dc) = (gpu.upload(&a), gpu.upload(&bt), gpu.alloc::<f32>(128));
    ok(&gpu.launch(
        "mma_tile",
        [1, 1, 1],
        [32, 1, 1],
        0,
        &[Arg::Ptr(da), Arg::Ptr(db), Arg::Ptr(dc)],
    ));
    let c: Vec<f32> = gpu.download(dc, 128);
    let mut want = vec![0f64; 128];
    for m in 0..16 {
        for n in 0..8 {
            want[m * 8 + n] = (0..16)
                .map(|k| a[m * 16 + k].to_f64() * bt[n * 16 + k].to_f64())
                .sum();
        }
    }
    close(&c, &want, 1e-5, 1e-5);
}

#[test]
fn wmma_tile_and_cp_async() {
    let ptx = compile_file("tensor.cu");
    let gpu = Gpu::new(&ptx);
    use half::f16;
    let a: Vec<f16> = randf(256, 21, -1.0, 1.0)
        .into_iter()
        .map(f16::from_f32)
        .collect();
    let b: Vec<f16> = randf(256, 22, -1.0, 1.0)
        .into_iter()
        .map(f16::from_f32)
        .collect();
    let (da, db, dc) = (gpu.upload(&a), gpu.upload(&b), gpu.alloc::<f32>(256));
    ok(&gpu.launch(
        "wmma_tile",
        [1, 1, 1],
        [32, 1, 1],
        0,
        &[Arg::Ptr(da), Arg::Ptr(db), Arg::Ptr(dc)],
    ));
    let c: Vec<f32> = gpu.download(dc, 256);
    let mut want = vec![0f64; 256];
    for i in 0..16 {
        for j in 0..16 {
            // B is column-major: B[k][j] sits at j * 16 + k.
            want[i * 16 + j] = 1.0
                + (0..16)
                    .map(|k| a[i * 16 + k].to_f64() * b[j * 16 + k].to_f64())
                    .sum::<f64>();
        }
    }
    close(&c, &want, 1e-5, 1e-5);
    let x = randf(128, 23, -5.0, 5.0);
    let (dx, dy) = (gpu.upload(&x), gpu.alloc::<f32>(128));
    ok(&gpu.launch(
        "cp_async_reverse",
        [1, 1, 1],
        [32, 1, 1],
        0,
        &[Arg::Ptr(dx), Arg::Ptr(dy)],
    ));
    let y: Vec<f32> = gpu.download(dy, 128);
    for t in 0..32 {
        assert_eq!(y[4 * t..4 * t + 4], x[4 * (31 - t)..4 * (31 - t) + 4]);
    }
}

#[test]
fn local_memory_arrays() {
    let ptx = compile_file("basics.cu");
    let gpu = Gpu::new(&ptx);
    let n = 333;
    let a = randf(n, 24, -2.0, 2.0);
    let (da, dout) = (gpu.upload(&a), gpu.alloc::<f32>(n));
    ok(&gpu.launch(
        "local_array",
        [3, 1, 1],
        [128, 1, 1],
        0,
        &[Arg::Ptr(da), Arg::Ptr(dout), Arg::I32(n as i32)],
    ));
    let out: Vec<f32> = gpu.download(dout, n);
    for i in 0..n {
        let k2 = if a[i] > 0.0 { 3.0 } else { 5.0 };
        assert_eq!(out[i], a[i] * ((i * 7) % 16) as f32 + a[i] * k2, "i={i}");
    }
}

#[test]
fn counters_see_uncoalesced_stores_and_divergence() {
    let ptx = compile_file("basics.cu");
    let gpu = Gpu::new(&ptx);
    let n = 64;
    let (din, dout) = (gpu.alloc::<f32>(n), gpu.alloc::<f32>(n * 32));
    let r = gpu.launch(
        "strided_copy",
        [1, 1, 1],
        [64, 1, 1],
        0,
        &[Arg::Ptr(din), Arg::Ptr(dout), Arg::I32(n as i32)],
    );
    ok(&r);
    // Loads: 2 warps x 4 sectors. Stores: 2 warps x 32 sectors, where 4 would do.
    assert_eq!(
        (r.counters.global_sectors, r.counters.global_sectors_min),
        (8 + 64, 8 + 8)
    );
    assert_eq!(r.counters.divergent_branches, 0);
    let r = gpu.launch(
        "strided_copy",
        [1, 1, 1],
        [64, 1, 1],
        0,
        &[Arg::Ptr(din), Arg::Ptr(dout), Arg::I32(40)],
    );
    assert_eq!(
        r.counters.divergent_branches, 1,
        "lanes 40..63 skip the body"
    );
}

#[test]
fn device_function_calls_are_inlined() {
    let ptx = compile_file("basics.cu");
    assert!(
        ptx.contains("call.uni"),
        "the kernel should still contain calls"
    );
    let gpu = Gpu::new(&ptx);
    let n = 70;
    let a: Vec<f64> = randf(n, 25, 0.5, 3.0)
        .into_iter()
        .map(|x| x as f64)
        .collect();
    let (da, db, dc) = (gpu.upload(&a), gpu.alloc::<f64>(2 * n), gpu.alloc::<f32>(n));
    ok(&gpu.launch(
        "device_calls",
        [3, 1, 1],
        [32, 1, 1],
        0,
        &[Arg::Ptr(da), Arg::Ptr(db), Arg::Ptr(dc), Arg::I32(n as i32)],
    ));
    let b: Vec<f64> = gpu.download(db, 2 * n);
    let c: Vec<f32> = gpu.download(dc, n);
    for i in 0..n {
        let (p, s) = (a[i].powf(2.5), (a[i] * 1.0e6).sin());
        assert!(
            (b[2 * i] - p).abs() <= 1e-14 * p,
            "pow {i}: {} vs {p}",
            b[2 * i]
        );
        assert!(
            (b[2 * i + 1] - s).abs() <= 1e-9,
            "sin {i}: {} vs {s}",
            b[2 * i + 1]
        );
        assert_eq!(c[i], 2.0 * a[i] as f32 + 1.0);
    }
}

#[test]
fn syncwarp_orders_shared_accesses_within_a_warp() {
    let ptx = compile_file("shared.cu");
    let gpu = Gpu::new(&ptx);
    let a = randf(4 * 64, 26, -1.0, 1.0);
    let (din, dpart) = (gpu.upload(&a), gpu.alloc::<f32>(4));
    ok(&gpu.launch(
        "reduce_syncwarp",
        [4, 1, 1],
        [64, 1, 1],
        0,
        &[Arg::Ptr(din), Arg::Ptr(dpart)],
    ));
    let part: Vec<f32> = gpu.download(dpart, 4);
    for b in 0..4 {
        let want: f64 = a[b * 64..b * 64 + 64].iter().map(|&x| x as f64).sum();
        assert!(
            (part[b] as f64 - want).abs() < 1e-4,
            "block {b}: {} vs {want}",
            part[b]
        );
    }
}

#[test]
fn bit_intrinsics() {
    let ptx = compile_file("basics.cu");
    let gpu = Gpu::new(&ptx);
    let mut a: Vec<i32> = randu(200, 27)
        .iter()
        .map(|v| *v as i32 >> (v % 31))
        .collect();
    a.extend([0, 1, -1, i32::MIN]);
    let n = a.len();
    let (da, dout) = (gpu.upload(&a), gpu.alloc::<i32>(n));
    ok(&gpu.launch(
        "bit_tricks",
        [1, 1, 1],
        [256, 1, 1],
        0,
        &[Arg::Ptr(da), Arg::Ptr(dout), Arg::I32(n as i32)],
    ));
    let out: Vec<i32> = gpu.download(dout, n);
    for i in 0..n {
        let x = a[i];
        let ffs = if x == 0 {
            0
        } else {
            x.trailing_zeros() as i32 + 1
        };
        let want = ffs
            + 100 * (31 - (x | 1).leading_zeros() as i32)
            + 10000 * (x & 0xff).count_ones() as i32;
        assert_eq!(out[i], want, "x={x}");
    }
}

#[test]
fn packed_half_comparisons() {
    let ptx = compile_file("shared.cu");
    let gpu = Gpu::new(&ptx);
    use half::f16;
    let n = 100;
    let a: Vec<f16> = randf(2 * n, 28, -1.0, 1.0)
        .into_iter()
        .map(f16::from_f32)
        .collect();
    let b: Vec<f16> = randf(2 * n, 29, -1.0, 1.0)
        .into_iter()
        .map(f16::from_f32)
        .collect();
    let (da, db, dout) = (gpu.upload(&a), gpu.upload(&b), gpu.alloc::<i32>(n));
    ok(&gpu.launch(
        "half2_compare",
        [1, 1, 1],
        [128, 1, 1],
        0,
        &[
            Arg::Ptr(da),
            Arg::Ptr(db),
            Arg::Ptr(dout),
            Arg::I32(n as i32),
        ],
    ));
    let out: Vec<i32> = gpu.download(dout, n);
    for i in 0..n {
        let want = (a[2 * i] > b[2 * i] && a[2 * i + 1] > b[2 * i + 1]) as i32;
        assert_eq!(out[i], want, "pair {i}");
    }
}

#[test]
fn syncthreads_count_and_or() {
    let ptx = compile_file("shared.cu");
    let gpu = Gpu::new(&ptx);
    let a: Vec<i32> = randu(4 * 96, 30)
        .iter()
        .map(|v| (*v % 100) as i32 - 50)
        .collect();
    let (din, dout) = (gpu.upload(&a), gpu.alloc::<i32>(12));
    ok(&gpu.launch(
        "barrier_reductions",
        [4, 1, 1],
        [96, 1, 1],
        0,
        &[Arg::Ptr(din), Arg::Ptr(dout)],
    ));
    let out: Vec<i32> = gpu.download(dout, 12);
    for b in 0..4 {
        let v = &a[b * 96..b * 96 + 96];
        let want = [
            v.iter().filter(|x| **x > 0).count() as i32,
            v.iter().all(|x| *x > -50) as i32,
            v.iter().any(|x| *x > 45) as i32,
        ];
        assert_eq!(out[3 * b..3 * b + 3], want, "block {b}");
    }
}
