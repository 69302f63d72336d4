//! What the CPU driver reports about each launch, read back by the grading child.
//! The driver appends one JSON line per launch to the file named by `KERNLINGS_CPU_REPORT`
//! (cpu-driver/src/report.rs writes the same field names), and this module turns a diagnostic
//! into the learner's sentence, naming the exercise's buffers instead of addresses.

use crate::outcome::LaunchCounters;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The environment variable the driver reads; the grading parent sets it for the child.
pub const REPORT_ENV: &str = "KERNLINGS_CPU_REPORT";

pub type Dim3 = [u32; 3];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LaunchReport {
    pub kernel: String,
    pub grid: Dim3,
    pub block: Dim3,
    pub counters: LaunchCounters,
    pub diagnostic: Option<Diagnostic>,
}

/// A shared-memory location: the array (as named in the source) and the byte inside it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SharedLoc {
    pub array: String,
    pub byte_offset: u64,
    pub offset: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Diagnostic {
    OutOfBounds {
        address: u64,
        bytes: u32,
        write: bool,
        /// "global", "shared", "local" or "param".
        space: String,
        thread: Dim3,
        block: Dim3,
        line: u32,
    },
    SharedRace {
        location: SharedLoc,
        thread_a: Dim3,
        thread_b: Dim3,
        /// "write/write", "write/read" or "read/write": thread_a's access, then thread_b's.
        kinds: String,
        block: Dim3,
        line_a: u32,
        line: u32,
    },
    BarrierDivergence {
        block: Dim3,
        waiting: Vec<Dim3>,
        waiting_count: u32,
        elsewhere: Vec<Dim3>,
        elsewhere_count: u32,
        /// The missing threads had returned, rather than waiting at another barrier.
        exited: bool,
        line: u32,
    },
    UninitSharedRead {
        location: SharedLoc,
        thread: Dim3,
        block: Dim3,
        line: u32,
    },
    InstructionBudget {
        budget: u64,
        thread: Dim3,
        block: Dim3,
        line: u32,
    },
    Unsupported {
        instruction: String,
        line: u32,
    },
    Misaligned {
        address: u64,
        bytes: u32,
        space: String,
        thread: Dim3,
        block: Dim3,
        line: u32,
    },
    Trap {
        thread: Dim3,
        block: Dim3,
        line: u32,
    },
    WriteToInput {
        address: u64,
        bytes: u32,
        thread: Dim3,
        block: Dim3,
        line: u32,
    },
    GlobalRace {
        address: u64,
        bytes: u32,
        thread_a: Dim3,
        block_a: Dim3,
        line_a: u32,
        thread_b: Dim3,
        block_b: Dim3,
        line: u32,
    },
    WarpMask {
        intrinsic: String,
        mask: u32,
        exited: u32,
        absent: u32,
        warp: u32,
        block: Dim3,
        line: u32,
    },
    /// A shared access to bytes a cp.async had not landed: its thread never waited for it.
    CpAsyncPending {
        location: SharedLoc,
        write: bool,
        thread: Dim3,
        block: Dim3,
        line: u32,
        copier: Dim3,
        copy_line: u32,
    },
}

/// Lanes of a mask as ranges: "lanes 20-31", "lane 5", "lanes 3, 8-9".
fn lanes(mask: u32) -> String {
    let mut parts = Vec::new();
    let mut l = 0;
    while l < 32 {
        if mask >> l & 1 == 1 {
            let start = l;
            while l < 32 && mask >> l & 1 == 1 {
                l += 1;
            }
            parts.push(if l - 1 == start {
                start.to_string()
            } else {
                format!("{start}-{}", l - 1)
            });
        } else {
            l += 1;
        }
    }
    let one = mask.count_ones() == 1;
    format!("lane{} {}", if one { "" } else { "s" }, parts.join(", "))
}

/// A device buffer the check allocated, so addresses can be told in the learner's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct BufferInfo {
    /// The name the exercise uses, e.g. "C".
    pub name: String,
    pub base: u64,
    /// Length in elements.
    pub len: usize,
    pub elem_size: usize,
    /// e.g. "float", "int", "half".
    pub elem_type: String,
}

/// A line the driver writes when it cannot load a module: `{"load_error":"<reason>"}`.
const LOAD_ERROR_PREFIX: &str = "{\"load_error\"";

#[derive(Deserialize)]
struct LoadError {
    load_error: String,
}

/// The reason the driver gave for the last module it refused to load, if any.
pub fn load_error(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with(LOAD_ERROR_PREFIX))?;
    serde_json::from_str::<LoadError>(line)
        .ok()
        .map(|e| e.load_error)
}

/// Every launch report in the file, in launch order. A missing file means no launch yet.
pub fn read_reports(path: &Path) -> anyhow::Result<Vec<LaunchReport>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with(LOAD_ERROR_PREFIX))
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| {
                format!("{} line {}: not a CPU launch report", path.display(), i + 1)
            })
        })
        .collect()
}

fn dim(d: Dim3) -> String {
    format!("({},{},{})", d[0], d[1], d[2])
}

fn at_line(line: u32) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(" (line {line})")
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Where a global address falls relative to the named buffers, e.g.
/// "C[1024], one past the end of C (1024 floats)".
fn describe_address(address: u64, buffers: &[BufferInfo]) -> String {
    let inside = buffers
        .iter()
        .find(|b| address >= b.base && address < b.base + (b.len * b.elem_size) as u64);
    if let Some(b) = inside {
        let idx = (address - b.base) / b.elem_size.max(1) as u64;
        return format!("{}[{idx}]", b.name);
    }
    // The closest buffer that ends before the address: the access ran off its end.
    let after = buffers
        .iter()
        .filter(|b| address >= b.base)
        .max_by_key(|b| b.base);
    let before = buffers
        .iter()
        .filter(|b| address < b.base)
        .min_by_key(|b| b.base);
    match (after, before) {
        (Some(b), _) if address - b.base < (1 << 30) => {
            let idx = (address - b.base) / b.elem_size.max(1) as u64;
            let past = idx as usize - b.len;
            let how = if past == 0 {
                "one past the end".to_string()
            } else {
                format!("{} past the end", plural(past + 1, "element"))
            };
            format!(
                "{}[{idx}], {how} of {} ({})",
                b.name,
                b.name,
                plural(b.len, &b.elem_type)
            )
        }
        (_, Some(b)) if b.base - address < (1 << 30) => {
            let back = (b.base - address).div_ceil(b.elem_size.max(1) as u64);
            format!("{}[-{back}], before the start of {}", b.name, b.name)
        }
        _ => format!(
            "address {address:#x}, which is in none of the kernel's buffers (a wrong pointer?)"
        ),
    }
}

/// The learner's sentence for one diagnostic.
pub fn describe(d: &Diagnostic, buffers: &[BufferInfo]) -> String {
    match d {
        Diagnostic::OutOfBounds { address, bytes, write, space, thread, block, line } => {
            let verb = if *write { "wrote" } else { "read" };
            let who = format!("thread {} of block {}", dim(*thread), dim(*block));
            match space.as_str() {
                "global" => format!("{who} {verb} {}{}", describe_address(*address, buffers), at_line(*line)),
                "shared" => format!(
                    "{who} {verb} {bytes} bytes at shared-memory offset {address}, past the end of the \
                     block's shared memory{} — is an index too large, or the dynamic shared size too small?",
                    at_line(*line)
                ),
                other => format!("{who} {verb} {bytes} bytes outside its {other} memory{}", at_line(*line)),
            }
        }
        Diagnostic::SharedRace { location, thread_a, thread_b, kinds, block, line_a, line } => {
            let (ka, kb) = kinds.split_once('/').unwrap_or(("wrote", "read"));
            let past = |k: &str| if k == "write" { "wrote" } else { "read" };
            format!(
                "data race on shared memory in block {}: thread {} {} byte {} of `{}`{} and thread {} {} it{} \
                 with no __syncthreads() between them",
                dim(*block),
                dim(*thread_a),
                past(ka),
                location.byte_offset,
                location.array,
                at_line(*line_a),
                dim(*thread_b),
                past(kb),
                at_line(*line)
            )
        }
        Diagnostic::BarrierDivergence { block, waiting, waiting_count, elsewhere, elsewhere_count, exited, line } => {
            let example = |v: &[Dim3]| v.first().map(|t| format!(", e.g. {}", dim(*t))).unwrap_or_default();
            let others = if *exited {
                "had already returned"
            } else {
                "were waiting at a different __syncthreads()"
            };
            format!(
                "__syncthreads(){} was not reached by every thread of block {}: {} wait there{}, but {} {}{}. \
                 Every thread of a block must reach the same __syncthreads(); on a GPU this hangs or \
                 silently corrupts data",
                at_line(*line),
                dim(*block),
                plural(*waiting_count as usize, "thread"),
                example(waiting),
                plural(*elsewhere_count as usize, "thread"),
                others,
                example(elsewhere)
            )
        }
        Diagnostic::UninitSharedRead { location, thread, block, line } => format!(
            "thread {} of block {} read byte {} of shared array `{}`{}, which no thread of the block had \
             written: shared memory starts out as garbage",
            dim(*thread),
            dim(*block),
            location.byte_offset,
            location.array,
            at_line(*line)
        ),
        Diagnostic::InstructionBudget { budget, thread, block, line } => format!(
            "thread {} of block {} was still running after {budget} instructions{}: a loop that never \
             ends? (the CPU backend stops a kernel there)",
            dim(*thread),
            dim(*block),
            at_line(*line)
        ),
        Diagnostic::Unsupported { instruction, line } => format!(
            "the CPU backend cannot execute `{instruction}`{} yet; this kernel needs a GPU",
            at_line(*line)
        ),
        Diagnostic::Misaligned { address, bytes, space, thread, block, line } => {
            let what = if space == "global" {
                describe_address(*address, buffers)
            } else {
                format!("{space} address {address:#x}")
            };
            format!(
                "thread {} of block {} accessed {bytes} bytes at {what}{}, which is not {bytes}-byte aligned",
                dim(*thread),
                dim(*block),
                at_line(*line)
            )
        }
        Diagnostic::WriteToInput { address, thread, block, line, .. } => {
            let name = buffers
                .iter()
                .find(|b| *address >= b.base && *address < b.base + (b.len * b.elem_size) as u64)
                .map(|b| b.name.as_str())
                .unwrap_or("buffer");
            format!(
                "your kernel wrote to the input {name} ({}, thread {} of block {}{}): inputs are \
                 read-only — write results only to the output buffers, and keep scratch values \
                 in registers or shared memory",
                describe_address(*address, buffers),
                dim(*thread),
                dim(*block),
                if *line == 0 { String::new() } else { format!(", line {line}") }
            )
        }
        Diagnostic::GlobalRace { address, thread_a, block_a, line_a, thread_b, block_b, line, .. } => {
            let who = if block_a == block_b {
                format!(
                    "thread {} (line {line_a}) and thread {} (line {line}) of block {}, with no \
                     __syncthreads() between them",
                    dim(*thread_a),
                    dim(*thread_b),
                    dim(*block_a)
                )
            } else {
                format!(
                    "block {} (thread {}, line {line_a}) and block {} (thread {}, line {line}); blocks \
                     run in no fixed order",
                    dim(*block_a),
                    dim(*thread_a),
                    dim(*block_b),
                    dim(*thread_b)
                )
            };
            format!(
                "data race on global memory: {} written by {who}, with plain stores of different \
                 values (plain `+=`, not atomicAdd), so one result overwrites the other. Several \
                 threads adding to one element need atomicAdd",
                describe_address(*address, buffers)
            )
        }
        Diagnostic::WarpMask { intrinsic, mask, exited, absent, warp, block, line } => {
            let why = match (*exited != 0, *absent != 0) {
                (true, false) => format!("{} have exited", lanes(*exited)),
                (false, _) => format!("{} do not exist (the block's last warp is partial)", lanes(*absent)),
                (true, true) => format!(
                    "{} have exited and {} do not exist (the block's last warp is partial)",
                    lanes(*exited),
                    lanes(*absent)
                ),
            };
            format!(
                "{intrinsic}{} with mask {mask:#010x} in warp {warp} of block {}, where {why}: every \
                 lane the mask names must execute it; on a GPU what it returns from missing lanes is \
                 undefined. Build the mask from the lanes that take part (__ballot_sync, \
                 __activemask) or keep every lane running to the end",
                at_line(*line),
                dim(*block)
            )
        }
        Diagnostic::CpAsyncPending { location, write, thread, block, line, copier, copy_line } => format!(
            "thread {} of block {} {} byte {} of shared array `{}`{} while the cp.async that fills \
             it (issued by thread {}{}) was still in flight: the issuing thread must commit its \
             copies (cp.async.commit_group, __pipeline_commit) and wait for them \
             (cp.async.wait_group, __pipeline_wait_prior) before the destination is touched, \
             then __syncthreads() so that the other threads see it",
            dim(*thread),
            dim(*block),
            if *write { "wrote" } else { "read" },
            location.byte_offset,
            location.array,
            at_line(*line),
            dim(*copier),
            if *copy_line == 0 { String::new() } else { format!(", line {copy_line}") }
        ),
        Diagnostic::Trap { thread, block, line } => format!(
            "thread {} of block {} stopped the kernel with a trap or failed assert{}",
            dim(*thread),
            dim(*block),
            at_line(*line)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c_buffer() -> Vec<BufferInfo> {
        vec![
            BufferInfo {
                name: "A".into(),
                base: 0x1000,
                len: 1024,
                elem_size: 4,
                elem_type: "float".into(),
            },
            BufferInfo {
                name: "C".into(),
                base: 0x3000,
                len: 1024,
                elem_size: 4,
                elem_type: "float".into(),
            },
        ]
    }

    #[test]
    fn out_of_bounds_names_the_buffer_and_element() {
        let oob = |address: u64| Diagnostic::OutOfBounds {
            address,
            bytes: 4,
            write: true,
            space: "global".into(),
            thread: [5, 0, 0],
            block: [3, 0, 0],
            line: 7,
        };
        assert_eq!(
            describe(&oob(0x3000 + 4096), &c_buffer()),
            "thread (5,0,0) of block (3,0,0) wrote C[1024], one past the end of C (1024 floats) (line 7)"
        );
        assert!(describe(&oob(0x3000 + 4108), &c_buffer())
            .contains("C[1027], 4 elements past the end of C"));
        assert!(describe(&oob(0x1008), &c_buffer()).contains("wrote A[2]"));
        assert!(describe(&oob(0x10), &c_buffer()).contains("A[-1020], before the start of A"));
    }

    #[test]
    fn reads_the_driver_json() {
        // The exact line cpu-driver/src/report.rs writes for this launch (its test checks that).
        let line = r#"{"kernel":"k","grid":[4,1,1],"block":[256,1,1],"counters":{"kernel":"k","instructions":10,"global_sectors":4,"global_sectors_min":4,"shared_bank_conflicts":0,"divergent_branches":1},"diagnostic":{"kind":"shared_race","location":{"array":"s","byte_offset":4,"offset":4},"thread_a":[1,0,0],"thread_b":[0,0,0],"kinds":"write/read","block":[0,0,0],"line_a":10,"line":12}}"#;
        let dir = std::env::temp_dir().join(format!("kernlings-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.jsonl");
        std::fs::write(&path, format!("{line}\n{line}\n")).unwrap();
        let reports = read_reports(&path).unwrap();
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[0].counters.divergent_branches, 1);
        let msg = describe(reports[1].diagnostic.as_ref().unwrap(), &[]);
        assert_eq!(
            msg,
            "data race on shared memory in block (0,0,0): thread (1,0,0) wrote byte 4 of `s` (line 10) and \
             thread (0,0,0) read it (line 12) with no __syncthreads() between them"
        );
        assert_eq!(reports[0].counters.worst_site, None);
        // A newer driver's counters name the worst access site (report.rs's test writes this).
        let with_site = r#"{"kernel":"k","grid":[1,1,1],"block":[32,1,1],"counters":{"kernel":"k","instructions":0,"global_sectors":40,"global_sectors_min":8,"shared_bank_conflicts":0,"divergent_branches":0,"worst_site":{"line":9,"instruction":17,"access":"store","sectors":32,"sectors_min":4}},"diagnostic":null}"#;
        std::fs::write(&path, format!("{with_site}\n")).unwrap();
        let site = read_reports(&path).unwrap()[0]
            .counters
            .worst_site
            .clone()
            .unwrap();
        assert_eq!(
            (
                site.line,
                site.access.as_str(),
                site.sectors,
                site.sectors_min
            ),
            (9, "store", 32, 4)
        );
        assert!(read_reports(&dir.join("missing")).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn cp_async_in_flight_sentence_names_both_lines() {
        let d = Diagnostic::CpAsyncPending {
            location: SharedLoc {
                array: "sK".into(),
                byte_offset: 496,
                offset: 496,
            },
            write: false,
            thread: [0, 0, 0],
            block: [2, 0, 0],
            line: 59,
            copier: [31, 0, 0],
            copy_line: 54,
        };
        let s = describe(&d, &[]);
        assert!(
            s.starts_with(
                "thread (0,0,0) of block (2,0,0) read byte 496 of shared array `sK` (line 59) \
                 while the cp.async that fills it (issued by thread (31,0,0), line 54) was still \
                 in flight"
            ),
            "{s}"
        );
        assert!(s.contains("cp.async.wait_group"), "{s}");
    }

    #[test]
    fn divergent_barrier_sentence() {
        let d = Diagnostic::BarrierDivergence {
            block: [0, 0, 0],
            waiting: vec![[0, 0, 0]],
            waiting_count: 100,
            elsewhere: vec![[100, 0, 0]],
            elsewhere_count: 156,
            exited: true,
            line: 20,
        };
        let s = describe(&d, &[]);
        assert!(s.starts_with("__syncthreads() (line 20) was not reached by every thread of block (0,0,0): 100 threads wait there, e.g. (0,0,0), but 156 threads had already returned, e.g. (100,0,0)"), "{s}");
    }
}
