//! sgemm (module 03, the matmul ladder): `C = A * B`, f32, row-major, A is M x K, B is K x N.
//! One check per step: each fixes the launch configuration its stub states; they share the
//! inputs, the f64 reference and the timed case against cuBLAS. On the CPU backend, step 2
//! must be coalesced and step 3 must reuse its tiles (global traffic), by the driver's counts.
//! `size = [M, N, K]`.
//!
//! Tolerance, per element: `|got - want| <= 1.5 * eps32 * sqrt(K) * sum_p |A[i,p] * B[p,j]|`,
//! against an f64 reference of every element (computed on the GPU at the sizes where the CPU
//! would take too long). A correct f32 kernel, summing its K products in any order, with or
//! without FMA, stays within about 0.6 of that unit; inputs rounded to TF32 or f16 (10-bit
//! mantissas: what tensor-core shortcuts give) land at 3.7 units at K = 4096 and far more at
//! smaller K (measured in the tests below), and one dropped product is about 1/sqrt(K) of
//! the whole sum away.

use cudarc::driver::LaunchConfig;

use super::access_bars;
use crate::args;
use crate::grade::{blocks_for, CheckCtx, DevBuf, Launch, Work};
use crate::toolchain::BackendKind;

/// One rung of the ladder: how the harness launches it.
struct Step {
    /// The C tile one block computes: (rows, columns).
    tile: (usize, usize),
    threads: u32,
    /// Step 1 maps blockIdx.x to rows of C; every later step maps it to columns.
    x_walks_rows: bool,
    /// float4 steps need N and K to be multiples of 4 (16-byte-aligned rows).
    vec4: bool,
    /// Checked on a GPU besides the curriculum's sizes: odd, and large enough that every
    /// block has interior and edge tiles along K.
    gpu_odd_size: [usize; 3],
    /// What the CPU backend's counters must show.
    demand: Demand,
}

#[derive(Clone, Copy, PartialEq)]
enum Demand {
    Correct,
    Coalesced,
    /// Global traffic of a kernel that fetches A and B once per 32x32 tile, not per thread.
    TileReuse,
}

const COALESCE_ADVICE: &str = "Consecutive threadIdx.x (the lanes of a warp) should walk along a \
                               row of B and C: col from threadIdx.x % 32, row from threadIdx.x / 32.";
const REUSE_ADVICE: &str = "Each value of A and B should come from global memory once per tile, \
                            then be read 32 times from shared memory: load the tiles, \
                            __syncthreads(), and compute from As and Bs only.";
const ODD: [usize; 3] = [517, 389, 1031];

const NAIVE: Step = Step {
    tile: (32, 32),
    threads: 1024,
    x_walks_rows: true,
    vec4: false,
    gpu_odd_size: ODD,
    demand: Demand::Correct,
};
const COALESCED: Step = Step {
    tile: (32, 32),
    threads: 1024,
    x_walks_rows: false,
    vec4: false,
    gpu_odd_size: ODD,
    demand: Demand::Coalesced,
};
const SHARED: Step = Step {
    demand: Demand::TileReuse,
    ..COALESCED
};
const BLOCKTILE_1D: Step = Step {
    tile: (64, 64),
    threads: 512,
    x_walks_rows: false,
    vec4: false,
    gpu_odd_size: ODD,
    demand: Demand::Correct,
};
const BLOCKTILE_2D: Step = Step {
    tile: (128, 128),
    threads: 256,
    x_walks_rows: false,
    vec4: false,
    gpu_odd_size: ODD,
    demand: Demand::Correct,
};
const WARPTILE: Step = Step {
    tile: (128, 128),
    threads: 128,
    x_walks_rows: false,
    vec4: true,
    gpu_odd_size: [517, 388, 1028],
    demand: Demand::Correct,
};

/// The tolerance in units of eps32 * sqrt(K) * sum|A B| (see the module doc).
const ERROR_UNITS: f64 = 1.5;
/// Past this many multiply-adds the f64 reference runs on the GPU.
const CPU_REFERENCE_MAX_MACS: usize = 1 << 28;

/// The f64 reference on the GPU: one thread per element of C, with the sum of |products|.
const GPU_REFERENCE: &str = r#"
extern "C" __global__ void sgemm_reference(const float* A, const float* B, double* C,
                                           double* abs_sum, int M, int N, int K)
{
    int j = blockIdx.x * blockDim.x + threadIdx.x, i = blockIdx.y;
    if (j >= N || i >= M) return;
    double s = 0.0, t = 0.0;
    for (int p = 0; p < K; ++p) {
        double x = (double)A[(size_t)i * K + p] * (double)B[(size_t)p * N + j];
        s += x;
        t += fabs(x);
    }
    C[(size_t)i * N + j] = s;
    abs_sum[(size_t)i * N + j] = t;
}
"#;

pub fn naive(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    check(ctx, &NAIVE)
}

pub fn coalesced(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    check(ctx, &COALESCED)
}

pub fn shared(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    check(ctx, &SHARED)
}

pub fn blocktile_1d(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    check(ctx, &BLOCKTILE_1D)
}

pub fn blocktile_2d(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    check(ctx, &BLOCKTILE_2D)
}

pub fn warptile(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    check(ctx, &WARPTILE)
}

fn check(ctx: &mut CheckCtx, step: &Step) -> anyhow::Result<()> {
    let kernel = ctx.kernel("sgemm")?;
    let mut sizes = ctx.sizes();
    if ctx.backend() == BackendKind::Gpu {
        sizes.push(step.gpu_odd_size.to_vec());
    }
    let timed = ctx.speed_size();
    ctx.append_timed(&mut sizes, &timed);

    for size in sizes {
        let [m, n, k] = size[..] else {
            anyhow::bail!("sgemm sizes are [M, N, K]; curriculum.toml gives {size:?}");
        };
        if step.vec4 && (n % 4 != 0 || k % 4 != 0) {
            anyhow::bail!(
                "this step's sizes need N and K multiples of 4; curriculum.toml gives {size:?}"
            );
        }
        let is_timed = timed.as_ref() == Some(&size);
        ctx.case(format!("M={m} N={n} K={k}"));
        let a = ctx.random_f32(m * k);
        let b = ctx.random_f32(k * n);
        let da = ctx.input_2d("A", m, k, &a)?;
        let db = ctx.input_2d("B", k, n, &b)?;
        let dc = ctx.output_2d::<f32>("C", m, n)?;
        let args = args![&da, &db, &dc, m as i32, n as i32, k as i32];
        ctx.launch(&kernel, config(step, m, n), args)?;

        let (want, abs_sum) = if m * n * k <= CPU_REFERENCE_MAX_MACS {
            reference_with_abs_sum(&a, &b, m, n, k)
        } else {
            gpu_reference(ctx, &da, &db, m, n, k)?
        };
        let unit = f32::EPSILON as f64 * (k as f64).sqrt();
        let bounds = abs_sum.iter().map(|s| ERROR_UNITS * unit * s).collect();
        let rule = format!(
            "tolerance: |got - expected| <= {ERROR_UNITS} * eps32 * sqrt(K) * sum over p of \
             |A[i,p] * B[p,j]| (a correct f32 sum of K = {k} products stays well inside; inputs \
             rounded to TF32/f16 do not)"
        );
        ctx.expect_bounded(&dc, &want, bounds, rule.clone())?;
        if let Some(counters) = ctx.cpu_counters()? {
            let failure = match step.demand {
                Demand::Correct => None,
                Demand::Coalesced => access_bars::coalesced(&counters, COALESCE_ADVICE),
                Demand::TileReuse => {
                    access_bars::traffic_within(&counters, tiled_traffic(m, n, k), REUSE_ADVICE)
                }
            };
            if let Some(f) = failure {
                return Err(f.into());
            }
        }

        if is_timed {
            ctx.case(format!("timed, M={m} N={n} K={k}"));
            let varied = ctx.vary(&a, |x| x + 1.0);
            ctx.vary_input(&da, &varied)?;
            let (want, abs_sum) = if m * n * k <= CPU_REFERENCE_MAX_MACS {
                reference_with_abs_sum(&varied, &b, m, n, k)
            } else {
                let dvaried = ctx.input_2d("A (varied)", m, k, &varied)?;
                gpu_reference(ctx, &dvaried, &db, m, n, k)?
            };
            let bounds = abs_sum.iter().map(|s| ERROR_UNITS * unit * s).collect();
            ctx.hold_varied_bounded(&dc, &want, bounds, rule);
            let learner = Launch {
                kernel: &kernel,
                cfg: config(step, m, n),
                args,
            };
            ctx.measure_speed(learner, Work::Gemm { m, n, k }, None)?;
        }
    }
    Ok(())
}

fn config(step: &Step, m: usize, n: usize) -> LaunchConfig {
    let (tile_rows, tile_cols) = step.tile;
    let (over_rows, over_cols) = (
        blocks_for(m, tile_rows as u32),
        blocks_for(n, tile_cols as u32),
    );
    let (grid_dim, block_dim) = if step.x_walks_rows {
        // Step 1's (32, 32) block: threadIdx.x and blockIdx.x walk down the rows of C.
        (
            (over_rows, over_cols, 1),
            (tile_rows as u32, tile_cols as u32, 1),
        )
    } else {
        ((over_cols, over_rows, 1), (step.threads, 1, 1))
    };
    LaunchConfig {
        grid_dim,
        block_dim,
        shared_mem_bytes: 0,
    }
}

/// The most global sectors a 32x32-tiled SGEMM moves: per block and step along K, 32 rows
/// of 32 floats from A and from B, then 32 rows of C; a row of 32 floats spans at most 5
/// sectors. A kernel that fetches A and B per thread instead moves over 10x more.
fn tiled_traffic(m: usize, n: usize, k: usize) -> u64 {
    const ROW_SECTORS: usize = 5;
    let blocks = m.div_ceil(32) * n.div_ceil(32);
    let steps = k.div_ceil(32);
    (blocks * (steps * 2 * 32 * ROW_SECTORS + 32 * ROW_SECTORS)) as u64
}

/// C = A * B in f64 and, per element, the sum of |products| the tolerance scales with.
fn reference_with_abs_sum(
    a: &[f32],
    b: &[f32],
    m: usize,
    n: usize,
    k: usize,
) -> (Vec<f32>, Vec<f64>) {
    let mut c = vec![0.0f64; m * n];
    let mut t = vec![0.0f64; m * n];
    for i in 0..m {
        let (row, abs_row) = (&mut c[i * n..(i + 1) * n], &mut t[i * n..(i + 1) * n]);
        for p in 0..k {
            let x = a[i * k + p] as f64;
            for ((acc, abs), &y) in row
                .iter_mut()
                .zip(abs_row.iter_mut())
                .zip(&b[p * n..(p + 1) * n])
            {
                let prod = x * y as f64;
                *acc += prod;
                *abs += prod.abs();
            }
        }
    }
    (c.into_iter().map(|x| x as f32).collect(), t)
}

/// `reference_with_abs_sum` computed by the harness's kernel on the device: every element of
/// a 4096^3 product is checked, as cheaply as the GPU makes it.
fn gpu_reference(
    ctx: &mut CheckCtx,
    da: &DevBuf<f32>,
    db: &DevBuf<f32>,
    m: usize,
    n: usize,
    k: usize,
) -> anyhow::Result<(Vec<f32>, Vec<f64>)> {
    let kernel = ctx.harness_kernel(GPU_REFERENCE, "sgemm_reference")?;
    let c = ctx.output::<f64>("reference C", m * n)?;
    let abs_sum = ctx.output::<f64>("reference |A||B|", m * n)?;
    let cfg = LaunchConfig {
        grid_dim: (blocks_for(n, 256), m as u32, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    };
    ctx.launch_async(
        &kernel,
        cfg,
        args![da, db, &c, &abs_sum, m as i32, n as i32, k as i32],
    )?;
    ctx.stream.synchronize()?;
    let want = ctx.read(&c)?.into_iter().map(|x| x as f32).collect();
    Ok((want, ctx.read(&abs_sum)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_multiplies_non_square_matrices() {
        // [1 2 3; 4 5 6] (2x3) * [1 0; 0 1; 1 1] (3x2) = [4 5; 10 11]
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        assert_eq!(
            reference_with_abs_sum(&a, &b, 2, 2, 3).0,
            vec![4.0, 5.0, 10.0, 11.0]
        );
    }

    #[test]
    fn launch_configurations_match_the_stub_headers() {
        let naive = config(&NAIVE, 33, 70);
        assert_eq!((naive.grid_dim, naive.block_dim), ((2, 3, 1), (32, 32, 1)));
        let coalesced = config(&COALESCED, 33, 70);
        assert_eq!(
            (coalesced.grid_dim, coalesced.block_dim),
            ((3, 2, 1), (1024, 1, 1))
        );
        let bt2 = config(&BLOCKTILE_2D, 257, 129);
        assert_eq!((bt2.grid_dim, bt2.block_dim), ((2, 3, 1), (256, 1, 1)));
        let warp = config(&WARPTILE, 1, 4);
        assert_eq!((warp.grid_dim, warp.block_dim), ((1, 1, 1), (128, 1, 1)));
    }

    /// The worst error over 16 x 64 elements, in units of the tolerance, of C computed from
    /// inputs passed through `round`, accumulated serially in f32.
    fn worst_error_in_tolerances(k: usize, round: impl Fn(f32) -> f32, seed: u64) -> f64 {
        let (m, n) = (16, 64);
        let mut rng = crate::grade::inputs::rng(seed);
        let a = crate::grade::inputs::f32s(&mut rng, m * k);
        let b = crate::grade::inputs::f32s(&mut rng, k * n);
        let (_, abs_sum) = reference_with_abs_sum(&a, &b, m, n, k);
        let mut worst = 0.0f64;
        for i in 0..m {
            for j in 0..n {
                let (mut acc, mut exact) = (0.0f32, 0.0f64);
                for p in 0..k {
                    acc = round(a[i * k + p]).mul_add(round(b[p * n + j]), acc);
                    exact += a[i * k + p] as f64 * b[p * n + j] as f64;
                }
                let tol =
                    ERROR_UNITS * f32::EPSILON as f64 * (k as f64).sqrt() * abs_sum[i * n + j];
                worst = worst.max((acc as f64 - exact).abs() / tol);
            }
        }
        worst
    }

    /// Round to a 10-bit mantissa, as TF32 and f16 inputs have.
    fn ten_bit_mantissa(x: f32) -> f32 {
        f32::from_bits((x.to_bits() + 0x1000) & !0x1fff)
    }

    #[test]
    fn tolerance_holds_f32_and_rejects_tf32_or_f16_inputs() {
        for (k, seed) in [(31, 1), (1031, 2), (4096, 3), (4096, 4)] {
            let f32_err = worst_error_in_tolerances(k, |x| x, seed);
            let tf32_err = worst_error_in_tolerances(k, ten_bit_mantissa, seed);
            // At 1024 elements; the 16M of the timed case reach further out on both sides.
            eprintln!("K = {k}: f32 {f32_err:.2}, TF32/f16 {tf32_err:.2} tolerances");
            assert!(
                f32_err < 0.5,
                "K = {k}: a correct kernel at {f32_err:.2} of the tolerance"
            );
            assert!(
                tf32_err > 1.2,
                "K = {k}: TF32 inputs only {tf32_err:.2} tolerances off"
            );
        }
    }

    #[test]
    fn traffic_bar_separates_tiled_from_untiled() {
        // CPU-backend counts for this module's solutions at 33 x 33 x 33.
        let budget = tiled_traffic(33, 33, 33);
        assert!(965 <= budget, "tiled: 965 > {budget}");
        assert!(8740 > budget, "coalesced naive: 8740 <= {budget}");
    }
}
