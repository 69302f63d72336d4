//! The real model `kernlings serve server --model smollm2` serves: SmolLM2-135M on the CPU
//! (harness/smollm2: candle, greedy) behind the `Model` trait, and its tokenizer behind
//! `encode` and `decode`, so the learner's server streams real text unchanged.

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
