//! Compiling the learner's `.cu` with NVRTC, for the architecture of the device it will run on.

use std::path::PathBuf;

use cudarc::nvrtc::{compile_ptx_with_opts, CompileError, CompileOptions, Ptx};

/// What the compiler said, already naming the learner's file by its display path.
#[derive(Debug)]
pub struct CompileFailure(pub String);

/// Compile `source`; `display` (the path relative to the repository) is the name NVRTC puts
/// in front of every line number it reports.
pub fn compile(
    source: &str,
    display: &str,
    compute_capability: (i32, i32),
    include_dirs: &[PathBuf],
) -> anyhow::Result<Result<Ptx, CompileFailure>> {
    let (major, minor) = compute_capability;
    let opts = CompileOptions {
        name: Some(display.to_string()),
        include_paths: include_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect(),
        options: vec![
            format!("--gpu-architecture=compute_{major}{minor}"),
            // Line numbers in the PTX: tools (compute-sanitizer, the CPU driver) can point at
            // the learner's line.
            "--generate-line-info".into(),
        ],
        ..Default::default()
    };
    match compile_ptx_with_opts(source, opts) {
        Ok(ptx) => Ok(Ok(ptx)),
        Err(CompileError::CompileError { log, .. }) => Ok(Err(CompileFailure(
            log.to_string_lossy().trim_end().to_string(),
        ))),
        Err(e) => Err(anyhow::anyhow!("NVRTC failed before compiling: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NVRTC is there on a GPU machine and where the CPU backend cached it; say so otherwise.
    fn nvrtc_present() -> bool {
        let present = unsafe { cudarc::nvrtc::sys::is_culib_present() };
        if !present {
            eprintln!(
                "SKIPPED: no libnvrtc on the loader path (set LD_LIBRARY_PATH to its lib dir)"
            );
        }
        present
    }

    #[test]
    fn compile_errors_name_the_learners_file_and_line() {
        if !nvrtc_present() {
            return;
        }
        let src =
            "extern \"C\" __global__ void k(float* c) {\n  c[threadIdx.x] = undefined_name;\n}\n";
        let err = compile(src, "exercises/01_basics/k.cu", (7, 5), &[])
            .unwrap()
            .unwrap_err();
        assert!(
            err.0.contains("exercises/01_basics/k.cu(2): error"),
            "{}",
            err.0
        );
        assert!(err.0.contains("undefined_name"), "{}", err.0);
    }

    #[test]
    fn a_good_kernel_compiles_to_ptx_with_line_info() {
        if !nvrtc_present() {
            return;
        }
        let src = "extern \"C\" __global__ void k(float* c) { c[threadIdx.x] = 1.0f; }\n";
        let ptx = compile(src, "k.cu", (7, 5), &[]).unwrap().unwrap();
        let text = ptx.to_src();
        assert!(text.contains(".entry k"), "{text}");
        assert!(text.contains(".loc"), "line info expected");
    }
}
