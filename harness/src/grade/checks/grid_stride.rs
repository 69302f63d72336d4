//! grid_stride: `c[i] = a[i] + b[i]` with far fewer threads than elements, so only a kernel
//! that strides by the whole grid's width covers every element. Timed against the device's
//! copy bandwidth: an add moves 12 bytes per element (two reads, one write).
//!
//! Launch (stated in the stub): 256 threads per block; correctness cases use 8 blocks per
//! SM, the timed case 32 blocks per SM. Neither depends on n.

use cudarc::driver::LaunchConfig;

use super::vector_add::reference;
use crate::args;
use crate::grade::{CheckCtx, Launch, Work};

const BLOCK: u32 = 256;
const CHECK_BLOCKS_PER_SM: u32 = 8;
const TIMED_BLOCKS_PER_SM: u32 = 32;

pub fn check(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let kernel = ctx.kernel("add_grid_stride")?;
    let sms = ctx.sm_count()?;
    let cfg = |blocks_per_sm: u32| LaunchConfig {
        grid_dim: (blocks_per_sm * sms, 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: 0,
    };
    let threads = (CHECK_BLOCKS_PER_SM * sms * BLOCK) as usize;
    let mut sizes = ctx.sizes();
    let timed = ctx.speed_size();
    ctx.append_timed(&mut sizes, &timed);
    for size in sizes {
        let n = size[0];
        ctx.case(format!("n = {n} on {threads} threads"));
        let (a, b) = (ctx.random_f32(n), ctx.random_f32(n));
        let want = reference(&a, &b);
        let da = ctx.input("a", &a)?;
        let db = ctx.input("b", &b)?;
        let dc = ctx.output::<f32>("c", n)?;
        ctx.launch(
            &kernel,
            cfg(CHECK_BLOCKS_PER_SM),
            args![&da, &db, &dc, n as i32],
        )?;
        ctx.expect(&dc, &want)?;

        if timed.as_ref().is_some_and(|t| t[0] == n) {
            ctx.case(format!("timed, n = {n}"));
            let varied = ctx.vary(&a, |x| x + 1.0);
            ctx.vary_input(&da, &varied)?;
            let tol = ctx.tolerance();
            ctx.hold_varied_to(&dc, &reference(&varied, &b), tol);
            let args = args![&da, &db, &dc, n as i32];
            let learner = Launch {
                kernel: &kernel,
                cfg: cfg(TIMED_BLOCKS_PER_SM),
                args,
            };
            ctx.measure_speed(learner, Work::Bytes(12 * n as u64), None)?;
        }
    }
    Ok(())
}
