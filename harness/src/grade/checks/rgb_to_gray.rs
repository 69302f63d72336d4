//! rgb_to_gray: a 2D grid over a `width x height` image that is neither square nor a
//! multiple of the block, `gray = 0.299 r + 0.587 g + 0.114 b` per pixel. Catches swapped
//! x/y, a missing bound on either axis, and row-major index mistakes.
//!
//! Launch (stated in the stub): 16x16 threads per block, ceil(width/16) x ceil(height/16)
//! blocks. `size = [width, height]`.

use cudarc::driver::LaunchConfig;

use crate::args;
use crate::grade::{blocks_for, CheckCtx};

const TILE: u32 = 16;

pub fn check(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let kernel = ctx.kernel("rgb_to_gray")?;
    for size in ctx.sizes() {
        let (width, height) = (size[0], size[1]);
        ctx.case(format!("{width} x {height} image"));
        let rgb = ctx.random_positive_f32(3 * width * height);
        let want: Vec<f32> = rgb
            .chunks_exact(3)
            .map(|p| (0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64) as f32)
            .collect();
        let drgb = ctx.input("rgb", &rgb)?;
        let gray = ctx.output_2d::<f32>("gray", height, width)?;
        let cfg = LaunchConfig {
            grid_dim: (blocks_for(width, TILE), blocks_for(height, TILE), 1),
            block_dim: (TILE, TILE, 1),
            shared_mem_bytes: 0,
        };
        ctx.launch(
            &kernel,
            cfg,
            args![&drgb, &gray, width as i32, height as i32],
        )?;
        ctx.expect(&gray, &want)?;
    }
    Ok(())
}
