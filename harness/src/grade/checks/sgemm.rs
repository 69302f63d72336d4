//! sgemm (module 03, the matmul ladder): `C = A * B`, f32, row-major, A is M x K, B is K x N.
//! One check per step: each fixes the launch configuration its stub states; they share the
//! inputs, the f64 reference and the timed case against cuBLAS. On the CPU backend, step 2
//! must be coalesced and step 3 must reuse its tiles (global traffic), by the driver's counts.
//! `size = [M, N, K]`.
//!
//! Tolerance: `|got - want| <= rtol * |want| + atol * K * mean|A| * mean|B|`. The second term
//! scales atol to the typical size of the K products an element adds up (f32 rounding errors
//! grow with them); dropping a single product is still about `1/K` of it, far above atol.

use cudarc::driver::LaunchConfig;

use super::access_bars;
use crate::args;
use crate::curriculum::Tolerance;
use crate::grade::{blocks_for, CheckCtx, Launch, Work};
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

/// At the timed size an f64 reference of all of C is too slow; these many rows are compared
/// in full, and every element is checked to be written.
const TIMED_ROWS_CHECKED: usize = 8;

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
    sizes.extend(timed.clone());

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

        let tol = scaled_tolerance(ctx.tolerance(), &a, &b, k);
        let want = if is_timed {
            let got = ctx.read(&dc)?;
            let rows = sample_rows(ctx, m);
            reference_rows(&a, &b, &got, m, n, k, &rows)
        } else {
            reference(&a, &b, m, n, k)
        };
        ctx.expect_within(&dc, &want, tol)?;
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

fn scaled_tolerance(tol: Tolerance, a: &[f32], b: &[f32], k: usize) -> Tolerance {
    let mean_abs =
        |v: &[f32]| v.iter().map(|x| x.abs() as f64).sum::<f64>() / v.len().max(1) as f64;
    Tolerance {
        rtol: tol.rtol,
        atol: tol.atol * k as f64 * mean_abs(a) * mean_abs(b),
    }
}

/// C = A * B summed in f64 (i-k-j order: rows of B and C are walked contiguously).
pub fn reference(a: &[f32], b: &[f32], m: usize, n: usize, k: usize) -> Vec<f32> {
    let mut c = vec![0.0f64; m * n];
    for i in 0..m {
        let row = &mut c[i * n..(i + 1) * n];
        for p in 0..k {
            let x = a[i * k + p] as f64;
            for (acc, &y) in row.iter_mut().zip(&b[p * n..(p + 1) * n]) {
                *acc += x * y as f64;
            }
        }
    }
    c.into_iter().map(|x| x as f32).collect()
}

/// A reference for the rows `rows` only; elsewhere it expects what the kernel wrote, so
/// those elements pass unless they were never written (poison) and then show as such.
fn reference_rows(
    a: &[f32],
    b: &[f32],
    got: &[f32],
    m: usize,
    n: usize,
    k: usize,
    rows: &[usize],
) -> Vec<f32> {
    let mut want: Vec<f32> = got
        .iter()
        .map(|&g| if g.is_nan() { 0.0 } else { g })
        .collect();
    for &i in rows.iter().filter(|&&i| i < m) {
        let one = reference(&a[i * k..(i + 1) * k], b, 1, n, k);
        want[i * n..(i + 1) * n].copy_from_slice(&one);
    }
    want
}

/// The first row, the last, and random ones between.
fn sample_rows(ctx: &mut CheckCtx, m: usize) -> Vec<usize> {
    let mut rows = vec![0, m - 1];
    let random = ctx.random_i32(TIMED_ROWS_CHECKED - 2, 0, m as i32);
    rows.extend(random.into_iter().map(|r| r as usize));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_multiplies_non_square_matrices() {
        // [1 2 3; 4 5 6] (2x3) * [1 0; 0 1; 1 1] (3x2) = [4 5; 10 11]
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        assert_eq!(reference(&a, &b, 2, 2, 3), vec![4.0, 5.0, 10.0, 11.0]);
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

    #[test]
    fn tolerance_catches_a_dropped_product() {
        // Every product is 2 * 3 = 6; dropping one changes the sum by 6 out of 6 * K.
        let k = 1000;
        let (a, b) = (vec![2.0f32; k], vec![3.0f32; k]);
        let tol = scaled_tolerance(
            Tolerance {
                rtol: 1e-4,
                atol: 1e-5,
            },
            &a,
            &b,
            k,
        );
        let want = 6.0 * k as f64;
        assert!(
            6.0 > tol.atol + tol.rtol * want,
            "atol {} too loose",
            tol.atol
        );
    }

    #[test]
    fn traffic_bar_separates_tiled_from_untiled() {
        // CPU-backend counts for this module's solutions at 33 x 33 x 33.
        let budget = tiled_traffic(33, 33, 33);
        assert!(965 <= budget, "tiled: 965 > {budget}");
        assert!(8740 > budget, "coalesced naive: 8740 <= {budget}");
    }

    #[test]
    fn unchecked_rows_expect_what_was_written_and_flag_poison() {
        let (a, b) = (vec![1.0f32; 2 * 2], vec![1.0f32; 2 * 2]);
        let got = [7.0, f32::NAN, 2.0, 2.0];
        let want = reference_rows(&a, &b, &got, 2, 2, 2, &[1]);
        assert_eq!(want, vec![7.0, 0.0, 2.0, 2.0]);
    }
}
