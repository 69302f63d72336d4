//! Test support: NVRTC loaded from kernlings' cache (or a toolkit), and a small host API over
//! the interpreter's Rust entry points.
#![allow(dead_code)]

use kernlings_cpu_driver::driver::{Driver, LoadedModule};
use kernlings_cpu_driver::report::LaunchReport;
use libloading::Library;
use std::ffi::{c_char, c_int, c_void, CString};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// Directories that may hold libnvrtc.so.13, in the order kernlings itself looks.
pub fn nvrtc_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(d) = std::env::var("KERNLINGS_NVRTC_DIR") {
        dirs.push(PathBuf::from(d));
    }
    for root in [
        std::env::var("CUDA_HOME").ok(),
        Some("/usr/local/cuda".into()),
    ]
    .into_iter()
    .flatten()
    {
        dirs.push(PathBuf::from(&root).join("lib64"));
    }
    dirs.push(cache_dir().join("nvidia/cu13/lib"));
    dirs
}

/// kernlings' cache, as harness/src/cpu_setup.rs defines it.
fn cache_dir() -> PathBuf {
    std::env::var("KERNLINGS_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/kernlings/cuda-13.0")
        })
}

pub fn nvrtc_dir() -> Option<PathBuf> {
    nvrtc_dirs()
        .into_iter()
        .find(|d| d.join("libnvrtc.so.13").exists())
}

/// NVRTC's include/ directory (cuda_fp16.h and friends).
pub fn include_dir() -> Option<PathBuf> {
    include_dirs().into_iter().next()
}

/// NVRTC's include directories: include/ and, where present, include/cccl (`nv/target`,
/// which cooperative_groups.h needs).
pub fn include_dirs() -> Vec<PathBuf> {
    let Some(inc) = nvrtc_dir().and_then(|d| Some(d.parent()?.join("include"))) else {
        return Vec::new();
    };
    if !inc.join("cuda_fp16.h").exists() {
        return Vec::new();
    }
    let cccl = inc.join("cccl");
    let has_cccl = cccl.join("nv/target").exists();
    std::iter::once(inc)
        .chain(has_cccl.then_some(cccl))
        .collect()
}

/// The pinned requirements of nvrtc-wheels.txt the cache has no `.dist-info` for (as
/// harness/src/cpu_setup.rs checks): all of them, or those pinned since it was made.
fn missing_wheels(cache: &std::path::Path) -> Vec<String> {
    let list = include_str!("../../nvrtc-wheels.txt");
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter(|w| {
            let (name, version) = w.split_once("==").unwrap_or((w, ""));
            let info = format!("{}-{version}.dist-info", name.replace('-', "_"));
            !cache.join(info).is_dir()
        })
        .map(String::from)
        .collect()
}

/// Moves everything under `from` into `to`, merging directories both have.
fn merge_into(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let dst = to.join(entry.file_name());
        if entry.path().is_dir() && dst.is_dir() {
            merge_into(&entry.path(), &dst);
        } else {
            std::fs::rename(entry.path(), &dst).unwrap();
        }
    }
}

pub struct Nvrtc {
    _builtins: Library,
    lib: Library,
}

type CreateFn = unsafe extern "C" fn(
    *mut *mut c_void,
    *const c_char,
    *const c_char,
    c_int,
    *const *const c_char,
    *const *const c_char,
) -> c_int;
type CompileFn = unsafe extern "C" fn(*mut c_void, c_int, *const *const c_char) -> c_int;
type SizeFn = unsafe extern "C" fn(*mut c_void, *mut usize) -> c_int;
type GetFn = unsafe extern "C" fn(*mut c_void, *mut c_char) -> c_int;

/// NVRTC, installed into kernlings' cache from the pinned wheels when no copy is found (as
/// kernlings itself does): these tests never skip for want of it.
pub fn nvrtc() -> &'static Nvrtc {
    static N: OnceLock<Nvrtc> = OnceLock::new();
    N.get_or_init(|| {
        let dir = ensure_nvrtc_dir();
        // NVRTC dlopens its builtins by soname: loading them first from the same directory
        // makes that lookup succeed without LD_LIBRARY_PATH.
        let builtins = unsafe { Library::new(dir.join("libnvrtc-builtins.so.13.0")) };
        let lib = unsafe { Library::new(dir.join("libnvrtc.so.13")) };
        match (builtins, lib) {
            (Ok(b), Ok(l)) => Nvrtc {
                _builtins: b,
                lib: l,
            },
            (b, l) => panic!(
                "cannot load NVRTC from {}: {:?} {:?}",
                dir.display(),
                b.err(),
                l.err()
            ),
        }
    })
}

/// The directory holding libnvrtc.so.13. When that is kernlings' cache, the pinned wheels
/// (nvrtc-wheels.txt) it lacks are installed first, with pip, into a staging directory then
/// merged in, as kernlings itself does.
pub fn ensure_nvrtc_dir() -> PathBuf {
    static INSTALL: OnceLock<PathBuf> = OnceLock::new();
    INSTALL
        .get_or_init(|| {
            let cache = cache_dir();
            let found = nvrtc_dir();
            let missing = missing_wheels(&cache);
            match &found {
                Some(dir) if !dir.starts_with(&cache) || missing.is_empty() => {
                    return dir.clone();
                }
                _ => {}
            }
            std::fs::create_dir_all(&cache).unwrap();
            let staging = cache.join(format!(".staging-{}", std::process::id()));
            eprintln!(
                "installing NVRTC for the tests: python3 -m pip install --target {} {}",
                cache.display(),
                missing.join(" ")
            );
            let status = std::process::Command::new("python3")
                .args(["-m", "pip", "install", "--quiet", "--target"])
                .arg(&staging)
                .args(&missing)
                .status()
                .expect("running python3 -m pip (python3 with pip is needed to fetch NVRTC)");
            assert!(status.success(), "pip could not install NVRTC ({status})");
            merge_into(&staging, &cache);
            let _ = std::fs::remove_dir_all(&staging);
            nvrtc_dir()
                .unwrap_or_else(|| panic!("pip finished, but NVRTC is not in {}", cache.display()))
        })
        .clone()
}

impl Nvrtc {
    pub fn compile(&self, src: &str) -> Result<String, String> {
        unsafe {
            let create: libloading::Symbol<CreateFn> = self.lib.get(b"nvrtcCreateProgram").unwrap();
            let compile: libloading::Symbol<CompileFn> =
                self.lib.get(b"nvrtcCompileProgram").unwrap();
            let log_size: libloading::Symbol<SizeFn> =
                self.lib.get(b"nvrtcGetProgramLogSize").unwrap();
            let log: libloading::Symbol<GetFn> = self.lib.get(b"nvrtcGetProgramLog").unwrap();
            let ptx_size: libloading::Symbol<SizeFn> = self.lib.get(b"nvrtcGetPTXSize").unwrap();
            let ptx: libloading::Symbol<GetFn> = self.lib.get(b"nvrtcGetPTX").unwrap();
            let mut prog = std::ptr::null_mut();
            let src = CString::new(src).unwrap();
            let name = CString::new("kernel.cu").unwrap();
            assert_eq!(
                create(
                    &mut prog,
                    src.as_ptr(),
                    name.as_ptr(),
                    0,
                    std::ptr::null(),
                    std::ptr::null()
                ),
                0
            );
            let mut opts = vec![
                CString::new("--gpu-architecture=compute_90").unwrap(),
                CString::new("--generate-line-info").unwrap(),
            ];
            for inc in include_dirs() {
                opts.push(CString::new(format!("-I{}", inc.display())).unwrap());
            }
            let ptrs: Vec<*const c_char> = opts.iter().map(|o| o.as_ptr()).collect();
            let r = compile(prog, ptrs.len() as c_int, ptrs.as_ptr());
            if r != 0 {
                let mut n = 0;
                log_size(prog, &mut n);
                let mut buf = vec![0u8; n];
                log(prog, buf.as_mut_ptr() as *mut c_char);
                return Err(String::from_utf8_lossy(&buf).into_owned());
            }
            let mut n = 0;
            ptx_size(prog, &mut n);
            let mut buf = vec![0u8; n];
            ptx(prog, buf.as_mut_ptr() as *mut c_char);
            buf.pop();
            Ok(String::from_utf8(buf).unwrap())
        }
    }
}

/// Compiles a test kernel file from tests/kernels.
pub fn compile_file(name: &str) -> String {
    let n = nvrtc();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/kernels")
        .join(name);
    let src = std::fs::read_to_string(&path).unwrap();
    n.compile(&src)
        .unwrap_or_else(|e| panic!("{name} does not compile:\n{e}"))
}

/// A kernel argument: a device pointer or a scalar, packed as its bytes.
pub enum Arg {
    Ptr(u64),
    I32(i32),
    U32(u32),
    F32(f32),
}

pub struct Gpu {
    pub drv: Driver,
    pub module: Arc<LoadedModule>,
}

impl Gpu {
    pub fn new(ptx: &str) -> Gpu {
        let drv = Driver::new();
        let module = drv
            .load_module(ptx)
            .unwrap_or_else(|e| panic!("module load: {e}"));
        Gpu { drv, module }
    }

    pub fn upload<T: Copy>(&self, data: &[T]) -> u64 {
        let bytes = std::mem::size_of_val(data);
        let p = self.drv.mem.alloc(bytes);
        let src = unsafe { std::slice::from_raw_parts(data.as_ptr() as *const u8, bytes) };
        self.drv
            .mem
            .with_bytes(p, bytes, |d| d.copy_from_slice(src))
            .unwrap();
        p
    }

    pub fn alloc<T: Copy + Default>(&self, n: usize) -> u64 {
        self.upload(&vec![T::default(); n])
    }

    pub fn download<T: Copy + Default>(&self, p: u64, n: usize) -> Vec<T> {
        let mut out = vec![T::default(); n];
        let bytes = n * std::mem::size_of::<T>();
        let dst = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr() as *mut u8, bytes) };
        self.drv
            .mem
            .with_bytes(p, bytes, |s| dst.copy_from_slice(s))
            .unwrap();
        out
    }

    pub fn launch(
        &self,
        kernel: &str,
        grid: [u32; 3],
        block: [u32; 3],
        smem: usize,
        args: &[Arg],
    ) -> LaunchReport {
        let f = self
            .module
            .function(kernel)
            .unwrap_or_else(|| panic!("no kernel {kernel}"));
        let mut buf = vec![0u8; f.param_bytes];
        for (p, a) in f.params.iter().zip(args) {
            let bytes: Vec<u8> = match a {
                Arg::Ptr(v) => v.to_le_bytes().to_vec(),
                Arg::I32(v) => v.to_le_bytes().to_vec(),
                Arg::U32(v) => v.to_le_bytes().to_vec(),
                Arg::F32(v) => v.to_le_bytes().to_vec(),
            };
            assert_eq!(bytes.len(), p.size, "argument size for {}", p.name);
            buf[p.offset..p.offset + p.size].copy_from_slice(&bytes);
        }
        self.drv.launch(f, grid, block, smem, &buf)
    }
}

/// Deterministic pseudo-random floats in [lo, hi).
pub fn randf(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            lo + (hi - lo) * ((s >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}

pub fn randu(n: usize, seed: u64) -> Vec<u32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 32) as u32
        })
        .collect()
}
