//! The real model `kernlings serve server --model smollm2` serves: SmolLM2-135M on the CPU
//! (harness/smollm2: candle, greedy) behind the `Model` trait, and its tokenizer behind
//! `encode` and `decode`, so the learner's server streams real text unchanged. With
//! `--model smollm2-gpu` the same model runs on a GPU on the learner's own kernels
//! (kernlings_smollm2::gpu), its KV paged in the scheduler's blocks.

use crate::serving::{use_tokenizer, Model, SeqStep, Token, Tokenize};

struct Text(kernlings_smollm2::Tokenizer);

impl Tokenize for Text {
    fn encode(&self, text: &str) -> Vec<Token> {
        self.0.encode(text)
    }
    fn decode(&self, token: Token) -> String {
        self.0.decode(&[token])
    }
}

struct SmolLm2 {
    model: kernlings_smollm2::SmolLm2,
    max_context: usize,
}

impl Model for SmolLm2 {
    fn eos(&self) -> Token {
        self.model.eos()
    }
    fn max_context(&self) -> usize {
        self.max_context
    }
    fn forward(&mut self, batch: &[SeqStep]) -> Vec<Token> {
        let steps: Vec<kernlings_smollm2::Step> = batch
            .iter()
            .map(|s| kernlings_smollm2::Step {
                id: s.id,
                tokens: s.tokens,
                computed: s.computed,
                blocks: s.blocks,
            })
            .collect();
        self.model
            .next_tokens(&steps)
            .unwrap_or_else(|e| panic!("SmolLM2 failed: {e:#}"))
    }
}

/// The model from `gguf`, its context cut to `max_context` (the CPU is slow); its tokenizer
/// becomes `encode` and `decode`.
pub fn load(gguf: &str, max_context: usize) -> Box<dyn Model> {
    let (model, tokenizer) = kernlings_smollm2::load(std::path::Path::new(gguf))
        .unwrap_or_else(|e| panic!("loading SmolLM2 from {gguf}: {e:#}"));
    use_tokenizer(Box::new(Text(tokenizer)));
    Box::new(SmolLm2 {
        max_context: max_context.min(model.context()),
        model,
    })
}

struct GpuSmolLm2 {
    model: kernlings_smollm2::gpu::GpuSmolLm2,
    max_context: usize,
}

impl Model for GpuSmolLm2 {
    fn eos(&self) -> Token {
        self.model.eos()
    }
    fn max_context(&self) -> usize {
        self.max_context
    }
    fn forward(&mut self, batch: &[SeqStep]) -> Vec<Token> {
        let steps: Vec<kernlings_smollm2::Step> = batch
            .iter()
            .map(|s| kernlings_smollm2::Step {
                id: s.id,
                tokens: s.tokens,
                computed: s.computed,
                blocks: s.blocks,
            })
            .collect();
        self.model
            .next_tokens(&steps)
            .unwrap_or_else(|e| panic!("SmolLM2 on the GPU failed: {e:#}"))
    }
}

/// The learner's five kernels, named on the command line in this order (kernlings passes
/// them), and NVRTC's include directories from `KERNLINGS_NVRTC_INCLUDE` (`:`-separated).
pub fn kernels(paths: &[String]) -> kernlings_smollm2::gpu::Kernels {
    let [rmsnorm, rope, paged, gemv, sgemm] = paths else {
        panic!(
            "five kernel files are needed: rmsnorm_residual, rope, paged_decode, gemv_q4, \
             sgemm_2d_blocktile"
        );
    };
    let source = |p: &String| kernlings_smollm2::gpu::Source {
        display: p.clone(),
        text: std::fs::read_to_string(p).unwrap_or_else(|e| panic!("reading {p}: {e}")),
    };
    kernlings_smollm2::gpu::Kernels {
        rmsnorm_residual: source(rmsnorm),
        rope: source(rope),
        paged_decode: source(paged),
        gemv_q4: source(gemv),
        sgemm: source(sgemm),
        include_dirs: std::env::var("KERNLINGS_NVRTC_INCLUDE")
            .unwrap_or_default()
            .split(':')
            .filter(|d| !d.is_empty())
            .map(Into::into)
            .collect(),
    }
}

/// The GPU model (its KV cache `num_blocks` blocks of 16), without installing the tokenizer.
pub fn gpu_model(
    gguf: &str,
    kernels: &kernlings_smollm2::gpu::Kernels,
    num_blocks: usize,
) -> kernlings_smollm2::gpu::GpuSmolLm2 {
    kernlings_smollm2::gpu::GpuSmolLm2::load(std::path::Path::new(gguf), kernels, num_blocks)
        .unwrap_or_else(|e| panic!("loading SmolLM2 onto the GPU from {gguf}: {e:#}"))
}

/// The model on the GPU behind `Model`, its tokenizer installed as `encode` and `decode`.
pub fn load_gpu(
    gguf: &str,
    kernels: &kernlings_smollm2::gpu::Kernels,
    num_blocks: usize,
    max_context: usize,
) -> Box<dyn Model> {
    let model = gpu_model(gguf, kernels, num_blocks);
    let tokenizer = kernlings_smollm2::load_tokenizer(std::path::Path::new(gguf))
        .unwrap_or_else(|e| panic!("reading the tokenizer of {gguf}: {e:#}"));
    install_tokenizer(tokenizer);
    Box::new(GpuSmolLm2 { model, max_context })
}

/// The GGUF's tokenizer as `encode` and `decode`.
pub fn install_tokenizer(tokenizer: kernlings_smollm2::Tokenizer) {
    use_tokenizer(Box::new(Text(tokenizer)));
}

/// Boxes a loaded GPU model as a `Model` (the tokenizer is installed once, by `load_gpu`).
pub fn as_model(
    model: kernlings_smollm2::gpu::GpuSmolLm2,
    max_context: usize,
) -> Box<dyn Model> {
    Box::new(GpuSmolLm2 { model, max_context })
}
