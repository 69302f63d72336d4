//! Finding what grading needs at run time: a CUDA driver (the real one, or kernlings' CPU
//! driver), NVRTC and its headers.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
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

/// Pick the backend for `choice` and prepare the child's environment: NVRTC, and on the CPU
/// backend kernlings' driver, found, installed or built now if need be. `root` is the course
/// (where the driver's source is looked for).
pub fn prepare_child(choice: BackendChoice, root: &Path) -> anyhow::Result<ChildSetup> {
    match (choice, real_gpu()) {
        (BackendChoice::Gpu | BackendChoice::Auto, Some(_)) => gpu_setup(),
        (BackendChoice::Gpu, None) => bail!(
            "--backend gpu: no working NVIDIA GPU found (libcuda.so.1 missing, cuInit failed, or \
             no device). Run without --backend to grade on the CPU backend."
        ),
        (BackendChoice::Cpu | BackendChoice::Auto, _) => cpu_setup(root),
    }
}

/// Whether grading with `choice` runs kernels on kernlings' CPU driver.
pub fn uses_cpu_backend(choice: BackendChoice) -> bool {
    choice == BackendChoice::Cpu || real_gpu().is_none()
}

/// For a grading child that runs no kernels (the fixture check, module 00's plain Rust):
/// no NVRTC, no driver, nothing installed; the backend is the one `choice` would pick.
pub fn bare_setup(choice: BackendChoice) -> ChildSetup {
    ChildSetup {
        backend: match uses_cpu_backend(choice) {
            true => BackendKind::Cpu,
            false => BackendKind::Gpu,
        },
        env: Vec::new(),
        include_dirs: Vec::new(),
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
    let nvrtc = crate::cpu_setup::nvrtc()?;
    Ok(ChildSetup {
        backend: BackendKind::Gpu,
        env: vec![(
            "LD_LIBRARY_PATH".into(),
            prepend_path(&[nvrtc.lib], "LD_LIBRARY_PATH"),
        )],
        include_dirs: nvrtc.include_dirs,
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

fn cpu_setup(root: &Path) -> anyhow::Result<ChildSetup> {
    let backend = crate::cpu_setup::prepare(root)?;
    Ok(ChildSetup {
        backend: BackendKind::Cpu,
        env: vec![(
            "LD_LIBRARY_PATH".into(),
            prepend_path(&backend.lib_dirs, "LD_LIBRARY_PATH"),
        )],
        include_dirs: backend.include_dirs,
    })
}

/// How the learner types a kernlings command: `kernlings` when this binary is the one PATH
/// finds under that name (`cargo install --path harness`), else the command that works from
/// the checkout. Every message that names a command to type goes through this.
pub fn command_name() -> &'static str {
    static NAME: OnceLock<&'static str> = OnceLock::new();
    NAME.get_or_init(|| {
        let exe = std::env::current_exe().ok();
        let on_path = exe.as_deref().is_some_and(|exe| {
            let path = std::env::var_os("PATH").unwrap_or_default();
            found_on_path(exe, &path)
        });
        match on_path {
            true => "kernlings",
            false => "cargo run --release -p kernlings --",
        }
    })
}

/// Whether the first `kernlings` in the path list `path` (as a shell finds it) is `exe`.
fn found_on_path(exe: &Path, path: &std::ffi::OsStr) -> bool {
    let canon = |p: &Path| p.canonicalize().ok();
    let me = canon(exe);
    std::env::split_paths(path)
        .map(|dir| dir.join("kernlings"))
        .find(|candidate| is_executable(candidate))
        .is_some_and(|first| me.is_some() && canon(&first) == me)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether process `pid` still runs (a process of another user counts as running).
pub fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    unsafe { libc::kill(pid, 0) == 0 || *libc::__errno_location() != libc::ESRCH }
}

/// Removes the entries of `dir` named `<prefix><pid>` or `<prefix><pid>-<anything>` whose
/// process is gone: what a kernlings killed with SIGKILL left behind (scratch directories,
/// half-copied files). Errors are ignored: another kernlings may be removing the same entry.
pub fn remove_stale(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| !pid_alive(pid)) {
            let path = entry.path();
            match entry.file_type().is_ok_and(|t| t.is_dir()) {
                true => std::fs::remove_dir_all(&path).ok(),
                false => std::fs::remove_file(&path).ok(),
            };
        }
    }
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

    #[test]
    fn the_command_is_kernlings_only_when_path_finds_this_binary() {
        let dir = tempfile::tempdir().unwrap();
        let (first, second) = (dir.path().join("first"), dir.path().join("second"));
        for d in [&first, &second] {
            std::fs::create_dir(d).unwrap();
        }
        let exe = second.join("kernlings");
        std::fs::write(&exe, "").unwrap();
        let path = |dirs: &[&Path]| std::env::join_paths(dirs).unwrap();
        // Not executable: a shell would not run it.
        assert!(!found_on_path(&exe, &path(&[&second])));
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(found_on_path(&exe, &path(&[&first, &second])));
        // Another kernlings earlier on PATH is what the learner's shell would run.
        let other = first.join("kernlings");
        std::fs::write(&other, "").unwrap();
        std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(!found_on_path(&exe, &path(&[&first, &second])));
        assert!(!found_on_path(&exe, &path(&[])));
    }

    #[test]
    fn stale_entries_of_dead_processes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        // A pid past the kernel's limit (4194304) is never alive.
        let dead = dir.path().join("kernlings-grade-99999999-0");
        let mine = dir
            .path()
            .join(format!("kernlings-grade-{}-3", std::process::id()));
        let other = dir.path().join("kernlings-e2e-99999999");
        for d in [&dead, &mine, &other] {
            std::fs::create_dir(d).unwrap();
        }
        std::fs::write(dir.path().join("kernlings-grade-99999999"), "").unwrap();
        remove_stale(dir.path(), "kernlings-grade-");
        assert!(!dead.exists());
        assert!(!dir.path().join("kernlings-grade-99999999").exists());
        assert!(mine.exists() && other.exists());
    }
}
