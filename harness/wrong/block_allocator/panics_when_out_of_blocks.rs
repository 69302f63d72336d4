// expect: panicked
// Known-wrong: takes a block without checking that one is free, and panics when the pool is empty.
//! Exercise 08.3 — the paged KV cache's block manager (vLLM's PagedAttention, the memory side).
//!
//! The KV cache is a pool of `num_blocks` physical blocks of `block_size` tokens each (16 on
//! the GPU). A sequence does not own a contiguous range: it owns a block table, the list of
//! its physical blocks in token order, and gets a new block only when its last one is full.
//! paged_decode reads K and V through exactly these tables.
//!
//! fork (beam search, parallel sampling, a shared prompt) makes a child that shares all of the
//! parent's blocks: nothing is copied, each block's reference count goes up. A shared block is
//! read-only: appending to a sequence whose last block is shared first copies that block
//! (copy-on-write): a fresh block replaces it in this sequence's table, the old one loses a
//! reference, and the caller is told `(src, dst)` so a kernel can copy the tokens. A block
//! goes back to the free pool when its last reference is dropped.
//!
//! Running out of blocks is normal under load: an operation that needs a block when none is
//! free returns `Err(OutOfBlocks)` and changes nothing — it never panics. The scheduler asks
//! `can_admit` before starting a sequence.
//!
//! kernlings drives your allocator with thousands of random operation sequences against its
//! own model and reports the first operation where they disagree: a result, the number of
//! free blocks, or a block table (your block numbers may differ from the model's: any free
//! block will do, but two sequences share a block only through fork).
//! Sequence ids the harness passes are valid: append/fork/free name live sequences, and
//! add_sequence/fork's child a new one.

use std::collections::HashMap;

pub type SeqId = u32;
pub type BlockId = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfBlocks;

struct Sequence {
    /// Physical blocks in token order.
    table: Vec<BlockId>,
    /// Tokens stored: the last block holds `len - (table.len() - 1) * block_size` of them.
    len: usize,
}

pub struct BlockAllocator {
    block_size: usize,
    free: Vec<BlockId>,
    /// References to each block: the number of tables it is in.
    refs: Vec<u32>,
    seqs: HashMap<SeqId, Sequence>,
}

impl BlockAllocator {
    pub fn new(num_blocks: usize, block_size: usize) -> Self {
        BlockAllocator {
            block_size,
            free: (0..num_blocks as BlockId).rev().collect(),
            refs: vec![0; num_blocks],
            seqs: HashMap::new(),
        }
    }

    pub fn free_blocks(&self) -> usize {
        self.free.len()
    }

    /// Whether a new sequence of `tokens` tokens fits now.
    pub fn can_admit(&self, tokens: usize) -> bool {
        tokens.div_ceil(self.block_size) <= self.free.len()
    }

    /// Start sequence `seq` with `tokens` tokens (a prompt): all of its blocks, or none.
    pub fn add_sequence(&mut self, seq: SeqId, tokens: usize) -> Result<(), OutOfBlocks> {
        if !self.can_admit(tokens) {
            return Err(OutOfBlocks);
        }
        let table = (0..tokens.div_ceil(self.block_size))
            .map(|_| self.take())
            .collect();
        self.seqs.insert(seq, Sequence { table, len: tokens });
        Ok(())
    }

    /// Room for one more token of `seq`. `Ok(Some((src, dst)))` when the last block was
    /// shared and has been replaced by a copy: the caller copies block src into block dst.
    pub fn append_token(&mut self, seq: SeqId) -> Result<Option<(BlockId, BlockId)>, OutOfBlocks> {
        let bs = self.block_size;
        let s = &self.seqs[&seq];
        let full = s.len == s.table.len() * bs;
        let last = s.table.last().copied();
        let shared = last.is_some_and(|b| self.refs[b as usize] > 1);
        let copied = if full {
            let b = self.take();
            self.seqs.get_mut(&seq).unwrap().table.push(b);
            None
        } else if let (true, Some(src)) = (shared, last) {
            let dst = self.take();
            self.refs[src as usize] -= 1;
            *self.seqs.get_mut(&seq).unwrap().table.last_mut().unwrap() = dst;
            Some((src, dst))
        } else {
            None
        };
        self.seqs.get_mut(&seq).unwrap().len += 1;
        Ok(copied)
    }

    /// `child` shares every block of `parent`: no block is allocated.
    pub fn fork(&mut self, parent: SeqId, child: SeqId) {
        let p = &self.seqs[&parent];
        let (table, len) = (p.table.clone(), p.len);
        for &b in &table {
            self.refs[b as usize] += 1;
        }
        self.seqs.insert(child, Sequence { table, len });
    }

    /// Drop `seq`: each of its blocks loses a reference, and is free when none is left.
    pub fn free_sequence(&mut self, seq: SeqId) {
        let s = self.seqs.remove(&seq).unwrap();
        for b in s.table {
            self.refs[b as usize] -= 1;
            if self.refs[b as usize] == 0 {
                self.free.push(b);
            }
        }
    }

    pub fn block_table(&self, seq: SeqId) -> &[BlockId] {
        &self.seqs[&seq].table
    }

    /// A free block with one reference. Callers check that one is free first.
    fn take(&mut self) -> BlockId {
        let b = self.free.pop().expect("callers check for a free block");
        self.refs[b as usize] = 1;
        b
    }
}
