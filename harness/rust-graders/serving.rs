//! Module 10's harness-owned serving parts, compiled into every serving grader as
//! `crate::serving`: the request and event types, the model and block-allocator interfaces a
//! scheduler talks to, the fake model CI grades with, the reference block allocator, the
//! watcher every allocator runs behind, and the harness's reference schedulers (the baselines
//! the bars compare with, and what the server exercise serves with).
//!
//! The `Model` trait is shaped for every model: the fake, SmolLM2 on the CPU (candle, in
//! harness/smollm2, served by `kernlings serve server --model smollm2`) and, still to come,
//! SmolLM2 on a GPU with the learner's kernels get the same batch — each sequence's whole
//! context, how much of it already has KV, and its block table — so paged attention can find
//! the KV. `BlockManager` is module 08's `BlockAllocator` API: the scheduler graders run on the
//! learner's own allocator once it passes (harness/rust-graders/blocks_module08.rs), on
//! `RefBlocks` until then.

#![allow(dead_code)] // each grader uses the part it needs

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub type SeqId = u64;
pub type Token = u32;
pub type BlockId = u32;

/// One completion request, as the scheduler receives it.
#[derive(Debug, Clone)]
pub struct Request {
    pub id: SeqId,
    pub prompt: Vec<Token>,
    /// Stop after this many generated tokens (or at the model's end-of-sequence token).
    pub max_tokens: usize,
}

/// What a scheduler step reports. The end-of-sequence token is never sent as a `Token`: it
/// ends the sequence (`Finished`).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Token {
        id: SeqId,
        token: Token,
    },
    Finished {
        id: SeqId,
    },
    /// The request can never run (longer than the model's context, or than the whole KV
    /// cache): it is answered with this error instead of waiting forever.
    Rejected {
        id: SeqId,
        reason: String,
    },
}

/// One sequence in a model call.
pub struct SeqStep<'a> {
    pub id: SeqId,
    /// The whole context: the prompt, then every token generated so far.
    pub tokens: &'a [Token],
    /// How many of `tokens` already have their KV in `blocks` (0: prefill, or recompute after
    /// a preemption; `tokens.len() - 1`: an ordinary decode step).
    pub computed: usize,
    /// The sequence's KV block table; after the call it must hold KV for every token, so it
    /// needs at least `blocks_for(tokens.len(), block_size)` blocks.
    pub blocks: &'a [BlockId],
}

/// A language model as a scheduler sees it: one call runs one batched forward pass and
/// returns each sequence's next token, in batch order.
pub trait Model: Send {
    fn eos(&self) -> Token;
    /// The longest context (prompt plus output) a sequence may reach.
    fn max_context(&self) -> usize;
    fn forward(&mut self, batch: &[SeqStep]) -> Vec<Token>;
}

/// What `add_sequence` and `append_token` answer when the blocks they need are not free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfBlocks;

/// A paged KV cache's block allocator, per sequence: module 08's `BlockAllocator` API (its
/// `fork` aside: no scheduler here shares blocks). The allocator owns each sequence's block
/// table; a scheduler asks for room and passes `block_table(id)` to the model.
pub trait BlockManager: Send {
    fn block_size(&self) -> usize;
    fn total(&self) -> usize;
    fn free_blocks(&self) -> usize;
    /// Whether a new sequence of `tokens` tokens fits now.
    fn can_admit(&self, tokens: usize) -> bool;
    /// Start `seq` with room for `tokens` tokens: all of its blocks, or none.
    fn add_sequence(&mut self, seq: SeqId, tokens: usize) -> Result<(), OutOfBlocks>;
    /// Room for one more token of `seq` (a new block when its last one is full).
    /// `Ok(Some((src, dst)))` is a copy-on-write of a shared block, which only `fork` makes.
    fn append_token(&mut self, seq: SeqId) -> Result<Option<(BlockId, BlockId)>, OutOfBlocks>;
    /// Every block of `seq` back to the pool.
    fn free_sequence(&mut self, seq: SeqId);
    /// `seq`'s physical blocks in token order: what `SeqStep::blocks` is.
    fn block_table(&self, seq: SeqId) -> &[BlockId];
    fn used(&self) -> usize {
        self.total() - self.free_blocks()
    }
}

/// Blocks that hold the KV of `tokens` tokens.
pub fn blocks_for(tokens: usize, block_size: usize) -> usize {
    tokens.div_ceil(block_size)
}

/// What a scheduler is built with.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The most sequences in one model call.
    pub max_batch: usize,
    /// The model's context: prompt + max_tokens beyond it can never run.
    pub max_context: usize,
}

/// A scheduler: requests in, one model call per `step`, events out.
pub trait Schedule: Send {
    fn add(&mut self, request: Request);
    /// One iteration: at most one `model.forward` call.
    fn step(&mut self, model: &mut dyn Model, blocks: &mut dyn BlockManager) -> Vec<Event>;
    /// Drop a request wherever it is (the client went away) and free its blocks. No event.
    fn cancel(&mut self, id: SeqId, blocks: &mut dyn BlockManager);
    /// Requests added and not yet running (preempted ones included).
    fn waiting(&self) -> usize;
    fn running(&self) -> usize;
}

/// The harness's block allocator: module 08's, without fork (a free list and one table per
/// sequence). What the schedulers run on until the learner's block_allocator passes, and what
/// the baselines and the server always run on.
pub struct RefBlocks {
    block_size: usize,
    total: usize,
    free: Vec<BlockId>,
    /// Per sequence: its table and the tokens it has room for.
    seqs: HashMap<SeqId, (Vec<BlockId>, usize)>,
}

impl RefBlocks {
    pub fn new(total: usize, block_size: usize) -> RefBlocks {
        RefBlocks {
            block_size,
            total,
            free: (0..total as BlockId).rev().collect(),
            seqs: HashMap::new(),
        }
    }
}

impl BlockManager for RefBlocks {
    fn block_size(&self) -> usize {
        self.block_size
    }
    fn total(&self) -> usize {
        self.total
    }
    fn free_blocks(&self) -> usize {
        self.free.len()
    }
    fn can_admit(&self, tokens: usize) -> bool {
        blocks_for(tokens, self.block_size) <= self.free.len()
    }
    fn add_sequence(&mut self, seq: SeqId, tokens: usize) -> Result<(), OutOfBlocks> {
        if !self.can_admit(tokens) {
            return Err(OutOfBlocks);
        }
        let table = self
            .free
            .split_off(self.free.len() - blocks_for(tokens, self.block_size));
        self.seqs.insert(seq, (table, tokens));
        Ok(())
    }
    fn append_token(&mut self, seq: SeqId) -> Result<Option<(BlockId, BlockId)>, OutOfBlocks> {
        let (table, tokens) = self.seqs.get_mut(&seq).expect("a live sequence");
        if *tokens == table.len() * self.block_size {
            table.push(self.free.pop().ok_or(OutOfBlocks)?);
        }
        *tokens += 1;
        Ok(None)
    }
    fn free_sequence(&mut self, seq: SeqId) {
        let (table, _) = self.seqs.remove(&seq).expect("a live sequence");
        self.free.extend(table);
    }
    fn block_table(&self, seq: SeqId) -> &[BlockId] {
        &self.seqs[&seq].0
    }
}

/// The `BlockManager` a scheduler is handed: the allocator the grader chose (the learner's
/// module 08 one, module 08's solution, or `RefBlocks`) behind a watcher. Whichever allocator
/// runs, the same checks hold, so they live here and not in one allocator: a call the scheduler
/// gets wrong (a sequence added twice, freed twice, or used after its free) is recorded and
/// never reaches the allocator; every answer of the allocator is checked against the paging
/// rules (tables as long as their tokens need, no block in two tables, the free count adds up).
/// A wrong call is answered as if it worked (Ok, an empty table), so the scheduler goes on to
/// the end of its step and the grader reports the call instead of a panic it led to.
/// The tables are mirrored in a `BlockView`, which the fake model and the graders read while
/// the scheduler owns this.
pub struct Watched {
    inner: Box<dyn BlockManager>,
    view: BlockView,
}

/// What the allocator holds, as the watcher saw it; shared with the fake model and graders.
#[derive(Clone)]
pub struct BlockView(Arc<Mutex<Ledger>>);

struct Ledger {
    /// Whose allocator it is, for messages: "your 08 block_allocator", ...
    whose: String,
    block_size: usize,
    total: usize,
    /// Per sequence: its table and the tokens it has room for.
    tables: HashMap<SeqId, (Vec<BlockId>, usize)>,
    owner: HashMap<BlockId, SeqId>,
    violation: Option<String>,
}

impl Ledger {
    fn expected_free(&self) -> usize {
        self.total - self.owner.len()
    }
    fn flag(&mut self, what: String) {
        self.violation.get_or_insert(what);
    }
    fn broken(&mut self, what: String) {
        let whose = self.whose.clone();
        self.flag(format!(
            "the block allocator ({whose}) broke its contract: {what}"
        ));
    }
    /// Take `table`, the allocator's answer for `seq` with room for `tokens`, if it is one.
    fn adopt(&mut self, seq: SeqId, tokens: usize, table: &[BlockId]) {
        let need = blocks_for(tokens, self.block_size);
        let old = self
            .tables
            .get(&seq)
            .map(|t| t.0.clone())
            .unwrap_or_default();
        if table.len() != need || !table.starts_with(&old) {
            return self.broken(format!(
                "request {seq}'s table is {table:?} with room for {tokens} tokens; it needs {need} \
                 blocks of {} and keeps the ones it had ({old:?})",
                self.block_size
            ));
        }
        for &b in &table[old.len()..] {
            if b as usize >= self.total {
                return self.broken(format!(
                    "it handed out block {b}; its blocks are 0..{}",
                    self.total
                ));
            }
            if let Some(other) = self.owner.insert(b, seq) {
                return self.broken(format!(
                    "block {b} is in the tables of requests {other} and {seq}"
                ));
            }
        }
        self.tables.insert(seq, (table.to_vec(), tokens));
    }
}

impl Watched {
    pub fn new(inner: Box<dyn BlockManager>, whose: &str) -> (Watched, BlockView) {
        let view = BlockView(Arc::new(Mutex::new(Ledger {
            whose: whose.to_string(),
            block_size: inner.block_size(),
            total: inner.total(),
            tables: HashMap::new(),
            owner: HashMap::new(),
            violation: None,
        })));
        let watched = Watched {
            inner,
            view: view.clone(),
        };
        (watched, view)
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.view.0.lock().unwrap()
    }

    /// A call naming a sequence the allocator does not hold: the scheduler's mistake.
    fn unknown(&self, call: &str, seq: SeqId) -> bool {
        let mut l = self.ledger();
        if l.tables.contains_key(&seq) {
            return false;
        }
        l.flag(format!(
            "{call}({seq}): request {seq} has no KV blocks in the allocator (never added with \
             add_sequence, or freed already)"
        ));
        true
    }

    fn check_free(&self) {
        let free = self.inner.free_blocks();
        let mut l = self.ledger();
        if free != l.expected_free() {
            let (held, total) = (l.owner.len(), l.total);
            l.broken(format!(
                "free_blocks() is {free}, but its tables hold {held} of its {total} blocks"
            ));
        }
    }
}

impl BlockManager for Watched {
    fn block_size(&self) -> usize {
        self.inner.block_size()
    }
    fn total(&self) -> usize {
        self.inner.total()
    }
    fn free_blocks(&self) -> usize {
        self.inner.free_blocks()
    }
    fn can_admit(&self, tokens: usize) -> bool {
        let yes = self.inner.can_admit(tokens);
        let mut l = self.ledger();
        if yes != (blocks_for(tokens, l.block_size) <= l.expected_free()) {
            let free = l.expected_free();
            l.broken(format!(
                "can_admit({tokens}) is {yes} with {free} blocks free"
            ));
        }
        yes
    }
    fn add_sequence(&mut self, seq: SeqId, tokens: usize) -> Result<(), OutOfBlocks> {
        if self.ledger().tables.contains_key(&seq) {
            self.ledger().flag(format!(
                "add_sequence({seq}): request {seq} still has the KV blocks it was added with, \
                 not freed: free_sequence a request when it finishes, is preempted or is cancelled"
            ));
            return Ok(());
        }
        let result = self.inner.add_sequence(seq, tokens);
        match result {
            Ok(()) => {
                let table = self.inner.block_table(seq).to_vec();
                self.ledger().adopt(seq, tokens, &table);
            }
            Err(OutOfBlocks) => {
                let mut l = self.ledger();
                if blocks_for(tokens, l.block_size) <= l.expected_free() {
                    let free = l.expected_free();
                    l.broken(format!(
                        "add_sequence({seq}, {tokens} tokens) is out of blocks with {free} free"
                    ));
                }
            }
        }
        self.check_free();
        result
    }
    fn append_token(&mut self, seq: SeqId) -> Result<Option<(BlockId, BlockId)>, OutOfBlocks> {
        if self.unknown("append_token", seq) {
            return Ok(None);
        }
        let result = self.inner.append_token(seq);
        let (table, tokens) = self.ledger().tables[&seq].clone();
        match result {
            Ok(None) => {
                let now = self.inner.block_table(seq).to_vec();
                self.ledger().adopt(seq, tokens + 1, &now);
            }
            Ok(Some(pair)) => self.ledger().broken(format!(
                "append_token({seq}) copied a block {pair:?}, but no block is shared (nothing was forked)"
            )),
            Err(OutOfBlocks) => {
                let mut l = self.ledger();
                if tokens < table.len() * l.block_size || l.expected_free() > 0 {
                    let free = l.expected_free();
                    l.broken(format!(
                        "append_token({seq}) is out of blocks with {free} free and {tokens} tokens \
                         in {} blocks",
                        table.len()
                    ));
                }
            }
        }
        self.check_free();
        result
    }
    fn free_sequence(&mut self, seq: SeqId) {
        if self.unknown("free_sequence", seq) {
            return;
        }
        self.inner.free_sequence(seq);
        {
            let mut l = self.ledger();
            let (table, _) = l.tables.remove(&seq).unwrap();
            for b in table {
                l.owner.remove(&b);
            }
        }
        self.check_free();
    }
    fn block_table(&self, seq: SeqId) -> &[BlockId] {
        if self.unknown("block_table", seq) {
            return &[];
        }
        self.inner.block_table(seq)
    }
}

impl BlockView {
    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.0.lock().unwrap()
    }
    pub fn block_size(&self) -> usize {
        self.lock().block_size
    }
    /// Blocks in some sequence's table.
    pub fn used(&self) -> usize {
        self.lock().owner.len()
    }
    pub fn free(&self) -> usize {
        self.lock().expected_free()
    }
    pub fn whose(&self) -> String {
        self.lock().whose.clone()
    }
    /// `seq`'s table, when the allocator holds it.
    pub fn table(&self, seq: SeqId) -> Option<Vec<BlockId>> {
        self.lock().tables.get(&seq).map(|t| t.0.clone())
    }
    /// The first wrong call of the scheduler, or wrong answer of the allocator.
    pub fn violation(&self) -> Option<String> {
        self.lock().violation.clone()
    }
}

/// The fake model's time: a decode step reads all weights once (`step_us`, whatever the
/// batch), then pays a little per prompt token and per decoded sequence. So batching pays,
/// as on real hardware, where decode is bound by reading the weights.
#[derive(Clone, Copy, Debug)]
pub struct Cost {
    pub step_us: f64,
    pub prefill_token_us: f64,
    pub decode_seq_us: f64,
}

impl Cost {
    pub fn of(&self, batch: &[SeqStep]) -> f64 {
        let new: usize = batch
            .iter()
            .filter(|s| s.tokens.len() - s.computed > 1)
            .map(|s| s.tokens.len() - s.computed)
            .sum();
        let decodes = batch
            .iter()
            .filter(|s| s.tokens.len() - s.computed == 1)
            .count();
        self.step_us + new as f64 * self.prefill_token_us + decodes as f64 * self.decode_seq_us
    }
}

/// The fake's vocabulary: token 0 is end-of-sequence, about one token in a thousand.
pub const EOS: Token = 0;
const VOCAB: u64 = 32_000;

fn fnv(h: u64, token: Token) -> u64 {
    let mut h = h;
    for b in token.to_le_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}
const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// The fake's next token: a hash of the whole context, so any mistake in a context (a token
/// lost or doubled on recompute) changes every token after it.
fn next_of(hash: u64) -> Token {
    let h = hash ^ (hash >> 29);
    if h % 1000 == 0 {
        EOS
    } else {
        1 + (h % (VOCAB - 1)) as Token
    }
}

/// What the fake model answers for `prompt` with `max_tokens`, EOS not included: the output
/// every correct scheduler must stream, preempted or not.
pub fn reference_output(prompt: &[Token], max_tokens: usize) -> Vec<Token> {
    let mut h = prompt.iter().fold(FNV_START, |h, &t| fnv(h, t));
    let mut out = Vec::new();
    while out.len() < max_tokens {
        let t = next_of(h);
        if t == EOS {
            break;
        }
        out.push(t);
        h = fnv(h, t);
    }
    out
}

/// A real model's tokenizer, which `encode` and `decode` use once it is installed.
pub trait Tokenize: Send + Sync {
    fn encode(&self, text: &str) -> Vec<Token>;
    fn decode(&self, token: Token) -> String;
}

static TOKENIZER: std::sync::OnceLock<Box<dyn Tokenize>> = std::sync::OnceLock::new();

/// Make `encode` and `decode` a real model's (before serving it); the fake's otherwise.
pub fn use_tokenizer(tokenizer: Box<dyn Tokenize>) {
    if TOKENIZER.set(tokenizer).is_err() {
        panic!("a tokenizer was installed twice");
    }
}

/// The prompt's tokens. The fake tokenizer: one token per byte of the prompt (plus one, so no
/// byte is EOS).
pub fn encode(text: &str) -> Vec<Token> {
    match TOKENIZER.get() {
        Some(t) => t.encode(text),
        None => text.bytes().map(|b| Token::from(b) + 1).collect(),
    }
}

/// How a token reads in a completion.
pub fn decode(token: Token) -> String {
    match TOKENIZER.get() {
        Some(t) => t.decode(token),
        None => format!(" t{token}"),
    }
}

/// One model call, as the graders see it afterwards.
#[derive(Clone, Debug)]
pub struct StepRecord {
    /// (sequence, context length, computed) in batch order.
    pub seqs: Vec<(SeqId, usize, usize)>,
    /// Model time when the call returned, microseconds from the start.
    pub end_us: f64,
}

/// Virtual time (the scheduler graders: exact and instant) or real sleeps (the server).
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Clock {
    Virtual,
    Real,
}

/// What the fake model knows, shared with the graders through `FakeProbe`.
#[derive(Default)]
pub struct FakeState {
    pub now_us: f64,
    /// Tokens returned by every call: no one streams more than the model made.
    pub tokens_made: usize,
    pub steps: Vec<StepRecord>,
    /// The first thing a scheduler did wrong in a model call.
    pub violation: Option<String>,
    /// Per sequence: the longest valid context seen (prompt and every token returned), the
    /// hash of each of its prefixes, the prompt's length, and the last block table.
    seqs: HashMap<SeqId, SeqKnown>,
}

struct SeqKnown {
    context: Vec<Token>,
    hashes: Vec<u64>,
    prompt_len: usize,
    blocks: Vec<BlockId>,
    computed: usize,
}

/// The fake model. Checks every call against what a correct scheduler can send, and records
/// the first violation instead of failing the call, so a grader can say what went wrong.
pub struct FakeModel {
    state: Arc<Mutex<FakeState>>,
    blocks: BlockView,
    cost: Cost,
    clock: Clock,
    max_context: usize,
    started: Instant,
    keep_steps: bool,
}

#[derive(Clone)]
pub struct FakeProbe(Arc<Mutex<FakeState>>);

impl FakeProbe {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.0.lock().unwrap()
    }
}

impl FakeModel {
    pub fn new(blocks: &BlockView, cost: Cost, clock: Clock, max_context: usize) -> FakeModel {
        FakeModel {
            state: Arc::default(),
            blocks: blocks.clone(),
            cost,
            clock,
            max_context,
            started: Instant::now(),
            keep_steps: clock == Clock::Virtual,
        }
    }

    pub fn probe(&self) -> FakeProbe {
        FakeProbe(self.state.clone())
    }

    /// Why this call cannot be right, if it cannot.
    fn audit(&self, state: &mut FakeState, batch: &[SeqStep]) -> Option<String> {
        if batch.is_empty() {
            return Some("model.forward was called with an empty batch".into());
        }
        // A wrong block call before this one (the watcher's) comes first.
        if let Some(v) = self.blocks.violation() {
            return Some(v);
        }
        let bs = self.blocks.block_size();
        let mut seen_ids = Vec::new();
        let mut seen_blocks = HashMap::new();
        for s in batch {
            if seen_ids.contains(&s.id) {
                return Some(format!("request {} is in one model call twice", s.id));
            }
            seen_ids.push(s.id);
            if s.computed >= s.tokens.len() {
                return Some(format!(
                    "request {} is in a model call with nothing to compute (computed = {}, context {} tokens)",
                    s.id,
                    s.computed,
                    s.tokens.len()
                ));
            }
            if s.tokens.len() > self.max_context {
                return Some(format!(
                    "request {}'s context reached {} tokens, past the model's {}",
                    s.id,
                    s.tokens.len(),
                    self.max_context
                ));
            }
            let need = blocks_for(s.tokens.len(), bs);
            if s.blocks.len() < need {
                return Some(format!(
                    "request {} has {} KV blocks for {} tokens of context: it needs {need} (block size {bs})",
                    s.id,
                    s.blocks.len(),
                    s.tokens.len()
                ));
            }
            // The KV goes where the allocator's table says: the table the scheduler passes
            // is (a prefix of) the one the allocator holds for this request now.
            let Some(table) = self.blocks.table(s.id) else {
                return Some(format!(
                    "request {} is in a model call with no KV blocks in the allocator (never \
                     added with add_sequence, or freed already)",
                    s.id
                ));
            };
            if !table.starts_with(s.blocks) {
                return Some(format!(
                    "request {}'s blocks in the model call ({:?}) are not its block table in the \
                     allocator ({table:?}): pass blocks.block_table(id) as it is now",
                    s.id, s.blocks
                ));
            }
            for &b in &s.blocks[..need] {
                if let Some(other) = seen_blocks.insert(b, s.id) {
                    return Some(format!(
                        "KV block {b} is in the block tables of requests {other} and {}",
                        s.id
                    ));
                }
            }
            match state.seqs.get(&s.id) {
                None => {
                    if s.computed != 0 {
                        return Some(format!(
                            "request {}'s first model call says {} tokens are computed already",
                            s.id, s.computed
                        ));
                    }
                }
                Some(k) => {
                    let n = s.tokens.len();
                    if n < k.prompt_len || n > k.context.len() || s.tokens != &k.context[..n] {
                        return Some(format!(
                            "request {}'s context is not its prompt and the tokens generated so far \
                             ({n} tokens given; prompt {} + {} generated): a token lost or doubled?",
                            s.id,
                            k.prompt_len,
                            k.context.len() - k.prompt_len - 1
                        ));
                    }
                    if s.computed > 0 {
                        let kept = blocks_for(s.computed, bs);
                        if s.computed > k.computed
                            || k.blocks.len() < kept
                            || s.blocks[..kept] != k.blocks[..kept]
                        {
                            return Some(format!(
                                "request {} says {} tokens have KV, but its KV blocks changed or were never \
                                 computed (after a preemption, recompute from computed = 0)",
                                s.id, s.computed
                            ));
                        }
                    }
                }
            }
        }
        None
    }
}

impl Model for FakeModel {
    fn eos(&self) -> Token {
        EOS
    }
    fn max_context(&self) -> usize {
        self.max_context
    }
    fn forward(&mut self, batch: &[SeqStep]) -> Vec<Token> {
        let cost = self.cost.of(batch);
        let mut state = self.state.lock().unwrap();
        if state.violation.is_none() {
            state.violation = self.audit(&mut state, batch);
        }
        let mut out = Vec::with_capacity(batch.len());
        for s in batch {
            let k = state.seqs.entry(s.id).or_insert_with(|| SeqKnown {
                context: s.tokens.to_vec(),
                hashes: s
                    .tokens
                    .iter()
                    .scan(FNV_START, |h, &t| {
                        *h = fnv(*h, t);
                        Some(*h)
                    })
                    .collect(),
                prompt_len: s.tokens.len(),
                blocks: Vec::new(),
                computed: 0,
            });
            // A context that disagrees with what was seen is already a violation; answer
            // from the hash of what was given so the call still returns something.
            let n = s.tokens.len();
            let token = if n <= k.context.len() && s.tokens == &k.context[..n] {
                let t = next_of(k.hashes[n - 1]);
                if n == k.context.len() && t != EOS {
                    k.hashes.push(fnv(k.hashes[n - 1], t));
                    k.context.push(t);
                }
                t
            } else {
                next_of(s.tokens.iter().fold(FNV_START, |h, &t| fnv(h, t)))
            };
            k.blocks = s.blocks.to_vec();
            k.computed = n;
            out.push(token);
        }
        state.tokens_made += out.len();
        match self.clock {
            Clock::Virtual => state.now_us += cost,
            Clock::Real => {
                drop(state);
                std::thread::sleep(Duration::from_secs_f64(cost * 1e-6));
                state = self.state.lock().unwrap();
                state.now_us = self.started.elapsed().as_secs_f64() * 1e6;
            }
        }
        if self.keep_steps {
            let end_us = state.now_us;
            state.steps.push(StepRecord {
                seqs: batch
                    .iter()
                    .map(|s| (s.id, s.tokens.len(), s.computed))
                    .collect(),
                end_us,
            });
        }
        out
    }
}

/// A sequence inside the reference schedulers. A running one has a sequence in the block
/// allocator (its table is `blocks.block_table(id)`); a waiting one has none.
struct Seq {
    id: SeqId,
    arrival: u64,
    tokens: Vec<Token>,
    generated: usize,
    max_tokens: usize,
    computed: usize,
}

fn free_all(seq: &mut Seq, blocks: &mut dyn BlockManager) {
    blocks.free_sequence(seq.id);
    seq.computed = 0;
}

/// Run `running` for one model call and hand out its tokens; finished sequences leave
/// `running` with their blocks freed.
fn run_batch(
    running: &mut Vec<Seq>,
    model: &mut dyn Model,
    blocks: &mut dyn BlockManager,
    events: &mut Vec<Event>,
) {
    if running.is_empty() {
        return;
    }
    let batch: Vec<SeqStep> = running
        .iter()
        .map(|s| SeqStep {
            id: s.id,
            tokens: &s.tokens,
            computed: s.computed,
            blocks: blocks.block_table(s.id),
        })
        .collect();
    let out = model.forward(&batch);
    let eos = model.eos();
    let mut kept = Vec::with_capacity(running.len());
    for (mut s, t) in running.drain(..).zip(out) {
        s.computed = s.tokens.len();
        if t != eos {
            events.push(Event::Token { id: s.id, token: t });
            s.tokens.push(t);
            s.generated += 1;
        }
        if t == eos || s.generated == s.max_tokens {
            free_all(&mut s, blocks);
            events.push(Event::Finished { id: s.id });
        } else {
            kept.push(s);
        }
    }
    *running = kept;
}

/// Why a request can never run here, if it cannot.
fn unfit(req: &Request, max_context: usize, blocks: &dyn BlockManager) -> Option<String> {
    let longest = req.prompt.len() + req.max_tokens;
    if req.prompt.is_empty() || req.max_tokens == 0 {
        return Some("the prompt and max_tokens must not be empty".into());
    }
    if longest > max_context {
        return Some(format!(
            "prompt ({}) + max_tokens ({}) is longer than the model's context ({max_context})",
            req.prompt.len(),
            req.max_tokens
        ));
    }
    if blocks_for(longest, blocks.block_size()) > blocks.total() {
        return Some(format!(
            "prompt + max_tokens needs more KV blocks than the cache has ({})",
            blocks.total()
        ));
    }
    None
}

/// The harness's static batcher: take up to `max_batch` requests, reserve each one's KV for
/// prompt + max_tokens (a sequence added with room for all of them, so it never appends), run
/// them all to completion, then take the next batch.
pub struct RefStatic {
    max_batch: usize,
    max_context: usize,
    waiting: VecDeque<(Request, u64)>,
    running: Vec<Seq>,
    arrivals: u64,
}

impl RefStatic {
    pub fn new(max_batch: usize, max_context: usize) -> RefStatic {
        RefStatic {
            max_batch,
            max_context,
            waiting: VecDeque::new(),
            running: Vec::new(),
            arrivals: 0,
        }
    }
}

impl Schedule for RefStatic {
    fn add(&mut self, request: Request) {
        self.arrivals += 1;
        self.waiting.push_back((request, self.arrivals));
    }
    fn step(&mut self, model: &mut dyn Model, blocks: &mut dyn BlockManager) -> Vec<Event> {
        let mut events = Vec::new();
        if self.running.is_empty() {
            while self.running.len() < self.max_batch {
                let Some((req, _)) = self.waiting.front() else {
                    break;
                };
                if let Some(reason) = unfit(req, self.max_context, blocks) {
                    let id = req.id;
                    self.waiting.pop_front();
                    events.push(Event::Rejected { id, reason });
                    continue;
                }
                let longest = req.prompt.len() + req.max_tokens;
                if blocks.add_sequence(req.id, longest).is_err() {
                    break;
                }
                let (req, arrival) = self.waiting.pop_front().unwrap();
                self.running.push(Seq {
                    id: req.id,
                    arrival,
                    tokens: req.prompt,
                    generated: 0,
                    max_tokens: req.max_tokens,
                    computed: 0,
                });
            }
        }
        run_batch(&mut self.running, model, blocks, &mut events);
        events
    }
    fn cancel(&mut self, id: SeqId, blocks: &mut dyn BlockManager) {
        self.waiting.retain(|(r, _)| r.id != id);
        if let Some(i) = self.running.iter().position(|s| s.id == id) {
            free_all(&mut self.running.remove(i), blocks);
        }
    }
    fn waiting(&self) -> usize {
        self.waiting.len()
    }
    fn running(&self) -> usize {
        self.running.len()
    }
}

/// The harness's continuous batcher (iteration-level scheduling over paged KV, preemption by
/// recompute, newest first). With `reserve_max` it reserves the model's whole context for
/// every sequence at admission instead (and never appends): the max-length reservation paging
/// is measured against.
pub struct RefContinuous {
    max_batch: usize,
    max_context: usize,
    reserve_max: bool,
    waiting: VecDeque<Seq>,
    running: Vec<Seq>,
    rejected: Vec<Event>,
    arrivals: u64,
}

impl RefContinuous {
    pub fn new(max_batch: usize, max_context: usize, reserve_max: bool) -> RefContinuous {
        RefContinuous {
            max_batch,
            max_context,
            reserve_max,
            waiting: VecDeque::new(),
            running: Vec::new(),
            rejected: Vec::new(),
            arrivals: 0,
        }
    }
}

impl Schedule for RefContinuous {
    fn add(&mut self, request: Request) {
        self.arrivals += 1;
        self.waiting.push_back(Seq {
            id: request.id,
            arrival: self.arrivals,
            generated: 0,
            max_tokens: request.max_tokens,
            tokens: request.prompt,
            computed: 0,
        });
    }
    fn step(&mut self, model: &mut dyn Model, blocks: &mut dyn BlockManager) -> Vec<Event> {
        let mut events = std::mem::take(&mut self.rejected);
        // Every running sequence got a token in the last call: room for it, oldest first;
        // when no block is free the newest running sequence gives its blocks back and waits
        // to recompute.
        let mut i = 0;
        while i < self.running.len() && !self.reserve_max {
            if blocks.append_token(self.running[i].id).is_ok() {
                i += 1;
            } else {
                let mut victim = self.running.pop().unwrap();
                free_all(&mut victim, blocks);
                let at = self
                    .waiting
                    .iter()
                    .position(|w| w.arrival > victim.arrival)
                    .unwrap_or(self.waiting.len());
                self.waiting.insert(at, victim);
            }
        }
        // Admit in arrival order while a batch slot and the blocks are there.
        while self.running.len() < self.max_batch {
            let Some(head) = self.waiting.front() else {
                break;
            };
            let req = Request {
                id: head.id,
                prompt: head.tokens[..head.tokens.len() - head.generated].to_vec(),
                max_tokens: head.max_tokens,
            };
            if let Some(reason) = unfit(&req, self.max_context, blocks) {
                self.waiting.pop_front();
                events.push(Event::Rejected { id: req.id, reason });
                continue;
            }
            let room = if self.reserve_max {
                self.max_context
            } else {
                head.tokens.len()
            };
            if blocks.add_sequence(head.id, room).is_err() {
                break;
            }
            let seq = self.waiting.pop_front().unwrap();
            let at = self
                .running
                .iter()
                .position(|r| r.arrival > seq.arrival)
                .unwrap_or(self.running.len());
            self.running.insert(at, seq);
        }
        run_batch(&mut self.running, model, blocks, &mut events);
        events
    }
    fn cancel(&mut self, id: SeqId, blocks: &mut dyn BlockManager) {
        self.waiting.retain(|s| s.id != id);
        if let Some(i) = self.running.iter().position(|s| s.id == id) {
            free_all(&mut self.running.remove(i), blocks);
        }
    }
    fn waiting(&self) -> usize {
        self.waiting.len()
    }
    fn running(&self) -> usize {
        self.running.len()
    }
}

/// A small deterministic generator for traces (the graders' inputs come from kernlings' seed).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in lo..=hi.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// An exponential gap with mean `mean` (Poisson arrivals).
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
}

/// What the server exercise's `serve` is handed: a scheduler (the harness's continuous or
/// static batcher), the model and the KV cache's blocks. One thread of the server owns them
/// and steps the scheduler; nothing else touches them.
pub struct Engine {
    pub scheduler: Box<dyn Schedule>,
    pub model: Box<dyn Model>,
    pub blocks: Box<dyn BlockManager>,
}

/// The server's limits.
#[derive(Clone, Copy, Debug)]
pub struct ServerConfig {
    /// The most requests accepted and not yet finished (queued or running); one more is
    /// answered 429.
    pub max_pending: usize,
    /// The model's context: prompt tokens + max_tokens beyond it is a bad request (400).
    pub max_context: usize,
}
