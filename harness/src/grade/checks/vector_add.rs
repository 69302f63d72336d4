//! vector_add: `c[i] = a[i] + b[i]`, on sizes that are not multiples of the block, so the
//! last block has threads past the end and only a kernel that tests `i < n` passes.
//!
//! The model check: copy this file to write a new one.
//! Launch (stated in the stub): 256 threads per block, ceil(n / 256) blocks.

use cudarc::driver::LaunchConfig;

use crate::args;
use crate::grade::{blocks_for, CheckCtx};

pub const BLOCK: u32 = 256;

/// Past 2^24 a float cannot hold every integer: a kernel that computes its index in float
/// skips elements there. 16M interpreted threads take too long for the CPU backend.
const GPU_ONLY_SIZE: usize = (1 << 24) + 3;

pub fn check(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let kernel = ctx.kernel("vector_add")?;
    let mut sizes = ctx.sizes();
    if ctx.backend() == crate::toolchain::BackendKind::Gpu {
        sizes.push(vec![GPU_ONLY_SIZE]);
    }
    for size in sizes {
        let n = size[0];
        ctx.case(format!("n = {n}"));
        let (a, b) = (ctx.random_f32(n), ctx.random_f32(n));
        let want = reference(&a, &b);

        let da = ctx.input("a", &a)?;
        let db = ctx.input("b", &b)?;
        let dc = ctx.output::<f32>("c", n)?;
        let cfg = LaunchConfig {
            grid_dim: (blocks_for(n, BLOCK), 1, 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: 0,
        };
        ctx.launch(&kernel, cfg, args![&da, &db, &dc, n as i32])?;
        ctx.expect(&dc, &want)?;
    }
    Ok(())
}

/// The sum in f64, rounded once to f32: exactly what a correct f32 add produces.
pub fn reference(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 + y as f64) as f32)
        .collect()
}
