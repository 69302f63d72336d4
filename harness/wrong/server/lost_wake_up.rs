// expect: lost wake-up
// Known wrong: the engine checks for posted work, steps, then sleeps without checking again: a request posted during that step waits for the next one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::sse::{Event as SseEvent, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::mpsc;

use crate::serving::{decode, encode, Engine, Event, Request, SeqId, ServerConfig};

#[derive(Default)]
struct Inbox {
    new: Vec<(Request, mpsc::UnboundedSender<Event>)>,
    cancelled: Vec<SeqId>,
}

struct Shared {
    inbox: Mutex<Inbox>,
    wake: Condvar,
    config: ServerConfig,
    next_id: AtomicU64,
    /// Accepted and not yet finished: what backpressure counts.
    pending: AtomicUsize,
    queue_depth: AtomicUsize,
    running: AtomicUsize,
    blocks_used: AtomicUsize,
    tokens_total: AtomicU64,
}

impl Shared {
    fn post(&self, f: impl FnOnce(&mut Inbox)) {
        f(&mut self.inbox.lock().unwrap());
        self.wake.notify_one();
    }
}

pub async fn serve(listener: tokio::net::TcpListener, engine: Engine, config: ServerConfig) {
    let shared = Arc::new(Shared {
        inbox: Mutex::default(),
        wake: Condvar::new(),
        config,
        next_id: AtomicU64::new(1),
        pending: AtomicUsize::new(0),
        queue_depth: AtomicUsize::new(0),
        running: AtomicUsize::new(0),
        blocks_used: AtomicUsize::new(0),
        tokens_total: AtomicU64::new(0),
    });
    let for_engine = shared.clone();
    std::thread::spawn(move || engine_loop(engine, &for_engine));
    let app = Router::new()
        .route("/v1/completions", post(completions))
        .route("/metrics", get(metrics))
        .with_state(shared);
    axum::serve(listener, app).await.unwrap();
}

fn engine_loop(mut engine: Engine, shared: &Shared) {
    let mut streams: HashMap<SeqId, mpsc::UnboundedSender<Event>> = HashMap::new();
    loop {
        let inbox = std::mem::take(&mut *shared.inbox.lock().unwrap());
        for (req, tx) in inbox.new {
            streams.insert(req.id, tx);
            engine.scheduler.add(req);
        }
        for id in inbox.cancelled {
            if streams.remove(&id).is_some() {
                engine.scheduler.cancel(id, engine.blocks.as_mut());
                shared.pending.fetch_sub(1, Ordering::SeqCst);
            }
        }
        if engine.scheduler.waiting() + engine.scheduler.running() > 0 {
            let events = engine
                .scheduler
                .step(engine.model.as_mut(), engine.blocks.as_mut());
            for e in events {
                let (id, last) = match &e {
                    Event::Token { id, .. } => {
                        shared.tokens_total.fetch_add(1, Ordering::Relaxed);
                        (*id, false)
                    }
                    Event::Finished { id } | Event::Rejected { id, .. } => (*id, true),
                };
                if let Some(tx) = streams.get(&id) {
                    let _ = tx.send(e);
                }
                if last && streams.remove(&id).is_some() {
                    shared.pending.fetch_sub(1, Ordering::SeqCst);
                }
            }
        }
        if engine.scheduler.waiting() + engine.scheduler.running() == 0 {
            let guard = shared.inbox.lock().unwrap();
            drop(shared.wake.wait(guard).unwrap());
        }
        shared
            .queue_depth
            .store(engine.scheduler.waiting(), Ordering::Relaxed);
        shared
            .running
            .store(engine.scheduler.running(), Ordering::Relaxed);
        shared
            .blocks_used
            .store(engine.blocks.used(), Ordering::Relaxed);
    }
}

fn bad_request(message: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, message.into()).into_response()
}

/// Posts a cancellation when dropped before its request finished: the client went away.
struct Guard {
    id: SeqId,
    shared: Arc<Shared>,
    done: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.done {
            let id = self.id;
            self.shared.post(|inbox| inbox.cancelled.push(id));
        }
    }
}

async fn completions(State(shared): State<Arc<Shared>>, body: String) -> Response {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&body) else {
        return bad_request("the body is not JSON");
    };
    let Some(prompt) = json.get("prompt").and_then(|p| p.as_str()) else {
        return bad_request("`prompt` must be a string");
    };
    let Some(max_tokens) = json.get("max_tokens").and_then(|m| m.as_u64()) else {
        return bad_request("`max_tokens` must be a positive integer");
    };
    let stream = match json.get("stream") {
        None => false,
        Some(s) => match s.as_bool() {
            Some(b) => b,
            None => return bad_request("`stream` must be true or false"),
        },
    };
    let prompt = encode(prompt);
    if prompt.is_empty() || max_tokens == 0 {
        return bad_request("`prompt` and `max_tokens` must not be empty");
    }
    if prompt.len() + max_tokens as usize > shared.config.max_context {
        return bad_request(format!(
            "prompt ({} tokens) + max_tokens ({max_tokens}) is longer than the context ({})",
            prompt.len(),
            shared.config.max_context
        ));
    }
    // Backpressure: count first, so two racing handlers cannot both take the last place.
    if shared.pending.fetch_add(1, Ordering::SeqCst) >= shared.config.max_pending {
        shared.pending.fetch_sub(1, Ordering::SeqCst);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "the queue is full: retry later",
        )
            .into_response();
    }
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let request = Request {
        id,
        prompt,
        max_tokens: max_tokens as usize,
    };
    shared.post(|inbox| inbox.new.push((request, tx)));
    let mut guard = Guard {
        id,
        shared: shared.clone(),
        done: false,
    };

    if !stream {
        let mut tokens = Vec::new();
        while let Some(e) = rx.recv().await {
            match e {
                Event::Token { token, .. } => tokens.push(token),
                Event::Finished { .. } => break,
                Event::Rejected { reason, .. } => {
                    guard.done = true;
                    return bad_request(reason);
                }
            }
        }
        guard.done = true;
        let text: String = tokens.iter().map(|&t| decode(t)).collect();
        let body = serde_json::json!({ "id": id, "text": text, "tokens": tokens });
        return (
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
    }

    let events = futures_util::stream::unfold((rx, guard), |(mut rx, mut guard)| async move {
        if guard.done {
            return None;
        }
        let event = match rx.recv().await {
            Some(Event::Token { token, .. }) => SseEvent::default()
                .data(serde_json::json!({ "token": token, "text": decode(token) }).to_string()),
            Some(Event::Rejected { reason, .. }) => {
                guard.done = true;
                SseEvent::default().data(serde_json::json!({ "error": reason }).to_string())
            }
            Some(Event::Finished { .. }) | None => {
                guard.done = true;
                SseEvent::default().data("[DONE]")
            }
        };
        Some((Ok::<_, std::convert::Infallible>(event), (rx, guard)))
    });
    Sse::new(events).into_response()
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let gauge = |name: &str, help: &str, kind: &str, value: u64| {
        format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n")
    };
    let text = [
        gauge(
            "kernlings_queue_depth",
            "Requests waiting to run.",
            "gauge",
            shared.queue_depth.load(Ordering::Relaxed) as u64,
        ),
        gauge(
            "kernlings_running",
            "Requests in the running batch.",
            "gauge",
            shared.running.load(Ordering::Relaxed) as u64,
        ),
        gauge(
            "kernlings_blocks_used",
            "KV cache blocks allocated.",
            "gauge",
            shared.blocks_used.load(Ordering::Relaxed) as u64,
        ),
        gauge(
            "kernlings_generated_tokens_total",
            "Tokens generated since the start.",
            "counter",
            shared.tokens_total.load(Ordering::Relaxed),
        ),
    ]
    .concat();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
