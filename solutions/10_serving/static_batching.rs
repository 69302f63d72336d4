// static_batching: the baseline every serving system starts from. Take up to `max_batch`
// waiting requests, reserve each one's KV for its whole length (prompt + max_tokens: a
// sequence added to the block allocator with room for all of it, so it never appends), and
// run that batch until every member has finished; only then take the next batch.

use std::collections::VecDeque;

use crate::serving::{
    blocks_for, BlockManager, Event, Limits, Model, Request, Schedule, SeqId, SeqStep, Token,
};

/// A batch member; its KV blocks are the allocator's sequence `id`.
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

    fn step(&mut self, model: &mut dyn Model, blocks: &mut dyn BlockManager) -> Vec<Event> {
        let mut events = Vec::new();
        let bs = blocks.block_size();
        if self.batch.is_empty() {
            while self.batch.len() < self.limits.max_batch {
                let Some(head) = self.waiting.front() else {
                    break;
                };
                let longest = head.prompt.len() + head.max_tokens;
                let need = blocks_for(longest, bs);
                if head.prompt.is_empty()
                    || head.max_tokens == 0
                    || longest > self.limits.max_context
                    || need > blocks.total()
                {
                    let id = head.id;
                    self.waiting.pop_front();
                    events.push(Event::Rejected {
                        id,
                        reason: format!("prompt + max_tokens ({longest}) can never fit"),
                    });
                    continue;
                }
                if !blocks.can_admit(longest) {
                    break;
                }
                let req = self.waiting.pop_front().unwrap();
                blocks
                    .add_sequence(req.id, longest)
                    .expect("can_admit said it fits");
                self.batch.push(Seq {
                    id: req.id,
                    prompt_len: req.prompt.len(),
                    tokens: req.prompt,
                    max_tokens: req.max_tokens,
                    computed: 0,
                });
            }
        }
        if self.batch.is_empty() {
            return events;
        }
        let steps: Vec<SeqStep> = self
            .batch
            .iter()
            .map(|s| SeqStep {
                id: s.id,
                tokens: &s.tokens,
                computed: s.computed,
                blocks: blocks.block_table(s.id),
            })
            .collect();
        let next = model.forward(&steps);
        let eos = model.eos();
        let mut still = Vec::new();
        for (mut s, token) in self.batch.drain(..).zip(next) {
            s.computed = s.tokens.len();
            if token != eos {
                s.tokens.push(token);
                events.push(Event::Token { id: s.id, token });
            }
            if token == eos || s.tokens.len() - s.prompt_len == s.max_tokens {
                blocks.free_sequence(s.id);
                events.push(Event::Finished { id: s.id });
            } else {
                still.push(s);
            }
        }
        self.batch = still;
        events
    }

    fn cancel(&mut self, id: SeqId, blocks: &mut dyn BlockManager) {
        self.waiting.retain(|r| r.id != id);
        if let Some(i) = self.batch.iter().position(|s| s.id == id) {
            blocks.free_sequence(self.batch.remove(i).id);
        }
    }

    fn waiting(&self) -> usize {
        self.waiting.len()
    }

    fn running(&self) -> usize {
        self.batch.len()
    }
}
