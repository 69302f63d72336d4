//! Module 08, paged_decode and split_kv_decode: one query token per sequence attending to its
//! whole KV cache, the cache stored as vLLM pages it: f16 blocks of 16 tokens scattered through
//! a pool, a block table per sequence. Grouped-query heads as in SmolLM2 (query head h reads KV
//! head h / (Hq / Hkv)), f32 accumulation, scale 1/sqrt(64).
//!
//! Layouts (stated in the stubs): q and out [B, Hq, 64] f32; k_pool and v_pool
//! [num_blocks, Hkv, 16, 64] f16; block_tables [B, max_blocks] int; context_lens [B] int.
//! `size = [B, Hq, Hkv, max context]`; the contexts are mixed: 1, the maximum, random ones.
//! Physical blocks are a random permutation of the pool; the unused slots of each sequence's
//! last block, the table entries past its last block (they name a poisoned block) and the
//! blocks no table names hold NaN: a result that depends on them fails.
//!
//! Judged as module 07 judges attention: the error against an f64 reference may be at most
//! twice that of a plain f32 decode computed here (scores, max, exp, sum, divide, PV) plus a
//! floor of a few ulps of the largest |V| and of the largest logit.
//!
//! paged_decode is timed against the harness's own decode kernel on a contiguous cache
//! [B, Hkv, L, 64] with the same contexts (the same loop; only the addressing differs), which
//! prices the block-table indirection; split_kv_decode at batch 1 against the harness's paged
//! decode kernel (the paged_decode solution's loop, one block per head), which leaves most of
//! the GPU idle on one long sequence.

use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};
use half::f16;

use super::kv_cache::pack;
use crate::args;
use crate::curriculum::Tolerance;
use crate::grade::speed::Timed;
use crate::grade::{CheckCtx, DevBuf, Failure, Launch, Work};
use crate::toolchain::BackendKind;

const HEAD_DIM: usize = 64;
const BLOCK_TOKENS: usize = 16;
const THREADS: u32 = 128;
/// Of the largest |V| and the largest logit: a few ulps of what is summed.
const FLOOR: f64 = 1e-6;
/// Logits scaled up in one case (q times this): exp without the row's maximum overflows.
const LARGE_LOGIT_GAIN: f64 = 400.0;
/// Blocks in the pool that no table names (poisoned): a kernel that reads one gets NaN.
const SPARE_BLOCKS: usize = 3;
const F16_NAN: u16 = 0x7e5a;

#[derive(Clone, Copy, Debug)]
struct Shape {
    b: usize,
    hq: usize,
    hkv: usize,
    max_ctx: usize,
}

impl Shape {
    fn parse(s: &[usize]) -> anyhow::Result<Shape> {
        let [b, hq, hkv, max_ctx] = s[..] else {
            anyhow::bail!(
                "decode sizes are [B, Hq, Hkv, max context]; curriculum.toml gives {s:?}"
            );
        };
        anyhow::ensure!(hq % hkv == 0, "Hq must be a multiple of Hkv in {s:?}");
        Ok(Shape {
            b,
            hq,
            hkv,
            max_ctx,
        })
    }
    fn max_blocks(&self) -> usize {
        self.max_ctx.div_ceil(BLOCK_TOKENS)
    }
    fn label(&self, large: bool) -> String {
        let tail = if large { ", logits x400" } else { "" };
        format!(
            "B={} Hq={} Hkv={} contexts up to {}{tail}",
            self.b, self.hq, self.hkv, self.max_ctx
        )
    }
}

/// One case's data on the host: K and V as f16 values, per sequence and token.
struct Paged {
    q: Vec<f32>,
    lens: Vec<i32>,
    tables: Vec<i32>,
    k_pool: Vec<f16>,
    v_pool: Vec<f16>,
}

impl Paged {
    /// Offset of token j of sequence b, KV head g, in the pool.
    fn at(&self, shape: Shape, b: usize, g: usize, j: usize) -> usize {
        let block = self.tables[b * shape.max_blocks() + j / BLOCK_TOKENS] as usize;
        ((block * shape.hkv + g) * BLOCK_TOKENS + j % BLOCK_TOKENS) * HEAD_DIM
    }
}

/// Values near unit variance with a small offset and gain, as a trained model's q and k.
fn unit(ctx: &mut CheckCtx, n: usize, gain: f64) -> Vec<f32> {
    let raw = ctx.random_f32(n);
    let mean = raw.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
    let var = raw.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n as f64;
    let knobs = ctx.random_i32(2, 0, 1 << 20);
    let g = gain * (0.75 + 0.5 * knobs[0] as f64 / (1 << 20) as f64);
    let offset = -0.5 + knobs[1] as f64 / (1 << 20) as f64;
    raw.into_iter()
        .map(|x| ((x as f64 - mean) / var.sqrt().max(1e-12) * g + offset) as f32)
        .collect()
}

/// Contexts 1, the maximum, and random ones between; blocks placed at random in the pool.
fn draw(ctx: &mut CheckCtx, shape: Shape, large: bool) -> Paged {
    let mut lens = ctx.random_i32(shape.b, 1, shape.max_ctx as i32 + 1);
    lens[0] = 1;
    if shape.b > 1 {
        lens[shape.b - 1] = shape.max_ctx as i32;
    }
    let used: usize = lens
        .iter()
        .map(|&l| (l as usize).div_ceil(BLOCK_TOKENS))
        .sum();
    let num_blocks = used + SPARE_BLOCKS;
    // A random permutation of the pool: sequence blocks first, then the spares.
    let keys = ctx.random_i32(num_blocks, 0, i32::MAX);
    let mut order: Vec<usize> = (0..num_blocks).collect();
    order.sort_by_key(|&i| (keys[i], i));
    let poisoned = order[num_blocks - 1] as i32;
    let mut tables = vec![poisoned; shape.b * shape.max_blocks()];
    let mut next = 0;
    for (b, &l) in lens.iter().enumerate() {
        for j in 0..(l as usize).div_ceil(BLOCK_TOKENS) {
            tables[b * shape.max_blocks() + j] = order[next] as i32;
            next += 1;
        }
    }
    let pool = num_blocks * shape.hkv * BLOCK_TOKENS * HEAD_DIM;
    let nan = f16::from_bits(F16_NAN);
    let mut x = Paged {
        q: unit(
            ctx,
            shape.b * shape.hq * HEAD_DIM,
            if large { LARGE_LOGIT_GAIN } else { 1.0 },
        ),
        lens,
        tables,
        k_pool: vec![nan; pool],
        v_pool: vec![nan; pool],
    };
    let tokens: usize = x.lens.iter().map(|&l| l as usize).sum();
    let k = unit(ctx, tokens * shape.hkv * HEAD_DIM, 1.0);
    let v = ctx.random_f32(tokens * shape.hkv * HEAD_DIM);
    let mut i = 0;
    for b in 0..shape.b {
        for j in 0..x.lens[b] as usize {
            for g in 0..shape.hkv {
                let at = x.at(shape, b, g, j);
                for d in 0..HEAD_DIM {
                    x.k_pool[at + d] = f16::from_f32(k[i]);
                    x.v_pool[at + d] = f16::from_f32(v[i]);
                    i += 1;
                }
            }
        }
    }
    x
}

/// Query head h of sequence b in f64, and as a plain f32 decode computes it.
fn reference(x: &Paged, shape: Shape, b: usize, h: usize) -> (Vec<f64>, Vec<f32>, f64) {
    let g = h / (shape.hq / shape.hkv);
    let q = &x.q[(b * shape.hq + h) * HEAD_DIM..][..HEAD_DIM];
    let n = x.lens[b] as usize;
    let scale = 1.0 / (HEAD_DIM as f64).sqrt();
    let (mut s64, mut s32) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for j in 0..n {
        let k = &x.k_pool[x.at(shape, b, g, j)..][..HEAD_DIM];
        let (mut a64, mut a32) = (0.0f64, 0.0f32);
        for (&qc, kc) in q.iter().zip(k) {
            a64 += qc as f64 * kc.to_f64();
            a32 += qc * kc.to_f32();
        }
        s64.push(a64 * scale);
        s32.push(a32 * scale as f32);
    }
    let m64 = s64.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let m32 = s32.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e64: Vec<f64> = s64.iter().map(|s| (s - m64).exp()).collect();
    let e32: Vec<f32> = s32.iter().map(|s| (s - m32).exp()).collect();
    let (l64, l32): (f64, f32) = (e64.iter().sum(), e32.iter().sum());
    let (mut o64, mut o32) = (vec![0.0f64; HEAD_DIM], vec![0.0f32; HEAD_DIM]);
    for j in 0..n {
        let v = &x.v_pool[x.at(shape, b, g, j)..][..HEAD_DIM];
        let (p64, p32) = (e64[j] / l64, e32[j] / l32);
        for d in 0..HEAD_DIM {
            o64[d] += p64 * v[d].to_f64();
            o32[d] += p32 * v[d].to_f32();
        }
    }
    (o64, o32, m64.abs())
}

/// Compare `out` with the f64 reference, within twice a plain f32 decode's error plus a floor.
fn expect_decode(
    ctx: &mut CheckCtx,
    x: &Paged,
    shape: Shape,
    out: &DevBuf<f32>,
) -> anyhow::Result<Tolerance> {
    let mut want = vec![0.0f32; shape.b * shape.hq * HEAD_DIM];
    let (mut err, mut max_logit) = (0.0f64, 1.0f64);
    for b in 0..shape.b {
        for h in 0..shape.hq {
            let (o64, o32, m) = reference(x, shape, b, h);
            max_logit = max_logit.max(m);
            for d in 0..HEAD_DIM {
                err = err.max((o64[d] - o32[d] as f64).abs());
                want[(b * shape.hq + h) * HEAD_DIM + d] = o64[d] as f32;
            }
        }
    }
    let max_v = x
        .v_pool
        .iter()
        .filter(|v| !v.is_nan())
        .fold(0.0f64, |m, v| m.max(v.to_f64().abs()));
    let atol = 2.0 * err + (FLOOR + 4.0 * f32::EPSILON as f64 * max_logit) * max_v;
    let tol = Tolerance { rtol: 0.0, atol };
    ctx.expect_within(out, &want, tol)
        .map_err(|e| match e.downcast::<Failure>() {
            Ok(mut f) => {
                f.details += &format!(
                "The bar: a plain f32 decode is off the f64 reference by at most {err:.3e} here; \
                 yours may be off by {atol:.3e}. out is [B, Hq, 64]: element (row, col) is \
                 sequence row / Hq, query head row % Hq, dimension col.\n"
            );
                f.into()
            }
            Err(e) => e,
        })?;
    Ok(tol)
}

/// The device copies of one case's inputs.
struct Bufs {
    q: DevBuf<f32>,
    k: DevBuf<u32>,
    v: DevBuf<u32>,
    tables: DevBuf<i32>,
    lens: DevBuf<i32>,
}

fn upload(ctx: &CheckCtx, x: &Paged) -> anyhow::Result<Bufs> {
    Ok(Bufs {
        q: ctx.input("q", &x.q)?,
        k: ctx.input("k_pool", &pack(&x.k_pool))?,
        v: ctx.input("v_pool", &pack(&x.v_pool))?,
        tables: ctx.input("block_tables", &x.tables)?,
        lens: ctx.input("context_lens", &x.lens)?,
    })
}

/// The cases: every curriculum size, one with large logits, on a GPU a larger mix, and the
/// timed size last. `(shape, large logits, timed)`.
fn cases(
    ctx: &CheckCtx,
    large: &[usize],
    gpu_extra: &[usize],
) -> anyhow::Result<Vec<(Shape, bool, bool)>> {
    let mut out = Vec::new();
    for s in ctx.sizes() {
        out.push((Shape::parse(&s)?, false, false));
    }
    out.push((Shape::parse(large)?, true, false));
    if ctx.backend() == BackendKind::Gpu {
        out.push((Shape::parse(gpu_extra)?, false, false));
    }
    if let Some(t) = ctx.speed_size() {
        out.push((Shape::parse(&t)?, false, true));
    }
    Ok(out)
}

fn scale() -> f32 {
    1.0 / (HEAD_DIM as f32).sqrt()
}

/// Bytes one decode reads and writes: every context token's K and V, q and out.
fn decode_bytes(x: &Paged, shape: Shape) -> u64 {
    let tokens: usize = x.lens.iter().map(|&l| l as usize).sum();
    (tokens * shape.hkv * HEAD_DIM * 2 * 2 + 2 * shape.b * shape.hq * HEAD_DIM * 4) as u64
}

/// The timed inputs' varied version: three of the q values changed.
fn vary_q(
    ctx: &mut CheckCtx,
    x: &Paged,
    shape: Shape,
    bufs: &Bufs,
    out: &DevBuf<f32>,
    tol: Tolerance,
) -> anyhow::Result<()> {
    let q = ctx.vary(&x.q, |v| v * 0.5 + 0.25);
    ctx.vary_input(&bufs.q, &q)?;
    let varied = Paged {
        q,
        lens: x.lens.clone(),
        tables: x.tables.clone(),
        k_pool: x.k_pool.clone(),
        v_pool: x.v_pool.clone(),
    };
    let mut want = vec![0.0f32; shape.b * shape.hq * HEAD_DIM];
    for b in 0..shape.b {
        for h in 0..shape.hq {
            let (o64, _, _) = reference(&varied, shape, b, h);
            for d in 0..HEAD_DIM {
                want[(b * shape.hq + h) * HEAD_DIM + d] = o64[d] as f32;
            }
        }
    }
    // The same bound as the checked launch: three changed q values barely move a plain f32
    // decode's error.
    ctx.hold_varied_to(out, &want, tol);
    Ok(())
}

pub fn paged_decode(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let kernel = ctx.kernel("paged_decode")?;
    for (shape, large, timed) in cases(ctx, &[3, 9, 3, 80], &[8, 9, 3, 1000])? {
        ctx.case(format!(
            "{}{}",
            if timed { "timed, " } else { "" },
            shape.label(large)
        ));
        let x = draw(ctx, shape, large);
        let bufs = upload(ctx, &x)?;
        let out = ctx.output::<f32>("out", shape.b * shape.hq * HEAD_DIM)?;
        let cfg = LaunchConfig {
            grid_dim: (shape.hq as u32, shape.b as u32, 1),
            block_dim: (THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let a = args![
            &bufs.q,
            &bufs.k,
            &bufs.v,
            &bufs.tables,
            &bufs.lens,
            &out,
            shape.hq as i32,
            shape.hkv as i32,
            shape.max_blocks() as i32,
            scale()
        ];
        ctx.launch(&kernel, cfg, a)?;
        let tol = expect_decode(ctx, &x, shape, &out)?;
        if timed {
            vary_q(ctx, &x, shape, &bufs, &out, tol)?;
            let baseline = on_gpu(ctx, |ctx| contiguous_baseline(ctx, shape, &x.lens))?;
            let learner = [Launch {
                kernel: &kernel,
                cfg,
                args: a,
            }];
            ctx.measure_speed_with(&learner, Work::Bytes(decode_bytes(&x, shape)), baseline)?;
        }
    }
    Ok(())
}

/// Tokens each split of split_kv_decode covers: a multiple of the block size, small on the
/// CPU backend so its cases span several splits.
fn split_tokens(ctx: &CheckCtx) -> usize {
    match ctx.backend() {
        BackendKind::Gpu => 512,
        BackendKind::Cpu => 32,
    }
}

pub fn split_kv_decode(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let partial = ctx.kernel("split_kv_partial")?;
    let merge = ctx.kernel("split_kv_merge")?;
    let split = split_tokens(ctx);
    for (shape, large, timed) in cases(ctx, &[2, 9, 3, 150], &[3, 9, 3, 5000])? {
        ctx.case(format!(
            "{}{}, {split} tokens per split",
            if timed { "timed, " } else { "" },
            shape.label(large)
        ));
        let x = draw(ctx, shape, large);
        let bufs = upload(ctx, &x)?;
        let splits = shape.max_ctx.div_ceil(split);
        let rows = shape.b * shape.hq;
        let part_o = ctx.scratch::<f32>("part_o", rows * splits * HEAD_DIM)?;
        let part_ml = ctx.scratch::<f32>("part_ml", rows * splits * 2)?;
        let out = ctx.output::<f32>("out", rows * HEAD_DIM)?;
        let cfg_partial = LaunchConfig {
            grid_dim: (splits as u32, shape.hq as u32, shape.b as u32),
            block_dim: (THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let cfg_merge = LaunchConfig {
            grid_dim: (shape.hq as u32, shape.b as u32, 1),
            block_dim: (HEAD_DIM as u32, 1, 1),
            shared_mem_bytes: 0,
        };
        let a1 = args![
            &bufs.q,
            &bufs.k,
            &bufs.v,
            &bufs.tables,
            &bufs.lens,
            &part_o,
            &part_ml,
            shape.hq as i32,
            shape.hkv as i32,
            shape.max_blocks() as i32,
            scale(),
            split as i32
        ];
        let a2 = args![
            &part_o,
            &part_ml,
            &bufs.lens,
            &out,
            shape.hq as i32,
            splits as i32,
            split as i32
        ];
        ctx.launch(&partial, cfg_partial, a1)?;
        ctx.launch(&merge, cfg_merge, a2)?;
        let tol = expect_decode(ctx, &x, shape, &out)?;
        if timed {
            vary_q(ctx, &x, shape, &bufs, &out, tol)?;
            let baseline = on_gpu(ctx, |ctx| paged_baseline(ctx, shape, &x))?;
            let learner = [
                Launch {
                    kernel: &partial,
                    cfg: cfg_partial,
                    args: a1,
                },
                Launch {
                    kernel: &merge,
                    cfg: cfg_merge,
                    args: a2,
                },
            ];
            ctx.measure_speed_with(&learner, Work::Bytes(decode_bytes(&x, shape)), baseline)?;
        }
    }
    Ok(())
}

// ---- the harness's own decode kernels (GPU baselines) --------------------------------------

/// One block per (query head, sequence), four warps taking every fourth token, a lane owning
/// two dimensions (a half2), online softmax per warp, the warps merged in shared memory.
/// `PAGED` picks the addressing: through the block table, or a contiguous [B, Hkv, L, 64].
const HARNESS_DECODE: &str = r#"
#include <cuda_fp16.h>
#define HEAD_DIM 64
#define BLOCK_TOKENS 16
#define WARPS 4
template <bool PAGED>
__device__ void decode(const float* q, const __half* k, const __half* v, const int* tables,
                       const int* lens, float* out, int n_heads, int n_kv_heads, int stride,
                       float scale)
{
    const int h = blockIdx.x, b = blockIdx.y, g = h / (n_heads / n_kv_heads);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, n = lens[b];
    const float2 qv = reinterpret_cast<const float2*>(q + ((size_t)b * n_heads + h) * HEAD_DIM)[lane];
    const float q0 = qv.x * scale, q1 = qv.y * scale;
    float m = __int_as_float(0xff800000), l = 0.0f, o0 = 0.0f, o1 = 0.0f;
    for (int j = warp; j < n; j += WARPS) {
        size_t at;
        if (PAGED) {
            const int block = tables[(size_t)b * stride + j / BLOCK_TOKENS];
            at = (((size_t)block * n_kv_heads + g) * BLOCK_TOKENS + j % BLOCK_TOKENS) * HEAD_DIM;
        } else {
            at = (((size_t)b * n_kv_heads + g) * stride + j) * HEAD_DIM;
        }
        const float2 kk = __half22float2(reinterpret_cast<const __half2*>(k + at)[lane]);
        float s = q0 * kk.x + q1 * kk.y;
        for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        const float2 vv = __half22float2(reinterpret_cast<const __half2*>(v + at)[lane]);
        const float m_new = fmaxf(m, s), r = __expf(m - m_new), p = __expf(s - m_new);
        l = l * r + p;
        o0 = o0 * r + p * vv.x;
        o1 = o1 * r + p * vv.y;
        m = m_new;
    }
    __shared__ float ms[WARPS], ls[WARPS], os[WARPS][HEAD_DIM];
    if (lane == 0) { ms[warp] = m; ls[warp] = l; }
    os[warp][2 * lane] = o0;
    os[warp][2 * lane + 1] = o1;
    __syncthreads();
    if (threadIdx.x < HEAD_DIM) {
        float mm = ms[0];
        for (int w = 1; w < WARPS; w++) mm = fmaxf(mm, ms[w]);
        float ll = 0.0f, acc = 0.0f;
        for (int w = 0; w < WARPS; w++) {
            const float r = ms[w] == __int_as_float(0xff800000) ? 0.0f : __expf(ms[w] - mm);
            ll += ls[w] * r;
            acc += os[w][threadIdx.x] * r;
        }
        out[((size_t)b * n_heads + h) * HEAD_DIM + threadIdx.x] = acc / ll;
    }
}
extern "C" __global__ void harness_paged(const float* q, const __half* k, const __half* v,
                                         const int* tables, const int* lens, float* out,
                                         int n_heads, int n_kv_heads, int max_blocks, float scale)
{
    decode<true>(q, k, v, tables, lens, out, n_heads, n_kv_heads, max_blocks, scale);
}
extern "C" __global__ void harness_contiguous(const float* q, const __half* k, const __half* v,
                                              const int* lens, float* out, int n_heads,
                                              int n_kv_heads, int max_len, float scale)
{
    decode<false>(q, k, v, nullptr, lens, out, n_heads, n_kv_heads, max_len, scale);
}
"#;

/// A baseline where speed is measured; where it is not, the timed case only repeats the
/// learner's launch and a stand-in is enough.
fn on_gpu(
    ctx: &CheckCtx,
    build: impl FnOnce(&CheckCtx) -> anyhow::Result<Timed<'static>>,
) -> anyhow::Result<Timed<'static>> {
    match ctx.backend() {
        BackendKind::Gpu => build(ctx),
        BackendKind::Cpu => Ok(Box::new(|| Ok(()))),
    }
}

fn random_halves(ctx: &CheckCtx, n: usize, seed: u64) -> anyhow::Result<CudaSlice<f16>> {
    let mut rng = crate::grade::inputs::rng(seed);
    let v: Vec<f16> = crate::grade::inputs::f32s(&mut rng, n)
        .into_iter()
        .map(|x| f16::from_f32(x * 0.25))
        .collect();
    Ok(ctx.stream.clone_htod(&v)?)
}

/// The harness's decode on a contiguous cache [B, Hkv, max context, 64] with the learner's
/// context lengths, on buffers of its own.
fn contiguous_baseline(
    ctx: &CheckCtx,
    shape: Shape,
    lens: &[i32],
) -> anyhow::Result<Timed<'static>> {
    let kernel = ctx.harness_kernel(HARNESS_DECODE, "harness_contiguous")?;
    let cache = shape.b * shape.hkv * shape.max_ctx * HEAD_DIM;
    let k = random_halves(ctx, cache, 1)?;
    let v = random_halves(ctx, cache, 2)?;
    let q = ctx
        .stream
        .clone_htod(&vec![0.5f32; shape.b * shape.hq * HEAD_DIM])?;
    let lens = ctx.stream.clone_htod(lens)?;
    let mut out = ctx
        .stream
        .alloc_zeros::<f32>(shape.b * shape.hq * HEAD_DIM)?;
    let cfg = LaunchConfig {
        grid_dim: (shape.hq as u32, shape.b as u32, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    };
    let (hq, hkv, len, s) = (
        shape.hq as i32,
        shape.hkv as i32,
        shape.max_ctx as i32,
        scale(),
    );
    let stream = ctx.stream.clone();
    Ok(Box::new(move || {
        let mut l = stream.launch_builder(&kernel.func);
        l.arg(&q).arg(&k).arg(&v).arg(&lens).arg(&mut out);
        l.arg(&hq).arg(&hkv).arg(&len).arg(&s);
        // SAFETY: the harness's kernel, with the argument types it declares.
        unsafe { l.launch(cfg) }?;
        Ok(())
    }))
}

/// The harness's paged decode (one block per query head) on a copy of the case's tables and
/// context lengths, with a pool of its own.
fn paged_baseline(ctx: &CheckCtx, shape: Shape, x: &Paged) -> anyhow::Result<Timed<'static>> {
    let kernel = ctx.harness_kernel(HARNESS_DECODE, "harness_paged")?;
    let k = random_halves(ctx, x.k_pool.len(), 3)?;
    let v = random_halves(ctx, x.v_pool.len(), 4)?;
    let q = ctx
        .stream
        .clone_htod(&vec![0.5f32; shape.b * shape.hq * HEAD_DIM])?;
    let tables = ctx.stream.clone_htod(&x.tables)?;
    let lens = ctx.stream.clone_htod(&x.lens)?;
    let mut out = ctx
        .stream
        .alloc_zeros::<f32>(shape.b * shape.hq * HEAD_DIM)?;
    let cfg = LaunchConfig {
        grid_dim: (shape.hq as u32, shape.b as u32, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    };
    let (hq, hkv, mb, s) = (
        shape.hq as i32,
        shape.hkv as i32,
        shape.max_blocks() as i32,
        scale(),
    );
    let stream = ctx.stream.clone();
    Ok(Box::new(move || {
        let mut l = stream.launch_builder(&kernel.func);
        l.arg(&q)
            .arg(&k)
            .arg(&v)
            .arg(&tables)
            .arg(&lens)
            .arg(&mut out);
        l.arg(&hq).arg(&hkv).arg(&mb).arg(&s);
        // SAFETY: the harness's kernel, with the argument types it declares.
        unsafe { l.launch(cfg) }?;
        Ok(())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_token_context_returns_its_value_row() {
        let shape = Shape {
            b: 1,
            hq: 3,
            hkv: 1,
            max_ctx: 1,
        };
        let v: Vec<f16> = (0..HEAD_DIM)
            .map(|d| f16::from_f32(d as f32 - 3.0))
            .collect();
        let x = Paged {
            q: vec![1.0; 3 * HEAD_DIM],
            lens: vec![1],
            tables: vec![0],
            k_pool: vec![f16::from_f32(0.5); BLOCK_TOKENS * HEAD_DIM],
            v_pool: [v.clone(), vec![f16::from_bits(F16_NAN); 15 * HEAD_DIM]].concat(),
        };
        let (o, _, _) = reference(&x, shape, 0, 2);
        assert!(o.iter().zip(&v).all(|(a, b)| *a == b.to_f64()));
    }
}
