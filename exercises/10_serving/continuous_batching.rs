// continuous_batching: iteration-level scheduling over a paged KV cache (Orca, vLLM).
//
// Your static batcher makes a short request wait for the longest one in its batch, and a new
// request wait for the whole batch. A continuous batcher decides again at every step, one
// model call each. The KV cache is your module 08 block allocator (`BlockManager`: the same
// calls, the request's id as the sequence; kernlings uses yours once block_allocator passes):
//   1. Room first: every running request got a token in the last call, and that token gets
//      its KV in this one: `append_token` for each, oldest first (it takes a new block only
//      when the last one is full). When it answers `OutOfBlocks`, preempt the NEWEST running
//      request: `free_sequence` it, set its `computed` to 0 and put it back in the waiting
//      queue at its arrival position; then try again. It keeps the tokens it generated; when
//      it runs again, the model recomputes their KV from the whole context (`computed = 0`),
//      and those tokens, already streamed, are not sent again.
//   2. Admission, first come first served: while a batch slot (`limits.max_batch`) is free and
//      the allocator can admit the head's whole context, the head of the queue joins
//      (`add_sequence`). The first one that does not fit stops admission: nobody passes it.
//      Ask for what the context holds now, not what it might reach: that is what lets a fixed
//      cache hold many more sequences than reserving prompt + max_tokens each.
//   3. One `model.forward` over everything running, each with `block_table(id)` as its
//      blocks. Each token goes out as an `Event::Token` at once; a request that finished
//      (`model.eos()`, or `max_tokens` tokens) gives its sequence back and leaves the batch in
//      this same step.
// Rejections (a request that can never fit) and `cancel` work as in static_batching.
//
// How kernlings grades it, with the fake model in virtual time (crate::serving): a random
// trace with a small cache (so you must preempt), cancellations and impossible requests, every
// event checked against the output the request has when it runs alone; every allocator call
// checked (no sequence added twice, freed twice or used after its free); every model call
// checked (enough blocks, the table the allocator holds, KV kept where it says, one call per
// step, every running request in every call); FCFS; no request waits at the head of the queue
// for more than a couple of steps while there is room for it; preemption newest first; every
// block back when the trace is done. Then two bars on traces of their own: tokens/s against the harness's
// static batcher at saturating load, and mean running requests against max-length
// reservation with the same KV budget. kernlings prints both ratios and their bars.

use std::collections::VecDeque;

use crate::serving::{
    blocks_for, BlockManager, Event, Limits, Model, Request, Schedule, SeqId, SeqStep, Token,
};

struct Seq {
    id: SeqId,
    /// Arrival order: FCFS admission, newest-first preemption.
    arrival: u64,
    prompt_len: usize,
    /// The prompt, then every token generated so far (what a recompute prefills).
    tokens: Vec<Token>,
    max_tokens: usize,
    /// Tokens of `tokens` whose KV is in its blocks (the allocator's sequence `id`, while it
    /// runs; a waiting request has none).
    computed: usize,
}

pub struct Scheduler {
    limits: Limits,
    waiting: VecDeque<Seq>,
    running: Vec<Seq>,
    arrivals: u64,
}

impl Scheduler {
    pub fn new(limits: Limits) -> Scheduler {
        Scheduler {
            limits,
            waiting: VecDeque::new(),
            running: Vec::new(),
            arrivals: 0,
        }
    }
}

impl Schedule for Scheduler {
    fn add(&mut self, request: Request) {
        self.arrivals += 1;
        self.waiting.push_back(Seq {
            id: request.id,
            arrival: self.arrivals,
            prompt_len: request.prompt.len(),
            tokens: request.prompt,
            max_tokens: request.max_tokens,
            computed: 0,
        });
    }

    fn step(&mut self, _model: &mut dyn Model, _blocks: &mut dyn BlockManager) -> Vec<Event> {
        // TODO: the three parts above, in that order: room (preempting the newest), admission
        // (FCFS, what the context holds now), one model call and its events.
        todo!("continuous batching: one iteration")
    }

    fn cancel(&mut self, _id: SeqId, _blocks: &mut dyn BlockManager) {
        // TODO: drop request `id` wherever it is; a running one's sequence leaves the allocator.
        todo!("cancel a request")
    }

    fn waiting(&self) -> usize {
        self.waiting.len()
    }

    fn running(&self) -> usize {
        self.running.len()
    }
}
