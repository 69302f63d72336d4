//! attention (module 07): O = softmax(Q Kᵀ / sqrt(D)) V, Q, K, V, O [B, H, S, D] f32 row-major,
//! D = 64, and for the flash rungs the per-row logsumexp L [B, H, S]. `size = [B, H, S]`.
//!
//! Correctness as FlashAttention's own tests judge it: the learner's error against an f64
//! reference must be at most twice the error of a plain attention in the same precision
//! computed here on the CPU (scores, max, exp, sum, divide, PV: the unfused order) plus a
//! floor, and the output must correlate with the reference (>= 0.9999). The floor, `FLOOR`
//! times the largest |V| (for O) or the largest |score| (for L), is a few ulps of the values
//! summed: an f32 answer rounded to f16 (2^-11 relative) is 50x over it.
//!
//! The shared parts (inputs, the references, the judgement, the harness's own kernels and the
//! unfused baseline) are `pub(super)`: the tensor-core rungs (attention_tc.rs) reuse them.

use cudarc::cublas::{sys::cublasOperation_t, CudaBlas, Gemm, GemmConfig, StridedBatchedConfig};
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

use crate::args;
use crate::curriculum::Tolerance;
use crate::grade::{CheckCtx, DevBuf, Element, Failure, Launch, Work};
use crate::toolchain::BackendKind;

/// The head dimension of every case: the flash stubs fix it at compile time.
pub(super) const HEAD_DIM: usize = 64;
/// The floor of the tolerance, relative to the magnitude of what is summed (see the top).
pub(super) const FLOOR: f64 = 1e-6;
/// Pearson correlation with the f64 reference a correct f32 kernel reaches with room to spare.
/// In fp16 and bf16 the plain attention's own correlation sets the bar where it is lower: the
/// output rounding is then no longer small next to the spread of O around V's mean.
pub(super) const MIN_CORRELATION: f64 = 0.9999;
/// Logits scaled up in one case: Q and K times 8, scores times 64, so exp without the
/// row's maximum overflows f32 (exp(88.7) is the largest) and a missing max shows.
pub(super) const LARGE_LOGIT_GAIN: f32 = 8.0;
/// The flash rungs' device heap, far below one head's S x S scores at the checked sizes:
/// `malloc` cannot conjure the scores buffer the lesson does without.
const HEAP_CAP_BYTES: usize = 4096;
/// At the timed size the f64 reference of every row is too slow: these many rows per head
/// (the first, the last, random ones) are judged; every element must still be written.
const TIMED_ROWS_PER_HEAD: usize = 4;

/// The precision of Q, K, V and O: f32 for the first rungs, f16 or bf16 on tensor cores.
pub(super) trait Precision: Element {
    /// For messages: "a plain f32 attention".
    const NAME: &'static str;
    fn from_f64(x: f64) -> Self;
    /// `x` rounded to this precision, back in f32 (exact: f32 holds every f16 and bf16).
    fn round(x: f32) -> f32;
    /// Half an ulp of 1: the relative error of storing a value in this precision.
    const UNIT_ROUNDOFF: f64;
}

impl Precision for f32 {
    const NAME: &'static str = "f32";
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn round(x: f32) -> f32 {
        x
    }
    const UNIT_ROUNDOFF: f64 = f32::EPSILON as f64 / 2.0;
}

impl Precision for half::f16 {
    const NAME: &'static str = "fp16";
    fn from_f64(x: f64) -> Self {
        half::f16::from_f64(x)
    }
    fn round(x: f32) -> f32 {
        half::f16::from_f32(x).to_f32()
    }
    const UNIT_ROUNDOFF: f64 = half::f16::EPSILON.to_f64_const() / 2.0;
}

impl Precision for half::bf16 {
    const NAME: &'static str = "bf16";
    fn from_f64(x: f64) -> Self {
        half::bf16::from_f64(x)
    }
    fn round(x: f32) -> f32 {
        half::bf16::from_f32(x).to_f32()
    }
    const UNIT_ROUNDOFF: f64 = half::bf16::EPSILON.to_f64_const() / 2.0;
}

/// One problem: `bh = B * H` heads of `n` rows of `d` columns each.
#[derive(Clone, Copy, Debug)]
pub(super) struct Shape {
    pub b: usize,
    pub h: usize,
    pub n: usize,
    pub d: usize,
    pub causal: bool,
}

impl Shape {
    pub(super) fn heads(&self) -> usize {
        self.b * self.h
    }
    pub(super) fn elems(&self) -> usize {
        self.heads() * self.n * self.d
    }
    /// 4 B H S² D multiply-adds counted as flops (QKᵀ and PV); half of them when causal.
    /// `half`: compared with the tensor cores' HGEMM rate rather than SGEMM's.
    pub(super) fn work(&self, half: bool) -> Work {
        let full = 4 * (self.heads() * self.n * self.n * self.d) as u64;
        Work::Flops {
            flops: if self.causal { full / 2 } else { full },
            half,
        }
    }
    pub(super) fn label(&self, large: bool) -> String {
        let tail = if large { ", logits x64" } else { "" };
        let d = if self.d == HEAD_DIM {
            String::new()
        } else {
            format!(" D={}", self.d)
        };
        format!("B={} H={} S={}{d}{tail}", self.b, self.h, self.n)
    }
}

/// Q, K, V of one case on the host.
pub(super) struct Inputs {
    pub q: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
}

/// Q and K near unit variance (scores of order 1, as in a trained model), each with its own
/// small offset and gain; V with the harness's usual random offset and scale. `large` scales
/// Q and K by `LARGE_LOGIT_GAIN`.
pub(super) fn draw_inputs(ctx: &mut CheckCtx, shape: Shape, large: bool) -> Inputs {
    let len = shape.elems();
    let unit = |ctx: &mut CheckCtx| {
        let raw = ctx.random_f32(len);
        let mean = raw.iter().map(|&x| x as f64).sum::<f64>() / len as f64;
        let var = raw.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / len as f64;
        let knobs = ctx.random_i32(2, 0, 1 << 20);
        let gain = 0.75 + 0.5 * knobs[0] as f64 / (1 << 20) as f64;
        let offset = -0.5 + knobs[1] as f64 / (1 << 20) as f64;
        let big = if large { LARGE_LOGIT_GAIN as f64 } else { 1.0 };
        raw.into_iter()
            .map(|x| (big * ((x as f64 - mean) / var.sqrt().max(1e-12) * gain + offset)) as f32)
            .collect::<Vec<f32>>()
    };
    let q = unit(ctx);
    let k = unit(ctx);
    let v = ctx.random_f32(len);
    Inputs { q, k, v }
}

/// Row `i` of head `head`, in f64: the output row and the logsumexp of the scaled scores.
pub(super) fn reference_row(x: &Inputs, shape: Shape, head: usize, i: usize) -> (Vec<f64>, f64) {
    let (n, d) = (shape.n, shape.d);
    let base = head * n * d;
    let keys = if shape.causal { i + 1 } else { n };
    let scale = 1.0 / (d as f64).sqrt();
    let q = &x.q[base + i * d..base + (i + 1) * d];
    let scores: Vec<f64> = (0..keys)
        .map(|j| {
            let k = &x.k[base + j * d..base + (j + 1) * d];
            q.iter()
                .zip(k)
                .map(|(&a, &b)| a as f64 * b as f64)
                .sum::<f64>()
                * scale
        })
        .collect();
    let m = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let p: Vec<f64> = scores.iter().map(|s| (s - m).exp()).collect();
    let l: f64 = p.iter().sum();
    let mut o = vec![0.0f64; d];
    for (j, pj) in p.iter().enumerate() {
        let v = &x.v[base + j * d..base + (j + 1) * d];
        for (oc, &vc) in o.iter_mut().zip(v) {
            *oc += pj * vc as f64;
        }
    }
    o.iter_mut().for_each(|oc| *oc /= l);
    (o, m + l.ln())
}

/// The same row as a plain attention in precision `T` computes it, the unfused way (as
/// PyTorch does without a fused kernel): f32 dot products, the scaled score stored as `T`, the
/// row's max, exp, the sum, a divide per probability stored as `T`, then PV summed in f32 in key
/// order and the output stored as `T`. For f32 every store is exact.
pub(super) fn naive_row<T: Precision>(
    x: &Inputs,
    shape: Shape,
    head: usize,
    i: usize,
) -> (Vec<f32>, f32) {
    let (n, d) = (shape.n, shape.d);
    let base = head * n * d;
    let keys = if shape.causal { i + 1 } else { n };
    let scale = 1.0 / (d as f32).sqrt();
    let q = &x.q[base + i * d..base + (i + 1) * d];
    let scores: Vec<f32> = (0..keys)
        .map(|j| {
            let k = &x.k[base + j * d..base + (j + 1) * d];
            T::round(q.iter().zip(k).fold(0.0f32, |acc, (&a, &b)| acc + a * b) * scale)
        })
        .collect();
    let m = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = scores.iter().map(|s| (s - m).exp()).collect();
    let l: f32 = e.iter().sum();
    let mut o = vec![0.0f32; d];
    for (j, ej) in e.iter().enumerate() {
        let p = T::round(ej / l);
        let v = &x.v[base + j * d..base + (j + 1) * d];
        for (oc, &vc) in o.iter_mut().zip(v) {
            *oc += p * vc;
        }
    }
    o.iter_mut().for_each(|oc| *oc = T::round(*oc));
    (o, m + l.ln())
}

/// A baseline where speed is measured; where it is not (the CPU backend, which has no cuBLAS)
/// the timed case only repeats the learner's launch, and a stand-in that does nothing is enough.
pub(super) fn on_gpu(
    ctx: &CheckCtx,
    build: impl FnOnce(&CheckCtx) -> anyhow::Result<crate::grade::speed::Timed<'static>>,
) -> anyhow::Result<crate::grade::speed::Timed<'static>> {
    match ctx.backend() {
        BackendKind::Gpu => build(ctx),
        BackendKind::Cpu => Ok(Box::new(|| Ok(()))),
    }
}

/// Which rows are judged: all of them, or a sample per head at the timed size.
pub(super) fn judged_rows(ctx: &mut CheckCtx, shape: Shape, all: bool) -> Vec<(usize, usize)> {
    let n = shape.n;
    (0..shape.heads())
        .flat_map(|head| {
            let rows: Vec<usize> = if all || n <= TIMED_ROWS_PER_HEAD {
                (0..n).collect()
            } else {
                let mut r = vec![0, n - 1];
                let random = ctx.random_i32(TIMED_ROWS_PER_HEAD - 2, 0, n as i32);
                r.extend(random.into_iter().map(|i| i as usize));
                r
            };
            rows.into_iter().map(move |i| (head, i))
        })
        .collect()
}

/// What a case's outputs were held to: the varied timed inputs start from it.
pub(super) struct Held<T> {
    o: Vec<T>,
    tol_o: Tolerance,
    l: Vec<f32>,
    tol_l: Tolerance,
}

/// The rows' references and the error of a plain attention in precision `T` on them.
struct Judged {
    o: Vec<(usize, Vec<f64>)>,
    l: Vec<(usize, f64)>,
    err_o: f64,
    err_l: f64,
    /// The plain attention's output on the same rows, for its correlation.
    naive_o: Vec<Vec<f32>>,
}

fn judge<T: Precision>(x: &Inputs, shape: Shape, rows: &[(usize, usize)]) -> Judged {
    let mut j = Judged {
        o: Vec::new(),
        l: Vec::new(),
        err_o: 0.0,
        err_l: 0.0,
        naive_o: Vec::new(),
    };
    for &(head, i) in rows {
        let (o64, l64) = reference_row(x, shape, head, i);
        let (on, ln) = naive_row::<T>(x, shape, head, i);
        for (a, b) in o64.iter().zip(&on) {
            j.err_o = j.err_o.max((a - *b as f64).abs());
        }
        j.err_l = j.err_l.max((l64 - ln as f64).abs());
        j.o.push(((head * shape.n + i) * shape.d, o64));
        j.l.push((head * shape.n + i, l64));
        j.naive_o.push(on);
    }
    j
}

/// The tolerances of O and L from the plain attention's error on the judged rows.
fn tolerances<T: Precision>(x: &Inputs, j: &Judged) -> (Tolerance, Tolerance) {
    let max_v = x.v.iter().fold(0.0f64, |m, &v| m.max(v.abs() as f64));
    // A score of magnitude s is itself rounded to about eps32 * s, and its exp inherits that
    // as a relative error: with logits of a few hundred, two correct f32 kernels that sum the
    // dot products in different orders differ by more than twice the harness's own error.
    let max_logit = j.l.iter().fold(1.0f64, |m, (_, v)| m.max(v.abs()));
    let rounding = 4.0 * f32::EPSILON as f64 * max_logit;
    // The reference is stored in `T` to be compared: half an ulp of the largest output.
    let stored = T::UNIT_ROUNDOFF;
    let tol_o = Tolerance {
        rtol: 0.0,
        atol: 2.0 * j.err_o + (FLOOR + rounding + stored) * max_v,
    };
    let tol_l = Tolerance {
        rtol: 0.0,
        atol: 2.0 * j.err_l + FLOOR * max_logit,
    };
    (tol_o, tol_l)
}

/// Judge O (and L, when given) of the launch that just ran on the rows `rows`; elsewhere the
/// reference is what the kernel wrote (so only poison fails there). Records the references
/// for the timed runs through `expect_within`, and returns them.
pub(super) fn expect_attention<T: Precision>(
    ctx: &mut CheckCtx,
    x: &Inputs,
    shape: Shape,
    rows: &[(usize, usize)],
    o: &DevBuf<T>,
    l: Option<&DevBuf<f32>>,
) -> anyhow::Result<Held<T>> {
    let unwritten_as_zero = |g: f64| if g.is_nan() { 0.0 } else { g };
    let mut want_o: Vec<T> = ctx
        .read(o)?
        .into_iter()
        .map(|g| T::from_f64(unwritten_as_zero(g.to_f64())))
        .collect();
    let mut want_l = vec![0.0f32; shape.heads() * shape.n];
    if let Some(l) = l {
        for (w, g) in want_l.iter_mut().zip(ctx.read(l)?) {
            *w = unwritten_as_zero(g as f64) as f32;
        }
    }
    let j = judge::<T>(x, shape, rows);
    for (at, row) in &j.o {
        for (c, v) in row.iter().enumerate() {
            want_o[at + c] = T::from_f64(*v);
        }
    }
    for &(at, v) in &j.l {
        want_l[at] = v as f32;
    }
    let (tol_o, tol_l) = tolerances::<T>(x, &j);
    ctx.expect_within(o, &want_o, tol_o)
        .map_err(|e| explain::<T>(e, "O", j.err_o, tol_o.atol))?;
    let got_o = ctx.read(o)?;
    let pairs = j.o.iter().flat_map(|(at, row)| {
        let got = &got_o[*at..*at + row.len()];
        row.iter().copied().zip(got.iter().map(|g| g.to_f64()))
    });
    let naive =
        j.o.iter()
            .zip(&j.naive_o)
            .flat_map(|((_, row), on)| row.iter().copied().zip(on.iter().map(|&v| v as f64)));
    let min_o = correlation(naive).map_or(MIN_CORRELATION, |r| {
        MIN_CORRELATION.min(1.0 - 2.0 * (1.0 - r))
    });
    correlated("O", pairs, min_o)?;

    if let Some(l) = l {
        ctx.expect_within(l, &want_l, tol_l)
            .map_err(|e| explain::<f32>(e, "L", j.err_l, tol_l.atol))?;
        let got_l = ctx.read(l)?;
        let pairs = j.l.iter().map(|&(at, r)| (r, got_l[at] as f64));
        correlated("L", pairs, MIN_CORRELATION)?;
    }
    Ok(Held {
        o: want_o,
        tol_o,
        l: want_l,
        tol_l,
    })
}

/// A second version of Q for the timed launches (see `CheckCtx::vary_input`): three elements
/// changed, and the rows they belong to judged again against the f64 reference, so a kernel
/// that replays a remembered output fails. The other rows must hold what the checked run held.
pub(super) fn vary_queries<T: Precision>(
    ctx: &mut CheckCtx,
    x: &Inputs,
    shape: Shape,
    (dq, o, l): (&DevBuf<T>, &DevBuf<T>, Option<&DevBuf<f32>>),
    held: Held<T>,
) -> anyhow::Result<()> {
    let q = ctx.vary(&x.q, |v| T::round(v + 1.0));
    let changed: Vec<(usize, usize)> = (0..q.len())
        .filter(|&e| q[e] != x.q[e])
        .map(|e| (e / shape.d / shape.n, e / shape.d % shape.n))
        .collect();
    let varied = Inputs {
        q,
        k: x.k.clone(),
        v: x.v.clone(),
    };
    let device: Vec<T> = varied.q.iter().map(|&v| T::from_f64(v as f64)).collect();
    ctx.vary_input(dq, &device)?;
    let j = judge::<T>(&varied, shape, &changed);
    let (tol_o, tol_l) = tolerances::<T>(&varied, &j);
    let (mut want_o, mut want_l) = (held.o, held.l);
    for (at, row) in &j.o {
        for (c, v) in row.iter().enumerate() {
            want_o[at + c] = T::from_f64(*v);
        }
    }
    for &(at, v) in &j.l {
        want_l[at] = v as f32;
    }
    let wider = |a: Tolerance, b: Tolerance| Tolerance {
        rtol: 0.0,
        atol: a.atol.max(b.atol),
    };
    ctx.hold_varied_to(o, &want_o, wider(held.tol_o, tol_o));
    if let Some(l) = l {
        ctx.hold_varied_to(l, &want_l, wider(held.tol_l, tol_l));
    }
    Ok(())
}

/// A failure's details say how far a plain f32 attention is from the reference.
fn explain<T: Precision>(e: anyhow::Error, what: &str, naive: f64, atol: f64) -> anyhow::Error {
    match e.downcast::<Failure>() {
        Ok(mut f) => {
            f.details += &format!(
                "The bar: a plain {} attention is off the f64 reference by at most {naive:.3e} \
                 in {what} here; yours may be off by {atol:.3e} (twice that, plus a floor of \
                 a few ulps).\n",
                T::NAME
            );
            f.into()
        }
        Err(e) => e,
    }
}

/// Pearson correlation of (reference, got) pairs; `None` where the reference is constant (one
/// key per row, equal values): there is nothing to correlate with.
fn correlation(pairs: impl Iterator<Item = (f64, f64)>) -> Option<f64> {
    let (mut n, mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (x, y) in pairs {
        n += 1.0;
        sx += x;
        sy += y;
        sxx += x * x;
        syy += y * y;
        sxy += x * y;
    }
    let cov = sxy / n - sx / n * (sy / n);
    let (vx, vy) = (sxx / n - (sx / n).powi(2), syy / n - (sy / n).powi(2));
    if n < 2.0 || vx <= 1e-24 * (sxx / n).max(1e-300) {
        return None;
    }
    Some(cov / (vx * vy).sqrt())
}

/// Fails when the pairs correlate less than `min`.
fn correlated(what: &str, pairs: impl Iterator<Item = (f64, f64)>, min: f64) -> anyhow::Result<()> {
    match correlation(pairs) {
        Some(r) if r.is_nan() || r < min => Err(Failure::new(
            format!(
                "{what} correlates with the reference only {r:.6} (at least {min:.6} is expected)"
            ),
            "Each element is close enough, but taken together they do not follow the reference: \
             look for a systematic error (a scale, a missing normalisation).\n",
        )
        .into()),
        _ => Ok(()),
    }
}

/// Cap the device heap so a kernel cannot `malloc` a scores buffer. The CPU backend accepts
/// the call and has no device `malloc` at all.
pub(super) fn cap_device_heap(ctx: &CheckCtx) -> anyhow::Result<()> {
    use cudarc::driver::sys::CUlimit::CU_LIMIT_MALLOC_HEAP_SIZE;
    ctx.cuda.bind_to_thread()?;
    cudarc::driver::result::ctx::set_limit(CU_LIMIT_MALLOC_HEAP_SIZE, HEAP_CAP_BYTES)?;
    Ok(())
}

/// The cases: every curriculum size, on a GPU a few larger ones, one with large logits, and
/// the timed sizes last (judged on sampled rows). `(shape, large logits, timed)`.
/// Sizes are `[B, H, S]` with D = `dims[0]`, or `[B, H, S, D]` with D one of `dims`; the extra
/// cases use the first and the last of `dims`, and on a GPU each D of `dims` is timed.
pub(super) fn cases(
    ctx: &CheckCtx,
    causal: bool,
    dims: &[usize],
) -> anyhow::Result<Vec<(Shape, bool, bool)>> {
    let shape = |s: &[usize], d: usize| -> anyhow::Result<Shape> {
        let (b, h, n, d) = match s[..] {
            [b, h, n] => (b, h, n, d),
            [b, h, n, d] => (b, h, n, d),
            _ => anyhow::bail!(
                "attention sizes are [B, H, S] or [B, H, S, D]; curriculum.toml gives {s:?}"
            ),
        };
        anyhow::ensure!(dims.contains(&d), "D = {d} is not one of {dims:?}");
        Ok(Shape { b, h, n, d, causal })
    };
    let (first, last) = (dims[0], dims[dims.len() - 1]);
    let mut out = Vec::new();
    for s in ctx.sizes() {
        out.push((shape(&s, first)?, false, false));
    }
    let gpu = ctx.backend() == BackendKind::Gpu;
    let large = if gpu { [2, 2, 1000] } else { [1, 2, 64] };
    out.push((shape(&large, first)?, true, false));
    if gpu {
        out.push((shape(&[1, 3, 1000], last)?, false, false));
        out.push((shape(&[4, 4, 257], first)?, false, false));
    }
    if let Some(t) = ctx.speed_size() {
        let timed = shape(&t, first)?;
        out.push((timed, false, true));
        if gpu {
            for &d in dims.iter().filter(|&&d| d != timed.d) {
                out.push((Shape { d, ..timed }, false, true));
            }
        }
    }
    Ok(out)
}

// ---- rung 1: attention_naive --------------------------------------------------------------

const TILE: u32 = 16;
const SOFTMAX_BLOCK: u32 = 128;

/// The three launches of the naive rung, as its stub states them.
fn naive_configs(shape: Shape) -> [LaunchConfig; 3] {
    let (n, heads) = (shape.n as u32, shape.heads() as u32);
    let rows = heads * n;
    [
        LaunchConfig {
            grid_dim: (n.div_ceil(TILE), n.div_ceil(TILE), heads),
            block_dim: (TILE, TILE, 1),
            shared_mem_bytes: 0,
        },
        LaunchConfig {
            grid_dim: (rows.div_ceil(SOFTMAX_BLOCK), 1, 1),
            block_dim: (SOFTMAX_BLOCK, 1, 1),
            shared_mem_bytes: 0,
        },
        LaunchConfig {
            grid_dim: ((HEAD_DIM as u32).div_ceil(TILE), n.div_ceil(TILE), heads),
            block_dim: (TILE, TILE, 1),
            shared_mem_bytes: 0,
        },
    ]
}

pub fn check_naive(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let scores = ctx.kernel("attention_scores")?;
    let softmax = ctx.kernel("softmax_rows")?;
    let pv = ctx.kernel("attention_pv")?;
    for (shape, large, timed) in cases(ctx, false, &[HEAD_DIM])? {
        ctx.case(shape.label(large));
        let x = draw_inputs(ctx, shape, large);
        let (n, d) = (shape.n, HEAD_DIM);
        let dq = ctx.input("Q", &x.q)?;
        let dk = ctx.input("K", &x.k)?;
        let dv = ctx.input("V", &x.v)?;
        let s = ctx.scratch::<f32>("S", shape.heads() * n * n)?;
        let p = ctx.scratch::<f32>("P", shape.heads() * n * n)?;
        let o = ctx.output::<f32>("O", shape.elems())?;
        let rows = (shape.heads() * n) as i32;
        let cfg = naive_configs(shape);
        let a1 = args![&dq, &dk, &s, n as i32, d as i32];
        let a2 = args![&s, &p, rows, n as i32, n as i32];
        let a3 = args![&p, &dv, &o, n as i32, d as i32];
        ctx.launch(&scores, cfg[0], a1)?;
        ctx.launch(&softmax, cfg[1], a2)?;
        ctx.launch(&pv, cfg[2], a3)?;
        let judged = judged_rows(ctx, shape, !timed);
        let held = expect_attention(ctx, &x, shape, &judged, &o, None)?;
        if timed {
            ctx.case(format!("timed, {}", shape.label(false)));
            vary_queries(ctx, &x, shape, (&dq, &o, None), held)?;
            let learner = [
                Launch {
                    kernel: &scores,
                    cfg: cfg[0],
                    args: a1,
                },
                Launch {
                    kernel: &softmax,
                    cfg: cfg[1],
                    args: a2,
                },
                Launch {
                    kernel: &pv,
                    cfg: cfg[2],
                    args: a3,
                },
            ];
            let baseline = on_gpu(ctx, |ctx| unfused_baseline::<f32>(ctx, shape))?;
            ctx.measure_speed_with(&learner, shape.work(false), baseline)?;
        }
    }
    Ok(())
}

// ---- rungs 2 and 3: flash_attention, flash_attention_causal --------------------------------

const BLOCK_M: u32 = 64;

pub(super) fn flash_config(shape: Shape) -> LaunchConfig {
    LaunchConfig {
        grid_dim: ((shape.n as u32).div_ceil(BLOCK_M), shape.heads() as u32, 1),
        block_dim: (BLOCK_M, 1, 1),
        shared_mem_bytes: 0,
    }
}

pub fn check_flash(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    flash(ctx, "flash_attention", false)
}

pub fn check_flash_causal(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    flash(ctx, "flash_attention_causal", true)
}

fn flash(ctx: &mut CheckCtx, name: &str, causal: bool) -> anyhow::Result<()> {
    let kernel = ctx.kernel(name)?;
    cap_device_heap(ctx)?;
    for (shape, large, timed) in cases(ctx, causal, &[HEAD_DIM])? {
        ctx.case(shape.label(large));
        let x = draw_inputs(ctx, shape, large);
        let dq = ctx.input("Q", &x.q)?;
        let dk = ctx.input("K", &x.k)?;
        let dv = ctx.input("V", &x.v)?;
        let o = ctx.output::<f32>("O", shape.elems())?;
        let l = ctx.output::<f32>("L", shape.heads() * shape.n)?;
        let args = args![&dq, &dk, &dv, &o, &l, shape.n as i32];
        ctx.launch(&kernel, flash_config(shape), args)?;
        let judged = judged_rows(ctx, shape, !timed);
        let held = expect_attention(ctx, &x, shape, &judged, &o, Some(&l))?;
        if timed {
            ctx.case(format!("timed, {}", shape.label(false)));
            vary_queries(ctx, &x, shape, (&dq, &o, Some(&l)), held)?;
            let learner = [Launch {
                kernel: &kernel,
                cfg: flash_config(shape),
                args,
            }];
            let baseline = on_gpu(ctx, |ctx| unfused_baseline::<f32>(ctx, shape))?;
            ctx.measure_speed_with(&learner, shape.work(false), baseline)?;
            if causal {
                ctx.case(format!(
                    "timed against non-causal flash, {}",
                    shape.label(false)
                ));
                let flash = on_gpu(ctx, |ctx| harness_flash(ctx, shape))?;
                ctx.measure_speed_against(&learner, shape.work(false), flash, NON_CAUSAL_FLASH)?;
            }
        }
    }
    Ok(())
}

/// The name of flash_attention_causal's second bar in curriculum.toml (`also`).
const NON_CAUSAL_FLASH: &str = "the harness's non-causal flash kernel";

// ---- the harness's own kernels (GPU baselines) ---------------------------------------------

/// Row softmax of the unfused baseline, one warp per row, in place: max, sum, then write.
/// `causal` zeroes (and skips) the scores after the row's own position. Scores are f32, or
/// fp16 (`HALF` defined, converted by PTX so that no header is needed) with f32 arithmetic.
const HARNESS_SOFTMAX: &str = r#"
#ifdef HALF
typedef unsigned short T;
__device__ float ld(T x) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(x)); return f; }
__device__ T st(float f) { T x; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(x) : "f"(f)); return x; }
#else
typedef float T;
__device__ float ld(T x) { return x; }
__device__ T st(float f) { return f; }
#endif
extern "C" __global__ void harness_softmax(T* s, int rows, int n, int causal)
{
    const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (row >= rows) return;
    T* x = s + (size_t)row * n;
    const int keys = causal ? row % n + 1 : n;
    float m = __int_as_float(0xff800000);
    for (int j = lane; j < keys; j += 32) m = fmaxf(m, ld(x[j]));
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    float l = 0.0f;
    for (int j = lane; j < keys; j += 32) l += __expf(ld(x[j]) - m);
    for (int o = 16; o > 0; o >>= 1) l += __shfl_xor_sync(0xffffffffu, l, o);
    const float inv = 1.0f / l;
    for (int j = lane; j < n; j += 32) x[j] = st(j < keys ? __expf(ld(x[j]) - m) * inv : 0.0f);
}
"#;
const SOFTMAX_ROWS_PER_BLOCK: u32 = 8;

/// A decent FlashAttention-2 f32 kernel, non-causal: one thread per query row, K and V tiles
/// in shared memory read as float4 broadcasts, online softmax in base 2.
const HARNESS_FLASH: &str = r#"
#define HEAD_DIM 64
#define BLOCK_M 64
#define BLOCK_N 32
extern "C" __global__ void harness_flash(const float* Q, const float* K, const float* V,
                                         float* O, float* L, int n)
{
    __shared__ float4 Ks[BLOCK_N][HEAD_DIM / 4];
    __shared__ float4 Vs[BLOCK_N][HEAD_DIM / 4];
    const size_t head = (size_t)blockIdx.y * n * HEAD_DIM;
    const int row = blockIdx.x * BLOCK_M + threadIdx.x;
    const bool live = row < n;
    const float scale = rsqrtf((float)HEAD_DIM) * 1.4426950408889634f;
    float q[HEAD_DIM], o[HEAD_DIM];
    #pragma unroll
    for (int c = 0; c < HEAD_DIM; c++) {
        q[c] = live ? Q[head + (size_t)row * HEAD_DIM + c] * scale : 0.0f;
        o[c] = 0.0f;
    }
    float m = __int_as_float(0xff800000), l = 0.0f;
    for (int kv0 = 0; kv0 < n; kv0 += BLOCK_N) {
        __syncthreads();
        for (int t = threadIdx.x; t < BLOCK_N * HEAD_DIM / 4; t += BLOCK_M) {
            const int r = t / (HEAD_DIM / 4), c = t % (HEAD_DIM / 4), key = kv0 + r;
            const size_t at = head + (size_t)key * HEAD_DIM;
            const float4 zero = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            Ks[r][c] = key < n ? reinterpret_cast<const float4*>(K + at)[c] : zero;
            Vs[r][c] = key < n ? reinterpret_cast<const float4*>(V + at)[c] : zero;
        }
        __syncthreads();
        float s[BLOCK_N], m_new = m;
        #pragma unroll
        for (int j = 0; j < BLOCK_N; j++) {
            float acc = 0.0f;
            #pragma unroll
            for (int c = 0; c < HEAD_DIM / 4; c++) {
                const float4 k = Ks[j][c];
                acc = fmaf(q[4 * c], k.x, acc);
                acc = fmaf(q[4 * c + 1], k.y, acc);
                acc = fmaf(q[4 * c + 2], k.z, acc);
                acc = fmaf(q[4 * c + 3], k.w, acc);
            }
            s[j] = kv0 + j < n ? acc : __int_as_float(0xff800000);
            m_new = fmaxf(m_new, s[j]);
        }
        const float rescale = exp2f(m - m_new);
        l *= rescale;
        #pragma unroll
        for (int c = 0; c < HEAD_DIM; c++) o[c] *= rescale;
        #pragma unroll
        for (int j = 0; j < BLOCK_N; j++) {
            const float p = exp2f(s[j] - m_new);
            l += p;
            #pragma unroll
            for (int c = 0; c < HEAD_DIM / 4; c++) {
                const float4 v = Vs[j][c];
                o[4 * c] = fmaf(p, v.x, o[4 * c]);
                o[4 * c + 1] = fmaf(p, v.y, o[4 * c + 1]);
                o[4 * c + 2] = fmaf(p, v.z, o[4 * c + 2]);
                o[4 * c + 3] = fmaf(p, v.w, o[4 * c + 3]);
            }
        }
        m = m_new;
    }
    if (live) {
        const float inv = 1.0f / l;
        #pragma unroll
        for (int c = 0; c < HEAD_DIM; c++) O[head + (size_t)row * HEAD_DIM + c] = o[c] * inv;
        L[(size_t)blockIdx.y * n + row] = (m + log2f(l)) * 0.6931471805599453f;
    }
}
"#;

/// Inputs of the harness's own baselines: never the learner's buffers, which it may rewrite.
fn baseline_inputs<T: Precision>(
    ctx: &CheckCtx,
    shape: Shape,
) -> anyhow::Result<[CudaSlice<T>; 3]> {
    let mut rng = crate::grade::inputs::rng(0);
    let mut one = || -> Vec<T> {
        crate::grade::inputs::f32s(&mut rng, shape.elems())
            .into_iter()
            .map(|v| T::from_f64(v as f64))
            .collect()
    };
    let (q, k, v) = (one(), one(), one());
    Ok([
        ctx.stream.clone_htod(&q)?,
        ctx.stream.clone_htod(&k)?,
        ctx.stream.clone_htod(&v)?,
    ])
}

/// The unfused attention a framework runs without a fused kernel: S = QKᵀ / sqrt(D) by cuBLAS
/// (strided-batched over heads; SGEMM for f32, HGEMM with f32 accumulation for fp16, S stored
/// in the inputs' precision as PyTorch stores it), the harness's softmax in place, O = PV by
/// cuBLAS. Causal masks in the softmax only; the GEMMs still compute every score.
pub(super) fn unfused_baseline<T: Precision>(
    ctx: &CheckCtx,
    shape: Shape,
) -> anyhow::Result<crate::grade::speed::Timed<'static>>
where
    CudaBlas: Gemm<T>,
{
    let (n, d, heads) = (shape.n, shape.d, shape.heads());
    let blas = CudaBlas::new(ctx.stream.clone())?;
    let prelude = match T::NAME {
        "f32" => "",
        "fp16" => "#define HALF\n",
        other => anyhow::bail!("the unfused baseline has no {other} softmax"),
    };
    let source = format!("{prelude}{HARNESS_SOFTMAX}");
    let softmax = ctx.harness_kernel(&source, "harness_softmax")?;
    let [q, k, v] = baseline_inputs::<T>(ctx, shape)?;
    let mut s = ctx.stream.alloc_zeros::<T>(heads * n * n)?;
    let mut o = ctx.stream.alloc_zeros::<T>(shape.elems())?;
    // Row-major S = Q Kᵀ is column-major Sᵀ = K Qᵀ: cuBLAS reads the row-major Q and K as
    // column-major D x S matrices, so this is op(A) = Kᵀ-as-stored transposed, B = Q.
    let qk = StridedBatchedConfig {
        gemm: GemmConfig {
            transa: cublasOperation_t::CUBLAS_OP_T,
            transb: cublasOperation_t::CUBLAS_OP_N,
            m: n as i32,
            n: n as i32,
            k: d as i32,
            alpha: T::from_f64(1.0 / (d as f64).sqrt()),
            lda: d as i32,
            ldb: d as i32,
            beta: T::from_f64(0.0),
            ldc: n as i32,
        },
        batch_size: heads as i32,
        stride_a: (n * d) as i64,
        stride_b: (n * d) as i64,
        stride_c: (n * n) as i64,
    };
    // Row-major O = P V is column-major Oᵀ = Vᵀ Pᵀ: A = V (D x S column-major), B = P.
    let pv = StridedBatchedConfig {
        gemm: GemmConfig {
            transa: cublasOperation_t::CUBLAS_OP_N,
            transb: cublasOperation_t::CUBLAS_OP_N,
            m: d as i32,
            n: n as i32,
            k: n as i32,
            alpha: T::from_f64(1.0),
            lda: d as i32,
            ldb: n as i32,
            beta: T::from_f64(0.0),
            ldc: d as i32,
        },
        batch_size: heads as i32,
        stride_a: (n * d) as i64,
        stride_b: (n * n) as i64,
        stride_c: (n * d) as i64,
    };
    let rows = (heads * n) as u32;
    let cfg = LaunchConfig {
        grid_dim: (rows.div_ceil(SOFTMAX_ROWS_PER_BLOCK), 1, 1),
        block_dim: (32 * SOFTMAX_ROWS_PER_BLOCK, 1, 1),
        shared_mem_bytes: 0,
    };
    let causal = i32::from(shape.causal);
    let stream = ctx.stream.clone();
    Ok(Box::new(move || {
        unsafe { blas.gemm_strided_batched(qk, &k, &q, &mut s) }?;
        let mut launch = stream.launch_builder(&softmax.func);
        let (rows, n32) = (rows as i32, n as i32);
        launch.arg(&mut s).arg(&rows).arg(&n32).arg(&causal);
        unsafe { launch.launch(cfg) }?;
        unsafe { blas.gemm_strided_batched(pv, &v, &s, &mut o) }?;
        Ok(())
    }))
}

/// The harness's non-causal flash kernel at the same shape, on buffers of its own: what a
/// causal kernel that skips the masked tiles is timed against.
pub(super) fn harness_flash(
    ctx: &CheckCtx,
    shape: Shape,
) -> anyhow::Result<crate::grade::speed::Timed<'static>> {
    let kernel = ctx.harness_kernel(HARNESS_FLASH, "harness_flash")?;
    let [q, k, v] = baseline_inputs::<f32>(ctx, shape)?;
    let mut o = ctx.stream.alloc_zeros::<f32>(shape.elems())?;
    let mut l = ctx.stream.alloc_zeros::<f32>(shape.heads() * shape.n)?;
    let cfg = flash_config(shape);
    let n = shape.n as i32;
    let stream = ctx.stream.clone();
    Ok(Box::new(move || {
        let mut launch = stream.launch_builder(&kernel.func);
        launch
            .arg(&q)
            .arg(&k)
            .arg(&v)
            .arg(&mut o)
            .arg(&mut l)
            .arg(&n);
        unsafe { launch.launch(cfg) }?;
        Ok(())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(shape: Shape, seed: u64) -> Inputs {
        let mut rng = crate::grade::inputs::rng(seed);
        let mut one = || crate::grade::inputs::f32s(&mut rng, shape.elems());
        Inputs {
            q: one(),
            k: one(),
            v: one(),
        }
    }

    #[test]
    fn reference_of_one_key_is_that_value_row() {
        let shape = Shape {
            b: 1,
            h: 2,
            n: 1,
            d: HEAD_DIM,
            causal: false,
        };
        let x = inputs(shape, 1);
        let (o, l) = reference_row(&x, shape, 1, 0);
        let v: Vec<f64> = x.v[HEAD_DIM..].iter().map(|&v| v as f64).collect();
        assert_eq!(o, v);
        let s: f64 = (0..HEAD_DIM)
            .map(|c| x.q[HEAD_DIM + c] as f64 * x.k[HEAD_DIM + c] as f64)
            .sum::<f64>()
            / 8.0;
        assert!((l - s).abs() < 1e-12);
    }

    #[test]
    fn causal_first_row_sees_only_itself() {
        let shape = Shape {
            b: 1,
            h: 1,
            n: 5,
            d: HEAD_DIM,
            causal: true,
        };
        let x = inputs(shape, 2);
        let (o, _) = reference_row(&x, shape, 0, 0);
        assert!(o.iter().zip(&x.v).all(|(a, &b)| *a == b as f64));
    }

    #[test]
    fn naive_f32_is_close_but_not_exact() {
        let shape = Shape {
            b: 1,
            h: 1,
            n: 100,
            d: HEAD_DIM,
            causal: false,
        };
        let x = inputs(shape, 3);
        let (o64, l64) = reference_row(&x, shape, 0, 7);
        let (o32, l32) = naive_row::<f32>(&x, shape, 0, 7);
        let err = o64
            .iter()
            .zip(&o32)
            .fold(0.0f64, |m, (a, &b)| m.max((a - b as f64).abs()));
        assert!(err > 0.0 && err < 1e-4, "{err}");
        assert!((l64 - l32 as f64).abs() < 1e-3);
    }
}
