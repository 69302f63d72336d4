//! Grader for module 10's server exercise: starts the learner's `serve` on loopback with the
//! fake model in real time (a few milliseconds a step) and the harness's schedulers, then
//! talks to it over HTTP: bad requests, one request streamed and not, a request that arrives
//! while the engine finishes another (lost wake-ups), a client that leaves mid-stream,
//! backpressure, /metrics, an open-loop load sweep (TTFT, inter-token latency, tokens/s,
//! goodput, the knee) and continuous against static at saturating load. It writes
//! `findings.txt` as batching.rs does. `grader --serve PORT [--smollm2 GGUF]` only serves,
//! for `kernlings serve`: the fake model, or with `--smollm2` (a grader built with the
//! `smollm2` feature) the real SmolLM2-135M on the CPU; `--serve PORT --smollm2-gpu GGUF K1..K5`
//! serves it on a GPU with the learner's kernels K1..K5, and `--bench-gpu GGUF K1..K5` measures
//! that (smollm2_bench.rs).

mod loadtest;
mod protocol;
mod serving;
#[cfg(feature = "smollm2")]
mod smollm2;
#[cfg(feature = "smollm2")]
mod smollm2_bench;

#[path = {{LEARNER}}]
mod learner;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use loadtest::{plan, request, stream, wrong, Load};
use protocol::Case;
use serving::*;

const COST: Cost = Cost {
    step_us: 2000.0,
    prefill_token_us: 20.0,
    decode_seq_us: 60.0,
};
const MAX_CONTEXT: usize = 512;
const MAX_BATCH: usize = 16;
/// Each request's deadline in the saturating runs: the static batcher's last batch starts
/// after every batch before it (about 3 s on an idle machine).
const SATURATED: Duration = Duration::from_secs(20);
/// Tokens/s at or above this share of what the trace asks for: the server keeps up.
const KEEPS_UP: f64 = 0.85;

struct Server {
    addr: SocketAddr,
    blocks: BlockView,
    probe: FakeProbe,
}

async fn start(continuous: bool, max_pending: usize) -> Result<Server, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| protocol::harness_error(&format!("cannot listen on loopback: {e}")));
    let addr = listener.local_addr().unwrap();
    let (watched, blocks) = Watched::new(Box::new(RefBlocks::new(256, 16)), "kernlings' reference");
    let model = FakeModel::new(&blocks, COST, Clock::Real, MAX_CONTEXT);
    let probe = model.probe();
    let scheduler: Box<dyn Schedule> = if continuous {
        Box::new(RefContinuous::new(MAX_BATCH, MAX_CONTEXT, false))
    } else {
        Box::new(RefStatic::new(MAX_BATCH, MAX_CONTEXT))
    };
    let engine = Engine {
        scheduler,
        model: Box::new(model),
        blocks: Box::new(watched),
    };
    let config = ServerConfig {
        max_pending,
        max_context: MAX_CONTEXT,
    };
    let task = tokio::spawn(learner::serve(listener, engine, config));
    // The harness bound the socket, so a connection queues even before `serve` accepts it:
    // one answer (any status) says it serves; no answer, and a `serve` that ended, says why.
    if let Err(e) = request(addr, "GET", "/metrics", "").await {
        let Ok(ended) = tokio::time::timeout(Duration::from_secs(2), task).await else {
            return Err(format!("GET /metrics on a new server: {e}"));
        };
        let why = match ended {
            Err(e) if e.is_panic() => {
                let p = e.into_panic();
                let text = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                format!("your `serve` panicked: {text}")
            }
            _ => "your `serve` returned at once: it must serve until the process ends".into(),
        };
        return Err(why);
    }
    Ok(Server {
        addr,
        blocks,
        probe,
    })
}

impl Server {
    fn violation(&self) -> Result<(), String> {
        match &self.probe.lock().violation {
            Some(v) => Err(format!("the engine called the model wrongly: {v}")),
            None => Ok(()),
        }
    }

    fn tokens_made(&self) -> usize {
        self.probe.lock().tokens_made
    }

    /// A load run, checked against the model: a token the client got that no model call made
    /// did not come through the engine.
    async fn load(&self, trace: &[loadtest::Planned], deadline: Duration) -> Result<Load, String> {
        let before = self.tokens_made();
        let load = loadtest::run(self.addr, trace, deadline).await?;
        let made = self.tokens_made() - before;
        if load.tokens > made {
            return Err(format!(
                "the client received {} tokens and the model made {made}: every token must come \
                 from the engine's model calls",
                load.tokens
            ));
        }
        Ok(load)
    }

    /// Every block back within `within` of going idle.
    async fn settles(&self, within: Duration, what: &str) -> Result<(), String> {
        let start = Instant::now();
        while self.blocks.used() > 0 {
            if start.elapsed() > within {
                return Err(format!(
                    "{} KV blocks still allocated {within:?} after {what}",
                    self.blocks.used()
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.violation()
    }

    async fn metrics(&self) -> Result<std::collections::HashMap<String, f64>, String> {
        let r = request(self.addr, "GET", "/metrics", "").await?;
        if r.status != 200 {
            return Err(format!("GET /metrics answered {}", r.status));
        }
        let mut m = std::collections::HashMap::new();
        for line in r
            .body
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let mut parts = line.split_whitespace();
            let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
                return Err(format!(
                    "a /metrics line that is not `name value`: {line:?}"
                ));
            };
            let value = value
                .parse()
                .map_err(|_| format!("a /metrics value that is not a number: {line:?}"))?;
            m.insert(name.to_string(), value);
        }
        for name in METRICS {
            if !m.contains_key(*name) {
                return Err(format!("GET /metrics has no `{name}`"));
            }
        }
        Ok(m)
    }
}

const METRICS: &[&str] = &[
    "kernlings_queue_depth",
    "kernlings_running",
    "kernlings_blocks_used",
    "kernlings_generated_tokens_total",
];

async fn bad_requests(s: &Server) -> Result<(), String> {
    let long = format!(r#"{{"prompt": "hi", "max_tokens": {MAX_CONTEXT}}}"#);
    let cases = [
        "this is not JSON",
        r#"{"max_tokens": 4}"#,
        r#"{"prompt": 7, "max_tokens": 4}"#,
        r#"{"prompt": "", "max_tokens": 4}"#,
        r#"{"prompt": "hi"}"#,
        r#"{"prompt": "hi", "max_tokens": 0}"#,
        r#"{"prompt": "hi", "max_tokens": -3}"#,
        r#"{"prompt": "hi", "max_tokens": "four"}"#,
        r#"{"prompt": "hi", "max_tokens": 4, "stream": "yes"}"#,
        &long,
    ];
    for body in cases {
        let r = request(s.addr, "POST", "/v1/completions", body).await?;
        if r.status != 400 || r.body.trim().is_empty() {
            return Err(format!(
                "POST /v1/completions with {body} answered {} {:?}: a bad request gets 400 and a \
                 message saying what is wrong",
                r.status,
                r.body.trim()
            ));
        }
    }
    Ok(())
}

async fn one_request(s: &Server) -> Result<(), String> {
    let prompt = "The quick brown fox";
    let want = reference_output(&encode(prompt), 12);
    let body = serde_json::json!({ "prompt": prompt, "max_tokens": 12 }).to_string();
    let r = request(s.addr, "POST", "/v1/completions", &body).await?;
    let json: serde_json::Value = serde_json::from_str(&r.body).map_err(|_| {
        format!(
            "a non-streaming completion answered {} {:?}: expected JSON",
            r.status, r.body
        )
    })?;
    let text: String = want.iter().map(|&t| decode(t)).collect();
    if r.status != 200 || json["text"] != text.as_str() {
        return Err(format!(
            "a non-streaming completion answered {} with text {}; expected 200 and {text:?}",
            r.status, json["text"]
        ));
    }
    let st = stream(s.addr, prompt, 12, None).await;
    if let Some(w) = wrong(&st, prompt, 12) {
        return Err(format!("a streaming completion: {w}"));
    }
    let m = s.metrics().await?;
    if m["kernlings_generated_tokens_total"] < (2 * want.len()) as f64 {
        return Err(format!(
            "kernlings_generated_tokens_total is {} after {} tokens were generated",
            m["kernlings_generated_tokens_total"],
            2 * want.len()
        ));
    }
    s.settles(Duration::from_secs(1), "two requests finished")
        .await
}

/// p50 time to first token of lone requests on an idle server, in ms.
async fn single_ttft(s: &Server) -> Result<f64, String> {
    let mut ttft = Vec::new();
    for i in 0..8 {
        let prompt = format!("a lone request number {i} of eight");
        let st = stream(s.addr, &prompt, 6, None).await;
        if let Some(w) = wrong(&st, &prompt, 6) {
            return Err(format!("a lone request: {w}"));
        }
        ttft.push(st.times[0].as_secs_f64() * 1e3);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    ttft.sort_by(f64::total_cmp);
    Ok(ttft[ttft.len() / 2])
}

/// A request posted while the engine runs the last step of another: an engine that checks for
/// work, steps, and then sleeps without looking again never wakes for it.
async fn wake_ups(s: &Server) -> Result<(), String> {
    for i in 0..6u32 {
        let a = tokio::spawn(stream(s.addr, "first of a pair", 1, None));
        tokio::time::sleep(Duration::from_micros(500 + 300 * u64::from(i))).await;
        let b = stream(s.addr, "second of a pair", 4, None).await;
        let a = a.await.map_err(|e| e.to_string())?;
        if let Some(w) = wrong(&a, "first of a pair", 1) {
            return Err(format!("the first of two requests: {w}"));
        }
        if let Some(w) = wrong(&b, "second of a pair", 4) {
            return Err(format!(
                "a request sent while the engine was finishing another: {w}. An engine that sleeps \
                 without checking for requests posted while it stepped misses their wake-up \
                 (a lost wake-up)"
            ));
        }
    }
    Ok(())
}

async fn disconnect(s: &Server) -> Result<(), String> {
    // Left alone, this request would run on for about a second; cancelled, it is gone at
    // the engine's next step.
    let st = stream(s.addr, "a client that will not wait", 450, Some(3)).await;
    if st.tokens.len() < 3 {
        return Err(format!(
            "a streaming request: {}",
            wrong(&st, "", 450).unwrap_or_default()
        ));
    }
    s.settles(
        Duration::from_millis(250),
        "a client closed its stream: cancel the request of a client that went away and free its blocks",
    )
    .await?;
    let m = s.metrics().await?;
    if m["kernlings_blocks_used"] != 0.0 || m["kernlings_running"] != 0.0 {
        return Err(format!(
            "with nothing running, /metrics says kernlings_blocks_used {} and kernlings_running {}",
            m["kernlings_blocks_used"], m["kernlings_running"]
        ));
    }
    Ok(())
}

async fn backpressure(s: &Server, max_pending: usize) -> Result<(), String> {
    let tasks: Vec<_> = (0..3 * max_pending)
        .map(|i| {
            let addr = s.addr;
            tokio::spawn(async move {
                let prompt = format!("one of a crowd, {i}");
                let st = stream(addr, &prompt, 48, None).await;
                (prompt, st)
            })
        })
        .collect();
    let (mut accepted, mut refused) = (0, 0);
    for t in tasks {
        let (prompt, st) = t.await.map_err(|e| e.to_string())?;
        match st.status {
            429 if !st.body.trim().is_empty() => refused += 1,
            _ => {
                if let Some(w) = wrong(&st, &prompt, 48) {
                    return Err(format!("a request in a crowd: {w}"));
                }
                accepted += 1;
            }
        }
    }
    if refused == 0 || accepted > max_pending {
        return Err(format!(
            "{} requests at once with max_pending {max_pending}: {accepted} accepted, {refused} answered \
             429 with a message. Past max_pending, answer 429: an unbounded queue only makes every \
             request late",
            3 * max_pending
        ));
    }
    s.settles(Duration::from_secs(1), "the crowd was served")
        .await
}

fn table_row(l: &Load) -> String {
    format!(
        "{:.0} req/s: TTFT p50 {:.1} ms p99 {:.1} ms, ITL p50 {:.1} ms, {:.0} tokens/s, goodput {:.0} req/s",
        l.offered_rps, l.ttft_p50_ms, l.ttft_p99_ms, l.itl_p50_ms, l.tokens_per_s, l.goodput_rps
    )
}

async fn grade(seed: u64, out: &mut String) -> Result<(), (String, String)> {
    let mut rng = Rng::new(seed);
    let fail = |case: &str| {
        let case = case.to_string();
        move |e: String| (case, e)
    };
    let c = start(true, 256).await.map_err(fail("server start"))?;
    bad_requests(&c).await.map_err(fail("bad requests"))?;
    writeln!(out, "ok bad requests (400 with a message)").unwrap();
    one_request(&c).await.map_err(fail("one request"))?;
    writeln!(out, "ok one request, streamed and not; /metrics").unwrap();
    let single = single_ttft(&c).await.map_err(fail("lone requests"))?;
    wake_ups(&c)
        .await
        .map_err(fail("requests arriving as the engine finishes"))?;
    writeln!(out, "ok requests arriving as the engine finishes another").unwrap();
    disconnect(&c)
        .await
        .map_err(fail("a client that disconnects"))?;
    writeln!(
        out,
        "ok a client that disconnects mid-stream frees its blocks"
    )
    .unwrap();
    let q = start(true, 8).await.map_err(fail("server start"))?;
    backpressure(&q, 8).await.map_err(fail("backpressure"))?;
    writeln!(out, "ok backpressure (429 past max_pending)").unwrap();

    // The sweep: Poisson arrivals at rising rates, every answer checked.
    let mut rows = Vec::new();
    // The knee: the highest rate up to which every rate kept up.
    let mut knee: Option<f64> = None;
    let mut kept_up = true;
    let mut ttft_ratio: f64 = 0.0;
    for rate in [40.0, 100.0, 180.0, 260.0, 340.0, 450.0] {
        let count = ((rate * 0.8) as usize).clamp(30, 240);
        let trace = plan(&mut rng, rate, count, (4, 24), (4, 24), 0.0);
        let load = c
            .load(&trace, loadtest::DEADLINE)
            .await
            .map_err(fail("load sweep"))?;
        c.settles(Duration::from_secs(1), "a load run ended")
            .await
            .map_err(fail("load sweep"))?;
        let keeps_up = load.tokens_per_s >= KEEPS_UP * load.offered_tokens_per_s;
        kept_up &= keeps_up;
        if kept_up {
            knee = Some(load.offered_rps);
        }
        rows.push(load);
    }
    let knee = knee.unwrap_or(rows[0].offered_rps);
    for l in rows
        .iter()
        .filter(|l| l.offered_rps <= 0.5 * knee)
        .chain(rows.first())
    {
        ttft_ratio = ttft_ratio.max(l.ttft_p50_ms / single);
    }
    for l in &rows {
        writeln!(out, "table {}", table_row(l)).unwrap();
        // The same numbers for the report's chart: rate, TTFT p50 and p99, ITL p50 (ms),
        // tokens/s, goodput.
        writeln!(
            out,
            "sweep_row {} {} {} {} {} {}",
            l.offered_rps, l.ttft_p50_ms, l.ttft_p99_ms, l.itl_p50_ms, l.tokens_per_s, l.goodput_rps
        )
        .unwrap();
    }
    writeln!(out, "metric single_ttft_ms {single}").unwrap();
    writeln!(out, "metric knee_rps {knee}").unwrap();
    writeln!(out, "metric ttft_below_knee_vs_single {ttft_ratio}").unwrap();
    writeln!(
        out,
        "metric sweep lone request TTFT {single:.1} ms; knee at {knee:.0} req/s (SLO for goodput: TTFT <= {:?}, TPOT <= {:?})",
        loadtest::SLO_TTFT,
        loadtest::SLO_TPOT
    )
    .unwrap();
    writeln!(out, "ok load sweep (every streamed answer checked)").unwrap();

    // Continuous against static, one saturating trace, the same server code.
    let s = start(false, 256).await.map_err(fail("server start"))?;
    let trace = plan(&mut rng, 10_000.0, 240, (2, 10), (80, 100), 0.1);
    let cont = c
        .load(&trace, SATURATED)
        .await
        .map_err(fail("saturating load, continuous"))?;
    let stat = s
        .load(&trace, SATURATED)
        .await
        .map_err(fail("saturating load, static"))?;
    for (srv, what) in [(&c, "continuous"), (&s, "static")] {
        srv.settles(Duration::from_secs(1), "the saturating trace ended")
            .await
            .map_err(fail(&format!("saturating load, {what}")))?;
    }
    writeln!(out, "ok saturating load, continuous and static").unwrap();
    writeln!(
        out,
        "metric throughput_vs_static {}",
        cont.tokens_per_s / stat.tokens_per_s
    )
    .unwrap();
    Ok(())
}

/// The real model `--serve` was asked for: on the CPU (`--smollm2 GGUF`) or on a GPU with the
/// learner's kernels (`--smollm2-gpu GGUF K1..K5`), and how the banner names it.
#[cfg(feature = "smollm2")]
fn real_model(args: &[String]) -> (Box<dyn Model>, String) {
    match args {
        [flag, gguf] if flag == "--smollm2" => (
            smollm2::load(gguf, MAX_CONTEXT),
            "SmolLM2-135M on the CPU (greedy)".into(),
        ),
        [flag, gguf, kernels @ ..] if flag == "--smollm2-gpu" => {
            let kernels = smollm2::kernels(kernels);
            let model = smollm2::load_gpu(gguf, &kernels, 256, MAX_CONTEXT);
            (model, "SmolLM2-135M on the GPU with your kernels (greedy)".into())
        }
        _ => panic!("--serve PORT [--smollm2 GGUF | --smollm2-gpu GGUF K1 .. K5]: {args:?}"),
    }
}

#[cfg(not(feature = "smollm2"))]
fn real_model(_: &[String]) -> (Box<dyn Model>, String) {
    panic!(
        "this grader was built without the real model: `kernlings serve server --model smollm2` \
         builds one with it"
    )
}

fn serve_forever(port: u16, real: &[String]) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("cannot listen on 127.0.0.1:{port}: {e}"));
        let (blocks, view) =
            Watched::new(Box::new(RefBlocks::new(256, 16)), "kernlings' reference");
        let (model, which): (Box<dyn Model>, String) = match real {
            [] => (
                Box::new(FakeModel::new(&view, COST, Clock::Real, MAX_CONTEXT)),
                "the fake model".into(),
            ),
            _ => real_model(real),
        };
        let max_context = model.max_context();
        let engine = Engine {
            scheduler: Box::new(RefContinuous::new(MAX_BATCH, max_context, false)),
            model,
            blocks: Box::new(blocks),
        };
        let config = ServerConfig {
            max_pending: 64,
            max_context,
        };
        println!(
            "serving on http://127.0.0.1:{port} with {which} (continuous batcher, batch \
             {MAX_BATCH}, 256 KV blocks of 16, context {max_context}, max_pending 64); Ctrl-C stops"
        );
        learner::serve(listener, engine, config).await;
        println!("serve returned: the server stopped");
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        let port = args.get(2).and_then(|p| p.parse().ok()).unwrap_or(8000);
        serve_forever(port, args.get(3..).unwrap_or_default());
        return;
    }
    #[cfg(feature = "smollm2")]
    if args.get(1).map(String::as_str) == Some("--bench-gpu") {
        smollm2_bench::run(&args[2], &args[3..]);
    }
    let case = Case::from_args();
    let seed = case.param("seed") as u64;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut out = String::new();
    if let Err((where_, what)) = rt.block_on(grade(seed, &mut out)) {
        writeln!(out, "violation {where_}: {what}").unwrap();
    }
    case.write_text("findings.txt", &out);
    case.done();
    // The learner's server tasks and engine thread never end by themselves.
    std::process::exit(0);
}
