//! Grader for module 10's scheduler exercises (static_batching, continuous_batching): drives
//! the learner's `Scheduler` through traces in the fake model's virtual time, watches every
//! event and every model call, and writes what it saw to `findings.txt`:
//! `violation <text>` (the first thing that went wrong, if anything) and `metric <name> <value>`
//! lines, which kernlings holds to the bars (harness/src/grade/checks/serving.rs).

mod blocks;
mod protocol;
mod serving;

#[path = {{LEARNER}}]
mod learner;

use std::collections::HashMap;
use std::fmt::Write as _;

use protocol::Case;
use serving::*;

const COST: Cost = Cost {
    step_us: 2000.0,
    prefill_token_us: 20.0,
    decode_seq_us: 40.0,
};
/// Steps a request may wait at the head of the queue while a batch slot and its blocks are
/// free, before that counts as starving it.
const PATIENCE: usize = 2;

struct Arrival {
    at_us: f64,
    req: Request,
    /// Cancel (the client went away) once this many tokens arrived.
    cancel_after: Option<usize>,
}

struct Setup {
    max_batch: usize,
    max_context: usize,
    blocks: usize,
    block_size: usize,
}

/// What one simulated run measured.
struct Sim {
    tokens: usize,
    end_us: f64,
    /// Mean running sequences per model call while requests were waiting.
    saturated_concurrency: f64,
    preemptions: usize,
}

#[derive(Default)]
struct Seen {
    arrival: usize,
    tokens: Vec<Token>,
    done: bool,
    first_step: Option<usize>,
    waited: usize,
}

type Verdict = Result<Sim, String>;

/// The learner's scheduler runs on the allocator kernlings chose (`crate::blocks`: the learner's
/// module 08 one once it passes), the harness's baselines on its own.
#[derive(Clone, Copy, PartialEq)]
enum Allocator {
    Chosen,
    Reference,
}

fn simulate(
    sched: &mut dyn Schedule,
    setup: &Setup,
    trace: &[Arrival],
    strict: Mode,
    allocator: Allocator,
) -> Verdict {
    let (inner, whose) = match allocator {
        Allocator::Chosen => (
            blocks::allocator(setup.blocks, setup.block_size),
            blocks::WHOSE,
        ),
        Allocator::Reference => (
            Box::new(RefBlocks::new(setup.blocks, setup.block_size)) as Box<dyn BlockManager>,
            "kernlings' reference",
        ),
    };
    let (mut blocks, view) = Watched::new(inner, whose);
    let mut model = FakeModel::new(&view, COST, Clock::Virtual, setup.max_context);
    let probe = model.probe();
    let want: HashMap<SeqId, Vec<Token>> = trace
        .iter()
        .map(|a| (a.req.id, reference_output(&a.req.prompt, a.req.max_tokens)))
        .collect();
    let unfit = |a: &Arrival| {
        let longest = a.req.prompt.len() + a.req.max_tokens;
        longest > setup.max_context || blocks_for(longest, setup.block_size) > setup.blocks
    };
    let mut seen: HashMap<SeqId, Seen> = HashMap::new();
    let mut next = 0;
    let (mut steps, mut idle_steps) = (0usize, 0usize);
    let mut last_batch: Vec<SeqId> = Vec::new();
    let (mut busy_steps, mut busy_running) = (0usize, 0usize);
    let mut preemptions = 0;
    let mut tokens = 0;
    loop {
        let now = probe.lock().now_us;
        while next < trace.len() && trace[next].at_us <= now {
            let a = &trace[next];
            seen.insert(
                a.req.id,
                Seen {
                    arrival: next,
                    ..Seen::default()
                },
            );
            sched.add(a.req.clone());
            next += 1;
        }
        let open = seen.values().filter(|s| !s.done).count();
        if open == 0 {
            if next == trace.len() {
                break;
            }
            probe.lock().now_us = trace[next].at_us;
            continue;
        }
        steps += 1;
        if steps > 200_000 {
            return Err(format!(
                "after 200000 steps {open} requests are still open: does every step make progress?"
            ));
        }
        let free_before = blocks.free_blocks();
        let calls_before = probe.lock().steps.len();
        let events = sched.step(&mut model, &mut blocks);
        if let Some(v) = view.violation() {
            return Err(v);
        }
        let state = probe.lock();
        if let Some(v) = &state.violation {
            return Err(v.clone());
        }
        let calls = state.steps.len() - calls_before;
        if calls > 1 {
            return Err(format!(
                "one step called model.forward {calls} times: a step is one model call for the whole batch"
            ));
        }
        let batch: Vec<(SeqId, usize, usize)> = if calls == 1 {
            state.steps.last().unwrap().seqs.clone()
        } else {
            Vec::new()
        };
        drop(state);
        if calls == 0 && events.is_empty() {
            idle_steps += 1;
            if idle_steps > 1000 {
                let head = seen
                    .iter()
                    .filter(|(_, s)| !s.done)
                    .min_by_key(|(_, s)| s.arrival)
                    .map(|(id, s)| (*id, &trace[s.arrival]));
                let stuck = if let Some((id, a)) = head.filter(|(_, a)| unfit(a)) {
                    format!(
                        "; the oldest, request {id} (prompt {} + max_tokens {}), can never fit the \
                         context ({}) or the cache ({} tokens) and was never rejected",
                        a.req.prompt.len(),
                        a.req.max_tokens,
                        setup.max_context,
                        setup.blocks * setup.block_size
                    )
                } else if sched.running() == 0 && view.used() > 0 {
                    format!(
                        ", and {} KV blocks allocated with nothing running: blocks not freed?",
                        view.used()
                    )
                } else {
                    String::new()
                };
                return Err(format!(
                    "1000 steps in a row ran no model call and reported nothing, with {open} requests \
                     open{stuck}"
                ));
            }
        } else {
            idle_steps = 0;
        }
        if batch.len() > setup.max_batch {
            return Err(format!(
                "a model call ran {} requests, more than max_batch ({}): limits.max_batch caps a batch",
                batch.len(),
                setup.max_batch
            ));
        }
        let in_batch = |id: SeqId| batch.iter().any(|s| s.0 == id);
        // The batch's shape: who ran, who was left out, who was preempted.
        for &id in &last_batch {
            let s = &seen[&id];
            if s.done {
                continue;
            }
            match batch.iter().find(|b| b.0 == id) {
                Some(_) => {}
                None if strict == Mode::Static => {}
                None => {
                    // Out of this call while unfinished: a preemption, and it must be the newest.
                    preemptions += 1;
                    if let Some(newer) = batch
                        .iter()
                        .filter(|b| seen[&b.0].arrival > s.arrival && b.2 > 0)
                        .max_by_key(|b| seen[&b.0].arrival)
                    {
                        return Err(format!(
                            "request {id} was preempted (left out of a step, unfinished) while request {}, \
                             which arrived later, kept running: preempt the newest running request first",
                            newer.0
                        ));
                    }
                }
            }
        }
        if strict == Mode::Static && !last_batch.is_empty() {
            let survivors: Vec<SeqId> = last_batch
                .iter()
                .copied()
                .filter(|id| !seen[id].done)
                .collect();
            if let Some(b) = batch.iter().find(|b| !survivors.contains(&b.0)) {
                if !survivors.is_empty() {
                    return Err(format!(
                        "request {} joined a batch that was still running: static batching starts a new \
                         batch only when every request of the last one has finished",
                        b.0
                    ));
                }
            }
            if let Some(s) = survivors.iter().find(|id| !in_batch(**id)) {
                return Err(format!(
                    "request {s} was left out of a step before it finished: every request of the batch \
                     runs in every step until it is done"
                ));
            }
        }
        for &(id, _, computed) in &batch {
            let s = seen.get_mut(&id).unwrap();
            if s.first_step.is_none() {
                s.first_step = Some(steps);
            } else if computed > 0 && !last_batch.contains(&id) {
                return Err(format!(
                    "request {id} came back after missing a step with its KV kept: a running request \
                     decodes in every step (or is preempted: blocks freed, recomputed from 0)"
                ));
            }
        }
        if sched.waiting() > 0 && !batch.is_empty() {
            busy_steps += 1;
            busy_running += batch.len();
        }
        // The events, against the output every correct scheduler streams. A token comes from
        // this step's model call: one per request in the batch, none for anyone else.
        let mut tokened = Vec::new();
        for e in events {
            match e {
                Event::Token { id, token } => {
                    let Some(s) = seen.get_mut(&id).filter(|s| !s.done) else {
                        return Err(format!(
                            "a token for request {id}, which had finished, been cancelled or never arrived"
                        ));
                    };
                    if !in_batch(id) || tokened.contains(&id) {
                        return Err(format!(
                            "request {id} got a token this step's model call did not make for it: every \
                             token comes from model.forward, one per request per step"
                        ));
                    }
                    tokened.push(id);
                    let want = &want[&id];
                    let k = s.tokens.len();
                    if k >= want.len() || want[k] != token {
                        let again = want[..k.min(want.len())].contains(&token);
                        return Err(if again {
                            format!(
                                "request {id}'s token #{k} repeats a token it streamed already: every \
                                 token is streamed exactly once (after a recompute, only new tokens are sent)"
                            )
                        } else {
                            format!(
                                "request {id}'s token #{k} is not the model's: the output must be the same \
                                 as if it ran alone"
                            )
                        });
                    }
                    s.tokens.push(token);
                    tokens += 1;
                }
                Event::Finished { id } => {
                    let Some(s) = seen.get_mut(&id).filter(|s| !s.done) else {
                        return Err(format!("request {id} finished twice (or was never added)"));
                    };
                    if s.tokens.len() != want[&id].len() {
                        return Err(format!(
                            "request {id} finished after {} of its {} tokens",
                            s.tokens.len(),
                            want[&id].len()
                        ));
                    }
                    s.done = true;
                }
                Event::Rejected { id, reason } => {
                    let Some(s) = seen.get_mut(&id).filter(|s| !s.done) else {
                        return Err(format!("request {id} was rejected after it finished"));
                    };
                    if !unfit(&trace[s.arrival]) {
                        return Err(format!(
                            "request {id} was rejected ({reason}), but it fits the model and the KV cache"
                        ));
                    }
                    s.done = true;
                }
            }
        }
        // FCFS (after the events: a request rejected in this step no longer waits): no request starts before one that arrived earlier and still waits to start.
        for &(id, _, _) in &batch {
            if seen[&id].first_step != Some(steps) {
                continue;
            }
            let mine = seen[&id].arrival;
            if let Some((other, _)) = seen.iter().find(|(o, s)| {
                s.arrival < mine && s.first_step.is_none() && !s.done && !in_batch(**o)
            }) {
                if strict == Mode::Continuous {
                    return Err(format!(
                        "request {id} started before request {other}, which arrived earlier and was \
                         still waiting: admit in arrival order (FCFS)"
                    ));
                }
            }
        }
        // Starvation: the oldest request still waiting (new or preempted) after this step's
        // admissions, when there was room for it as well: a batch slot and its blocks, on top
        // of the blocks of the (older) requests admitted this step and the block each request
        // that was already running took for its newest token, when that token began a block
        // (module 08's append_token allocates only then). A request preempted this step took
        // none and gave its blocks back: the room counted is never more than what was free.
        // `last_batch` holds who was still running when the step began: a request that
        // finished in this step held its slot while the scheduler admitted.
        if strict == Mode::Continuous {
            let bs = setup.block_size;
            let running_before = last_batch.len();
            let admitted: Vec<&(SeqId, usize, usize)> = batch
                .iter()
                .filter(|b| !last_batch.contains(&b.0))
                .collect();
            let grew = batch
                .iter()
                .filter(|b| {
                    last_batch.contains(&b.0) && blocks_for(b.1, bs) > blocks_for(b.1 - 1, bs)
                })
                .count();
            let taken: usize = admitted.iter().map(|b| blocks_for(b.1, bs)).sum::<usize>() + grew;
            let slots = setup
                .max_batch
                .saturating_sub(running_before + admitted.len());
            if let Some((id, s)) = seen
                .iter_mut()
                .filter(|(id, s)| !s.done && !in_batch(**id) && !last_batch.contains(id))
                .min_by_key(|(_, s)| s.arrival)
            {
                let context = trace[s.arrival].req.prompt.len() + s.tokens.len();
                let room = free_before.saturating_sub(taken);
                if slots > 0 && room >= blocks_for(context, setup.block_size) {
                    s.waited += 1;
                    if s.waited > PATIENCE {
                        return Err(format!(
                            "request {id} waited {} steps while {room} KV blocks and {slots} batch \
                             slots were free: a continuous batcher admits waiting requests at every step",
                            s.waited,
                        ));
                    }
                }
            }
        }
        // Clients that leave mid-stream.
        for a in trace[..next].iter().filter(|a| a.cancel_after.is_some()) {
            let s = seen.get_mut(&a.req.id).unwrap();
            if s.done || s.tokens.len() < a.cancel_after.unwrap() {
                continue;
            }
            let held = batch
                .iter()
                .find(|b| b.0 == a.req.id)
                .map_or(0, |b| blocks_for(b.1, setup.block_size));
            let before = blocks.free_blocks();
            sched.cancel(a.req.id, &mut blocks);
            if let Some(v) = view.violation() {
                return Err(v);
            }
            let freed = blocks.free_blocks().saturating_sub(before);
            if freed < held {
                return Err(format!(
                    "cancelling request {} freed {freed} KV blocks; it held {held}: a cancelled request's \
                     blocks go back at once",
                    a.req.id
                ));
            }
            s.done = true;
        }
        last_batch = batch
            .iter()
            .map(|b| b.0)
            .filter(|id| !seen[id].done)
            .collect();
    }
    if let Some((id, s)) = seen.iter().find(|(_, s)| !s.done) {
        return Err(format!(
            "request {id} never finished ({} of its tokens streamed)",
            s.tokens.len()
        ));
    }
    if view.used() != 0 {
        return Err(format!(
            "{} KV blocks are still allocated after every request finished (blocks not freed): free \
             a request's blocks when it finishes, is preempted or is cancelled",
            view.used()
        ));
    }
    let end_us = probe.lock().now_us;
    Ok(Sim {
        tokens,
        end_us,
        saturated_concurrency: busy_running as f64 / busy_steps.max(1) as f64,
        preemptions,
    })
}

fn report(out: &mut String, name: &str, result: Verdict) -> Option<Sim> {
    match result {
        Ok(sim) => {
            writeln!(out, "ok {name}").unwrap();
            Some(sim)
        }
        Err(v) => {
            writeln!(out, "violation {name}: {v}").unwrap();
            None
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Static,
    Continuous,
}

/// A random trace: Poisson arrivals with mean gap `gap_us`; output lengths mostly short, some
/// long (`long_share` of them), so a static batch waits on its longest member.
#[allow(clippy::too_many_arguments)]
fn trace(
    rng: &mut Rng,
    n: usize,
    gap_us: f64,
    prompt: (usize, usize),
    short: (usize, usize),
    long: (usize, usize),
    long_share: f64,
    cancels: f64,
) -> Vec<Arrival> {
    let mut at = 0.0;
    (0..n)
        .map(|i| {
            at += rng.exp(gap_us);
            let p = rng.range(prompt.0, prompt.1);
            let out = if rng.unit() < long_share {
                rng.range(long.0, long.1)
            } else {
                rng.range(short.0, short.1)
            };
            let cancel_after = (rng.unit() < cancels).then(|| rng.range(0, 4));
            Arrival {
                at_us: at,
                req: Request {
                    id: 1000 + i as SeqId,
                    prompt: (0..p).map(|_| 1 + (rng.next() % 30000) as Token).collect(),
                    max_tokens: out,
                },
                cancel_after,
            }
        })
        .collect()
}

fn learner_scheduler(setup: &Setup) -> learner::Scheduler {
    learner::Scheduler::new(Limits {
        max_batch: setup.max_batch,
        max_context: setup.max_context,
    })
}

fn main() {
    let case = Case::from_args();
    let mode = if case.param("continuous") != 0.0 {
        Mode::Continuous
    } else {
        Mode::Static
    };
    let mut rng = Rng::new(case.param("seed") as u64);
    // First, so a failure names the allocator too (checks/serving.rs).
    let mut out = format!("blocks {}\n", blocks::WHOSE);

    // 1. Invariants: random arrivals, a small KV cache (continuous batching must preempt),
    // cancellations, and requests that can never fit.
    let small = Setup {
        max_batch: 8,
        max_context: 512,
        blocks: 40,
        block_size: 8,
    };
    let mut t = trace(&mut rng, 120, 3000.0, (1, 40), (1, 12), (40, 100), 0.3, 0.1);
    t[7].req.max_tokens = 600; // longer than the context
    t[31].req.prompt = vec![5; 200]; // fits the context, not the cache
    t[31].req.max_tokens = 150;
    let invariants = report(
        &mut out,
        "random trace (120 requests, 40 KV blocks of 8 tokens, cancellations)",
        simulate(
            &mut learner_scheduler(&small),
            &small,
            &t,
            mode,
            Allocator::Chosen,
        ),
    );
    if mode == Mode::Continuous {
        if let Some(sim) = &invariants {
            writeln!(out, "metric preemptions {}", sim.preemptions).unwrap();
        }
    }

    // 2. Throughput at saturating load (everything queued at once), against the harness's
    // static batcher on the same trace.
    let roomy = Setup {
        max_batch: 16,
        max_context: 256,
        blocks: 512,
        block_size: 16,
    };
    let t = trace(&mut rng, 160, 1.0, (8, 32), (2, 16), (96, 128), 0.2, 0.0);
    let base = simulate(
        &mut RefStatic::new(16, 256),
        &roomy,
        &t,
        Mode::Static,
        Allocator::Reference,
    )
    .unwrap_or_else(|v| protocol::harness_error(&format!("the reference static batcher: {v}")));
    if let Some(sim) = report(
        &mut out,
        "saturating load (160 requests, batch 16)",
        simulate(
            &mut learner_scheduler(&roomy),
            &roomy,
            &t,
            mode,
            Allocator::Chosen,
        ),
    ) {
        let tps = |s: &Sim| s.tokens as f64 / s.end_us * 1e6;
        writeln!(
            out,
            "metric throughput_vs_static {}",
            tps(&sim) / tps(&base)
        )
        .unwrap();
        writeln!(out, "metric tokens_per_s {}", tps(&sim)).unwrap();
    }

    // 3. Paged admission against max-length reservation, same KV budget, mixed lengths.
    if mode == Mode::Continuous {
        let tight = Setup {
            max_batch: 64,
            max_context: 256,
            blocks: 64,
            block_size: 16,
        };
        let t = trace(&mut rng, 150, 1.0, (8, 64), (8, 48), (49, 96), 0.5, 0.0);
        let base = simulate(
            &mut RefContinuous::new(64, 256, true),
            &tight,
            &t,
            mode,
            Allocator::Reference,
        )
        .unwrap_or_else(|v| protocol::harness_error(&format!("the reservation baseline: {v}")));
        if let Some(sim) = report(
            &mut out,
            "fixed KV budget (64 blocks of 16, contexts up to 256)",
            simulate(
                &mut learner_scheduler(&tight),
                &tight,
                &t,
                mode,
                Allocator::Chosen,
            ),
        ) {
            writeln!(
                out,
                "metric concurrency_vs_reservation {}",
                sim.saturated_concurrency / base.saturated_concurrency
            )
            .unwrap();
            writeln!(out, "metric concurrency {}", sim.saturated_concurrency).unwrap();
        }
    }
    case.write_text("findings.txt", &out);
    case.done();
}
