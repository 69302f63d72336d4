//! thread_index: every thread writes, at its global index, which block it is in, which
//! thread it is within the block, and its global index. The grid has exactly as many threads
//! as elements, so no bounds check is needed yet (that is the next exercise).
//!
//! Launch (stated in the stub): `size = [blocks, threads per block]` from curriculum.toml.

use cudarc::driver::LaunchConfig;

use crate::args;
use crate::grade::CheckCtx;

pub fn check(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let kernel = ctx.kernel("thread_index")?;
    for size in ctx.sizes() {
        let (blocks, threads) = (size[0], size[1]);
        let n = blocks * threads;
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        ctx.case(format!(
            "{} of {}",
            plural(blocks, "block"),
            plural(threads, "thread")
        ));
        let block_of = ctx.output::<i32>("block_of", n)?;
        let thread_of = ctx.output::<i32>("thread_of", n)?;
        let global = ctx.output::<i32>("global_id", n)?;
        let cfg = LaunchConfig {
            grid_dim: (blocks as u32, 1, 1),
            block_dim: (threads as u32, 1, 1),
            shared_mem_bytes: 0,
        };
        ctx.launch(&kernel, cfg, args![&block_of, &thread_of, &global])?;
        let ids = 0..n as i32;
        ctx.expect(&global, &ids.clone().collect::<Vec<_>>())?;
        ctx.expect(
            &block_of,
            &ids.clone().map(|i| i / threads as i32).collect::<Vec<_>>(),
        )?;
        ctx.expect(
            &thread_of,
            &ids.map(|i| i % threads as i32).collect::<Vec<_>>(),
        )?;
    }
    Ok(())
}
