//! The harness's HTTP client for the server exercise: plain requests, SSE streams timed token
//! by token, and an open-loop load generator (Poisson arrivals; every request is sent at its
//! time whether or not earlier ones have answered). Whole-request load tools (oha, goose) see
//! no first token, which is why this one is ours. Loopback only; every request has a deadline.

#![allow(dead_code)] // each grader uses the part it needs

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::serving::{reference_output, Rng, Token};

/// No request of the harness waits longer for its answer.
pub const DEADLINE: Duration = Duration::from_secs(3);

pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// One streamed completion as the client saw it.
#[derive(Default, Clone)]
pub struct Streamed {
    pub status: u16,
    /// Non-SSE answers (errors) keep their body here.
    pub body: String,
    pub tokens: Vec<Token>,
    /// When each token's event arrived, from the moment the request was sent.
    pub times: Vec<Duration>,
    pub done: bool,
    pub error: Option<String>,
}

async fn connect(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: String,
) -> Result<
    (
        hyper::Response<hyper::body::Incoming>,
        tokio::task::JoinHandle<()>,
    ),
    String,
> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect to the server: {e}"))?;
    tcp.set_nodelay(true).ok();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    let task = tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("the server closed the connection without answering ({e})"))?;
    Ok((resp, task))
}

/// A request answered as a whole.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> Result<Reply, String> {
    let go = async {
        let (resp, _task) = connect(addr, method, path, body.to_string()).await?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("reading the answer failed: {e}"))?
            .to_bytes();
        Ok(Reply {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    };
    tokio::time::timeout(DEADLINE, go)
        .await
        .map_err(|_| format!("no complete answer to {method} {path} within {DEADLINE:?}"))?
}

/// A streaming completion; `leave_after` tokens closes the connection mid-stream.
pub async fn stream(
    addr: SocketAddr,
    prompt: &str,
    max_tokens: usize,
    leave_after: Option<usize>,
) -> Streamed {
    stream_within(addr, prompt, max_tokens, leave_after, DEADLINE).await
}

pub async fn stream_within(
    addr: SocketAddr,
    prompt: &str,
    max_tokens: usize,
    leave_after: Option<usize>,
    deadline: Duration,
) -> Streamed {
    let body = serde_json::json!({ "prompt": prompt, "max_tokens": max_tokens, "stream": true })
        .to_string();
    let sent = Instant::now();
    let mut out = Streamed::default();
    let go = async {
        let (resp, task) = match connect(addr, "POST", "/v1/completions", body).await {
            Ok(r) => r,
            Err(e) => {
                out.error = Some(e);
                return;
            }
        };
        out.status = resp.status().as_u16();
        let mut body = resp.into_body();
        let mut buf = String::new();
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                out.error = Some("the stream broke off before [DONE]".into());
                return;
            };
            let Some(data) = frame.data_ref() else {
                continue;
            };
            buf.push_str(&String::from_utf8_lossy(data));
            if out.status != 200 {
                continue;
            }
            while let Some(end) = buf.find("\n\n") {
                let event: String = buf.drain(..end + 2).collect();
                for line in event.lines() {
                    let Some(data) = line.strip_prefix("data:") else {
                        continue;
                    };
                    let data = data.trim();
                    if data == "[DONE]" {
                        out.done = true;
                        continue;
                    }
                    if out.done {
                        out.error = Some("an event came after [DONE]".into());
                        return;
                    }
                    let json: serde_json::Value = match serde_json::from_str(data) {
                        Ok(j) => j,
                        Err(_) => {
                            out.error = Some(format!("an SSE event that is not JSON: {data:?}"));
                            return;
                        }
                    };
                    if let Some(e) = json.get("error") {
                        out.error = Some(format!("the server sent an error event: {e}"));
                        return;
                    }
                    let Some(t) = json.get("token").and_then(|t| t.as_u64()) else {
                        out.error = Some(format!("an SSE event without a \"token\": {data}"));
                        return;
                    };
                    out.tokens.push(t as Token);
                    out.times.push(sent.elapsed());
                    if leave_after.is_some_and(|n| out.tokens.len() >= n) {
                        task.abort();
                        return;
                    }
                }
            }
        }
        if out.status != 200 {
            out.body = buf;
        }
    };
    if tokio::time::timeout(deadline, go).await.is_err() {
        out.error = Some(format!(
            "{} tokens and no [DONE] within {deadline:?} of sending",
            out.tokens.len()
        ));
    }
    out
}

type Expected = Box<dyn Fn(&[Token], usize) -> Vec<Token> + Send + Sync>;

static EXPECTED: std::sync::OnceLock<Expected> = std::sync::OnceLock::new();

/// Check answers against `f(prompt, max_tokens)` instead of the fake model's output: a real
/// model's greedy output for each prompt alone, computed before the load.
pub fn use_expected(f: Expected) {
    if EXPECTED.set(f).is_err() {
        panic!("expected outputs were installed twice");
    }
}

fn expected(prompt: &[Token], max_tokens: usize) -> Vec<Token> {
    match EXPECTED.get() {
        Some(f) => f(prompt, max_tokens),
        None => reference_output(prompt, max_tokens),
    }
}

/// What a streamed request should have given; `None` when it did.
pub fn wrong(s: &Streamed, prompt: &str, max_tokens: usize) -> Option<String> {
    if let Some(e) = &s.error {
        return Some(e.clone());
    }
    if s.status != 200 {
        return Some(format!("answered {} ({})", s.status, s.body.trim()));
    }
    let want = expected(&crate::serving::encode(prompt), max_tokens);
    if s.tokens != want {
        let k = s
            .tokens
            .iter()
            .zip(&want)
            .take_while(|(a, b)| a == b)
            .count();
        return Some(format!(
            "streamed {} tokens, the model's output has {}; they differ from token #{k} (every token \
             once, in order)",
            s.tokens.len(),
            want.len()
        ));
    }
    if !s.done {
        return Some("the stream ended without `data: [DONE]`".into());
    }
    None
}

/// One request of a load trace.
#[derive(Clone)]
pub struct Planned {
    pub at: Duration,
    pub prompt: String,
    pub max_tokens: usize,
}

/// A trace: Poisson arrivals at `rate` per second for `count` requests; outputs mostly short,
/// `long_share` of them long.
pub fn plan(
    rng: &mut Rng,
    rate: f64,
    count: usize,
    short: (usize, usize),
    long: (usize, usize),
    long_share: f64,
) -> Vec<Planned> {
    let mut at = 0.0;
    (0..count)
        .map(|_| {
            at += rng.exp(1.0 / rate);
            let len = rng.range(16, 40);
            let prompt: String = (0..len)
                .map(|_| (b'a' + (rng.next() % 26) as u8) as char)
                .collect();
            let max_tokens = if rng.unit() < long_share {
                rng.range(long.0, long.1)
            } else {
                rng.range(short.0, short.1)
            };
            Planned {
                at: Duration::from_secs_f64(at),
                prompt,
                max_tokens,
            }
        })
        .collect()
}

/// What one load run measured.
pub struct Load {
    /// Tokens the client received.
    pub tokens: usize,
    pub offered_rps: f64,
    pub ttft_p50_ms: f64,
    pub ttft_p99_ms: f64,
    pub itl_p50_ms: f64,
    pub tokens_per_s: f64,
    /// Tokens the trace asked for per second of its arrivals: what a keeping-up server serves.
    pub offered_tokens_per_s: f64,
    pub goodput_rps: f64,
}

/// Time to first token and time per output token a request must meet to count as good.
pub const SLO_TTFT: Duration = Duration::from_millis(50);
pub const SLO_TPOT: Duration = Duration::from_millis(10);

/// Send `trace` open-loop; check every answer. `Err` is the first wrong answer. `deadline`
/// bounds each request: past the knee requests queue, and a static batcher makes the last
/// ones of a burst wait for every batch before theirs.
pub async fn run(addr: SocketAddr, trace: &[Planned], deadline: Duration) -> Result<Load, String> {
    let start = Instant::now();
    let tasks: Vec<_> = trace
        .iter()
        .cloned()
        .map(|p| {
            tokio::spawn(async move {
                tokio::time::sleep_until((start + p.at).into()).await;
                let sent = start.elapsed();
                let s = stream_within(addr, &p.prompt, p.max_tokens, None, deadline).await;
                (p, sent, s)
            })
        })
        .collect();
    let mut ttft = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    let mut itl = ttft.clone();
    let (mut tokens, mut good) = (0usize, 0usize);
    let mut last_end = Duration::ZERO;
    for t in tasks {
        let (p, sent, s) = t.await.map_err(|e| format!("a client task failed: {e}"))?;
        if let Some(w) = wrong(&s, &p.prompt, p.max_tokens) {
            return Err(format!(
                "a request sent at {:.0} ms: {w}",
                p.at.as_secs_f64() * 1e3
            ));
        }
        tokens += s.tokens.len();
        let Some(&first) = s.times.first() else {
            continue;
        };
        ttft.record(first.as_micros().max(1) as u64).unwrap();
        for w in s.times.windows(2) {
            itl.record((w[1] - w[0]).as_micros().max(1) as u64).unwrap();
        }
        let last = *s.times.last().unwrap();
        last_end = last_end.max(sent + last);
        let tpot = if s.times.len() > 1 {
            (last - first) / (s.times.len() as u32 - 1)
        } else {
            Duration::ZERO
        };
        if first <= SLO_TTFT && tpot <= SLO_TPOT {
            good += 1;
        }
    }
    let span = trace.last().map_or(1.0, |p| p.at.as_secs_f64()).max(1e-3);
    let asked: usize = trace
        .iter()
        .map(|p| expected(&crate::serving::encode(&p.prompt), p.max_tokens).len())
        .sum();
    let ms = |h: &hdrhistogram::Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1e3;
    Ok(Load {
        tokens,
        offered_rps: trace.len() as f64 / span,
        ttft_p50_ms: ms(&ttft, 0.5),
        ttft_p99_ms: ms(&ttft, 0.99),
        itl_p50_ms: ms(&itl, 0.5),
        tokens_per_s: tokens as f64 / last_end.as_secs_f64().max(1e-3),
        offered_tokens_per_s: asked as f64 / span,
        goodput_rps: good as f64 / last_end.as_secs_f64().max(1e-3),
    })
}
