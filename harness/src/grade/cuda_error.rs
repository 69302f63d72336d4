//! CUDA error codes in the learner's words. After most of these the GPU context is gone, so
//! the check stops at the first one.

use cudarc::driver::{sys::CUresult, DriverError};

use super::compare::Failure;
use crate::cpu_report::Diagnostic;

/// The failure for a CUDA error raised by (or right after) launching the learner's kernel.
pub fn kernel_failure(kernel: &str, err: DriverError) -> Failure {
    use CUresult::*;
    let code = err.0 as u32;
    // The enum's own name: asking the driver (`cuGetErrorName`) needs a loaded driver.
    let name = format!("{:?}", err.0);
    let (summary, advice) = match err.0 {
        CUDA_ERROR_ILLEGAL_ADDRESS => (
            format!("your kernel `{kernel}` read or wrote memory outside any buffer"),
            "Check every index before it touches memory: does each thread test `i < n`? \
             Is the index computed from the right block and thread variables?",
        ),
        CUDA_ERROR_MISALIGNED_ADDRESS => (
            format!("your kernel `{kernel}` accessed memory at a misaligned address"),
            "A float4 or other vector access needs an address that is a multiple of its size.",
        ),
        CUDA_ERROR_ASSERT => (
            format!("an assert() in your kernel `{kernel}` failed"),
            "The kernel's stdout above shows which one.",
        ),
        CUDA_ERROR_LAUNCH_FAILED | CUDA_ERROR_ILLEGAL_INSTRUCTION | CUDA_ERROR_INVALID_PC => (
            format!("your kernel `{kernel}` stopped on a trap or an invalid instruction"),
            "A __trap(), an asm() block or a corrupted stack stops the kernel like this.",
        ),
        CUDA_ERROR_HARDWARE_STACK_ERROR => (
            format!("your kernel `{kernel}` overflowed its stack"),
            "Deep recursion or very large local arrays exceed the per-thread stack.",
        ),
        CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES => (
            format!("the GPU could not launch `{kernel}`: it needs too many registers or too much shared memory per block"),
            "Use fewer registers (smaller local arrays) or less shared memory per block.",
        ),
        CUDA_ERROR_INVALID_VALUE => (
            format!("the GPU refused to launch `{kernel}` with this configuration"),
            "Too much shared memory per block, or a block larger than 1024 threads.",
        ),
        CUDA_ERROR_LAUNCH_TIMEOUT => (
            format!(
                "your kernel `{kernel}` ran too long and was stopped — an endless loop? a loop \
                 bound that never becomes false?"
            ),
            "",
        ),
        _ => (
            format!("CUDA reported an error while running your kernel `{kernel}`"),
            "",
        ),
    };
    Failure::new(
        summary,
        format!("{advice}\n(CUDA error {code}: {name})\n")
            .trim_start()
            .to_string(),
    )
}

/// The failure when the CPU driver saw what went wrong: its diagnostic (`sentence`, already in
/// the learner's buffer names) becomes the headline where the CUDA error's words would only
/// mislead (a race or a divergent barrier surfaces as a generic launch failure); otherwise it
/// goes under the CUDA error's words.
pub fn cpu_backend_failure(
    kernel: &str,
    err: DriverError,
    diag: &Diagnostic,
    sentence: &str,
) -> Failure {
    let headline = match diag {
        Diagnostic::SharedRace { .. } => {
            Some(format!("your kernel `{kernel}` has a data race on shared memory"))
        }
        Diagnostic::BarrierDivergence { .. } => Some(format!(
            "a __syncthreads() in your kernel `{kernel}` was not reached by every thread of its block"
        )),
        Diagnostic::UninitSharedRead { .. } => Some(format!(
            "your kernel `{kernel}` read shared memory that no thread had written"
        )),
        Diagnostic::GlobalRace { .. } => {
            Some(format!("your kernel `{kernel}` has a data race on global memory"))
        }
        Diagnostic::WriteToInput { .. } => Some(format!(
            "your kernel `{kernel}` wrote to an input buffer: inputs are read-only"
        )),
        Diagnostic::WarpMask { .. } => Some(format!(
            "a warp intrinsic in your kernel `{kernel}` names lanes that do not take part"
        )),
        Diagnostic::Unsupported { .. } => Some(format!(
            "your kernel `{kernel}` uses an instruction the CPU backend cannot run yet"
        )),
        Diagnostic::CpAsyncPending { .. } => Some(format!(
            "your kernel `{kernel}` used shared memory before the cp.async filling it had landed"
        )),
        _ => None,
    };
    let code = format!("(CUDA error {}: {:?})", err.0 as u32, err.0);
    match headline {
        Some(summary) => Failure::new(
            summary,
            format!("{sentence}\n(seen by the CPU backend, which checks every access) {code}\n"),
        ),
        None => {
            let mut f = kernel_failure(kernel, err);
            f.details = format!("{sentence}\n{}", f.details);
            f
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_divergent_barrier_seen_by_the_cpu_backend_is_the_headline_not_a_trap() {
        let dim = [0, 0, 0];
        let divergence = Diagnostic::BarrierDivergence {
            block: dim,
            waiting: vec![dim],
            waiting_count: 128,
            elsewhere: vec![],
            elsewhere_count: 128,
            exited: true,
            line: 18,
        };
        let f = cpu_backend_failure(
            "block_sum",
            DriverError(CUresult::CUDA_ERROR_LAUNCH_FAILED),
            &divergence,
            "__syncthreads() (line 18) was not reached by every thread",
        );
        assert!(
            f.summary.contains("was not reached by every thread"),
            "{}",
            f.summary
        );
        assert!(!f.details.contains("__trap()"), "{}", f.details);
        assert!(
            f.details.starts_with("__syncthreads() (line 18)"),
            "{}",
            f.details
        );
    }

    #[test]
    fn illegal_address_has_specific_words() {
        let f = kernel_failure(
            "vector_add",
            DriverError(CUresult::CUDA_ERROR_ILLEGAL_ADDRESS),
        );
        assert_eq!(
            f.summary,
            "your kernel `vector_add` read or wrote memory outside any buffer"
        );
        assert!(
            f.details
                .contains("CUDA error 700: CUDA_ERROR_ILLEGAL_ADDRESS"),
            "{}",
            f.details
        );
    }
}
