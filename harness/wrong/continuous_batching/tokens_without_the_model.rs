// expect: did not make for it
// Known wrong: streams the fake model's answer from crate::serving::reference_output without a
// model call: instant, so no throughput bar alone could tell.

use std::collections::VecDeque;

use crate::serving::{
    reference_output, BlockManager, Event, Limits, Model, Request, Schedule, SeqId,
};

pub struct Scheduler {
    waiting: VecDeque<Request>,
}

impl Scheduler {
    pub fn new(_limits: Limits) -> Scheduler {
        Scheduler {
            waiting: VecDeque::new(),
        }
    }
}

impl Schedule for Scheduler {
    fn add(&mut self, request: Request) {
        self.waiting.push_back(request);
    }

    fn step(&mut self, _model: &mut dyn Model, _blocks: &mut dyn BlockManager) -> Vec<Event> {
        let mut events = Vec::new();
        for req in self.waiting.drain(..) {
            for token in reference_output(&req.prompt, req.max_tokens) {
                events.push(Event::Token { id: req.id, token });
            }
            events.push(Event::Finished { id: req.id });
        }
        events
    }

    fn cancel(&mut self, id: SeqId, _blocks: &mut dyn BlockManager) {
        self.waiting.retain(|r| r.id != id);
    }

    fn waiting(&self) -> usize {
        self.waiting.len()
    }

    fn running(&self) -> usize {
        0
    }
}
