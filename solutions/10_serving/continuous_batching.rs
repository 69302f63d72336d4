// continuous_batching: iteration-level scheduling over a paged KV cache (Orca, vLLM).
//
// Every `step` is one model call. Before it: every running request gets room for the token it
// got in the last call (module 08's append_token: a new block when its last one is full); when
// none is free, the newest running request is preempted (free_sequence, back to the waiting
// queue, to be recomputed from its prompt and the tokens it already has). Then waiting
// requests join, oldest first, while a batch slot and the blocks for their whole context are
// free (can_admit, add_sequence). After it: each request's token goes out at once, and a
// finished request leaves the batch and frees its blocks in the same step.

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

impl Seq {
    fn generated(&self) -> usize {
        self.tokens.len() - self.prompt_len
    }

    fn release(&mut self, blocks: &mut dyn BlockManager) {
        blocks.free_sequence(self.id);
        self.computed = 0;
    }
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

    /// Back into the queue at its arrival position, so it runs again before younger requests.
    fn requeue(&mut self, seq: Seq) {
        let at = self
            .waiting
            .iter()
            .position(|w| w.arrival > seq.arrival)
            .unwrap_or(self.waiting.len());
        self.waiting.insert(at, seq);
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

    fn step(&mut self, model: &mut dyn Model, blocks: &mut dyn BlockManager) -> Vec<Event> {
        let mut events = Vec::new();
        let bs = blocks.block_size();

        // Every running request got a token in the last call: room for it, oldest first
        // (running is kept in arrival order, so the newest is last).
        let mut i = 0;
        while i < self.running.len() {
            if blocks.append_token(self.running[i].id).is_ok() {
                i += 1;
            } else {
                let mut newest = self.running.pop().unwrap();
                newest.release(blocks);
                self.requeue(newest);
            }
        }

        // Admission, FCFS: the head waits until it fits, and nobody passes it.
        while self.running.len() < self.limits.max_batch {
            let Some(head) = self.waiting.front() else {
                break;
            };
            let longest = head.prompt_len + head.max_tokens;
            if head.prompt_len == 0
                || head.max_tokens == 0
                || longest > self.limits.max_context
                || blocks_for(longest, bs) > blocks.total()
            {
                let id = head.id;
                self.waiting.pop_front();
                events.push(Event::Rejected {
                    id,
                    reason: format!("prompt + max_tokens ({longest}) can never fit"),
                });
                continue;
            }
            if !blocks.can_admit(head.tokens.len()) {
                break;
            }
            let seq = self.waiting.pop_front().unwrap();
            blocks
                .add_sequence(seq.id, seq.tokens.len())
                .expect("can_admit said it fits");
            let at = self
                .running
                .iter()
                .position(|r| r.arrival > seq.arrival)
                .unwrap_or(self.running.len());
            self.running.insert(at, seq);
        }

        if self.running.is_empty() {
            return events;
        }
        let batch: Vec<SeqStep> = self
            .running
            .iter()
            .map(|s| SeqStep {
                id: s.id,
                tokens: &s.tokens,
                computed: s.computed,
                blocks: blocks.block_table(s.id),
            })
            .collect();
        let next = model.forward(&batch);
        let eos = model.eos();

        let mut still = Vec::with_capacity(self.running.len());
        for (mut s, token) in self.running.drain(..).zip(next) {
            s.computed = s.tokens.len();
            if token != eos {
                s.tokens.push(token);
                events.push(Event::Token { id: s.id, token });
            }
            if token == eos || s.generated() == s.max_tokens {
                s.release(blocks);
                events.push(Event::Finished { id: s.id });
            } else {
                still.push(s);
            }
        }
        self.running = still;
        events
    }

    fn cancel(&mut self, id: SeqId, blocks: &mut dyn BlockManager) {
        self.waiting.retain(|s| s.id != id);
        if let Some(i) = self.running.iter().position(|s| s.id == id) {
            self.running.remove(i).release(blocks);
        }
    }

    fn waiting(&self) -> usize {
        self.waiting.len()
    }

    fn running(&self) -> usize {
        self.running.len()
    }
}
