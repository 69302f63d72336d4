//! kernlings' CPU backend: a CUDA driver that runs PTX on the CPU.
//!
//! Built as a cdylib, it is loaded by cudarc in place of libcuda.so (see `api`); kernels are
//! parsed once (`ptx`) and interpreted warp by warp (`exec`), with checks a GPU does not make
//! (races, divergent barriers, uninitialised shared reads) reported per launch (`report`).
//!
//! Environment, read at each launch:
//! - `KERNLINGS_CPU_REPORT`: file to append one JSON line per launch to (counters, diagnostic).
//! - `KERNLINGS_CPU_BUDGET`: warp instructions one warp may run before the launch counts as a
//!   runaway loop (default 2^24).
//! - `KERNLINGS_CPU_THREADS`: worker threads (default: one per core). Kernels with float
//!   atomics on global memory always run their blocks in order on one thread, so their sums
//!   are the same bits on every run.
//!
//! Every diagnostic fails its launch with the CUresult a GPU would give where it has one (700
//! out of bounds, 716 misaligned, 710 trap or failed assert, 702 runaway loop; 719 for a race,
//! a divergent barrier or an unwritten shared read), and the error sticks to the context as on
//! a GPU; the report line says what happened, in the learner's terms.
//!
//! Semantics worth knowing: a warp executes the instruction at its lowest program counter for
//! every lane there, so divergent lanes reconverge where structured code joins; `__syncthreads()`
//! must be reached by every thread of the block (a thread that returned first is an error, as
//! the CUDA guide says); device functions NVRTC keeps as calls are inlined at load; device
//! `printf` writes to the process's stdout in lane order; other external calls fail when
//! reached, naming the call.

pub mod api;
pub mod driver;
pub mod exec;
pub mod ptx;
pub mod report;
