//! CUDA error codes in the learner's words. After most of these the GPU context is gone, so
//! the check stops at the first one.

use cudarc::driver::{sys::CUresult, DriverError};

use super::compare::Failure;

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

#[cfg(test)]
mod tests {
    use super::*;

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
