//! Grader for block_allocator (module 08): replays the operations kernlings drew against the
//! learner's allocator and logs what each returned, the free count and the table it touched.
//! kernlings compares the log with its own model; nothing here judges. Generated into
//! target/kernlings-graders/; the learner's file is included below by path.

mod protocol;

#[path = {{LEARNER}}]
mod learner;

use std::panic::{catch_unwind, AssertUnwindSafe};

use learner::BlockAllocator;
use protocol::Case;

/// `ops` is a list of scenarios: `[num_blocks, block_size, n_ops]`, then `n_ops` operations
/// `[kind, a, b]`. Each operation logs `[status, x, y, free_blocks, table_len, table...]`:
/// status 0 = Ok, 1 = Err(OutOfBlocks); x, y = can_admit's answer, or the copy-on-write pair
/// of append_token (-1 when none).
fn main() {
    let case = Case::from_args();
    let ops = case.f32s("ops");
    let mut log: Vec<f32> = Vec::new();
    let mut at = 0;
    let mut index = 0usize;
    std::panic::set_hook(Box::new(|_| {}));
    while at < ops.len() {
        let (blocks, block_size, n) = (ops[at] as usize, ops[at + 1] as usize, ops[at + 2] as usize);
        at += 3;
        let mut alloc = BlockAllocator::new(blocks, block_size);
        for _ in 0..n {
            let (kind, a, b) = (ops[at] as u32, ops[at + 1] as u32, ops[at + 2] as u32);
            at += 3;
            let step = catch_unwind(AssertUnwindSafe(|| {
                let mut entry = [0.0f32, -1.0, -1.0];
                let table = match kind {
                    0 => {
                        entry[1] = f32::from(u8::from(alloc.can_admit(a as usize)));
                        None
                    }
                    1 => {
                        entry[0] = f32::from(u8::from(alloc.add_sequence(a, b as usize).is_err()));
                        Some(a)
                    }
                    2 => {
                        match alloc.append_token(a) {
                            Ok(Some((src, dst))) => entry[1..].copy_from_slice(&[src as f32, dst as f32]),
                            Ok(None) => {}
                            Err(_) => entry[0] = 1.0,
                        }
                        Some(a)
                    }
                    3 => {
                        alloc.fork(a, b);
                        Some(b)
                    }
                    _ => {
                        alloc.free_sequence(a);
                        None
                    }
                };
                let ok = entry[0] == 0.0;
                let table: Vec<f32> = match table.filter(|_| ok || kind == 2) {
                    Some(s) => alloc.block_table(s).iter().map(|&x| x as f32).collect(),
                    None => Vec::new(),
                };
                (entry, alloc.free_blocks(), table)
            }));
            match step {
                Ok((entry, free, table)) => {
                    log.extend_from_slice(&entry);
                    log.push(free as f32);
                    log.push(table.len() as f32);
                    log.extend(table);
                }
                Err(panic) => {
                    // The log so far goes back too: an earlier operation may already differ
                    // from the model (a double free that ends in a panic later).
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    let text: Vec<f32> = what.chars().take(300).map(|c| c as u32 as f32).collect();
                    case.write_f32s("log", &log);
                    case.write_f32s("panicked_at", &[index as f32]);
                    case.write_f32s("panic_message", &text);
                    case.done();
                    return;
                }
            }
            index += 1;
        }
    }
    case.write_f32s("log", &log);
    case.done();
}
