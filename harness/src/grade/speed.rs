//! Timing on a real GPU, as GRADING.md says: CUDA events; one untimed call and a warm-up;
//! L2 flushed right before every sample; the learner's kernel and the baseline interleaved;
//! samples until the median is stable; the verdict is a ratio against the baseline measured
//! in this same run, never an absolute time.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use cudarc::cublas::{sys::cublasOperation_t, CudaBlas, Gemm, GemmConfig};
use cudarc::driver::{result, sys::CUevent_flags, CudaEvent, DevicePtr, DriverError};

use std::sync::Arc;

use cudarc::driver::CudaStream;

use super::check::{CheckCtx, Launch};
use super::compare::Failure;
use super::cuda_error::kernel_failure;
use super::inputs;
use super::timed::Accountant;
use crate::curriculum::{Baseline, SpeedBar};
use crate::outcome::{SpeedResult, Timing};

/// What one launch of the timed kernel does, for throughput figures and the roofline floor.
#[derive(Debug, Clone, Copy)]
pub enum Work {
    /// Bytes read plus bytes written: compared with device-to-device copy bandwidth.
    Bytes(u64),
    /// A row-major `m x k` by `k x n` f32 product: 2mnk flops, compared with cuBLAS SGEMM.
    Gemm { m: usize, n: usize, k: usize },
    /// Floating-point work that is not one GEMM (attention): compared with cuBLAS SGEMM, or
    /// with cuBLAS HGEMM (tensor cores) when `half`.
    Flops { flops: u64, half: bool },
}

impl Work {
    fn flops(self) -> Option<f64> {
        match self {
            Work::Bytes(_) => None,
            Work::Gemm { m, n, k } => Some(2.0 * (m * n * k) as f64),
            Work::Flops { flops, .. } => Some(flops as f64),
        }
    }
}

/// Larger than twice the L2 of any current GPU (Hopper: 50-60 MB).
const FLUSH_BYTES: usize = 256 << 20;
pub(super) const MIN_SAMPLES: usize = 10;
/// A kernel so slow that ten samples overrun the budget stops after this many.
const MIN_SAMPLES_SLOW: usize = 3;
const MAX_SAMPLES: usize = 150;
const TARGET_REL_STDERR: f64 = 0.005;
const SAMPLING_BUDGET: Duration = Duration::from_secs(2);
const WARMUP_MIN_CALLS: usize = 10;
const WARMUP_MIN_TIME: Duration = Duration::from_millis(100);
/// A slow kernel's warm-up ends here even before ten calls, so the watchdog is not reached.
const WARMUP_MAX_TIME: Duration = Duration::from_secs(1);
/// A memory-bound kernel may beat memcpy a little (reads are cheaper than writes), not by 25%.
const MAX_RATIO_OVER_COPY: f64 = 1.25;
/// fp32 GEMM at twice cuBLAS's speed is not a real result.
const MAX_RATIO_OVER_CUBLAS: f64 = 2.0;

/// One timed launch, queued on the check's stream. Errors of the learner's launch are
/// already a `Failure`.
pub type Timed<'a> = Box<dyn FnMut() -> anyhow::Result<()> + 'a>;

/// Times `learner` against the baseline (`custom` when the check built one, else the bar's)
/// and the device limit. Returns the result and how many learner launches `accountant`
/// checked (all of them; how many in full).
pub(super) fn measure<'a>(
    ctx: &'a CheckCtx,
    bar: &SpeedBar,
    learner: &'a [Launch],
    work: Work,
    naive: Option<Launch<'a>>,
    custom: Option<Timed<'a>>,
    mut accountant: Accountant<'a>,
) -> anyhow::Result<(SpeedResult, (usize, usize))> {
    let stream = &ctx.stream;
    let limit_kind = match work {
        Work::Bytes(_) => Baseline::Copy,
        Work::Gemm { .. } | Work::Flops { .. } => Baseline::Cublas,
    };
    let kernel_name = learner
        .first()
        .context("nothing to time")?
        .kernel
        .name
        .clone();
    let mut timed: Vec<Timed> = vec![Box::new(move || {
        for l in learner {
            ctx.launch_async(l.kernel, l.cfg, l.args)
                .map_err(|e| kernel_failure(&l.kernel.name, e))?;
        }
        Ok(())
    })];
    let custom_baseline = custom.is_some();
    match custom {
        Some(b) => timed.push(b),
        None => timed.push(baseline(ctx, bar.baseline, work, naive)?),
    }
    if custom_baseline || bar.baseline != limit_kind {
        timed.push(baseline(ctx, limit_kind, work, None)?);
    }

    let mut flush = stream
        .alloc_zeros::<u8>(FLUSH_BYTES)
        .context("allocating the L2 flush buffer")?;
    let samples = sample(ctx, &mut timed, &mut flush, &kernel_name, &mut accountant)?;
    let learner_t = timing(&samples[0]);
    let base_t = timing(&samples[1]);
    let limit_t = timing(samples.last().expect("at least two timed launches"));

    let ratio = base_t.median_us / learner_t.median_us;
    let over_limit = limit_t.median_us / learner_t.median_us;
    let achieved = throughput(work, learner_t.median_us);
    match work {
        Work::Bytes(_) if over_limit > MAX_RATIO_OVER_COPY => bail!(Failure::new(
            format!("your kernel finished faster than the GPU can move its data ({achieved}, {:.0}% of the measured copy bandwidth)", over_limit * 100.0),
            "A result above the memory roofline means the kernel skipped work (or the inputs \
             were cached): kernlings does not accept it as a speed.\n"
        )),
        Work::Gemm { .. } | Work::Flops { .. } if over_limit > MAX_RATIO_OVER_CUBLAS => {
            bail!(Failure::new(
                format!("your kernel finished faster than the math allows ({achieved}, {over_limit:.1}x cuBLAS)"),
                "A time this short means the kernel skipped work.\n"
            ))
        }
        _ => {}
    }
    let checked = (accountant.runs, accountant.full_checks);
    Ok((
        SpeedResult {
            baseline: baseline_name(bar.baseline).to_string(),
            ratio,
            bar: bar.bar,
            passed: ratio >= bar.bar,
            learner: learner_t,
            baseline_timing: base_t,
            achieved,
            percent_of_limit: over_limit * 100.0,
        },
        checked,
    ))
}

fn baseline_name(b: Baseline) -> &'static str {
    match b {
        Baseline::Copy => "copy",
        Baseline::Cublas => "cublas",
        Baseline::Naive => "naive",
        Baseline::CpuNaive => "cpu-naive",
    }
}

/// A launch of the baseline, on buffers of its own.
fn baseline<'a>(
    ctx: &'a CheckCtx,
    kind: Baseline,
    work: Work,
    naive: Option<Launch<'a>>,
) -> anyhow::Result<Timed<'a>> {
    let stream = ctx.stream.clone();
    Ok(match (kind, work) {
        (Baseline::Copy, _) => {
            let bytes = match work {
                Work::Bytes(b) => b as usize,
                Work::Gemm { m, n, k } => 4 * (m * k + k * n + m * n),
                Work::Flops { .. } => bail!("a copy baseline needs Work::Bytes or Work::Gemm"),
            };
            // memcpy reads and writes each byte once: half the traffic each way.
            let half = (bytes / 2).max(4);
            let src = stream.alloc_zeros::<u8>(half)?;
            let dst = stream.alloc_zeros::<u8>(half)?;
            let (s, d) = (src.device_ptr(&stream).0, dst.device_ptr(&stream).0);
            Box::new(move || {
                let _keep = (&src, &dst);
                Ok(unsafe { result::memcpy_dtod_async(d, s, half, stream.cu_stream()) }?)
            })
        }
        (Baseline::Cublas, Work::Gemm { m, n, k }) => sgemm(&stream, m, n, k)?,
        (Baseline::Cublas, Work::Flops { flops, half }) => {
            // A square GEMM of about the same work: the rate the math units reach here.
            let side = ((flops as f64 / 2.0).cbrt() / 256.0)
                .round()
                .clamp(1.0, 32.0) as usize
                * 256;
            if half {
                hgemm(&stream, side)?
            } else {
                sgemm(&stream, side, side, side)?
            }
        }
        (Baseline::Cublas, Work::Bytes(_)) => {
            bail!("a cublas baseline needs Work::Gemm dimensions")
        }
        (Baseline::Naive, _) => {
            let l = naive.context("a naive baseline needs the harness's naive launch")?;
            Box::new(move || Ok(ctx.launch_async(l.kernel, l.cfg, l.args)?))
        }
        (Baseline::CpuNaive, _) => bail!("cpu-naive is a baseline for Rust exercises"),
    })
}

/// cuBLAS SGEMM of a row-major `m x k` by `k x n` product, on inputs of its own.
fn sgemm<'a>(stream: &Arc<CudaStream>, m: usize, n: usize, k: usize) -> anyhow::Result<Timed<'a>> {
    let blas = CudaBlas::new(stream.clone()).context("starting cuBLAS")?;
    let mut rng = inputs::rng(0);
    let a = stream.clone_htod(&inputs::f32s(&mut rng, m * k))?;
    let b = stream.clone_htod(&inputs::f32s(&mut rng, k * n))?;
    let mut c = stream.alloc_zeros::<f32>(m * n)?;
    // Row-major C = A B is column-major C^T = B^T A^T: swap the operands.
    let cfg = GemmConfig {
        transa: cublasOperation_t::CUBLAS_OP_N,
        transb: cublasOperation_t::CUBLAS_OP_N,
        m: n as i32,
        n: m as i32,
        k: k as i32,
        alpha: 1.0f32,
        lda: n as i32,
        ldb: k as i32,
        beta: 0.0,
        ldc: n as i32,
    };
    Ok(Box::new(move || {
        Ok(unsafe { blas.gemm(cfg, &b, &a, &mut c) }?)
    }))
}

/// cuBLAS HGEMM (fp16 in, fp16 out, tensor cores) of a square `side` product.
fn hgemm<'a>(stream: &Arc<CudaStream>, side: usize) -> anyhow::Result<Timed<'a>> {
    let blas = CudaBlas::new(stream.clone()).context("starting cuBLAS")?;
    let mut rng = inputs::rng(1);
    let mut half = |n: usize| -> anyhow::Result<_> {
        let v: Vec<half::f16> = inputs::f32s(&mut rng, n)
            .into_iter()
            .map(half::f16::from_f32)
            .collect();
        Ok(stream.clone_htod(&v)?)
    };
    let (a, b) = (half(side * side)?, half(side * side)?);
    let mut c = stream.alloc_zeros::<half::f16>(side * side)?;
    let s = side as i32;
    let cfg = GemmConfig {
        transa: cublasOperation_t::CUBLAS_OP_N,
        transb: cublasOperation_t::CUBLAS_OP_N,
        m: s,
        n: s,
        k: s,
        alpha: half::f16::ONE,
        lda: s,
        ldb: s,
        beta: half::f16::ZERO,
        ldc: s,
    };
    Ok(Box::new(move || {
        Ok(unsafe { blas.gemm(cfg, &a, &b, &mut c) }?)
    }))
}

/// Interleaved samples, in microseconds, one vector per timed launch. A CUDA error seen
/// while waiting is blamed on the learner's kernel: the harness's own launches are known good.
/// `timed[0]` is the learner's: `accountant` resets its outputs before each of its launches
/// and checks them after.
fn sample(
    ctx: &CheckCtx,
    timed: &mut [Timed],
    flush: &mut cudarc::driver::CudaSlice<u8>,
    kernel: &str,
    accountant: &mut Accountant,
) -> anyhow::Result<Vec<Vec<f64>>> {
    let stream = &ctx.stream;
    let blame = |e: DriverError| anyhow::Error::from(kernel_failure(kernel, e));
    // The untimed first call: module load, lazy allocation, first-touch costs.
    accountant.before(None)?;
    for f in timed.iter_mut() {
        f()?;
    }
    stream.synchronize().map_err(blame)?;
    accountant.after(None, false)?;
    let start = Instant::now();
    let mut calls = 0;
    while start.elapsed() < WARMUP_MIN_TIME
        || (calls < WARMUP_MIN_CALLS && start.elapsed() < WARMUP_MAX_TIME)
    {
        accountant.before(None)?;
        for f in timed.iter_mut() {
            f()?;
        }
        stream.synchronize().map_err(blame)?;
        accountant.after(None, false)?;
        calls += 1;
    }

    let event = || ctx.cuda.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT));
    let events: Vec<(CudaEvent, CudaEvent)> = (0..timed.len())
        .map(|_| Ok((event()?, event()?)))
        .collect::<Result<_, DriverError>>()?;
    let mut samples = vec![Vec::new(); timed.len()];
    let start = Instant::now();
    loop {
        for (i, (f, (begin, end))) in timed.iter_mut().zip(&events).enumerate() {
            if i == 0 {
                accountant.before(Some(samples[0].len()))?;
            }
            // Queued right before the start event: the flush is outside the measured span.
            stream.memset_zeros(flush)?;
            begin.record(stream)?;
            f()?;
            end.record(stream)?;
        }
        for (s, (begin, end)) in samples.iter_mut().zip(&events) {
            s.push(begin.elapsed_ms(end).map_err(blame)? as f64 * 1000.0);
        }
        let n = samples[0].len();
        let stable = samples.iter().all(|s| rel_stderr(s) <= TARGET_REL_STDERR);
        let over_budget = start.elapsed() > SAMPLING_BUDGET;
        let done = (n >= MIN_SAMPLES && (stable || n >= MAX_SAMPLES || over_budget))
            || (n >= MIN_SAMPLES_SLOW && over_budget);
        accountant.after(Some(n - 1), done)?;
        if done {
            return Ok(samples);
        }
    }
}

/// Standard error of the mean, relative to the mean.
pub fn rel_stderr(xs: &[f64]) -> f64 {
    let n = xs.len() as f64;
    if xs.len() < 2 {
        return f64::INFINITY;
    }
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    var.sqrt() / n.sqrt() / mean
}

/// Median with the 10th and 90th percentiles (nearest rank).
pub fn timing(xs: &[f64]) -> Timing {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    let at = |q: f64| s[((q * (s.len() - 1) as f64).round() as usize).min(s.len() - 1)];
    let median = if s.len().is_multiple_of(2) {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
    } else {
        s[s.len() / 2]
    };
    Timing {
        median_us: median,
        p10_us: at(0.1),
        p90_us: at(0.9),
        samples: s.len(),
    }
}

/// "3.61 TB/s", "812.4 GB/s", "41.2 TFLOP/s".
pub fn throughput(work: Work, micros: f64) -> String {
    let per_s = |x: f64| x / (micros * 1e-6);
    match work {
        Work::Bytes(b) => scaled(per_s(b as f64), "B/s"),
        Work::Gemm { .. } | Work::Flops { .. } => {
            scaled(per_s(work.flops().unwrap_or(0.0)), "FLOP/s")
        }
    }
}

fn scaled(x: f64, unit: &str) -> String {
    let (v, p) = [(1e12, "T"), (1e9, "G"), (1e6, "M")]
        .into_iter()
        .find(|(s, _)| x >= *s)
        .map_or((x, ""), |(s, p)| (x / s, p));
    format!("{v:.2} {p}{unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_percentiles() {
        let t = timing(&[5.0, 1.0, 3.0, 2.0, 4.0, 100.0, 6.0, 7.0, 8.0, 9.0, 10.0]);
        assert_eq!(t.median_us, 6.0);
        assert_eq!(t.p10_us, 2.0);
        assert_eq!(t.p90_us, 10.0);
        assert_eq!(t.samples, 11);
        assert_eq!(timing(&[1.0, 2.0]).median_us, 1.5);
    }

    #[test]
    fn stderr_shrinks_with_agreement() {
        assert!(rel_stderr(&[10.0; 12]) == 0.0);
        assert!(rel_stderr(&[10.0, 12.0, 8.0, 11.0]) > TARGET_REL_STDERR);
        assert!(rel_stderr(&[1.0]).is_infinite());
    }

    #[test]
    fn throughput_units() {
        assert_eq!(throughput(Work::Bytes(4_000_000_000), 1000.0), "4.00 TB/s");
        assert_eq!(throughput(Work::Bytes(812_400), 1000.0), "812.40 MB/s");
        assert_eq!(
            throughput(
                Work::Gemm {
                    m: 1000,
                    n: 1000,
                    k: 1000
                },
                100.0
            ),
            "20.00 TFLOP/s"
        );
    }
}
