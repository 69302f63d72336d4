//! Module 05, inclusive prefix sums of i32, checked exactly (wrapping on overflow, as the GPU
//! adds): per-block segments (`scan_block_256` for Hillis-Steele, `scan_block_512` for
//! Blelloch) and the whole array (`scan_multi_block`: three launches, each checked on its
//! own so a failure names the kernel that went wrong).

use cudarc::driver::LaunchConfig;

use crate::args;
use crate::grade::check::AnyBuf;
use crate::grade::compare::{self, Shape};
use crate::grade::{CheckCtx, DevBuf, Launch, Work};

const BLOCK: u32 = 256;
/// scan_multi_block: a tile is 8 rows of 256 elements, one block per tile.
const TILE: usize = 2048;
/// scan_tile_sums runs as one block of this many threads.
const SCAN_SUMS_BLOCK: u32 = 1024;
/// More tile sums than several rounds of scan_tile_sums' 1024 threads cover, whether a thread
/// takes one sum per round or eight: the carry from round to round is exercised.
const MANY_TILES: usize = 3 * 8 * SCAN_SUMS_BLOCK as usize + 77;

pub fn check_block_256(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    check_segments(ctx, 256)
}

pub fn check_block_512(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    check_segments(ctx, 512)
}

/// `scan_block` with 256 threads per block, each block scanning its own `segment` elements.
fn check_segments(ctx: &mut CheckCtx, segment: usize) -> anyhow::Result<()> {
    let kernel = ctx.kernel("scan_block")?;
    let timed = ctx.speed_size();
    let mut sizes = ctx.sizes();
    ctx.append_timed(&mut sizes, &timed);
    for size in sizes {
        let n = size[0];
        ctx.case(format!("n = {n}, segments of {segment}"));
        let input = random_ints(ctx, n);
        let din = ctx.input("in", &input)?;
        let out = ctx.output::<i32>("out", n)?;
        let cfg = LaunchConfig {
            grid_dim: (n.div_ceil(segment).max(1) as u32, 1, 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: 0,
        };
        ctx.launch(&kernel, cfg, args![&din, &out, n as i32])?;
        let want: Vec<i32> = input.chunks(segment).flat_map(inclusive_scan).collect();
        ctx.expect(&out, &want)?;

        if timed.as_ref().is_some_and(|t| t[0] == n) {
            ctx.case(format!("timed, n = {n}"));
            let varied = ctx.vary(&input, |x| x.wrapping_add(1));
            ctx.vary_input(&din, &varied)?;
            let want: Vec<i32> = varied.chunks(segment).flat_map(inclusive_scan).collect();
            let tol = ctx.tolerance();
            ctx.hold_varied_to(&out, &want, tol);
            let learner = Launch {
                kernel: &kernel,
                cfg,
                args: args![&din, &out, n as i32],
            };
            ctx.measure_speed(learner, Work::Bytes(8 * n as u64), None)?;
        }
    }
    Ok(())
}

pub fn check_multi_block(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let tile_sums = ctx.kernel("tile_sums")?;
    let scan_tile_sums = ctx.kernel("scan_tile_sums")?;
    let scan_tiles = ctx.kernel("scan_tiles")?;
    let one_block = LaunchConfig {
        grid_dim: (1, 1, 1),
        block_dim: (SCAN_SUMS_BLOCK, 1, 1),
        shared_mem_bytes: 0,
    };

    // More tile sums than scan_tile_sums has threads, without scanning 6 million elements
    // to get them (slow on the CPU backend): its carry from one round to the next.
    ctx.case(format!("scan_tile_sums alone, {MANY_TILES} tile sums"));
    let values = random_ints(ctx, MANY_TILES);
    let sums: DevBuf<i32> = ctx.scratch("tile_sum", MANY_TILES)?;
    upload(ctx, &sums, &values)?;
    ctx.launch(&scan_tile_sums, one_block, args![&sums, MANY_TILES as i32])?;
    expect_stage(
        ctx,
        &sums,
        &exclusive_scan(&values),
        "scan_tile_sums",
        SCAN_SUMS_CONTRACT,
    )?;

    let timed = ctx.speed_size();
    let mut sizes = ctx.sizes();
    ctx.append_timed(&mut sizes, &timed);
    for size in sizes {
        let n = size[0];
        let tiles = n.div_ceil(TILE).max(1);
        ctx.case(format!("n = {n} ({tiles} tiles)"));
        let input = random_ints(ctx, n);
        let din = ctx.input("in", &input)?;
        let sums: DevBuf<i32> = ctx.scratch("tile_sum", tiles)?;
        let out = ctx.output::<i32>("out", n)?;
        let per_tile = LaunchConfig {
            grid_dim: (tiles as u32, 1, 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: 0,
        };

        let want_sums: Vec<i32> = input
            .chunks(TILE)
            .map(|t| t.iter().fold(0i32, |a, &b| a.wrapping_add(b)))
            .collect();
        ctx.launch(&tile_sums, per_tile, args![&din, &sums, n as i32])?;
        let contract = "tile_sum[b] must be the sum of tile b's 2048 elements (those below n)";
        expect_stage(ctx, &sums, &want_sums, "tile_sums", contract)?;

        ctx.launch(&scan_tile_sums, one_block, args![&sums, tiles as i32])?;
        let want_offsets = exclusive_scan(&want_sums);
        expect_stage(
            ctx,
            &sums,
            &want_offsets,
            "scan_tile_sums",
            SCAN_SUMS_CONTRACT,
        )?;

        ctx.launch(&scan_tiles, per_tile, args![&din, &out, &sums, n as i32])?;
        ctx.expect(&out, &inclusive_scan(&input)).map_err(|e| {
            stage(
                e,
                "scan_tiles",
                "out[i] must be tile_sum[b] plus the tile's elements up to i",
            )
        })?;

        if timed.as_ref().is_some_and(|t| t[0] == n) {
            ctx.case(format!("timed, n = {n}"));
            let varied = ctx.vary(&input, |x| x.wrapping_add(1));
            ctx.vary_input(&din, &varied)?;
            let tol = ctx.tolerance();
            ctx.hold_varied_to(&out, &inclusive_scan(&varied), tol);
            let launches = [
                Launch {
                    kernel: &tile_sums,
                    cfg: per_tile,
                    args: args![&din, &sums, n as i32],
                },
                Launch {
                    kernel: &scan_tile_sums,
                    cfg: one_block,
                    args: args![&sums, tiles as i32],
                },
                Launch {
                    kernel: &scan_tiles,
                    cfg: per_tile,
                    args: args![&din, &out, &sums, n as i32],
                },
            ];
            // The essential traffic, read n and write n, whatever the design moves.
            ctx.measure_speed_of_sequence(&launches, Work::Bytes(8 * n as u64), None)?;
        }
    }
    Ok(())
}

const SCAN_SUMS_CONTRACT: &str =
    "afterwards tile_sum[b] must be the sum of tiles 0..b-1 (exclusive: tile_sum[0] = 0), for \
     every b below `tiles`, also when there are more tiles than the block's 1024 threads";

/// Check an intermediate result of the three launches; a pass adds no line of its own.
fn expect_stage(
    ctx: &CheckCtx,
    buf: &DevBuf<i32>,
    want: &[i32],
    kernel: &str,
    contract: &str,
) -> anyhow::Result<()> {
    let got = ctx.read(buf)?;
    compare::compare(buf.name(), Shape::Linear, &got, want, ctx.tolerance())
        .map(|_| ())
        .map_err(|f| stage(f.into(), kernel, contract))
}

/// Fill a scratch buffer with chosen values (launch leaves scratch alone).
fn upload(ctx: &CheckCtx, buf: &DevBuf<i32>, values: &[i32]) -> anyhow::Result<()> {
    // `values` outlives the synchronize, so the asynchronous copy reads valid memory.
    unsafe {
        cudarc::driver::result::memcpy_htod_async(buf.device_ptr(), values, ctx.stream.cu_stream())
    }?;
    ctx.stream.synchronize()?;
    Ok(())
}

/// Ints with a random offset and range (never 0, 1, 2, ...), some negative.
fn random_ints(ctx: &mut CheckCtx, n: usize) -> Vec<i32> {
    let lo = ctx.random_i32(1, -1000, 1000)[0];
    let width = ctx.random_i32(1, 10, 2000)[0];
    ctx.random_i32(n, lo, lo + width)
}

fn exclusive_scan(x: &[i32]) -> Vec<i32> {
    inclusive_scan(x)
        .iter()
        .zip(x)
        .map(|(s, v)| s.wrapping_sub(*v))
        .collect()
}

fn inclusive_scan(x: &[i32]) -> Vec<i32> {
    x.iter()
        .scan(0i32, |acc, &v| {
            *acc = acc.wrapping_add(v);
            Some(*acc)
        })
        .collect()
}

/// Name the launch whose output was wrong, and what it should have produced.
fn stage(e: anyhow::Error, kernel: &str, contract: &str) -> anyhow::Error {
    match e.downcast::<crate::grade::Failure>() {
        Ok(mut f) => {
            f.summary = format!("{kernel}: {}", f.summary);
            f.details += &format!("{contract}.\n");
            f.into()
        }
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inclusive_scan_wraps_like_the_gpu() {
        assert_eq!(inclusive_scan(&[3, -1, 4]), vec![3, 2, 6]);
        assert_eq!(inclusive_scan(&[i32::MAX, 1]), vec![i32::MAX, i32::MIN]);
        assert_eq!(exclusive_scan(&[3, -1, 4]), vec![0, 3, 2]);
    }
}
