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
