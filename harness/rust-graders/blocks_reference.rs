//! The scheduler graders' block allocator while the learner's module 08 block_allocator has
//! not passed (or changed since it did): the harness's `RefBlocks`, compiled as `crate::blocks`.

use crate::serving::{BlockManager, RefBlocks};

/// Whose allocator this is, for the output line and messages.
pub const WHOSE: &str = {{WHOSE}};

pub fn allocator(total: usize, block_size: usize) -> Box<dyn BlockManager> {
    Box::new(RefBlocks::new(total, block_size))
}
