//! Compiling the learner's `.cu` with NVRTC, for the architecture of the device it will run on.
//!
//! Compiled PTX is cached in kernlings' cache (`ptx/`), keyed by everything NVRTC's output
//! depends on: the source, the options (file name, include dirs, architecture) and NVRTC's
//! version. `check-solutions` and `watch`'s re-runs compile the same files again and again,
//! and NVRTC was a third of the CPU backend's time. Compile errors are not cached: the file
//! that failed is the one the learner is editing, so its next version is a new key anyway,
//! and an error must always show NVRTC's current words.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::SystemTime;

use cudarc::nvrtc::{compile_ptx_with_opts, CompileError, CompileOptions, Ptx};

/// What the compiler said, already naming the learner's file by its display path.
#[derive(Debug)]
pub struct CompileFailure(pub String);

/// The cache is pruned, oldest first, to 3/4 of these when a write takes it past either.
const MAX_ENTRIES: usize = 2000;
const MAX_BYTES: u64 = 200 << 20;
/// Temporary files of writes in progress: `.tmp-<pid>-<key>`.
const TMP_PREFIX: &str = ".tmp-";

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
    let cache = PtxCache::new(crate::cpu_setup::cache_root().join("ptx"));
    let key = key(source, &opts, nvrtc_version()?);
    if let Some(ptx) = cache.get(&key) {
        return Ok(Ok(Ptx::from_src(ptx)));
    }
    match compile_ptx_with_opts(source, opts) {
        Ok(ptx) => {
            cache.put(&key, &ptx.to_src());
            Ok(Ok(ptx))
        }
        Err(CompileError::CompileError { log, .. }) => Ok(Err(CompileFailure(
            log.to_string_lossy().trim_end().to_string(),
        ))),
        Err(e) => Err(anyhow::anyhow!("NVRTC failed before compiling: {e}")),
    }
}

fn nvrtc_version() -> anyhow::Result<(i32, i32)> {
    let (mut major, mut minor) = (0, 0);
    let result = unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
    if result != cudarc::nvrtc::sys::nvrtcResult::NVRTC_SUCCESS {
        anyhow::bail!("NVRTC could not say its version ({result:?})");
    }
    Ok((major, minor))
}

/// 128 bits of FNV-1a (two streams) over every input, each preceded by its length so that no
/// two different inputs run together into the same bytes.
fn key(source: &str, opts: &CompileOptions, (major, minor): (i32, i32)) -> String {
    let (options, version) = (format!("{opts:?}"), format!("nvrtc {major}.{minor}"));
    let parts = [source.as_bytes(), options.as_bytes(), version.as_bytes()];
    let mut bytes = Vec::new();
    for part in parts {
        bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
        bytes.extend_from_slice(part);
    }
    let (a, b) = (
        super::inputs::fnv1a(0, &bytes),
        super::inputs::fnv1a(0x6b65_726e_6c69_6e67, &bytes),
    );
    format!("{a:016x}{b:016x}")
}

/// PTX files named by key. Every operation is best effort: a cache that cannot be read or
/// written only means compiling again.
struct PtxCache {
    dir: PathBuf,
}

impl PtxCache {
    fn new(dir: PathBuf) -> Self {
        PtxCache { dir }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.ptx"))
    }

    fn get(&self, key: &str) -> Option<String> {
        let path = self.path(key);
        let ptx = std::fs::read_to_string(&path).ok()?;
        // Whole files only ever appear (rename), but a disk may still hold garbage.
        if !ptx.contains(".version") {
            return None;
        }
        // The modification time is the last use: pruning drops the least recently used.
        if let Ok(f) = std::fs::File::options().write(true).open(&path) {
            let _ = f.set_modified(SystemTime::now());
        }
        Some(ptx)
    }

    /// Write to a temporary file of this process, then rename: a process reading the same key
    /// meanwhile sees the whole file or none.
    fn put(&self, key: &str, ptx: &str) {
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let tmp = self
            .dir
            .join(format!("{TMP_PREFIX}{}-{key}", std::process::id()));
        let written = std::fs::File::create(&tmp).and_then(|mut f| f.write_all(ptx.as_bytes()));
        if written.is_err() || std::fs::rename(&tmp, self.path(key)).is_err() {
            let _ = std::fs::remove_file(&tmp);
            return;
        }
        self.prune();
    }

    fn prune(&self) {
        crate::toolchain::remove_stale(&self.dir, TMP_PREFIX);
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(SystemTime, u64, PathBuf)> = entries
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "ptx"))
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                Some((meta.modified().ok()?, meta.len(), e.path()))
            })
            .collect();
        let mut bytes: u64 = files.iter().map(|f| f.1).sum();
        if files.len() <= MAX_ENTRIES && bytes <= MAX_BYTES {
            return;
        }
        files.sort();
        let mut count = files.len();
        for (_, len, path) in files {
            if count <= MAX_ENTRIES * 3 / 4 && bytes <= MAX_BYTES / 4 * 3 {
                break;
            }
            // Another process may have removed it already: it is gone either way.
            let _ = std::fs::remove_file(&path);
            count -= 1;
            bytes -= len;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
    }

    fn opts(name: &str, include: &str) -> CompileOptions {
        CompileOptions {
            name: Some(name.into()),
            include_paths: vec![include.into()],
            options: vec!["--gpu-architecture=compute_80".into()],
            ..Default::default()
        }
    }

    #[test]
    fn the_key_changes_with_every_input() {
        let base = key("src", &opts("a.cu", "/inc"), (13, 0));
        assert_eq!(base, key("src", &opts("a.cu", "/inc"), (13, 0)));
        assert_eq!(base.len(), 32);
        for other in [
            key("src ", &opts("a.cu", "/inc"), (13, 0)),
            key("src", &opts("b.cu", "/inc"), (13, 0)),
            key("src", &opts("a.cu", "/inc/cccl"), (13, 0)),
            key("src", &opts("a.cu", "/inc"), (13, 1)),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn the_cache_returns_what_was_put_and_prunes_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let cache = PtxCache::new(dir.path().join("ptx"));
        assert_eq!(cache.get("k"), None);
        cache.put("k", ".version 9.0\nfirst");
        assert_eq!(cache.get("k").as_deref(), Some(".version 9.0\nfirst"));
        // Not PTX: treated as a miss.
        std::fs::write(cache.path("bad"), "garbage").unwrap();
        assert_eq!(cache.get("bad"), None);
        // A write left by a killed process goes at the next prune.
        let stale = cache.dir.join(format!("{TMP_PREFIX}99999999-k"));
        std::fs::write(&stale, "half").unwrap();
        let old = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        for i in 0..MAX_ENTRIES {
            let p = cache.path(&format!("old{i}"));
            std::fs::write(&p, ".version").unwrap();
            let f = std::fs::File::options().write(true).open(&p).unwrap();
            f.set_modified(old).unwrap();
        }
        cache.put("new", ".version 9.0\nnew");
        assert!(!stale.exists());
        assert_eq!(entries(&cache.dir), MAX_ENTRIES * 3 / 4);
        assert!(cache.get("new").is_some() && cache.get("k").is_some());
        assert!(cache.get("old0").is_none());
    }
}
