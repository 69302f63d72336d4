//! `grader --bench-gpu GGUF RMSNORM ROPE PAGED GEMV`, for `kernlings serve server --model
//! smollm2-gpu --bench`: SmolLM2-135M on the learner's kernels, measured in one run.
//! 1. Greedy tokens on fixed prompts against candle's model on the CPU, and the logits'
//!    largest difference: the learner's kernels serve the same model.
//! 2. The same prompts batched together, and one recomputed from nothing: the same tokens
//!    (each row of a step is computed alone, so batching changes no bit).
//! 3. A load sweep through the learner's server with the harness's continuous batcher, then
//!    one saturating trace with the continuous and the static batcher; every streamed answer
//!    checked against the prompt's greedy output computed alone. Lines: `table ...`,
//!    `sweep_row ...` (as the server grader writes them, for the report's chart) and
//!    `metric ...`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::loadtest::{self, plan, request, Load};
use crate::serving::*;
use crate::smollm2;
use kernlings_smollm2::gpu::GpuSmolLm2;
use kernlings_smollm2::Step;

const MAX_CONTEXT: usize = 512;
const MAX_BATCH: usize = 16;
const BLOCKS: usize = 256;
/// Greedy tokens compared per fixed prompt.
const NEW_TOKENS: usize = 16;
const PROMPTS: &[&str] = &[
    "The capital of France is Paris. The capital of Germany is",
    "Once upon a time, in a small village,",
    "def fibonacci(n):",
    "<|im_start|>user\nWhat is the largest planet of the solar system?<|im_end|>\n<|im_start|>assistant\n",
    // Past gpu::GEMM_ROWS tokens: its prompt goes through the learner's SGEMM.
    "The history of the city begins with a small settlement on the river, where traders \
     stopped to rest on their way to the coast. Over the centuries the settlement grew into a \
     town with a market, a church and a bridge of stone, and later into a city with a \
     university, a cathedral and a harbour full of ships. Today the city is known for",
];

/// Greedy generation of every prompt together (one step for all): `max_new[i]` tokens at
/// most, EOS ends a sequence early and is not part of its output. Prompt i's KV is in blocks
/// of its own, `i * 32 ..`: the model must have `prompts.len() * 32` blocks.
fn greedy(model: &mut GpuSmolLm2, prompts: &[Vec<Token>], max_new: &[usize]) -> Vec<Vec<Token>> {
    let per_seq = blocks_for(MAX_CONTEXT, 16) as u32;
    let tables: Vec<Vec<u32>> = (0..prompts.len() as u32)
        .map(|i| (i * per_seq..(i + 1) * per_seq).collect())
        .collect();
    let mut ctx: Vec<Vec<Token>> = prompts.to_vec();
    let mut out = vec![Vec::new(); prompts.len()];
    let mut computed = vec![0; prompts.len()];
    let mut live: Vec<usize> = (0..prompts.len()).filter(|&i| max_new[i] > 0).collect();
    while !live.is_empty() {
        let steps: Vec<Step> = live
            .iter()
            .map(|&i| Step {
                id: i as u64,
                tokens: &ctx[i],
                computed: computed[i],
                blocks: &tables[i],
            })
            .collect();
        let next = model
            .next_tokens(&steps)
            .unwrap_or_else(|e| panic!("the GPU model failed: {e:#}"));
        let mut kept = Vec::new();
        for (&i, t) in live.iter().zip(next) {
            computed[i] = ctx[i].len();
            if t == model.eos() {
                continue;
            }
            out[i].push(t);
            ctx[i].push(t);
            if out[i].len() < max_new[i] {
                kept.push(i);
            }
        }
        live = kept;
    }
    out
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Part 1 and 2, twice: candle as llama.cpp computes (activations quantized to 8 bits for the
/// Q4_1 dot products), then with its weights dequantized to f32 (`CANDLE_DEQUANTIZE_ALL`, read
/// once per thread when a model loads: hence a thread each).
fn against_cpu(gguf: &str, gpu: &mut GpuSmolLm2, out: &mut Vec<String>) {
    for (label, dequantize) in [("q8-activations", false), ("f32-weights", true)] {
        if dequantize {
            std::env::set_var("CANDLE_DEQUANTIZE_ALL", "1");
        }
        let lines = std::thread::scope(|s| {
            s.spawn(|| against_candle(gguf, gpu, label))
                .join()
                .unwrap()
        });
        out.extend(lines);
    }
}

/// The GPU model's greedy tokens and logits against candle's on the CPU, prompt by prompt.
fn against_candle(gguf: &str, gpu: &mut GpuSmolLm2, label: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut cpu, tokenizer) = kernlings_smollm2::load(std::path::Path::new(gguf))
        .unwrap_or_else(|e| panic!("loading SmolLM2 on the CPU: {e:#}"));
    let prompts: Vec<Vec<Token>> = PROMPTS.iter().map(|p| tokenizer.encode(p)).collect();
    assert!(
        prompts.last().unwrap().len() >= kernlings_smollm2::gpu::GEMM_ROWS,
        "the last prompt must be long enough for the GEMM"
    );
    let mut agree = 0;
    let mut worst: f32 = 0.0;
    let alone: Vec<Vec<Token>> = prompts
        .iter()
        .map(|p| greedy(gpu, std::slice::from_ref(p), &[NEW_TOKENS]).remove(0))
        .collect();
    for (i, (p, g)) in prompts.iter().zip(&alone).enumerate() {
        let mut context = p.clone();
        let mut want = Vec::new();
        let mut computed = 0;
        for step in 0..NEW_TOKENS {
            let logits = cpu
                .logits(&[Step {
                    id: i as u64,
                    tokens: &context,
                    computed,
                    blocks: &[],
                }])
                .unwrap()
                .remove(0);
            // The logits of the same context on the GPU, while the tokens still agree.
            if step < g.len() && want == g[..step] {
                let table: Vec<u32> = (0..blocks_for(context.len(), 16) as u32).collect();
                let on_gpu = gpu
                    .logits(&[Step {
                        id: 1000 + i as u64,
                        tokens: &context,
                        computed: 0,
                        blocks: &table,
                    }])
                    .unwrap()
                    .remove(0);
                worst = worst.max(max_diff(&logits, &on_gpu));
            }
            let t = kernlings_smollm2::argmax(&logits);
            if t == cpu.eos() {
                break;
            }
            want.push(t);
            computed = context.len();
            context.push(t);
        }
        let same = want == *g;
        agree += usize::from(same);
        let first_diff = want.iter().zip(g).take_while(|(a, b)| a == b).count();
        out.push(format!(
            "greedy {label} prompt {i}: {} ({} tokens; GPU {:?}, CPU {:?})",
            if same {
                "same tokens".to_string()
            } else {
                format!("differ from token #{first_diff}")
            },
            g.len(),
            tokenizer.decode(g),
            tokenizer.decode(&want)
        ));
    }
    out.push(format!(
        "metric greedy_prompts_agreeing {label} {agree} of {}",
        prompts.len()
    ));
    out.push(format!(
        "metric logits_max_abs_diff_vs_cpu {label} {worst:.4} (over the whole vocabulary, at every step while the tokens agree; the GPU keeps f32 activations and an f16 KV cache)"
    ));
    let batched = greedy(gpu, &prompts, &vec![NEW_TOKENS; prompts.len()]);
    out.push(format!(
        "metric batched_equals_alone {}",
        batched == alone
    ));
    out
}

/// A server on loopback running the learner's `serve` with the GPU model.
async fn start(model: GpuSmolLm2, continuous: bool) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let scheduler: Box<dyn Schedule> = if continuous {
        Box::new(RefContinuous::new(MAX_BATCH, MAX_CONTEXT, false))
    } else {
        Box::new(RefStatic::new(MAX_BATCH, MAX_CONTEXT))
    };
    let engine = Engine {
        scheduler,
        model: smollm2::as_model(model, MAX_CONTEXT),
        blocks: Box::new(Watched::new(Box::new(RefBlocks::new(BLOCKS, 16)), "kernlings' reference").0),
    };
    let config = ServerConfig {
        max_pending: 4096,
        max_context: MAX_CONTEXT,
    };
    tokio::spawn(crate::learner::serve(listener, engine, config));
    request(addr, "GET", "/metrics", "")
        .await
        .unwrap_or_else(|e| panic!("the server does not answer: {e}"));
    addr
}

fn row(l: &Load) -> String {
    format!(
        "{:.1} req/s: TTFT p50 {:.1} ms p99 {:.1} ms, ITL p50 {:.2} ms, {:.0} tokens/s, goodput {:.1} req/s",
        l.offered_rps, l.ttft_p50_ms, l.ttft_p99_ms, l.itl_p50_ms, l.tokens_per_s, l.goodput_rps
    )
}

pub fn run(gguf: &str, kernel_paths: &[String]) {
    let kernels = smollm2::kernels(kernel_paths);
    let t0 = Instant::now();
    let mut gpu = smollm2::gpu_model(gguf, &kernels, 2 * MAX_BATCH * blocks_for(MAX_CONTEXT, 16));
    let mut out = vec![format!(
        "device {} (weights and kernels loaded in {:.1} s)",
        gpu.device(),
        t0.elapsed().as_secs_f64()
    )];
    against_cpu(gguf, &mut gpu, &mut out);
    for l in &out {
        println!("{l}");
    }

    // The server's model and tokenizer (encode/decode through the GGUF's BPE).
    let tokenizer = kernlings_smollm2::load_tokenizer(std::path::Path::new(gguf)).unwrap();
    let mut rng = Rng::new(2026);
    let rates = [4.0, 8.0, 16.0, 32.0, 64.0, 128.0];
    let mut traces: Vec<Vec<loadtest::Planned>> = rates
        .iter()
        .map(|&r| plan(&mut rng, r, ((r * 3.0) as usize).clamp(24, 200), (8, 24), (8, 24), 0.0))
        .collect();
    let saturating = plan(&mut rng, 10_000.0, 160, (2, 10), (80, 100), 0.1);
    traces.push(saturating.clone());

    // Every answer's expected tokens: its prompt's greedy output alone, up to its max_tokens.
    let t1 = Instant::now();
    let mut expected: HashMap<Vec<Token>, Vec<Token>> = HashMap::new();
    let mut wanted: HashMap<Vec<Token>, usize> = HashMap::new();
    for p in traces.iter().flatten() {
        let m = wanted.entry(tokenizer.encode(&p.prompt)).or_default();
        *m = (*m).max(p.max_tokens);
    }
    let all: Vec<(Vec<Token>, usize)> = wanted.into_iter().collect();
    for chunk in all.chunks(2 * MAX_BATCH) {
        let prompts: Vec<Vec<Token>> = chunk.iter().map(|(p, _)| p.clone()).collect();
        let max: Vec<usize> = chunk.iter().map(|(_, m)| *m).collect();
        let outputs = greedy(&mut gpu, &prompts, &max);
        expected.extend(prompts.into_iter().zip(outputs));
    }
    println!(
        "references: {} prompts' greedy outputs in {:.1} s",
        expected.len(),
        t1.elapsed().as_secs_f64()
    );
    loadtest::use_expected(Box::new(move |prompt, max_tokens| {
        let full = &expected[prompt];
        full[..full.len().min(max_tokens)].to_vec()
    }));
    drop(gpu);
    smollm2::install_tokenizer(tokenizer);

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let cont_model = smollm2::gpu_model(gguf, &kernels, BLOCKS);
        let c = start(cont_model, true).await;
        // A lone request's TTFT on the idle server: eight of the first trace's, one at a time.
        let mut ttft = Vec::new();
        for p in traces[0].iter().take(8) {
            let st = loadtest::stream(c, &p.prompt, p.max_tokens, None).await;
            if let Some(w) = loadtest::wrong(&st, &p.prompt, p.max_tokens) {
                panic!("a lone request: {w}");
            }
            ttft.push(st.times[0].as_secs_f64() * 1e3);
        }
        ttft.sort_by(f64::total_cmp);
        let single = ttft[ttft.len() / 2];
        println!("metric single_ttft_ms {single}");
        let mut rows = Vec::new();
        let mut knee = None;
        let mut kept_up = true;
        for (rate, trace) in rates.iter().zip(&traces) {
            let load = loadtest::run(c, trace, Duration::from_secs(60))
                .await
                .unwrap_or_else(|e| panic!("continuous, {rate} req/s: {e}"));
            kept_up &= load.tokens_per_s >= 0.85 * load.offered_tokens_per_s;
            if kept_up {
                knee = Some(load.offered_rps);
            }
            println!("table continuous {}", row(&load));
            rows.push((load.offered_rps, load.ttft_p50_ms));
            println!(
                "sweep_row {} {} {} {} {} {}",
                load.offered_rps,
                load.ttft_p50_ms,
                load.ttft_p99_ms,
                load.itl_p50_ms,
                load.tokens_per_s,
                load.goodput_rps
            );
        }
        let knee = knee.unwrap_or(rows[0].0);
        println!("metric knee_rps {knee}");
        // As the server exercise's bar: p50 TTFT at the rates up to half the knee (and the
        // lowest) against a lone request's.
        let below: f64 = rows
            .iter()
            .enumerate()
            .filter(|(i, (rps, _))| *rps <= 0.5 * knee || *i == 0)
            .map(|(_, (_, t))| t / single)
            .fold(0.0, f64::max);
        println!("metric ttft_below_knee_vs_single {below:.2} (bar 2)");
        let cont = loadtest::run(c, &saturating, Duration::from_secs(120))
            .await
            .unwrap_or_else(|e| panic!("continuous, saturating: {e}"));
        println!("table saturating continuous {}", row(&cont));
        // The static batcher over the same sweep, for the table (the chart is continuous's).
        let s = start(smollm2::gpu_model(gguf, &kernels, BLOCKS), false).await;
        for (rate, trace) in rates.iter().zip(&traces) {
            let load = loadtest::run(s, trace, Duration::from_secs(60))
                .await
                .unwrap_or_else(|e| panic!("static, {rate} req/s: {e}"));
            println!("table static {}", row(&load));
        }
        let stat = loadtest::run(s, &saturating, Duration::from_secs(120))
            .await
            .unwrap_or_else(|e| panic!("static, saturating: {e}"));
        println!("table saturating static {}", row(&stat));
        println!(
            "metric throughput_vs_static {:.2} (bar 1.5: continuous >= 1.5x static on a GPU)",
            cont.tokens_per_s / stat.tokens_per_s
        );
    });
    std::process::exit(0);
}
