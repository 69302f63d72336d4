//! transpose (module 02): `out` (cols x rows) = `in` (rows x cols) transposed, exact.
//! One check per step of the module; they grade the same task, and differ in what they
//! demand of the kernel's memory accesses: on the CPU backend, steps 2 and 3 must be
//! coalesced and step 3 free of bank conflicts, counted by the driver on every case.
//!
//! Launch (stated in the stubs): blocks of 32 x 8 threads, each covering a 32 x 32 tile of
//! `in`, grid = (ceil(cols / 32), ceil(rows / 32)). `size = [rows, cols]`.
//! Timed against the device's copy bandwidth: a transpose reads and writes every byte once.

use cudarc::driver::LaunchConfig;

use super::access_bars;
use crate::args;
use crate::curriculum::Tolerance;
use crate::grade::{blocks_for, CheckCtx, Launch, Work};

const TILE: u32 = 32;
const BLOCK_ROWS: u32 = 8;
/// A transpose moves values, it computes nothing: every element must be bit-exact.
const EXACT: Tolerance = Tolerance {
    rtol: 0.0,
    atol: 0.0,
};

/// What a step must show in the CPU backend's counters.
#[derive(Clone, Copy, PartialEq)]
enum Demand {
    Correct,
    Coalesced,
    CoalescedConflictFree,
}

const COALESCE_ADVICE: &str = "In a naive transpose one side walks down a column: 32 lanes, 32 \
                               rows apart. Turn the tile around in shared memory so that both the \
                               load and the store walk along rows.";
const BANK_ADVICE: &str =
    "Reading tile[threadIdx.x][...] walks down a column of the tile; with rows \
                           32 words long, every word of a column is in the same bank. Pad each \
                           row by one word.";

pub fn naive(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    check(ctx, Demand::Correct)
}

pub fn tiled(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    check(ctx, Demand::Coalesced)
}

pub fn padded(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    check(ctx, Demand::CoalescedConflictFree)
}

fn check(ctx: &mut CheckCtx, demand: Demand) -> anyhow::Result<()> {
    let kernel = ctx.kernel("transpose")?;
    let timed = ctx.speed_size();
    let mut sizes = ctx.sizes();
    // On a GPU the timed size is checked too: a kernel that is only right on small inputs
    // must not get a speed verdict.
    ctx.append_timed(&mut sizes, &timed);
    for size in sizes {
        let (rows, cols) = (size[0], size[1]);
        ctx.case(format!("{rows} x {cols}"));
        let data = ctx.random_f32(rows * cols);
        let input = ctx.input_2d("in", rows, cols, &data)?;
        let out = ctx.output_2d::<f32>("out", cols, rows)?;
        let args = args![&input, &out, rows as i32, cols as i32];
        ctx.launch(&kernel, config(rows, cols), args)?;
        ctx.expect_within(&out, &reference(&data, rows, cols), EXACT)?;
        if let Some(counters) = ctx.cpu_counters()? {
            let failure = match demand {
                Demand::Correct => None,
                Demand::Coalesced => access_bars::coalesced(&counters, COALESCE_ADVICE),
                Demand::CoalescedConflictFree => access_bars::coalesced(&counters, COALESCE_ADVICE)
                    .or_else(|| access_bars::conflict_free(&counters, BANK_ADVICE)),
            };
            if let Some(f) = failure {
                return Err(f.into());
            }
        }

        if timed.as_ref() == Some(&size) {
            ctx.case(format!("timed, {rows} x {cols}"));
            let varied = ctx.vary(&data, |x| x + 1.0);
            ctx.vary_input(&input, &varied)?;
            ctx.hold_varied_to(&out, &reference(&varied, rows, cols), EXACT);
            let learner = Launch {
                kernel: &kernel,
                cfg: config(rows, cols),
                args,
            };
            let bytes = 2 * 4 * (rows * cols) as u64;
            ctx.measure_speed(learner, Work::Bytes(bytes), None)?;
        }
    }
    Ok(())
}

fn config(rows: usize, cols: usize) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (blocks_for(cols, TILE), blocks_for(rows, TILE), 1),
        block_dim: (TILE, BLOCK_ROWS, 1),
        shared_mem_bytes: 0,
    }
}

/// `out[c * rows + r] = in[r * cols + c]`.
pub fn reference(input: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = input[r * cols + c];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_transposes_a_non_square_matrix() {
        // 2 x 3 -> 3 x 2
        let input = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(reference(&input, 2, 3), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }

    #[test]
    fn the_grid_covers_the_last_partial_tile() {
        let cfg = config(33, 70);
        assert_eq!(cfg.grid_dim, (3, 2, 1));
        assert_eq!(cfg.block_dim, (32, 8, 1));
    }
}
