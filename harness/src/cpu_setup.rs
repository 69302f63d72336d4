//! Setting up the CPU backend: kernlings' own libcuda.so (the PTX interpreter) and a cached
//! NVRTC, so kernels compile and run on a machine with no NVIDIA driver.

use anyhow::{bail, Context};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pinned NVRTC wheels, one requirement a line (shared with the CPU driver's tests).
const WHEELS_FILE: &str = include_str!("../../cpu-driver/nvrtc-wheels.txt");

fn wheels() -> Vec<&'static str> {
    WHEELS_FILE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}
const CACHE_NAME: &str = "cuda-13.0";
const DRIVER_LIB: &str = "libkernlings_cpu_driver.so";
/// Where the driver is placed as libcuda.so, apart from any target dir `cargo run` puts on
/// LD_LIBRARY_PATH, so it can never shadow a real driver.
const DRIVER_DIR: &str = "kernlings-cpu";

#[derive(Debug, Clone, PartialEq)]
pub struct CpuBackend {
    /// Prepend to LD_LIBRARY_PATH of the grading child: the driver's dir, then NVRTC's.
    pub lib_dirs: Vec<PathBuf>,
    /// Pass to NVRTC as `-I` (cuda_fp16.h, mma.h, ...).
    pub include_dir: PathBuf,
}

pub fn prepare(interactive: bool) -> anyhow::Result<CpuBackend> {
    let (nvrtc_lib, include_dir) = find_or_install_nvrtc(interactive)?;
    let driver_dir = place_driver(&find_or_build_driver()?)?;
    Ok(CpuBackend {
        lib_dirs: vec![driver_dir, nvrtc_lib],
        include_dir,
    })
}

fn has_nvrtc(lib: &Path) -> bool {
    lib.join("libnvrtc.so.13").exists() || lib.join("libnvrtc.so").exists()
}

/// kernlings' cache: `$KERNLINGS_CACHE`, else ~/.cache/kernlings/cuda-13.0.
pub fn cache_dir() -> PathBuf {
    if let Some(c) = std::env::var_os("KERNLINGS_CACHE") {
        return PathBuf::from(c);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("kernlings").join(CACHE_NAME)
}

/// An installed toolkit first (CUDA_HOME, /usr/local/cuda), then the cache.
fn find_nvrtc() -> Option<(PathBuf, PathBuf)> {
    let root = crate::toolchain::cuda_home();
    let (lib, inc) = (root.join("lib64"), root.join("include"));
    if has_nvrtc(&lib) && inc.join("cuda_fp16.h").exists() {
        return Some((lib, inc));
    }
    let wheel = cache_dir().join("nvidia").join("cu13");
    let (lib, inc) = (wheel.join("lib"), wheel.join("include"));
    (has_nvrtc(&lib) && inc.join("cuda_fp16.h").exists()).then_some((lib, inc))
}

/// NVRTC's library and include directories: a CUDA toolkit, else kernlings' cache, else the
/// pinned wheels installed into the cache. Both backends compile with it.
pub fn find_or_install_nvrtc(interactive: bool) -> anyhow::Result<(PathBuf, PathBuf)> {
    if let Some(found) = find_nvrtc() {
        return Ok(found);
    }
    let cache = cache_dir();
    let command = format!(
        "python3 -m pip install --target {} {}",
        cache.display(),
        wheels().join(" ")
    );
    eprintln!("kernlings needs NVRTC (NVIDIA's CUDA compiler library, about 150 MB) to compile kernels, and found no CUDA toolkit.");
    if interactive {
        eprint!("Install it with `{command}`? [Y/n] ");
        std::io::stderr().flush().ok();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .context("reading the answer")?;
        if answer.trim().to_lowercase().starts_with('n') {
            bail!("NVRTC is needed to grade on the CPU; install a CUDA toolkit or run `{command}`");
        }
    } else {
        eprintln!("Installing it: {command}");
    }
    let status = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "--target"])
        .arg(&cache)
        .args(wheels())
        .status();
    match status {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "python3 is not installed: kernlings uses pip to fetch NVRTC. Install python3 and pip \
             (e.g. `sudo apt install python3-pip`), or a CUDA toolkit, and try again"
        ),
        Err(e) => return Err(e).context("running python3 -m pip"),
        Ok(s) if !s.success() => bail!(
            "`{command}` failed ({s}). Is pip installed (`python3 -m pip --version`)? Without a \
             network, install a CUDA toolkit instead"
        ),
        Ok(_) => {}
    }
    find_nvrtc().with_context(|| format!("pip finished, but NVRTC is not in {}", cache.display()))
}

/// The driver cdylib: next to the running kernlings binary, else built from this checkout.
fn find_or_build_driver() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the kernlings binary")?;
    let exe_dir = exe
        .parent()
        .context("the kernlings binary has no directory")?;
    // Integration tests run from target/<profile>/deps.
    for dir in [exe_dir, exe_dir.parent().unwrap_or(exe_dir)] {
        let lib = dir.join(DRIVER_LIB);
        if lib.exists() {
            return Ok(lib);
        }
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("no workspace")?;
    if !workspace.join("cpu-driver").join("Cargo.toml").exists() {
        bail!(
            "the CPU driver ({DRIVER_LIB}) is not next to {} and there is no source checkout to build it from",
            exe.display()
        );
    }
    eprintln!("Building the CPU driver: cargo build --release -p kernlings-cpu-driver");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "-p", "kernlings-cpu-driver"])
        .current_dir(workspace)
        .status()
        .context("running cargo to build the CPU driver")?;
    if !status.success() {
        bail!("building the CPU driver failed ({status})");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let lib = target.join("release").join(DRIVER_LIB);
    if !lib.exists() {
        bail!(
            "cargo built the CPU driver but {} is missing",
            lib.display()
        );
    }
    Ok(lib)
}

/// Copies the driver into `<its dir>/kernlings-cpu/` as libcuda.so and libcuda.so.1 (the names
/// cudarc and NVRTC dlopen), refreshing stale copies. Returns that directory.
fn place_driver(lib: &Path) -> anyhow::Result<PathBuf> {
    let dir = lib
        .parent()
        .context("driver library has no directory")?
        .join(DRIVER_DIR);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let src_meta = std::fs::metadata(lib).with_context(|| format!("reading {}", lib.display()))?;
    for name in ["libcuda.so", "libcuda.so.1"] {
        let dst = dir.join(name);
        let fresh = std::fs::metadata(&dst).is_ok_and(|m| {
            m.len() == src_meta.len() && m.modified().ok() >= src_meta.modified().ok()
        });
        if fresh {
            continue;
        }
        // Copy then rename: a grading child starting meanwhile never sees half a library.
        let tmp = dir.join(format!(".{name}.{}", std::process::id()));
        std::fs::copy(lib, &tmp)
            .with_context(|| format!("copying {} to {}", lib.display(), tmp.display()))?;
        std::fs::rename(&tmp, &dst).with_context(|| format!("placing {}", dst.display()))?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_driver_copies_under_both_names_and_refreshes() {
        let root = std::env::temp_dir().join(format!("kernlings-setup-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        let lib = root.join(DRIVER_LIB);
        std::fs::write(&lib, b"first").unwrap();
        let dir = place_driver(&lib).unwrap();
        assert_eq!(dir, root.join(DRIVER_DIR));
        assert_eq!(std::fs::read(dir.join("libcuda.so.1")).unwrap(), b"first");
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&lib, b"second!").unwrap();
        place_driver(&lib).unwrap();
        assert_eq!(std::fs::read(dir.join("libcuda.so")).unwrap(), b"second!");
        std::fs::remove_dir_all(&root).ok();
    }

    #[test]
    fn cache_dir_follows_the_environment_variable() {
        // Only this test reads KERNLINGS_CACHE in this process.
        std::env::set_var("KERNLINGS_CACHE", "/tmp/kernlings-cache-test");
        assert_eq!(cache_dir(), PathBuf::from("/tmp/kernlings-cache-test"));
        std::env::remove_var("KERNLINGS_CACHE");
    }
}
