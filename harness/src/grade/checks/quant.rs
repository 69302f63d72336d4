//! Module 09's kernels: Q4_1 blocks to f32 (`dequant_q4`), a Q4_1 matrix times an f32 vector
//! (`gemv_q4`), and int8 x int8 -> int32 (`gemm_int8`). The Q4 formats are llama.cpp's, byte
//! for byte (the model module 10 serves is stored in them); `q4` below is the harness's own
//! reference for them, shared with the `.rs` exercise quantize_q4.
//!
//! A Q4_1 block is 20 bytes for 32 weights: fp16 d, fp16 m (little-endian), then 16 bytes qs;
//! element j < 16 is the low nibble of qs[j], element j + 16 its high nibble, w = q * d + m.
//! The harness builds the fp16 fields with the `half` crate and hands the kernel raw bytes.

use cudarc::driver::{LaunchConfig, PushKernelArg};

use crate::args;
use crate::curriculum::Tolerance;
use crate::grade::compare::Failure;
use crate::grade::speed::Timed;
use crate::grade::{blocks_for, CheckCtx, DevBuf, Launch, Work};
use crate::toolchain::BackendKind;

const EPS: f64 = f32::EPSILON as f64;

/// llama.cpp's Q4_0 and Q4_1 (ggml-quants.c, quantize_row_q4_0_ref / q4_1_ref), computed in
/// f32 step by step as that C code does, so the bytes match the model files exactly.
pub mod q4 {
    use half::f16;

    pub const QK: usize = 32;
    pub const Q4_0_BYTES: usize = 2 + QK / 2;
    pub const Q4_1_BYTES: usize = 4 + QK / 2;

    fn fp16(x: f32) -> [u8; 2] {
        f16::from_f32(x).to_bits().to_le_bytes()
    }

    pub fn half_at(bytes: &[u8], at: usize) -> f32 {
        f16::from_bits(u16::from_le_bytes([bytes[at], bytes[at + 1]])).to_f32()
    }

    /// Two nibbles per byte: element j low, element j + 16 high.
    fn pack(q: &[u8; QK], out: &mut Vec<u8>) {
        out.extend((0..QK / 2).map(|j| q[j] | (q[j + QK / 2] << 4)));
    }

    /// The value of largest magnitude (the first, on a tie), with its sign: d = max / -8, so
    /// that value becomes q = 0 exactly and the other end may clip at 15.
    pub fn quantize_q4_0(x: &[f32]) -> Vec<u8> {
        let mut out = Vec::with_capacity(x.len() / QK * Q4_0_BYTES);
        for block in x.chunks_exact(QK) {
            let (mut amax, mut max) = (0.0f32, 0.0f32);
            for &v in block {
                if amax < v.abs() {
                    amax = v.abs();
                    max = v;
                }
            }
            let d = max / -8.0;
            let id = if d != 0.0 { 1.0 / d } else { 0.0 };
            out.extend(fp16(d));
            let mut q = [0u8; QK];
            for (q, &v) in q.iter_mut().zip(block) {
                // C's (int8_t) cast truncates; the argument is >= 0 here, so it is a floor.
                *q = ((v * id + 8.5) as i32).min(15) as u8;
            }
            pack(&q, &mut out);
        }
        out
    }

    pub fn quantize_q4_1(x: &[f32]) -> Vec<u8> {
        let mut out = Vec::with_capacity(x.len() / QK * Q4_1_BYTES);
        for block in x.chunks_exact(QK) {
            let (mut min, mut max) = (f32::MAX, -f32::MAX);
            for &v in block {
                min = min.min(v);
                max = max.max(v);
            }
            let d = (max - min) / 15.0;
            let id = if d != 0.0 { 1.0 / d } else { 0.0 };
            out.extend(fp16(d));
            out.extend(fp16(min));
            let mut q = [0u8; QK];
            for (q, &v) in q.iter_mut().zip(block) {
                *q = (((v - min) * id + 0.5) as i32).min(15) as u8;
            }
            pack(&q, &mut out);
        }
        out
    }

    /// Nibble `e` (0..32) of a block's 16 qs bytes.
    pub fn nibble(qs: &[u8], e: usize) -> u8 {
        if e < QK / 2 {
            qs[e] & 0x0f
        } else {
            qs[e - QK / 2] >> 4
        }
    }

    /// One Q4_1 block's weights, exactly (q * d + m with fp16 d and m is exact in f64), and
    /// what each is made of: (w, |q d| + |m|).
    pub fn q4_1_weights(block: &[u8]) -> [(f64, f64); QK] {
        let (d, m) = (half_at(block, 0) as f64, half_at(block, 2) as f64);
        std::array::from_fn(|e| {
            let q = nibble(&block[4..], e) as f64;
            (q * d + m, (q * d).abs() + m.abs())
        })
    }

    pub fn q4_0_weights(block: &[u8]) -> [f64; QK] {
        let d = half_at(block, 0) as f64;
        std::array::from_fn(|e| (nibble(&block[2..], e) as f64 - 8.0) * d)
    }
}

/// dequant_q4: 256 threads per block, 16 threads per Q4_1 block (thread t: block t / 16,
/// qs byte t % 16), ceil(16 n / 256) blocks.
pub fn check_dequant(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let kernel = ctx.kernel("dequant_q4_1")?;
    let timed = ctx.speed_size();
    let mut sizes = ctx.sizes();
    ctx.append_timed(&mut sizes, &timed);
    for size in sizes {
        let nb = size[0];
        let is_timed = timed.as_ref() == Some(&size);
        ctx.case(format!(
            "{}{nb} Q4_1 blocks",
            if is_timed { "timed, " } else { "" }
        ));
        let blocks = random_q4_1_blocks(ctx, nb);
        let (want, bounds) = dequant_reference(&blocks);
        let din = ctx.input("blocks", &blocks)?;
        let dout = ctx.output::<f32>("out", nb * q4::QK)?;
        let cfg = LaunchConfig {
            grid_dim: (blocks_for(16 * nb, 256), 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        let ni = nb as i32;
        ctx.launch(&kernel, cfg, args![&din, &dout, ni])?;
        let rule = "|got - (q d + m)| <= eps |q d + m|, eps = 2^-23: q d is exact in f32, so \
                    one rounding of the add is all a correct kernel may add";
        if let Err(e) = ctx.expect_bounded(&dout, &want, bounds, rule.into()) {
            let got = ctx.read(&dout)?;
            return Err(explain(e, diagnose_q4_1(&got, &blocks)));
        }
        if is_timed {
            // The low two bits of any byte: a nibble, or fp16 mantissa bits (never inf/NaN).
            let varied = ctx.vary(&blocks, |b| b ^ 0x03);
            ctx.vary_input(&din, &varied)?;
            let (vwant, vbounds) = dequant_reference(&varied);
            ctx.hold_varied_bounded(&dout, &vwant, vbounds, rule.into());
            let learner = Launch {
                kernel: &kernel,
                cfg,
                args: args![&din, &dout, ni],
            };
            let bytes = (q4::Q4_1_BYTES + 4 * q4::QK) * nb;
            ctx.measure_speed(learner, Work::Bytes(bytes as u64), None)?;
        }
    }
    Ok(())
}

/// Blocks as a model file holds them, plus what a file may hold that quantizing random data
/// rarely gives: every byte value in qs, all-zero blocks (d = m = 0).
fn random_q4_1_blocks(ctx: &mut CheckCtx, nb: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(nb * q4::Q4_1_BYTES);
    let kinds = ctx.random_i32(nb, 0, 8);
    for (b, kind) in kinds.into_iter().enumerate() {
        match kind {
            0 if b > 0 => out.extend([0u8; q4::Q4_1_BYTES]),
            1 | 2 => {
                let d = 0.5 * ctx.random_positive_f32(1)[0];
                let m = ctx.random_f32(1)[0];
                out.extend(half::f16::from_f32(d).to_bits().to_le_bytes());
                out.extend(half::f16::from_f32(m).to_bits().to_le_bytes());
                out.extend(ctx.random_i32(16, 0, 256).into_iter().map(|v| v as u8));
            }
            _ => out.extend(q4::quantize_q4_1(&ctx.random_f32(q4::QK))),
        }
    }
    out
}

fn dequant_reference(blocks: &[u8]) -> (Vec<f32>, Vec<f64>) {
    blocks
        .chunks_exact(q4::Q4_1_BYTES)
        .flat_map(q4::q4_1_weights)
        .map(|(w, _)| (w as f32, EPS * w.abs()))
        .unzip()
}

/// What a wrong dequantization looks like, when it is one of the classic mistakes: each
/// reading of the block is tried against the output.
fn diagnose_q4_1(got: &[f32], blocks: &[u8]) -> String {
    type Reading = fn(&[u8], usize) -> f64;
    let readings: [(&str, Reading); 4] = [
        (
            "the high and low nibbles are swapped: element j (j < 16) is the LOW nibble of \
             qs[j], element j + 16 the HIGH one",
            |b, e| {
                let q = q4::nibble(&b[4..], (e + 16) % 32) as f64;
                q * q4::half_at(b, 0) as f64 + q4::half_at(b, 2) as f64
            },
        ),
        (
            "the nibbles were read as adjacent pairs (elements 2j and 2j + 1 from qs[j]); \
             GGUF stores elements j and j + 16 in qs[j]",
            |b, e| {
                let byte = b[4 + e / 2];
                let q = if e % 2 == 0 { byte & 0x0f } else { byte >> 4 } as f64;
                q * q4::half_at(b, 0) as f64 + q4::half_at(b, 2) as f64
            },
        ),
        (
            "the min m is missing: a Q4_1 weight is q * d + m",
            |b, e| q4::nibble(&b[4..], e) as f64 * q4::half_at(b, 0) as f64,
        ),
        (
            "d and m are swapped: d is the first fp16 of the block (bytes 0-1), m the second \
             (bytes 2-3)",
            |b, e| {
                q4::nibble(&b[4..], e) as f64 * q4::half_at(b, 2) as f64 + q4::half_at(b, 0) as f64
            },
        ),
    ];
    for (words, reading) in readings {
        let matches = got
            .chunks(q4::QK)
            .zip(blocks.chunks_exact(q4::Q4_1_BYTES))
            .all(|(g, b)| {
                g.iter().enumerate().all(|(e, &v)| {
                    let w = reading(b, e);
                    (v as f64 - w).abs() <= 2.0 * EPS * w.abs()
                })
            });
        if matches {
            return format!("Your output is exactly what you get when {words}.\n");
        }
    }
    String::new()
}

/// Append `details` to a comparison's failure.
fn explain(e: anyhow::Error, details: String) -> anyhow::Error {
    match e.downcast::<Failure>() {
        Ok(mut f) => {
            f.details += &details;
            f.into()
        }
        Err(e) => e,
    }
}

/// gemv_q4: one warp per row, 8 rows (256 threads) per block, ceil(n / 8) blocks.
const GEMV_ROWS: u32 = 8;

/// The model's own shapes (rows n, k): SmolLM2-135M's FFN up and down projections and its
/// vocabulary projection. Timed on the GPU beside the bar's large shape.
const MODEL_SHAPES: [[usize; 2]; 3] = [[1536, 576], [576, 1536], [49152, 576]];

/// y = W x, W n x k in Q4_1 (row r: k / 32 blocks), x k floats, y n floats.
pub fn check_gemv(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let kernel = ctx.kernel("gemv_q4_1")?;
    let timed = ctx.speed_size();
    let mut cases: Vec<(Vec<usize>, bool)> = ctx
        .sizes()
        .into_iter()
        .map(|s| (s.clone(), timed.as_ref() == Some(&s)))
        .collect();
    if let Some(t) = timed
        .as_ref()
        .filter(|t| !cases.iter().any(|(s, _)| s == *t))
    {
        cases.push((t.clone(), true));
    }
    if ctx.backend() == BackendKind::Gpu && timed.is_some() {
        cases.extend(MODEL_SHAPES.iter().map(|s| (s.to_vec(), true)));
    }
    for (size, is_timed) in cases {
        let [n, k] = size[..] else {
            anyhow::bail!("gemv_q4 sizes are [n, k], got {size:?}");
        };
        anyhow::ensure!(k % q4::QK == 0, "gemv_q4: k = {k} is not a multiple of 32");
        ctx.case(format!(
            "{}W {n} x {k} (Q4_1) times x",
            if is_timed { "timed, " } else { "" }
        ));
        // Each row its own offset and scale, as the rows of a real weight matrix differ.
        let mut w = Vec::with_capacity(n * k / q4::QK * q4::Q4_1_BYTES);
        for _ in 0..n {
            w.extend(q4::quantize_q4_1(&ctx.random_f32(k)));
        }
        let x = ctx.random_f32(k);
        let (want, bounds) = gemv_reference(&w, &x, n, k);
        let dw = ctx.input("w", &w)?;
        let dx = ctx.input("x", &x)?;
        let dy = ctx.output::<f32>("y", n)?;
        let cfg = LaunchConfig {
            grid_dim: (blocks_for(n, GEMV_ROWS), 1, 1),
            block_dim: (32 * GEMV_ROWS, 1, 1),
            shared_mem_bytes: 0,
        };
        let (ni, ki) = (n as i32, k as i32);
        ctx.launch(&kernel, cfg, args![&dw, &dx, &dy, ni, ki])?;
        let rule = gemv_rule(k);
        if let Err(e) = ctx.expect_bounded(&dy, &want, bounds, rule.clone()) {
            let got = ctx.read(&dy)?;
            return Err(explain(e, diagnose_gemv(&got, &w, &x, n, k)));
        }
        if is_timed {
            let varied = ctx.vary(&x, |v| v + 1.0);
            ctx.vary_input(&dx, &varied)?;
            let (vwant, vbounds) = gemv_reference(&w, &varied, n, k);
            ctx.hold_varied_bounded(&dy, &vwant, vbounds, rule);
            let learner = Launch {
                kernel: &kernel,
                cfg,
                args: args![&dw, &dx, &dy, ni, ki],
            };
            let bytes = w.len() + 4 * (k + n);
            // cuBLAS exists only beside a real driver; where nothing is timed (the CPU backend)
            // the baseline is never called.
            let baseline: Timed = if ctx.backend() == BackendKind::Gpu {
                cublas_hgemv(ctx, n, k)?
            } else {
                Box::new(|| Ok(()))
            };
            ctx.measure_speed_with(
                std::slice::from_ref(&learner),
                Work::Bytes(bytes as u64),
                baseline,
            )?;
        }
    }
    Ok(())
}

fn gemv_rule(k: usize) -> String {
    format!(
        "|got - y| <= eps (2 sqrt(k) + 16) sum_k (|q d| + |m|) |x_k|, k = {k}, eps = 2^-23: \
         the rounding of an f32 sum of exactly dequantized products (summed per block or \
         element by element), against y in f64"
    )
}

/// y in f64 from the exact weights, and each row's bound (see `gemv_rule`).
fn gemv_reference(w: &[u8], x: &[f32], n: usize, k: usize) -> (Vec<f32>, Vec<f64>) {
    let per_row = k / q4::QK * q4::Q4_1_BYTES;
    let slack = EPS * (2.0 * (k as f64).sqrt() + 16.0);
    (0..n)
        .map(|r| {
            let (mut y, mut size) = (0.0f64, 0.0f64);
            for (b, block) in w[r * per_row..(r + 1) * per_row]
                .chunks_exact(q4::Q4_1_BYTES)
                .enumerate()
            {
                for (e, (wv, parts)) in q4::q4_1_weights(block).into_iter().enumerate() {
                    let xv = x[b * q4::QK + e] as f64;
                    y += wv * xv;
                    size += parts * xv.abs();
                }
            }
            (y as f32, slack * size + 1e-30)
        })
        .unzip()
}

/// The classic index mistakes of a Q4 GEMV, told by what the output matches.
fn diagnose_gemv(got: &[f32], w: &[u8], x: &[f32], n: usize, k: usize) -> String {
    let nb = k / q4::QK;
    let close = |want: &[f32], bound: &[f64]| {
        got.iter()
            .zip(want)
            .zip(bound)
            .all(|((g, w), b)| (*g as f64 - *w as f64).abs() <= *b)
    };
    // Each block read the wrong way: the same W with its bytes rearranged to match.
    type Rewrite = fn(&mut [u8]);
    let rewrites: [(&str, Rewrite); 2] = [
        (
            "the high and low nibbles swapped: element j (j < 16) of a block is the low nibble of \
             qs[j], element j + 16 the high one",
            |b| b[4..].iter_mut().for_each(|q| *q = q.rotate_left(4)),
        ),
        ("the min m left out: a Q4_1 weight is q * d + m", |b| {
            b[2..4].fill(0)
        }),
    ];
    for (words, rewrite) in rewrites {
        let mut t = w.to_vec();
        t.chunks_exact_mut(q4::Q4_1_BYTES).for_each(rewrite);
        let (want, bound) = gemv_reference(&t, x, n, k);
        if close(&want, &bound) {
            return format!("Your output is what W gives with {words}.\n");
        }
    }
    // Blocks read in the wrong order: block b of row r taken from where block (b, r) would
    // sit if the matrix were stored column-of-blocks first.
    if n > 1 && nb > 1 {
        let mut t = vec![0u8; w.len()];
        for r in 0..n {
            for b in 0..nb {
                let from = (b * n + r) * q4::Q4_1_BYTES;
                let to = (r * nb + b) * q4::Q4_1_BYTES;
                t[to..to + q4::Q4_1_BYTES].copy_from_slice(&w[from..from + q4::Q4_1_BYTES]);
            }
        }
        let (want, bound) = gemv_reference(&t, x, n, k);
        if close(&want, &bound) {
            return "Your output is what W gives with its blocks transposed: block b of row r \
                    is at byte (r * (k / 32) + b) * 20 (rows of blocks, as GGUF stores them), \
                    not (b * n + r) * 20.\n"
                .into();
        }
    }
    String::new()
}

/// The harness's cuBLAS fp16 GEMV of the same shape, on buffers of its own: W n x k row-major
/// fp16 (column-major k x n, transposed), x and y fp16, through cublasHgemm with one column.
fn cublas_hgemv<'a>(ctx: &CheckCtx, n: usize, k: usize) -> anyhow::Result<Timed<'a>> {
    use cudarc::cublas::{sys::cublasOperation_t, CudaBlas, Gemm, GemmConfig};
    use half::f16;
    let stream = ctx.stream.clone();
    let blas = CudaBlas::new(stream.clone())?;
    // Values in [1, 2) from a hash of the index, written on the device: 470 MB of host
    // random numbers would take longer than the timing.
    let fill = ctx.harness_kernel(FILL_F16, "fill_f16")?;
    let mut a = stream.alloc_zeros::<f16>(n * k)?;
    let mut xh = stream.alloc_zeros::<f16>(k)?;
    for (buf, len) in [(&mut a, n * k), (&mut xh, k)] {
        let mut l = stream.launch_builder(&fill.func);
        let len = len as u64;
        l.arg(&mut *buf).arg(&len);
        let cfg = LaunchConfig {
            grid_dim: (4096, 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: the harness's kernel, with the argument types it declares.
        unsafe { l.launch(cfg) }?;
    }
    let mut yh = stream.alloc_zeros::<f16>(n)?;
    let cfg = GemmConfig {
        transa: cublasOperation_t::CUBLAS_OP_T,
        transb: cublasOperation_t::CUBLAS_OP_N,
        m: n as i32,
        n: 1,
        k: k as i32,
        alpha: f16::ONE,
        lda: k as i32,
        ldb: k as i32,
        beta: f16::ZERO,
        ldc: n as i32,
    };
    Ok(Box::new(move || {
        Ok(unsafe { blas.gemm(cfg, &a, &xh, &mut yh) }?)
    }))
}

const FILL_F16: &str = r#"
extern "C" __global__ void fill_f16(unsigned short* out, unsigned long long n)
{
    for (unsigned long long i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (unsigned long long)gridDim.x * blockDim.x) {
        unsigned int h = (unsigned int)i * 2654435761u;
        out[i] = 0x3c00 | ((h >> 12) & 0x3ff);
    }
}
"#;

/// gemm_int8: 16 x 16 threads per block, each block a 64 x 64 tile of C, each thread 4 x 4
/// elements (rows ty + 16 i, columns tx + 16 j of the tile); grid ceil(n / 64) x ceil(m / 64).
const TILE: usize = 64;

/// C (m x n, int32) = A (m x k, int8, row-major) times B^T, B n x k int8 row-major (each row of
/// B is one column of the product, as weight matrices are stored), k a multiple of 4.
pub fn check_gemm_int8(ctx: &mut CheckCtx) -> anyhow::Result<()> {
    let kernel = ctx.kernel("gemm_int8")?;
    let timed = ctx.speed_size();
    let mut sizes = ctx.sizes();
    ctx.append_timed(&mut sizes, &timed);
    for size in sizes {
        let [m, n, k] = size[..] else {
            anyhow::bail!("gemm_int8 sizes are [m, n, k], got {size:?}");
        };
        anyhow::ensure!(k % 4 == 0, "gemm_int8: k = {k} is not a multiple of 4");
        let is_timed = timed.as_ref() == Some(&size);
        ctx.case(format!(
            "{}{m} x {k} times ({n} x {k})^T",
            if is_timed { "timed, " } else { "" }
        ));
        let bytes = |ctx: &mut CheckCtx, len| -> Vec<i8> {
            ctx.random_i32(len, -128, 128)
                .into_iter()
                .map(|v| v as i8)
                .collect()
        };
        let (a, b) = (bytes(ctx, m * k), bytes(ctx, n * k));
        let da = ctx.input_2d("A", m, k, &a)?;
        let db = ctx.input_2d("B", n, k, &b)?;
        let on_gpu = m * n * k > CPU_REFERENCE_MAX_MACS && ctx.backend() == BackendKind::Gpu;
        let want = match on_gpu {
            true => gemm_reference_on_gpu(ctx, &da, &db, m, n, k)?,
            false => gemm_reference(&a, &b, m, n, k),
        };
        let dc = ctx.output_2d::<i32>("C", m, n)?;
        let cfg = LaunchConfig {
            grid_dim: (n.div_ceil(TILE) as u32, m.div_ceil(TILE) as u32, 1),
            block_dim: (16, 16, 1),
            shared_mem_bytes: 0,
        };
        let (mi, ni, ki) = (m as i32, n as i32, k as i32);
        ctx.launch(&kernel, cfg, args![&da, &db, &dc, mi, ni, ki])?;
        if let Err(e) = ctx.expect(&dc, &want) {
            let got = ctx.read(&dc)?;
            let narrow = want.iter().map(|&v| v as i16 as i32).collect::<Vec<_>>();
            let words = if got == narrow && got != want {
                "Your output is the right sum kept in 16 bits: a product of two int8 is up to \
                 16384 and k of them overflow a short. Accumulate in int (dp4a adds into an \
                 int for you).\n"
            } else {
                ""
            };
            return Err(explain(e, words.into()));
        }
        if is_timed {
            let varied = ctx.vary(&a, |v| v.wrapping_add(1));
            ctx.vary_input(&da, &varied)?;
            let want_varied = match on_gpu {
                true => {
                    let dv = ctx.input_2d("A (varied, for the reference)", m, k, &varied)?;
                    gemm_reference_on_gpu(ctx, &dv, &db, m, n, k)?
                }
                false => gemm_reference(&varied, &b, m, n, k),
            };
            ctx.hold_varied_to(
                &dc,
                &want_varied,
                Tolerance {
                    rtol: 0.0,
                    atol: 0.0,
                },
            );
            let learner = Launch {
                kernel: &kernel,
                cfg,
                args: args![&da, &db, &dc, mi, ni, ki],
            };
            ctx.measure_speed(learner, Work::Gemm { m, n, k }, None)?;
        }
    }
    Ok(())
}

/// Past this many multiply-adds the timed case's reference is computed on the GPU (exact in
/// int32 there too): 4096^3 of them take minutes on one CPU core.
const CPU_REFERENCE_MAX_MACS: usize = 1 << 28;

const GPU_GEMM_REFERENCE: &str = r#"
extern "C" __global__ void gemm_i8_reference(const signed char* a, const signed char* b, int* c,
                                             int m, int n, int k)
{
    int j = blockIdx.x * blockDim.x + threadIdx.x, i = blockIdx.y;
    if (j >= n) return;
    const signed char* ar = a + (size_t)i * k;
    const signed char* br = b + (size_t)j * k;
    int s = 0;
    for (int p = 0; p < k; p++) s += (int)ar[p] * (int)br[p];
    c[(size_t)i * n + j] = s;
}
"#;

fn gemm_reference_on_gpu(
    ctx: &mut CheckCtx,
    da: &DevBuf<i8>,
    db: &DevBuf<i8>,
    m: usize,
    n: usize,
    k: usize,
) -> anyhow::Result<Vec<i32>> {
    let kernel = ctx.harness_kernel(GPU_GEMM_REFERENCE, "gemm_i8_reference")?;
    let c = ctx.output::<i32>("reference C", m * n)?;
    let cfg = LaunchConfig {
        grid_dim: (n.div_ceil(256) as u32, m as u32, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    };
    ctx.launch_async(
        &kernel,
        cfg,
        args![da, db, &c, m as i32, n as i32, k as i32],
    )?;
    ctx.stream.synchronize()?;
    ctx.read(&c)
}

/// Exact: every partial sum of k <= 2^17 products of int8 fits an i32... and an i64 anyway.
fn gemm_reference(a: &[i8], b: &[i8], m: usize, n: usize, k: usize) -> Vec<i32> {
    let mut c = vec![0i32; m * n];
    for i in 0..m {
        let ar = &a[i * k..(i + 1) * k];
        for j in 0..n {
            let br = &b[j * k..(j + 1) * k];
            let s: i64 = ar.iter().zip(br).map(|(&x, &y)| x as i64 * y as i64).sum();
            c[i * n + j] = s as i32;
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::q4::*;

    #[test]
    fn q4_0_maps_the_signed_max_to_zero_and_rounds_half_up() {
        // max |v| = 8 at a positive value: d = -1, so 8 -> q 0; for x = 2.5, x * id + 8.5 is
        // 6.0 -> q 6, which dequantizes to (6 - 8) * -1 = 2: a half rounds towards larger q.
        let mut x = [0.0f32; QK];
        x[0] = 8.0;
        x[1] = 2.5;
        x[2] = -8.0;
        x[17] = 1.0;
        let b = quantize_q4_0(&x);
        assert_eq!(b.len(), Q4_0_BYTES);
        assert_eq!(half_at(&b, 0), -1.0);
        assert_eq!(nibble(&b[2..], 0), 0);
        assert_eq!(nibble(&b[2..], 1), 6);
        // -8 * -1 + 8.5 = 16.5: clipped to 15.
        assert_eq!(nibble(&b[2..], 2), 15);
        assert_eq!(nibble(&b[2..], 17), 7);
        assert_eq!(nibble(&b[2..], 3), 8);
    }

    #[test]
    fn q4_1_all_zero_and_constant_blocks() {
        let b = quantize_q4_1(&[0.0; QK]);
        assert_eq!(b, vec![0u8; Q4_1_BYTES]);
        let b = quantize_q4_1(&[3.0; QK]);
        assert_eq!(half_at(&b, 0), 0.0);
        assert_eq!(half_at(&b, 2), 3.0);
        assert!(b[4..].iter().all(|&q| q == 0));
    }

    #[test]
    fn q4_1_dequantizes_within_half_a_step() {
        let x: Vec<f32> = (0..QK)
            .map(|i| (i as f32 * 0.37).sin() * 3.0 - 1.0)
            .collect();
        let b = quantize_q4_1(&x);
        let d = half_at(&b, 0) as f64;
        for (e, (w, _)) in q4_1_weights(&b).into_iter().enumerate() {
            assert!(
                (w - x[e] as f64).abs() <= 0.5 * d + 0.01,
                "{e}: {w} vs {}",
                x[e]
            );
        }
    }
}
