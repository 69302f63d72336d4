//! block_allocator (module 08, `.rs`): the paged KV cache's block manager. kernlings draws
//! thousands of random scenarios (a pool of 1..48 blocks, block sizes 1..16, dozens of
//! operations each, valid sequence ids), runs them through the learner's allocator in the
//! grader binary (harness/rust-graders/block_allocator.rs), and replays the log against its
//! own model here: results, the free count after every operation, and every table an
//! operation touched. The learner may number blocks its own way: a learner block is bound to
//! a model block when it first appears and must stay that block until the model frees it, so
//! a leak, a double free, a block in two tables that fork did not share, and a missed
//! copy-on-write all show at the first operation where they happen.

use std::collections::HashMap;

use rand::Rng;

use crate::grade::{Failure, RustCtx};

const BLOCK_SIZES: [usize; 5] = [16, 16, 4, 1, 3];
const MAX_LIVE: usize = 6;

#[derive(Clone, Copy, Debug)]
enum Op {
    CanAdmit(usize),
    Add(u32, usize),
    Append(u32),
    Fork(u32, u32),
    Free(u32),
}

impl Op {
    fn encode(self) -> [f32; 3] {
        let f = |x: usize| x as f32;
        match self {
            Op::CanAdmit(t) => [0.0, f(t), 0.0],
            Op::Add(s, t) => [1.0, s as f32, f(t)],
            Op::Append(s) => [2.0, s as f32, 0.0],
            Op::Fork(p, c) => [3.0, p as f32, c as f32],
            Op::Free(s) => [4.0, s as f32, 0.0],
        }
    }
    fn show(self) -> String {
        match self {
            Op::CanAdmit(t) => format!("can_admit({t})"),
            Op::Add(s, t) => format!("add_sequence(seq {s}, {t} tokens)"),
            Op::Append(s) => format!("append_token(seq {s})"),
            Op::Fork(p, c) => format!("fork(parent {p}, child {c})"),
            Op::Free(s) => format!("free_sequence(seq {s})"),
        }
    }
}

/// The harness's allocator: model block ids, reference counts, tables and lengths.
struct Model {
    bs: usize,
    free: Vec<u32>,
    refs: Vec<u32>,
    seqs: HashMap<u32, (Vec<u32>, usize)>,
}

/// What one operation did in the model.
#[derive(Default)]
struct Effect {
    ok: bool,
    admit: bool,
    cow: Option<(u32, u32)>,
    freed: Vec<u32>,
    table: Option<u32>,
}

impl Model {
    fn new(blocks: usize, bs: usize) -> Model {
        Model {
            bs,
            free: (0..blocks as u32).rev().collect(),
            refs: vec![0; blocks],
            seqs: HashMap::new(),
        }
    }
    fn take(&mut self) -> u32 {
        let b = self.free.pop().expect("checked");
        self.refs[b as usize] = 1;
        b
    }
    fn apply(&mut self, op: Op) -> Effect {
        let mut e = Effect {
            ok: true,
            ..Effect::default()
        };
        match op {
            Op::CanAdmit(t) => e.admit = t.div_ceil(self.bs) <= self.free.len(),
            Op::Add(s, t) => {
                e.ok = t.div_ceil(self.bs) <= self.free.len();
                if e.ok {
                    let table = (0..t.div_ceil(self.bs)).map(|_| self.take()).collect();
                    self.seqs.insert(s, (table, t));
                    e.table = Some(s);
                }
            }
            Op::Append(s) => {
                let (table, len) = &self.seqs[&s];
                let full = *len == table.len() * self.bs;
                let last = table.last().copied();
                let shared = last.is_some_and(|b| self.refs[b as usize] > 1);
                e.table = Some(s);
                if (full || shared) && self.free.is_empty() {
                    e.ok = false;
                    return e;
                }
                if full {
                    let b = self.take();
                    self.seqs.get_mut(&s).unwrap().0.push(b);
                } else if let (true, Some(src)) = (shared, last) {
                    let dst = self.take();
                    self.refs[src as usize] -= 1;
                    *self.seqs.get_mut(&s).unwrap().0.last_mut().unwrap() = dst;
                    e.cow = Some((src, dst));
                }
                self.seqs.get_mut(&s).unwrap().1 += 1;
            }
            Op::Fork(p, c) => {
                let entry = self.seqs[&p].clone();
                for &b in &entry.0 {
                    self.refs[b as usize] += 1;
                }
                self.seqs.insert(c, entry);
                e.table = Some(c);
            }
            Op::Free(s) => {
                for b in self.seqs.remove(&s).unwrap().0 {
                    self.refs[b as usize] -= 1;
                    if self.refs[b as usize] == 0 {
                        self.free.push(b);
                        e.freed.push(b);
                    }
                }
            }
        }
        e
    }
}

/// A random valid operation for the model's current state.
fn draw_op(rng: &mut impl Rng, m: &Model, next_id: &mut u32) -> Op {
    let live: Vec<u32> = {
        let mut v: Vec<u32> = m.seqs.keys().copied().collect();
        v.sort_unstable();
        v
    };
    let pick = |rng: &mut dyn rand::RngCore| live[rng.gen_range(0..live.len())];
    let roll = rng.gen_range(0..100);
    let tokens = rng.gen_range(0..=m.bs * 4);
    if live.is_empty() || (roll < 12 && live.len() < MAX_LIVE) {
        *next_id += 1;
        return Op::Add(*next_id, tokens);
    }
    match roll {
        0..=21 => Op::CanAdmit(tokens),
        22..=31 if live.len() < MAX_LIVE => {
            *next_id += 1;
            Op::Fork(pick(rng), *next_id)
        }
        22..=43 => Op::Free(pick(rng)),
        _ => Op::Append(pick(rng)),
    }
}

pub fn check(ctx: &mut RustCtx) -> anyhow::Result<()> {
    for size in ctx.sizes() {
        let [scenarios, ops_each] = size[..] else {
            anyhow::bail!("block_allocator sizes are [scenarios, operations each]; got {size:?}");
        };
        ctx.case(format!(
            "{scenarios} random scenarios of {ops_each} operations"
        ));
        let seed = ctx.random_index(1 << 30) as u64;
        let mut rng = crate::grade::inputs::rng(seed);
        let mut plan: Vec<(usize, usize, Vec<Op>)> = Vec::new();
        let mut encoded = Vec::new();
        for _ in 0..scenarios {
            let blocks = rng.gen_range(1..=48);
            let bs = BLOCK_SIZES[rng.gen_range(0..BLOCK_SIZES.len())];
            let mut model = Model::new(blocks, bs);
            let mut next_id = 0;
            let ops: Vec<Op> = (0..ops_each)
                .map(|_| {
                    let op = draw_op(&mut rng, &model, &mut next_id);
                    model.apply(op);
                    op
                })
                .collect();
            encoded.extend([blocks as f32, bs as f32, ops.len() as f32]);
            encoded.extend(ops.iter().flat_map(|o| o.encode()));
            plan.push((blocks, bs, ops));
        }
        let run = ctx.run(&[], &[("ops", &encoded)])?;
        let log = run.f32s("log")?;
        let panic = run
            .f32s("panicked_at")
            .ok()
            .and_then(|v| v.first().copied());
        let panic = panic.map(|at| {
            let text = run.f32s("panic_message").unwrap_or_default();
            let text: String = text
                .iter()
                .filter_map(|&c| char::from_u32(c as u32))
                .collect();
            (at as usize, text)
        });
        replay(&plan, &log, panic)?;
        let total: usize = plan.iter().map(|p| p.2.len()).sum();
        ctx.cases.push(format!(
            "{}: all {total} operations agree with kernlings' model",
            ctx.case
        ));
    }
    Ok(())
}

/// Compare the learner's log with the model, operation by operation.
/// `panic`: the operation the learner's code panicked in, and its message.
fn replay(
    plan: &[(usize, usize, Vec<Op>)],
    log: &[f32],
    panic: Option<(usize, String)>,
) -> anyhow::Result<()> {
    let mut at = 0;
    let mut index = 0;
    for (scenario, (blocks, bs, ops)) in plan.iter().enumerate() {
        let mut model = Model::new(*blocks, *bs);
        let mut l2m: HashMap<u32, u32> = HashMap::new();
        let mut m2l: HashMap<u32, u32> = HashMap::new();
        let mut history: Vec<String> = Vec::new();
        for (i, &op) in ops.iter().enumerate() {
            let e = model.apply(op);
            history.push(op.show());
            let fail = |what: String| -> anyhow::Error {
                let recent = history[history.len().saturating_sub(8)..].join(", ");
                Failure::new(
                    format!("operation #{} ({}) {what}", index + i, op.show()),
                    format!(
                        "Scenario {scenario}: a pool of {blocks} blocks of {bs} tokens; this was its \
                         operation {i}. The last operations, oldest first: {recent}.\n"
                    ),
                )
                .into()
            };
            if let Some((_, text)) = panic.as_ref().filter(|(p, _)| *p == index + i) {
                return Err(fail(format!(
                    "panicked: {text}. Out of blocks is Err(OutOfBlocks), never a panic"
                )));
            }
            let Some(head) = log.get(at..at + 5) else {
                return Err(fail("left no entry in the log".into()));
            };
            let (status, x, y, free, n) = (
                head[0],
                head[1],
                head[2],
                head[3] as usize,
                head[4] as usize,
            );
            let got_table: Vec<u32> = log[at + 5..at + 5 + n].iter().map(|&v| v as u32).collect();
            at += 5 + n;
            let got_ok = status == 0.0;
            if got_ok != e.ok {
                let say = |ok: bool| if ok { "Ok" } else { "Err(OutOfBlocks)" };
                return Err(fail(format!(
                    "returned {}, expected {} (free blocks before it: {})",
                    say(got_ok),
                    say(e.ok),
                    model.free.len()
                        + usize::from(e.ok && matches!(op, Op::Add(..) | Op::Append(_)))
                )));
            }
            if let Op::CanAdmit(_) = op {
                if (x == 1.0) != e.admit {
                    return Err(fail(format!(
                        "returned {}, expected {}: {} blocks are free",
                        x == 1.0,
                        e.admit,
                        model.free.len()
                    )));
                }
            }
            for b in &e.freed {
                if let Some(l) = m2l.remove(b) {
                    l2m.remove(&l);
                }
            }
            if free != model.free.len() {
                let why = if free > model.free.len() {
                    "more than the model: a block freed while a table still holds it (a double free, or a fork that took no reference)?"
                } else {
                    "fewer than the model: a block never given back (a leak)?"
                };
                return Err(fail(format!(
                    "left free_blocks() = {free}, expected {}: {why}",
                    model.free.len()
                )));
            }
            let Some(seq) = e.table.filter(|_| e.ok) else {
                continue;
            };
            let want = &model.seqs[&seq].0;
            let shown = |t: &[u32]| format!("{t:?}");
            if got_table.len() != want.len() {
                return Err(fail(format!(
                    "left seq {seq}'s block table with {} blocks ({}), expected {} for {} tokens of {bs}",
                    got_table.len(),
                    shown(&got_table),
                    want.len(),
                    model.seqs[&seq].1
                )));
            }
            for (pos, (&g, &w)) in got_table.iter().zip(want).enumerate() {
                let ok = match (m2l.get(&w), l2m.get(&g)) {
                    (Some(&l), _) => l == g,
                    (None, None) => (g as usize) < *blocks,
                    (None, Some(_)) => false,
                };
                if !ok {
                    let detail = match m2l.get(&w) {
                        Some(l) => format!("block {l}, which it shares or already had"),
                        None => "a newly allocated block (one no table holds)".into(),
                    };
                    return Err(fail(format!(
                        "left seq {seq}'s block table {}: entry {pos} is block {g}, expected {detail}",
                        shown(&got_table)
                    )));
                }
                m2l.insert(w, g);
                l2m.insert(g, w);
            }
            if let Op::Append(_) = op {
                let got_cow = (x >= 0.0).then_some((x as u32, y as u32));
                let want_cow = e
                    .cow
                    .map(|(s, d)| (m2l.get(&s).copied().unwrap_or(u32::MAX), m2l[&d]));
                if got_cow != want_cow {
                    return Err(fail(format!(
                        "returned the copy {got_cow:?}, expected {want_cow:?}: a block shared by a \
                         fork is copied before a sequence appends into it"
                    )));
                }
            }
        }
        index += ops.len();
    }
    Ok(())
}
