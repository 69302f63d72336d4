//! The checks: one per kind of exercise, found by the name curriculum.toml gives.
//!
//! Adding a check: a file here with `pub fn check(ctx: &mut CheckCtx) -> anyhow::Result<()>`
//! (copy `vector_add.rs`), a `mod` line and an entry in `CHECKS`.

use std::path::Path;

use super::{CheckCtx, RustCtx};
use crate::outcome::Correctness;

mod access_bars;
mod attention;
mod attention_tc;
mod block_allocator;
mod cpu_matmul;
mod cross_entropy;
pub mod fixture;
mod gelu;
mod grid_stride;
mod histogram;
mod host_launch;
mod kv_cache;
mod norms;
mod paged;
mod quant;
mod quantize;
mod reduction;
mod rgb_to_gray;
mod scan;
pub(crate) mod serving;
mod sgemm;
mod softmax;
mod thread_index;
mod transpose;
mod vector_add;

pub type CudaCheck = fn(&mut CheckCtx) -> anyhow::Result<()>;
pub type RustCheck = fn(&mut RustCtx) -> anyhow::Result<()>;
pub type SourceCheck = fn(&Path) -> anyhow::Result<Correctness>;

#[derive(Clone, Copy)]
pub enum Check {
    /// Grades a `.cu` file: the child compiled it and hands the check its module.
    Cuda(CudaCheck),
    /// Grades a `.rs` file through the grader binary built from it.
    Rust(RustCheck),
    /// Reads the graded file itself: no compiler, no device (`fixture`, for kernlings' tests).
    Source(SourceCheck),
}

const CHECKS: &[(&str, Check)] = &[
    // module 01: threads, blocks and grids
    ("thread_index", Check::Cuda(thread_index::check)),
    ("vector_add", Check::Cuda(vector_add::check)),
    ("grid_stride", Check::Cuda(grid_stride::check)),
    ("rgb_to_gray", Check::Cuda(rgb_to_gray::check)),
    ("host_launch", Check::Rust(host_launch::check)),
    // module 02: memory access (transpose)
    ("transpose_naive", Check::Cuda(transpose::naive)),
    ("transpose_tiled", Check::Cuda(transpose::tiled)),
    ("transpose_padded", Check::Cuda(transpose::padded)),
    // module 03: the matmul ladder
    ("sgemm_naive", Check::Cuda(sgemm::naive)),
    ("sgemm_coalesced", Check::Cuda(sgemm::coalesced)),
    ("sgemm_shared", Check::Cuda(sgemm::shared)),
    ("sgemm_1d_blocktile", Check::Cuda(sgemm::blocktile_1d)),
    ("sgemm_2d_blocktile", Check::Cuda(sgemm::blocktile_2d)),
    ("sgemm_warptile", Check::Cuda(sgemm::warptile)),
    // module 00: CPU warm-up
    ("cpu_matmul", Check::Rust(cpu_matmul::check)),
    // module 04: reduction
    ("reduce_atomic", Check::Cuda(reduction::check_atomic)),
    ("reduce_block_sum", Check::Cuda(reduction::check_block_sum)),
    ("reduce_grid", Check::Cuda(reduction::check_grid)),
    // module 05: scan and histogram
    ("scan_block_256", Check::Cuda(scan::check_block_256)),
    ("scan_block_512", Check::Cuda(scan::check_block_512)),
    ("scan_multi_block", Check::Cuda(scan::check_multi_block)),
    ("histogram", Check::Cuda(histogram::check)),
    // module 06: softmax and norms
    ("softmax_naive", Check::Cuda(softmax::naive)),
    ("softmax_online", Check::Cuda(softmax::online)),
    ("softmax_fused", Check::Cuda(softmax::fused)),
    ("softmax_causal", Check::Cuda(softmax::causal)),
    ("layernorm", Check::Cuda(norms::layernorm)),
    ("rmsnorm_residual", Check::Cuda(norms::rmsnorm)),
    ("bias_gelu", Check::Cuda(gelu::check)),
    ("cross_entropy", Check::Cuda(cross_entropy::check)),
    // module 07: attention
    ("attention_naive", Check::Cuda(attention::check_naive)),
    ("flash_attention", Check::Cuda(attention::check_flash)),
    (
        "flash_attention_causal",
        Check::Cuda(attention::check_flash_causal),
    ),
    ("flash_attention_tc", Check::Cuda(attention_tc::check_tc)),
    (
        "flash_attention_pipelined",
        Check::Cuda(attention_tc::check_pipelined),
    ),
    // module 08: KV cache, RoPE and paged attention
    ("rope", Check::Cuda(kv_cache::rope)),
    ("kv_append", Check::Cuda(kv_cache::kv_append)),
    ("block_allocator", Check::Rust(block_allocator::check)),
    ("paged_decode", Check::Cuda(paged::paged_decode)),
    ("split_kv_decode", Check::Cuda(paged::split_kv_decode)),
    // module 09: quantization
    ("quantize_int8", Check::Rust(quantize::check_int8)),
    ("quantize_q4", Check::Rust(quantize::check_q4)),
    ("dequant_q4", Check::Cuda(quant::check_dequant)),
    ("gemv_q4", Check::Cuda(quant::check_gemv)),
    ("gemm_int8", Check::Cuda(quant::check_gemm_int8)),
    // kernlings' own tests: acts out FIXTURE_* markers
    // module 10: serving
    ("static_batching", Check::Rust(serving::static_batching)),
    (
        "continuous_batching",
        Check::Rust(serving::continuous_batching),
    ),
    ("serving_server", Check::Rust(serving::server)),
    (fixture::NAME, Check::Source(fixture::check)),
];

pub fn find(name: &str) -> Option<Check> {
    CHECKS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// Every registered name, for the curriculum lint.
pub fn names() -> impl Iterator<Item = &'static str> {
    CHECKS.iter().map(|(n, _)| *n)
}
