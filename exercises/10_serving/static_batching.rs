// static_batching: the baseline every LLM server starts from.
//
// A decode step of a language model reads all its weights once, whether it serves one
// sequence or sixteen: batching is where throughput comes from. Static batching is the
// simplest way to batch. Take up to `limits.max_batch` waiting requests, run them together,
// one model call per step, until every one of them has finished; only then take the next batch.
//
// What kernlings gives you (crate::serving, harness/rust-graders/serving.rs):
//   - `Model::forward(&[SeqStep]) -> Vec<Token>`: one batched forward pass, one next token
//     per sequence, in batch order. A `SeqStep` is a sequence's whole context (`tokens`: the
//     prompt, then what it generated), how many of those tokens already have KV (`computed`:
//     0 on the first call, then `tokens.len() - 1`), and its KV block table (`blocks`).
//   - `BlockManager`: the paged KV cache's block allocator, your module 08 `BlockAllocator`
//     (kernlings runs your scheduler on it once block_allocator passes; on its own until then).
//     It keeps each sequence's block table, keyed by the request's id: `can_admit(tokens)`
//     asks whether a new sequence fits, `add_sequence(id, tokens)` starts one with room for
//     `tokens` tokens, `block_table(id)` is what `SeqStep::blocks` is, and
//     `free_sequence(id)` gives every block back. A static batcher reserves a request's whole
//     length (prompt + max_tokens) when it starts, so it never needs `append_token`.
//   - `Event`s that `step` returns: `Token` for every generated token at once (a server
//     streams them), `Finished` when a request is done, `Rejected` for a request that can
//     never run (prompt + max_tokens longer than `limits.max_context`, or than the whole cache).
//
// A request is done when the model returns `model.eos()` (which is not sent as a token) or
// when it has `max_tokens` tokens. Its blocks go back then.
//
// How kernlings grades it: the fake model's cost is real hardware's (a fixed weight-read
// time per step, a little per sequence) in virtual time, and its tokens are a hash of the
// context, so a lost or repeated token shows. It runs a random trace (cancellations, requests
// that cannot fit) and checks every event; then it compares your tokens/s with its own static
// batcher's on a saturating trace, and it watches that no request joins a running batch.

use std::collections::VecDeque;

use crate::serving::{
    blocks_for, BlockManager, Event, Limits, Model, Request, Schedule, SeqId, SeqStep, Token,
};

/// A request in the batch. Its KV blocks are the allocator's: the sequence `id` there.
struct Seq {
    id: SeqId,
    prompt_len: usize,
    tokens: Vec<Token>,
    max_tokens: usize,
    computed: usize,
}

pub struct Scheduler {
    limits: Limits,
    waiting: VecDeque<Request>,
    batch: Vec<Seq>,
}

impl Scheduler {
    pub fn new(limits: Limits) -> Scheduler {
        Scheduler {
            limits,
            waiting: VecDeque::new(),
            batch: Vec::new(),
        }
    }
}

impl Schedule for Scheduler {
    fn add(&mut self, request: Request) {
        self.waiting.push_back(request);
    }

    fn step(&mut self, _model: &mut dyn Model, _blocks: &mut dyn BlockManager) -> Vec<Event> {
        // TODO: when the batch is empty, fill it from the front of `waiting` (reject what can
        // never fit; stop at the first request the allocator cannot admit, and add the others
        // to it). Then one `model.forward` over the batch, each request with its block table,
        // and the events its tokens make; a finished request's sequence leaves the allocator.
        todo!("static batching: form a batch, run one step of it")
    }

    fn cancel(&mut self, _id: SeqId, _blocks: &mut dyn BlockManager) {
        // TODO: the client went away: drop request `id`, waiting or running; a running one's
        // sequence leaves the allocator.
        todo!("cancel a request")
    }

    fn waiting(&self) -> usize {
        self.waiting.len()
    }

    fn running(&self) -> usize {
        self.batch.len()
    }
}
