//! SmolLM2-135M on a GPU with the learner's kernels: module 06's `rmsnorm_residual`, module
//! 08's `rope` and `paged_decode`, module 09's `gemv_q4_1` for decode steps and module 03's
//! `sgemm` (2D block tiling) for prompts, called through cudarc as the exercises' launch
//! comments fix them, with the harness's glue (ops.cu) in between.
//!
//! The weights are the GGUF's own bytes: every Q4_1 matrix goes to the GPU as it is stored (q,
//! k and v concatenated row-wise into one matrix, gate and up into another: a row of Q4_1 is
//! self-contained, so one GEMV does three). The tied embedding (Q8_0) is dequantized once to
//! f32: its rows are the inputs, and the harness's `lm_head` reads it for the logits.
//!
//! One call is one forward pass over every new token of the batch: a sequence's prompt (or its
//! recompute after a preemption) and a decode step are the same thing, rows of the step, each
//! with its sequence's block table and its own position. Attention of row (s, p) is
//! `paged_decode` over the first p + 1 tokens of s, written to the paged cache by `kv_write`
//! earlier in the same layer: causal prefill for free. The KV cache is paged in the
//! scheduler's blocks: token p of a sequence lives in `blocks[p / 16]`, slot `p % 16`, so a
//! block the scheduler frees and hands to another sequence is simply overwritten.
//!
//! A long prompt (a sequence with at least `GEMM_ROWS` new tokens in the step) is a matrix
//! product: its rows go through the learner's SGEMM against the weights dequantized to f32
//! (and transposed, as `sgemm` multiplies row-major A by row-major B) once at load. Shorter
//! ones take the GEMV row by row: `sgemm`'s 128 x 128 tiles give a short prompt a few dozen
//! blocks and read four times the bytes of Q4_1, and on the H200 a 12-token prompt's TTFT
//! doubled (10 to 21 ms) through it. Whether a row takes the GEMM
//! or the GEMV depends on its own sequence only, never on what else is in the batch, so a
//! request's tokens are the same alone and batched. (A sequence recomputed after a preemption
//! puts its generated tokens through the GEMM: the same values up to rounding.)
//!
//! The GEMV is the learner's per-vector kernel, so it is launched once per row and matrix;
//! everything else is one launch per layer for the whole step. A small GEMV (960 x 576) is
//! a few microseconds of a GPU that could run dozens at once, so the rows' GEMVs go round
//! `SIDE_STREAMS` streams that wait for the main one and that it waits for in turn: a batch
//! of rows costs little more than one row, which is what makes batching pay.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, ensure, Context as _};
use candle_core::quantized::gguf_file;
use candle_core::quantized::GgmlDType;
use cudarc::driver::{
    CudaContext, CudaEvent, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg,
};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions};

use crate::Step;

const HEAD_DIM: usize = 64;
/// paged_decode's block of tokens, fixed by the exercise (and by module 10's schedulers).
pub const BLOCK_TOKENS: usize = 16;
const OPS: &str = include_str!("ops.cu");
/// New tokens of one sequence from which its rows take the GEMM instead of the GEMV.
pub const GEMM_ROWS: usize = 64;
/// Streams the rows' GEMVs of one matrix are spread over.
const SIDE_STREAMS: usize = 4;

/// One `.cu` file: the name it is reported under, and its text.
pub struct Source {
    pub display: String,
    pub text: String,
}

/// The four learner kernels and where NVRTC finds `cuda_fp16.h`.
pub struct Kernels {
    pub rmsnorm_residual: Source,
    pub rope: Source,
    pub paged_decode: Source,
    pub gemv_q4: Source,
    pub sgemm: Source,
    pub include_dirs: Vec<PathBuf>,
}

struct Functions {
    rmsnorm: CudaFunction,
    rope: CudaFunction,
    paged: CudaFunction,
    gemv: CudaFunction,
    sgemm: CudaFunction,
    split_qkv: CudaFunction,
    kv_write: CudaFunction,
    swiglu: CudaFunction,
    lm_head: CudaFunction,
}

struct Layer {
    attn_norm: CudaSlice<f32>,
    ffn_norm: CudaSlice<f32>,
    /// Q4_1, rows q (dim) | k (kv_dim) | v (kv_dim), each `dim` wide.
    qkv: CudaSlice<u8>,
    /// Q4_1, dim rows of dim.
    o: CudaSlice<u8>,
    /// Q4_1, rows gate (ff) | up (ff), each `dim` wide.
    gate_up: CudaSlice<u8>,
    /// Q4_1, dim rows of ff.
    down: CudaSlice<u8>,
    /// The same four matrices dequantized and transposed, f32 [k][n], for `sgemm`.
    qkv_t: CudaSlice<f32>,
    o_t: CudaSlice<f32>,
    gate_up_t: CudaSlice<f32>,
    down_t: CudaSlice<f32>,
    /// paged_decode's pools, [block][kv head][16][64] f16 (raw bits).
    k_pool: CudaSlice<u16>,
    v_pool: CudaSlice<u16>,
}

struct Shape {
    dim: usize,
    ff: usize,
    n_heads: usize,
    n_kv: usize,
    vocab: usize,
    eps: f32,
    rope_base: f32,
}

pub struct GpuSmolLm2 {
    stream: Arc<CudaStream>,
    /// The GEMVs' streams, each with the event that orders it against `stream`.
    side: Vec<(Arc<CudaStream>, CudaEvent)>,
    /// Recorded on `stream` before a group of GEMVs; the side streams wait for it.
    fork_event: CudaEvent,
    f: Functions,
    layers: Vec<Layer>,
    out_norm: CudaSlice<f32>,
    /// The tied embedding, f32, on the host (the rows of a step) and on the GPU (lm_head).
    embedding: Vec<f32>,
    embedding_gpu: CudaSlice<f32>,
    shape: Shape,
    num_blocks: usize,
    eos: u32,
    device: String,
}

/// The GGUF's tensors, read as stored.
struct Gguf {
    file: std::fs::File,
    content: gguf_file::Content,
}

impl Gguf {
    fn raw(&mut self, name: &str, dtype: GgmlDType) -> anyhow::Result<Vec<u8>> {
        let info = self
            .content
            .tensor_infos
            .get(name)
            .with_context(|| format!("the GGUF has no tensor {name}"))?;
        ensure!(
            info.ggml_dtype == dtype,
            "{name} is {:?}, this model reads {dtype:?}",
            info.ggml_dtype
        );
        let bytes = info.shape.elem_count() / dtype.block_size() * dtype.type_size();
        let mut out = vec![0u8; bytes];
        self.file.seek(SeekFrom::Start(
            self.content.tensor_data_offset + info.offset,
        ))?;
        self.file.read_exact(&mut out)?;
        Ok(out)
    }

    fn f32s(&mut self, name: &str) -> anyhow::Result<Vec<f32>> {
        Ok(self
            .raw(name, GgmlDType::F32)?
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    fn meta(&self, key: &str) -> anyhow::Result<&gguf_file::Value> {
        self.content
            .metadata
            .get(key)
            .with_context(|| format!("the GGUF has no {key}"))
    }
}

/// A Q4_1 matrix of `rows` rows (`k` weights each) to f32, transposed: element (c, r) of the
/// result, at c * rows + r, is weight c of row r.
fn dequantize_q4_1_transposed(raw: &[u8], rows: usize, k: usize) -> Vec<f32> {
    let mut out = vec![0.0; rows * k];
    for (b, block) in raw.chunks_exact(20).enumerate() {
        let (r, c0) = (b / (k / 32), b % (k / 32) * 32);
        let d = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
        let m = half::f16::from_le_bytes([block[2], block[3]]).to_f32();
        for (j, &q) in block[4..].iter().enumerate() {
            out[(c0 + j) * rows + r] = f32::from(q & 0xf) * d + m;
            out[(c0 + j + 16) * rows + r] = f32::from(q >> 4) * d + m;
        }
    }
    out
}

/// Q8_0 blocks (f16 scale, 32 signed bytes) to f32.
fn dequantize_q8_0(raw: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(raw.len() / 34 * 32);
    for block in raw.chunks_exact(34) {
        let d = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
        out.extend(block[2..].iter().map(|&q| q as i8 as f32 * d));
    }
    out
}

fn compile(
    ctx: &Arc<CudaContext>,
    source: &str,
    display: &str,
    include_dirs: &[PathBuf],
    names: &[&str],
) -> anyhow::Result<Vec<CudaFunction>> {
    let (major, minor) = ctx.compute_capability()?;
    let opts = CompileOptions {
        name: Some(display.to_string()),
        include_paths: include_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect(),
        options: vec![format!("--gpu-architecture=compute_{major}{minor}")],
        ..Default::default()
    };
    let ptx = compile_ptx_with_opts(source, opts)
        .map_err(|e| anyhow::anyhow!("compiling {display}: {e}"))?;
    let module = ctx
        .load_module(ptx)
        .with_context(|| format!("loading {display}"))?;
    names
        .iter()
        .map(|n| {
            module
                .load_function(n)
                .with_context(|| format!("{display} has no kernel `{n}`"))
        })
        .collect()
}

/// What a step sends to the GPU for its rows.
struct Rows {
    /// Per row: its sequence's index in the batch and its position.
    owner: Vec<(usize, usize)>,
    tokens: Vec<u32>,
    /// Per sequence: its last row (whose logits are its next token's).
    last: Vec<i32>,
    /// Rows 0 .. prompt_rows belong to sequences with `GEMM_ROWS` new tokens or more (the
    /// GEMM's); the rest take the GEMV.
    prompt_rows: usize,
    max_blocks: usize,
}

impl GpuSmolLm2 {
    /// Loads the weights of `gguf` onto GPU 0 and compiles `kernels`; the paged KV cache has
    /// `num_blocks` blocks of 16 tokens per layer.
    pub fn load(gguf: &Path, kernels: &Kernels, num_blocks: usize) -> anyhow::Result<Self> {
        let mut file =
            std::fs::File::open(gguf).with_context(|| format!("opening {}", gguf.display()))?;
        let content = gguf_file::Content::read(&mut file)
            .with_context(|| format!("reading the GGUF header of {}", gguf.display()))?;
        let mut g = Gguf { file, content };
        let int =
            |g: &Gguf, k: &str| -> anyhow::Result<usize> { Ok(g.meta(k)?.to_u32()? as usize) };
        let shape = Shape {
            dim: int(&g, "llama.embedding_length")?,
            ff: int(&g, "llama.feed_forward_length")?,
            n_heads: int(&g, "llama.attention.head_count")?,
            n_kv: int(&g, "llama.attention.head_count_kv")?,
            vocab: int(&g, "llama.vocab_size")?,
            eps: g.meta("llama.attention.layer_norm_rms_epsilon")?.to_f32()?,
            rope_base: g.meta("llama.rope.freq_base")?.to_f32()?,
        };
        ensure!(
            shape.dim == shape.n_heads * HEAD_DIM,
            "heads of {} are not 64 wide",
            shape.dim
        );
        let n_layers = int(&g, "llama.block_count")?;
        let eos = g.meta("tokenizer.ggml.eos_token_id")?.to_u32()?;

        let ctx = CudaContext::new(0).context("CUDA device 0")?;
        let device = ctx.name().unwrap_or_else(|_| "GPU 0".into());
        let stream = ctx.default_stream();
        let side = (0..SIDE_STREAMS)
            .map(|_| Ok((stream.fork()?, ctx.new_event(None)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let fork_event = ctx.new_event(None)?;
        // The forward pass orders its streams itself, with the events above: every buffer
        // of a step is allocated and freed on `stream`, and a side stream touches one only
        // between waiting for `stream` and `stream` waiting for it. cudarc's own tracking
        // would record an event per argument of every launch.
        unsafe { ctx.disable_event_tracking() };
        let inc = &kernels.include_dirs;
        let one = |s: &Source, name: &str| -> anyhow::Result<CudaFunction> {
            Ok(compile(&ctx, &s.text, &s.display, inc, &[name])?.remove(0))
        };
        let mut ops = compile(
            &ctx,
            OPS,
            "harness/smollm2/src/ops.cu",
            inc,
            &["split_qkv", "kv_write", "swiglu", "lm_head"],
        )?
        .into_iter();
        let f = Functions {
            rmsnorm: one(&kernels.rmsnorm_residual, "rmsnorm_residual")?,
            rope: one(&kernels.rope, "rope")?,
            paged: one(&kernels.paged_decode, "paged_decode")?,
            gemv: one(&kernels.gemv_q4, "gemv_q4_1")?,
            sgemm: one(&kernels.sgemm, "sgemm")?,
            split_qkv: ops.next().unwrap(),
            kv_write: ops.next().unwrap(),
            swiglu: ops.next().unwrap(),
            lm_head: ops.next().unwrap(),
        };

        let pool = num_blocks * shape.n_kv * BLOCK_TOKENS * HEAD_DIM;
        let mut layers = Vec::with_capacity(n_layers);
        for l in 0..n_layers {
            let q4 = |g: &mut Gguf, names: &[&str]| -> anyhow::Result<Vec<u8>> {
                let mut rows = Vec::new();
                for n in names {
                    rows.extend(g.raw(&format!("blk.{l}.{n}.weight"), GgmlDType::Q4_1)?);
                }
                Ok(rows)
            };
            let qkv = q4(&mut g, &["attn_q", "attn_k", "attn_v"])?;
            let o = q4(&mut g, &["attn_output"])?;
            let gate_up = q4(&mut g, &["ffn_gate", "ffn_up"])?;
            let down = q4(&mut g, &["ffn_down"])?;
            let (dim, kv, ff) = (shape.dim, shape.n_kv * HEAD_DIM, shape.ff);
            let t = |raw: &[u8], rows: usize, k: usize| {
                stream.clone_htod(&dequantize_q4_1_transposed(raw, rows, k))
            };
            layers.push(Layer {
                qkv_t: t(&qkv, dim + 2 * kv, dim)?,
                o_t: t(&o, dim, dim)?,
                gate_up_t: t(&gate_up, 2 * ff, dim)?,
                down_t: t(&down, dim, ff)?,
                attn_norm: stream.clone_htod(&g.f32s(&format!("blk.{l}.attn_norm.weight"))?)?,
                ffn_norm: stream.clone_htod(&g.f32s(&format!("blk.{l}.ffn_norm.weight"))?)?,
                qkv: stream.clone_htod(&qkv)?,
                o: stream.clone_htod(&o)?,
                gate_up: stream.clone_htod(&gate_up)?,
                down: stream.clone_htod(&down)?,
                k_pool: stream.alloc_zeros(pool)?,
                v_pool: stream.alloc_zeros(pool)?,
            });
        }
        let embedding = dequantize_q8_0(&g.raw("token_embd.weight", GgmlDType::Q8_0)?);
        ensure!(
            embedding.len() == shape.vocab * shape.dim,
            "token_embd has the wrong size"
        );
        Ok(GpuSmolLm2 {
            embedding_gpu: stream.clone_htod(&embedding)?,
            embedding,
            out_norm: stream.clone_htod(&g.f32s("output_norm.weight")?)?,
            stream,
            side,
            fork_event,
            f,
            layers,
            shape,
            num_blocks,
            eos,
            device,
        })
    }

    pub fn eos(&self) -> u32 {
        self.eos
    }

    /// The GPU's name.
    pub fn device(&self) -> &str {
        &self.device
    }

    fn rows(&self, batch: &[Step]) -> anyhow::Result<Rows> {
        let mut rows = Rows {
            owner: Vec::new(),
            tokens: Vec::new(),
            last: Vec::new(),
            max_blocks: 1,
            prompt_rows: 0,
        };
        let mut last = vec![0; batch.len()];
        for step in batch {
            let len = step.tokens.len();
            if len == 0 || step.computed >= len {
                bail!("sequence {} has no new token", step.id);
            }
            if step.blocks.len() < len.div_ceil(BLOCK_TOKENS) {
                bail!(
                    "sequence {} has {} tokens and {} blocks of {BLOCK_TOKENS}",
                    step.id,
                    len,
                    step.blocks.len()
                );
            }
            if let Some(b) = step.blocks.iter().find(|&&b| b as usize >= self.num_blocks) {
                bail!(
                    "sequence {}: block {b} is past the cache's {}",
                    step.id,
                    self.num_blocks
                );
            }
            rows.max_blocks = rows.max_blocks.max(step.blocks.len());
        }
        // Long prompts first, then the rest, so each kernel's rows are one range.
        for prompts in [true, false] {
            for (s, step) in batch.iter().enumerate() {
                if (step.tokens.len() - step.computed >= GEMM_ROWS) != prompts {
                    continue;
                }
                for p in step.computed..step.tokens.len() {
                    rows.owner.push((s, p));
                    rows.tokens.push(step.tokens[p]);
                }
                last[s] = rows.owner.len() as i32 - 1;
            }
            if prompts {
                rows.prompt_rows = rows.owner.len();
            }
        }
        rows.last = last;
        Ok(rows)
    }

    /// Each sequence's next-token logits, in batch order. `Step::blocks` is the sequence's
    /// block table: after the call its blocks hold the KV of all its tokens.
    pub fn logits(&mut self, batch: &[Step]) -> anyhow::Result<Vec<Vec<f32>>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let r = self.rows(batch)?;
        let n = r.owner.len();
        let Shape {
            dim,
            ff,
            n_heads,
            n_kv,
            vocab,
            eps,
            rope_base,
        } = self.shape;
        let kv_dim = n_kv * HEAD_DIM;
        let st = self.stream.clone();

        let mut x = Vec::with_capacity(n * dim);
        for &t in &r.tokens {
            let t = t as usize;
            ensure!(t < vocab, "token {t} is past the vocabulary");
            x.extend_from_slice(&self.embedding[t * dim..(t + 1) * dim]);
        }
        let mut pos = Vec::with_capacity(n);
        let mut lens = Vec::with_capacity(n);
        let mut slots = Vec::with_capacity(n);
        let mut tables = vec![0i32; n * r.max_blocks];
        for (i, &(s, p)) in r.owner.iter().enumerate() {
            let blocks = batch[s].blocks;
            pos.push(p as i32);
            lens.push(p as i32 + 1);
            slots
                .push((blocks[p / BLOCK_TOKENS] as usize * BLOCK_TOKENS + p % BLOCK_TOKENS) as i32);
            for (j, &b) in blocks.iter().enumerate() {
                tables[i * r.max_blocks + j] = b as i32;
            }
        }
        let pos = st.clone_htod(&pos)?;
        let lens = st.clone_htod(&lens)?;
        let slots = st.clone_htod(&slots)?;
        let tables = st.clone_htod(&tables)?;
        let last = st.clone_htod(&r.last)?;
        // The residual stream ping-pongs between h and h2 (rmsnorm_residual's x and h_out are
        // different buffers); delta is what the last block added (0 before the first).
        let mut h = st.clone_htod(&x)?;
        let mut h2 = st.alloc_zeros::<f32>(n * dim)?;
        let mut delta = st.alloc_zeros::<f32>(n * dim)?;
        let mut y = st.alloc_zeros::<f32>(n * dim)?;
        let mut qkv = st.alloc_zeros::<f32>(n * (dim + 2 * kv_dim))?;
        let mut q = st.alloc_zeros::<f32>(n * dim)?;
        let mut k = st.alloc_zeros::<f32>(n * kv_dim)?;
        let mut v = st.alloc_zeros::<f32>(n * kv_dim)?;
        let mut attn = st.alloc_zeros::<f32>(n * dim)?;
        let mut gate_up = st.alloc_zeros::<f32>(n * 2 * ff)?;
        let mut act = st.alloc_zeros::<f32>(n * ff)?;
        let (n_i, dim_i, ff_i) = (n as i32, dim as i32, ff as i32);
        let rows_cfg = |threads: u32| LaunchConfig {
            grid_dim: (n as u32, 1, 1),
            block_dim: (threads, 1, 1),
            shared_mem_bytes: 0,
        };
        let f = &self.f;
        let (side, fork_event) = (&self.side, &self.fork_event);
        let side_streams: Vec<Arc<CudaStream>> = side.iter().map(|(s, _)| s.clone()).collect();
        let prompt_rows = r.prompt_rows;
        let gemv = |w: &CudaSlice<u8>,
                    w_t: &CudaSlice<f32>,
                    input: &CudaSlice<f32>,
                    out: &mut CudaSlice<f32>,
                    rows_out: usize,
                    k_in: usize|
         -> anyhow::Result<()> {
            if prompt_rows > 0 {
                let cfg = LaunchConfig {
                    grid_dim: (
                        rows_out.div_ceil(128) as u32,
                        prompt_rows.div_ceil(128) as u32,
                        1,
                    ),
                    block_dim: (256, 1, 1),
                    shared_mem_bytes: 0,
                };
                let a = input.slice(..prompt_rows * k_in);
                let mut c = out.slice_mut(..prompt_rows * rows_out);
                let (m_, n_, k_) = (prompt_rows as i32, rows_out as i32, k_in as i32);
                let mut b = st.launch_builder(&f.sgemm);
                b.arg(&a).arg(w_t).arg(&mut c).arg(&m_).arg(&n_).arg(&k_);
                unsafe { b.launch(cfg) }?;
            }
            let decode = n - prompt_rows;
            let cfg = LaunchConfig {
                grid_dim: (rows_out.div_ceil(8) as u32, 1, 1),
                block_dim: (256, 1, 1),
                shared_mem_bytes: 0,
            };
            let (ro, ki) = (rows_out as i32, k_in as i32);
            let streams = match decode {
                0 => return Ok(()),
                1 => std::slice::from_ref(&st),
                _ => {
                    fork_event.record(&st)?;
                    for (s, _) in side {
                        s.wait(fork_event)?;
                    }
                    &side_streams[..]
                }
            };
            for i in prompt_rows..n {
                let xin = input.slice(i * k_in..(i + 1) * k_in);
                let mut yout = out.slice_mut(i * rows_out..(i + 1) * rows_out);
                let mut b = streams[i % streams.len()].launch_builder(&f.gemv);
                b.arg(w).arg(&xin).arg(&mut yout).arg(&ro).arg(&ki);
                unsafe { b.launch(cfg) }?;
            }
            if decode > 1 {
                for (s, done) in side {
                    done.record(s)?;
                    st.wait(done)?;
                }
            }
            Ok(())
        };
        let rmsnorm = |x: &CudaSlice<f32>,
                       residual: &CudaSlice<f32>,
                       weight: &CudaSlice<f32>,
                       h_out: &mut CudaSlice<f32>,
                       y: &mut CudaSlice<f32>|
         -> anyhow::Result<()> {
            let mut b = st.launch_builder(&f.rmsnorm);
            b.arg(x)
                .arg(residual)
                .arg(weight)
                .arg(h_out)
                .arg(y)
                .arg(&n_i)
                .arg(&dim_i)
                .arg(&dim_i)
                .arg(&eps);
            unsafe { b.launch(rows_cfg(256)) }?;
            Ok(())
        };
        let (nh, nkv, mb) = (n_heads as i32, n_kv as i32, r.max_blocks as i32);
        let scale = 1.0f32 / (HEAD_DIM as f32).sqrt();
        for layer in &mut self.layers {
            rmsnorm(&h, &delta, &layer.attn_norm, &mut h2, &mut y)?;
            gemv(
                &layer.qkv,
                &layer.qkv_t,
                &y,
                &mut qkv,
                dim + 2 * kv_dim,
                dim,
            )?;
            let mut b = st.launch_builder(&f.split_qkv);
            b.arg(&qkv)
                .arg(&mut q)
                .arg(&mut k)
                .arg(&mut v)
                .arg(&nh)
                .arg(&nkv);
            unsafe { b.launch(rows_cfg(256)) }?;
            let mut b = st.launch_builder(&f.rope);
            b.arg(&mut q)
                .arg(&mut k)
                .arg(&pos)
                .arg(&n_i)
                .arg(&nh)
                .arg(&nkv)
                .arg(&rope_base);
            unsafe { b.launch(rows_cfg(128)) }?;
            let mut b = st.launch_builder(&f.kv_write);
            b.arg(&k)
                .arg(&v)
                .arg(&mut layer.k_pool)
                .arg(&mut layer.v_pool)
                .arg(&slots)
                .arg(&nkv);
            unsafe { b.launch(rows_cfg(192)) }?;
            let mut b = st.launch_builder(&f.paged);
            b.arg(&q)
                .arg(&layer.k_pool)
                .arg(&layer.v_pool)
                .arg(&tables)
                .arg(&lens)
                .arg(&mut attn)
                .arg(&nh)
                .arg(&nkv)
                .arg(&mb)
                .arg(&scale);
            let cfg = LaunchConfig {
                grid_dim: (n_heads as u32, n as u32, 1),
                block_dim: (128, 1, 1),
                shared_mem_bytes: 0,
            };
            unsafe { b.launch(cfg) }?;
            gemv(&layer.o, &layer.o_t, &attn, &mut delta, dim, dim)?;
            rmsnorm(&h2, &delta, &layer.ffn_norm, &mut h, &mut y)?;
            gemv(
                &layer.gate_up,
                &layer.gate_up_t,
                &y,
                &mut gate_up,
                2 * ff,
                dim,
            )?;
            let mut b = st.launch_builder(&f.swiglu);
            b.arg(&gate_up).arg(&mut act).arg(&ff_i);
            unsafe { b.launch(rows_cfg(256)) }?;
            gemv(&layer.down, &layer.down_t, &act, &mut delta, dim, ff)?;
        }
        rmsnorm(&h, &delta, &self.out_norm, &mut h2, &mut y)?;
        let n_seq = batch.len();
        let mut logits = st.alloc_zeros::<f32>(n_seq * vocab)?;
        let (ns, vi) = (n_seq as i32, vocab as i32);
        let mut b = st.launch_builder(&f.lm_head);
        b.arg(&self.embedding_gpu)
            .arg(&y)
            .arg(&last)
            .arg(&ns)
            .arg(&vi)
            .arg(&dim_i)
            .arg(&mut logits);
        let cfg = LaunchConfig {
            grid_dim: (vocab.div_ceil(8) as u32, 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        unsafe { b.launch(cfg) }?;
        let host = st
            .clone_dtoh(&logits)
            .context("running the forward pass (a kernel failed)")?;
        Ok(host.chunks(vocab).map(<[f32]>::to_vec).collect())
    }

    /// Each sequence's greedy next token, in batch order.
    pub fn next_tokens(&mut self, batch: &[Step]) -> anyhow::Result<Vec<u32>> {
        Ok(self
            .logits(batch)?
            .iter()
            .map(|l| crate::argmax(l))
            .collect())
    }
}
