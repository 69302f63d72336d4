//! kernlings' CPU backend: a CUDA driver that runs PTX on the CPU.
//!
//! Built as a cdylib, it is loaded by cudarc in place of libcuda.so (see `api`); kernels are
//! parsed once (`ptx`) and interpreted warp by warp (`exec`), with checks a GPU does not make
//! (races, divergent barriers, uninitialised shared reads) reported per launch (`report`).

pub mod api;
pub mod driver;
pub mod exec;
pub mod ptx;
pub mod report;
