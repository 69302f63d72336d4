//! histogram (module 05): 256 bins of u32 counts, exact, on uniform data and on heavily
//! skewed data (most elements in one bin, where atomics contend). The launch uses a fixed
//! grid, so the kernel must stride over the data. Timed on skewed data against the harness's
//! own histogram with one global atomic per element: privatization's gain is the ratio.

use cudarc::driver::LaunchConfig;

use crate::args;
use crate::grade::{CheckCtx, Launch, Work};
use crate::toolchain::BackendKind;

const BINS: usize = 256;
const BLOCK: u32 = 256;
/// The fixed grid; the CPU backend interprets every thread and gets fewer.
const GRID_GPU: u32 = 1024;
const GRID_CPU: u32 = 16;
/// Skewed data: this share of the elements falls in one bin.
const SKEW: f64 = 0.9;

/// The baseline: correct, and every element is an atomic on global memory.
const NAIVE: &str = r#"
extern "C" __global__ void histogram_global(const unsigned int* data, unsigned int* bins, int n)
{
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
        atomicAdd(&bins[data[i]], 1u);
}
"#;

pub fn check(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let kernel = ctx.kernel("histogram")?;
    let grid = match ctx.backend() {
        BackendKind::Gpu => GRID_GPU,
        BackendKind::Cpu => GRID_CPU,
    };
    let cfg = LaunchConfig {
        grid_dim: (grid, 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: 0,
    };
    let timed = ctx.speed_size();
    let mut cases: Vec<(usize, Data)> = ctx
        .sizes()
        .into_iter()
        .flat_map(|s| [(s[0], Data::Uniform), (s[0], Data::Skewed)])
        .collect();
    // Every block sees more than 65536 copies of one value: 16-bit packed counters overflow.
    cases.push((
        grid as usize * (u16::MAX as usize + 1 + 1000),
        Data::OneValue,
    ));
    cases.extend(
        timed
            .as_ref()
            .filter(|t| !ctx.sizes().contains(t))
            .map(|t| (t[0], Data::Skewed)),
    );
    for (n, kind) in cases {
        ctx.case(format!("n = {n}, {} data", kind.name()));
        let data = match kind {
            Data::Uniform => uniform_values(ctx, n),
            Data::Skewed => skewed_values(ctx, n),
            Data::OneValue => vec![ctx.random_i32(1, 0, BINS as i32)[0] as u32; n],
        };
        let mut want = vec![0u32; BINS];
        for &v in &data {
            want[v as usize] += 1;
        }
        let ddata = ctx.input("data", &data)?;
        let bins = ctx.accumulator::<u32>("bins", BINS)?;
        ctx.launch(&kernel, cfg, args![&ddata, &bins, n as i32])?;
        ctx.expect(&bins, &want).map_err(|e| explain(e, n))?;

        if kind == Data::Skewed && timed.as_ref().is_some_and(|t| t[0] == n) {
            ctx.case(format!("timed, n = {n}, {} data", kind.name()));
            let varied = ctx.vary(&data, |v| (v + 1) % BINS as u32);
            ctx.vary_input(&ddata, &varied)?;
            let mut want = vec![0u32; BINS];
            for &v in &varied {
                want[v as usize] += 1;
            }
            let tol = ctx.tolerance();
            ctx.hold_varied_to(&bins, &want, tol);
            let naive = ctx.harness_kernel(NAIVE, "histogram_global")?;
            // The baseline's own copy of the data: the learner's kernel may rewrite its input.
            let naive_data = ctx.input("data", &data)?;
            let naive_bins = ctx.accumulator::<u32>("bins", BINS)?;
            let learner = Launch {
                kernel: &kernel,
                cfg,
                args: args![&ddata, &bins, n as i32],
            };
            let baseline = Launch {
                kernel: &naive,
                cfg,
                args: args![&naive_data, &naive_bins, n as i32],
            };
            ctx.measure_speed(learner, Work::Bytes(4 * n as u64), Some(baseline))?;
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Data {
    Uniform,
    Skewed,
    OneValue,
}

impl Data {
    fn name(self) -> &'static str {
        match self {
            Data::Uniform => "uniform",
            Data::Skewed => "skewed",
            Data::OneValue => "one-value",
        }
    }
}

/// Values in 0..256 from a random sub-range, so not every bin is hit in every case.
fn uniform_values(ctx: &mut CheckCtx, n: usize) -> Vec<u32> {
    let lo = ctx.random_i32(1, 0, 64)[0];
    let hi = ctx.random_i32(1, 192, BINS as i32 + 1)[0];
    ctx.random_i32(n, lo, hi)
        .into_iter()
        .map(|v| v as u32)
        .collect()
}

/// SKEW of the elements in one random bin, the rest uniform over all bins.
fn skewed_values(ctx: &mut CheckCtx, n: usize) -> Vec<u32> {
    let hot = ctx.random_i32(1, 0, BINS as i32)[0] as u32;
    let other = ctx.random_i32(n, 0, BINS as i32);
    let coin = ctx.random_i32(n, 0, 1 << 20);
    let cut = (SKEW * (1 << 20) as f64) as i32;
    other
        .into_iter()
        .zip(coin)
        .map(|(v, c)| if c < cut { hot } else { v as u32 })
        .collect()
}

/// Counts that sum to more or fewer than n say more than the table does.
fn explain(e: anyhow::Error, n: usize) -> anyhow::Error {
    match e.downcast::<crate::grade::Failure>() {
        Ok(mut f) => {
            f.details += &format!(
                "The bins must add up to n = {n}: fewer means lost counts (a plain ++ instead of \
                 an atomic, or a flush that overwrites), more means counted twice or counters \
                 that did not start at 0.\n"
            );
            f.into()
        }
        Err(e) => e,
    }
}
