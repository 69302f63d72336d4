//! Module 08's block allocator as module 10's `BlockManager`, compiled as `crate::blocks` into
//! the scheduler graders when they run on it (the learner's once it passes; module 08's
//! solution in check-solutions). Every call goes to its `BlockAllocator` as it is: the
//! scheduler's requests for room, its block tables and its frees are module 08's code.

#[path = {{BLOCK_ALLOCATOR}}]
#[allow(dead_code)] // fork: no scheduler shares blocks
mod block_allocator;

use crate::serving::{BlockId, BlockManager, OutOfBlocks, SeqId};

/// Whose allocator this is, for the output line and messages.
pub const WHOSE: &str = {{WHOSE}};

/// `BlockAllocator` has no accessor for its size, so this keeps what it was built with.
struct Module08 {
    alloc: block_allocator::BlockAllocator,
    total: usize,
    block_size: usize,
}

/// Module 10 numbers requests with u64 (a server's ids grow for its whole life, and every
/// `SeqStep` carries one to the model); module 08 names the sequences alive at once with u32.
/// Converting here, at the one place they meet, changes neither module's types for the other.
/// The graders' and the server's ids stay far below u32::MAX.
fn id(seq: SeqId) -> block_allocator::SeqId {
    block_allocator::SeqId::try_from(seq)
        .unwrap_or_else(|_| panic!("request id {seq} does not fit module 08's u32 sequence ids"))
}

pub fn allocator(total: usize, block_size: usize) -> Box<dyn BlockManager> {
    Box::new(Module08 {
        alloc: block_allocator::BlockAllocator::new(total, block_size),
        total,
        block_size,
    })
}

impl BlockManager for Module08 {
    fn block_size(&self) -> usize {
        self.block_size
    }
    fn total(&self) -> usize {
        self.total
    }
    fn free_blocks(&self) -> usize {
        self.alloc.free_blocks()
    }
    fn can_admit(&self, tokens: usize) -> bool {
        self.alloc.can_admit(tokens)
    }
    fn add_sequence(&mut self, seq: SeqId, tokens: usize) -> Result<(), OutOfBlocks> {
        self.alloc
            .add_sequence(id(seq), tokens)
            .map_err(|_| OutOfBlocks)
    }
    fn append_token(&mut self, seq: SeqId) -> Result<Option<(BlockId, BlockId)>, OutOfBlocks> {
        self.alloc.append_token(id(seq)).map_err(|_| OutOfBlocks)
    }
    fn free_sequence(&mut self, seq: SeqId) {
        self.alloc.free_sequence(id(seq))
    }
    fn block_table(&self, seq: SeqId) -> &[BlockId] {
        self.alloc.block_table(id(seq))
    }
}
