//! Finding what grading needs at run time: a CUDA driver (the real one, or kernlings' CPU
//! driver), NVRTC and its headers.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::bail;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// The GPU when a working NVIDIA driver is present, else the CPU driver.
    #[default]
    Auto,
    Gpu,
    Cpu,
}

/// The backend a grading child actually runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Gpu,
    Cpu,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Gpu => "gpu",
            BackendKind::Cpu => "cpu",
        }
    }
}

/// What the grading child needs: which backend, the environment that selects it, and where
/// NVRTC finds its headers (`cuda_fp16.h` and friends).
#[derive(Debug, Clone)]
pub struct ChildSetup {
    pub backend: BackendKind,
    /// Set on the child on top of the parent's environment.
    pub env: Vec<(OsString, OsString)>,
    pub include_dirs: Vec<PathBuf>,
}

/// Pick the backend for `choice` and prepare the child's environment.
pub fn prepare_child(choice: BackendChoice) -> anyhow::Result<ChildSetup> {
    match (choice, real_gpu()) {
        (BackendChoice::Gpu | BackendChoice::Auto, Some(_)) => gpu_setup(),
        (BackendChoice::Gpu, None) => bail!(
            "--backend gpu: no working NVIDIA GPU found (libcuda.so.1 missing, cuInit failed, or \
             no device). Run without --backend to grade on the CPU backend."
        ),
        (BackendChoice::Cpu | BackendChoice::Auto, _) => cpu_setup(),
    }
}

/// The name of the first device of a working NVIDIA driver, or `None`. Cached: `watch`
/// grades many times and `cuInit` is not free.
pub fn real_gpu() -> Option<String> {
    static GPU: OnceLock<Option<String>> = OnceLock::new();
    GPU.get_or_init(probe_driver).clone()
}

/// Asks `libcuda.so.1`, the real driver's soname, directly: cudarc's loader would also take
/// an unversioned `libcuda.so` (kernlings' own CPU driver, under cargo) and panics when a
/// symbol is missing.
fn probe_driver() -> Option<String> {
    use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
    type Init = unsafe extern "C" fn(c_uint) -> c_int;
    type Count = unsafe extern "C" fn(*mut c_int) -> c_int;
    type Get = unsafe extern "C" fn(*mut c_int, c_int) -> c_int;
    type Name = unsafe extern "C" fn(*mut c_char, c_int, c_int) -> c_int;
    unsafe {
        let lib = libc::dlopen(c"libcuda.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
        if lib.is_null() {
            return None;
        }
        let sym = |name: &CStr| -> Option<*mut c_void> {
            let p = libc::dlsym(lib, name.as_ptr());
            (!p.is_null()).then_some(p)
        };
        let init: Init = std::mem::transmute(sym(c"cuInit")?);
        let count: Count = std::mem::transmute(sym(c"cuDeviceGetCount")?);
        let get: Get = std::mem::transmute(sym(c"cuDeviceGet")?);
        let get_name: Name = std::mem::transmute(sym(c"cuDeviceGetName")?);
        let (mut n, mut dev) = (0, 0);
        let mut name = [0 as c_char; 256];
        let ok = init(0) == 0
            && count(&mut n) == 0
            && n > 0
            && get(&mut dev, 0) == 0
            && get_name(name.as_mut_ptr(), name.len() as c_int, dev) == 0;
        let name = CStr::from_ptr(name.as_ptr()).to_string_lossy().into_owned();
        // kernlings' own CPU driver, installed as libcuda.so.1, is not a GPU.
        (ok && !name.starts_with("kernlings")).then_some(name)
    }
}

/// The real driver is found by the loader; NVRTC comes from a toolkit or, on a machine with a
/// driver but no toolkit, from kernlings' cache (installed like the CPU backend's).
fn gpu_setup() -> anyhow::Result<ChildSetup> {
    let (lib, include) = crate::cpu_setup::find_or_install_nvrtc(std::io::stdin().is_terminal())?;
    Ok(ChildSetup {
        backend: BackendKind::Gpu,
        env: vec![(
            "LD_LIBRARY_PATH".into(),
            prepend_path(&[lib], "LD_LIBRARY_PATH"),
        )],
        include_dirs: vec![include],
    })
}

/// The CUDA toolkit: `CUDA_HOME`, then `CUDA_PATH`, then the usual place.
pub fn cuda_home() -> PathBuf {
    ["CUDA_HOME", "CUDA_PATH"]
        .iter()
        .filter_map(std::env::var_os)
        .map(PathBuf::from)
        .find(|p| p.is_dir())
        .unwrap_or_else(|| PathBuf::from("/usr/local/cuda"))
}

fn cpu_setup() -> anyhow::Result<ChildSetup> {
    let backend = crate::cpu_setup::prepare(std::io::stdin().is_terminal())?;
    Ok(ChildSetup {
        backend: BackendKind::Cpu,
        env: vec![(
            "LD_LIBRARY_PATH".into(),
            prepend_path(&backend.lib_dirs, "LD_LIBRARY_PATH"),
        )],
        include_dirs: vec![backend.include_dir],
    })
}

/// `dirs` in front of the current value of the path-list variable `var`.
fn prepend_path(dirs: &[PathBuf], var: &str) -> OsString {
    let old = std::env::var_os(var).unwrap_or_default();
    let old = std::env::split_paths(&old).filter(|p| !p.as_os_str().is_empty());
    std::env::join_paths(dirs.iter().cloned().chain(old)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepend_puts_new_dirs_first() {
        let joined = prepend_path(
            &[PathBuf::from("/a"), PathBuf::from("/b")],
            "KERNLINGS_NO_SUCH_VAR",
        );
        assert_eq!(joined, OsString::from("/a:/b"));
    }
}
