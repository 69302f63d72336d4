//! The API a check is written against: named device buffers, seeded inputs, launches that
//! poison outputs before and verify inputs after, and comparisons that explain themselves.
//!
//! A check is `fn(&mut CheckCtx) -> anyhow::Result<()>`: it returns `Err(Failure)` (through
//! `?` on these methods) when the learner's kernel is wrong, any other `Err` when kernlings
//! itself failed, and `Ok` when every case passed. See `checks/vector_add.rs` for the model.

use std::sync::Arc;

use anyhow::Context as _;
use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, DevicePtr, DriverError,
    LaunchConfig, PushKernelArg,
};

use super::compare::{self, Failure, Shape};
use super::cuda_error::{cpu_backend_failure, kernel_failure};
use super::element::Element;
use super::inputs::{self, InputRng};
use super::speed::{self, Timed, Work};
use super::timed::{self, Bound, Recorded, Reference};
use crate::cpu_report::{self, BufferInfo};
use crate::curriculum::{Exercise, SpeedBar, Tolerance};
use crate::outcome::{LaunchCounters, SpeedResult};
use crate::toolchain::BackendKind;

/// Where speed is not measured, how often a "timed" case repeats its launch.
const UNTIMED_REPEATS: usize = 2;

/// f32 elementwise, GRADING.md's starting point, when the curriculum names none.
pub(super) const DEFAULT_TOLERANCE: Tolerance = Tolerance {
    rtol: 1e-5,
    atol: 1e-6,
};

/// Set to a directory to have every checked output written there as raw little-endian
/// elements, one file per case and buffer: how the two backends' outputs are compared.
pub const DUMP_OUTPUTS_ENV: &str = "KERNLINGS_DUMP_OUTPUTS";

/// `<dir>/<exercise>__<case>__<buffer>.<type>`, the case label reduced to file-name characters.
fn dump_output<T: Element>(
    dir: &std::path::Path,
    exercise: &str,
    case: &str,
    buf: &DevBuf<T>,
    values: &[T],
) -> anyhow::Result<()> {
    let case: String = case
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let path = dir.join(format!(
        "{exercise}__{case}__{}.{}",
        buf.name,
        T::C_NAME.replace(' ', "_")
    ));
    let width = std::mem::size_of::<T>();
    let bytes: Vec<u8> = values
        .iter()
        .flat_map(|v| v.bits().to_le_bytes().into_iter().take(width))
        .collect();
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&path, bytes))
        .with_context(|| format!("writing {}", path.display()))
}

/// CPU backend: forbid kernels a buffer's guard zone, so an access there stops the launch with
/// the thread, block and line that made it ("thread (5,0,0) of block (3,0,0) wrote c[1024], one
/// past the end of c"), rather than being found in the guard afterwards as on a GPU.
/// With `readonly`, kernels may read the range but not write it (an input: a kernel that
/// writes it, even to restore it later, stops at the first write).
fn protect_on_cpu(ptr: u64, bytes: usize, readonly: bool) -> anyhow::Result<()> {
    type Protect = unsafe extern "C" fn(u64, usize) -> cudarc::driver::sys::CUresult;
    let symbol: &[u8] = if readonly {
        b"kernlingsMemProtectReadOnly"
    } else {
        b"kernlingsMemProtect"
    };
    // SAFETY: the CPU driver exports these symbols with this signature (cpu-driver/src/api.rs);
    // cudarc has already loaded that library as its libcuda.
    let status = unsafe {
        let protect = cudarc::driver::sys::culib()
            .get::<Protect>(symbol)
            .context("the CPU driver lacks kernlings' protection calls: rebuild it")?;
        protect(ptr, bytes)
    };
    anyhow::ensure!(
        status == cudarc::driver::sys::CUresult::CUDA_SUCCESS,
        "the CPU driver refused to protect a guard zone ({status:?})"
    );
    Ok(())
}

pub struct CheckCtx {
    pub(super) cuda: Arc<CudaContext>,
    pub(super) stream: Arc<CudaStream>,
    module: Arc<CudaModule>,
    exercise: Exercise,
    backend: BackendKind,
    seed: u64,
    rng: InputRng,
    /// Whether speed should be measured: a GPU, a bar, and no `--no-speed`.
    timing: bool,
    pub(super) case: String,
    pub(super) cases: Vec<String>,
    pub(super) speed: Option<SpeedResult>,
    /// CPU backend: the driver's launch reports, and the buffers to name addresses by.
    cpu_report: Option<std::path::PathBuf>,
    /// Reports already read: a launch the driver rejects writes none, and must not be given
    /// the previous launch's.
    cpu_reports_seen: usize,
    buffers: std::cell::RefCell<Vec<BufferInfo>>,
    pub(super) counters: Vec<LaunchCounters>,
    /// What the outputs of the last checked launch were held to: the timed launches of the
    /// same buffers are held to it too.
    references: Vec<Box<dyn Reference>>,
    /// Inputs the timed launches vary, and the outputs' references for the varied version.
    versions: Vec<timed::Versions>,
    varied_references: Vec<Box<dyn Reference>>,
    /// NVRTC's include dirs for the learner's file, given to the harness's own kernels too
    /// (a GPU's NVRTC finds no `cuda_fp16.h` without them).
    pub(super) include_dirs: Vec<std::path::PathBuf>,
    /// The `also` bars a measurement has used, by name.
    also_used: Vec<String>,
}

/// A kernel of the learner's file, looked up by its `extern "C"` name.
pub struct Kernel {
    pub(super) name: String,
    pub(super) func: CudaFunction,
}

/// A device buffer that knows its name (for messages), its shape, and, for an input, the
/// values it must still hold after every launch.
pub struct DevBuf<T: Element> {
    name: String,
    shape: Shape,
    /// Elements the kernel may touch; the allocation adds a guard zone on each side.
    len: usize,
    /// The guard zones' fill: `POISON` for outputs, `input_guard()` for inputs.
    guard: T,
    slice: CudaSlice<T>,
    ptr: u64,
    original: Option<Vec<T>>,
    reset: Reset,
    /// An in/out buffer's contents before every launch (`CheckCtx::in_out`).
    start: Option<Vec<T>>,
}

/// What `launch` does to a buffer's elements before the kernel runs.
#[derive(Clone, Copy, PartialEq)]
enum Reset {
    /// Outputs get poison; inputs get their original values back.
    Poison,
    /// Accumulators (a sum, histogram bins) start every launch at zero.
    Zero,
    /// Scratch carried from one launch to the next of a multi-launch check: left alone.
    Keep,
    /// In/out buffers (rotated in place, a cache written at one slot) start every launch
    /// from the same contents.
    Restore,
}

impl<T: Element> DevBuf<T> {
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// One kernel argument: a buffer or a scalar. Build lists with `args![&a, &b, &c, n]`.
pub enum Arg<'a> {
    Buf(&'a dyn AnyBuf),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    F32(f32),
    F64(f64),
}

/// Kernel arguments in order: buffers by reference, scalars by value (`n as i32`).
#[macro_export]
macro_rules! args {
    ($($a:expr),* $(,)?) => { &[$($crate::grade::Arg::from($a)),*] };
}

impl<'a, T: Element> From<&'a DevBuf<T>> for Arg<'a> {
    fn from(b: &'a DevBuf<T>) -> Self {
        Arg::Buf(b)
    }
}

macro_rules! scalar_arg {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Arg<'_> {
            fn from(x: $t) -> Self {
                Arg::$v(x)
            }
        }
    )*};
}
scalar_arg!(i32 => I32, u32 => U32, i64 => I64, u64 => U64, f32 => F32, f64 => F64);

/// What a launch needs from a buffer without knowing its element type.
pub trait AnyBuf {
    fn device_ptr(&self) -> u64;
    /// Outputs and every guard zone: fill with poison, so unwritten elements show.
    fn poison(&self, stream: &Arc<CudaStream>) -> Result<(), DriverError>;
    /// After a launch: guard zones untouched, inputs still holding their values?
    fn verify(&self, stream: &Arc<CudaStream>) -> Result<Option<Failure>, DriverError>;
    /// Whether the kernel writes results here that a check compares (not inputs, not scratch).
    fn is_result(&self) -> bool;
    /// How the timing loop puts this buffer back before each launch: `None` to leave it.
    fn timed_reset(&self, stream: &Arc<CudaStream>) -> anyhow::Result<Option<timed::Reset>>;
}

/// Elements of poison before and after every buffer. A write past the end rarely faults on a
/// GPU (allocations are rounded up), so the harness looks for it: a missing `if (i < n)` in a
/// block of up to 1024 threads lands in here.
pub const GUARD: usize = 4096;

impl<T: Element> AnyBuf for DevBuf<T> {
    fn device_ptr(&self) -> u64 {
        self.ptr
    }

    fn is_result(&self) -> bool {
        self.original.is_none() && self.reset != Reset::Keep
    }

    fn timed_reset(&self, stream: &Arc<CudaStream>) -> anyhow::Result<Option<timed::Reset>> {
        let bytes = self.len * std::mem::size_of::<T>();
        Ok(match (self.reset, &self.original) {
            (Reset::Poison, Some(_)) => None,
            (Reset::Zero, _) => Some(timed::zero_reset(self.ptr, bytes)),
            (Reset::Restore, _) => {
                let start = self.start.as_deref().unwrap_or_default();
                Some(timed::image_reset(stream, self.ptr, start)?)
            }
            // Scratch too: a sequence that skipped its first launches when timed would
            // otherwise find the previous run's intermediate results waiting.
            (Reset::Poison, None) | (Reset::Keep, _) => {
                Some(timed::poison_reset::<T>(stream, self.ptr, self.len)?)
            }
        })
    }

    fn poison(&self, stream: &Arc<CudaStream>) -> Result<(), DriverError> {
        let mut host = vec![self.guard; self.slice.len()];
        match (self.reset, &self.original) {
            (Reset::Keep, _) => return Ok(()),
            // Sound: Element requires ValidAsZeroBits.
            (Reset::Zero, _) => host[GUARD..GUARD + self.len].fill(unsafe { std::mem::zeroed() }),
            (Reset::Restore, _) => host[GUARD..GUARD + self.len]
                .copy_from_slice(self.start.as_deref().unwrap_or_default()),
            (Reset::Poison, Some(original)) => {
                host[GUARD..GUARD + self.len].copy_from_slice(original)
            }
            (Reset::Poison, None) => host[GUARD..GUARD + self.len].fill(T::POISON),
        }
        let base = self.slice.device_ptr(stream).0;
        // The host vector lives until the synchronize below: the copy is complete when it drops.
        unsafe { cudarc::driver::result::memcpy_htod_async(base, &host, stream.cu_stream()) }?;
        stream.synchronize()
    }

    fn verify(&self, stream: &Arc<CudaStream>) -> Result<Option<Failure>, DriverError> {
        let all = stream.clone_dtoh(&self.slice)?;
        let (before, rest) = all.split_at(GUARD);
        let (inside, after) = rest.split_at(self.len);
        let touched = |x: &T| x.bits() != self.guard.bits();
        let hit = |zone: &[T]| zone.iter().position(touched);
        let last_hit = |zone: &[T]| zone.iter().rposition(touched);
        if let (Some(first), Some(last)) = (hit(after), last_hit(after)) {
            let (a, b) = (self.len + first, self.len + last);
            let name = &self.name;
            let written = if a == b {
                format!("{name}[{a}] was written")
            } else {
                format!("{name}[{a}..{b}] were written")
            };
            return Ok(Some(Failure::new(
                format!("your kernel wrote past the end of {name}"),
                format!(
                    "{written}, but {name} has {n} element{s} (the last is {name}[{last}]). \
                     Does every thread check its index against the size before writing?\n",
                    n = self.len,
                    s = if self.len == 1 { "" } else { "s" },
                    last = self.len as i64 - 1,
                ),
            )));
        }
        if let Some(first) = hit(before) {
            return Ok(Some(Failure::new(
                format!("your kernel wrote before the start of {}", self.name),
                format!(
                    "{}[{}] was written: a negative index. Check how the index is computed.\n",
                    self.name,
                    first as i64 - GUARD as i64
                ),
            )));
        }
        let Some(original) = &self.original else {
            return Ok(None);
        };
        let changed = original
            .iter()
            .zip(inside)
            .position(|(a, b)| a.bits() != b.bits());
        Ok(changed.map(|i| {
            Failure::new(
                format!("your kernel changed the input {}", self.name),
                format!(
                    "{}[{i}] was {} before the launch and {} after it. Inputs are read-only: \
                     write results only to the output buffers.\n",
                    self.name,
                    original[i].show(),
                    inside[i].show()
                ),
            )
        }))
    }
}

impl CheckCtx {
    pub(super) fn new(
        cuda: Arc<CudaContext>,
        module: Arc<CudaModule>,
        exercise: Exercise,
        backend: BackendKind,
        seed: u64,
        timing: bool,
    ) -> Self {
        CheckCtx {
            stream: cuda.default_stream(),
            cuda,
            module,
            exercise,
            backend,
            seed,
            rng: inputs::rng(seed),
            timing,
            case: String::new(),
            cases: Vec::new(),
            speed: None,
            cpu_report: (backend == BackendKind::Cpu)
                .then(|| std::env::var_os(cpu_report::REPORT_ENV).map(Into::into))
                .flatten(),
            cpu_reports_seen: 0,
            buffers: Default::default(),
            counters: Vec::new(),
            references: Vec::new(),
            versions: Vec::new(),
            varied_references: Vec::new(),
            include_dirs: Vec::new(),
            also_used: Vec::new(),
        }
    }

    /// The first `also` bar of the exercise that no `measure_speed_against` used.
    pub(super) fn unused_also_bar(&self) -> Option<String> {
        let speed = self.exercise.speed.as_ref()?;
        speed
            .also
            .iter()
            .find(|a| !self.also_used.contains(&a.against))
            .map(|a| a.against.clone())
    }

    /// The problem sizes from curriculum.toml, one correctness case each.
    pub fn sizes(&self) -> Vec<Vec<usize>> {
        self.exercise.sizes.clone()
    }

    /// The size of the timed case: the bar's when speed is measured in this run. Otherwise
    /// (the CPU backend, `--no-speed`) an exercise with a bar still gets its "timed" case at
    /// its last (largest) correctness size, where the launch is repeated untimed and held to
    /// account like timed launches are, so a kernel that idles on repeats fails everywhere.
    pub fn speed_size(&self) -> Option<Vec<usize>> {
        let bar = self.exercise.speed.as_ref()?;
        if self.timing {
            return Some(bar.size.clone());
        }
        self.exercise.sizes.last().cloned()
    }

    /// Add the timed size to a check's list of cases, unless it is one already: where speed
    /// is not measured, the "timed" case reuses a correctness size, which then runs once.
    pub fn append_timed(&self, sizes: &mut Vec<Vec<usize>>, timed: &Option<Vec<usize>>) {
        if let Some(t) = timed.as_ref().filter(|t| !sizes.contains(t)) {
            sizes.push(t.clone());
        }
    }

    pub fn tolerance(&self) -> Tolerance {
        self.exercise.tolerance.unwrap_or(DEFAULT_TOLERANCE)
    }

    pub fn backend(&self) -> BackendKind {
        self.backend
    }

    /// On the CPU backend, what the driver counted during the last launch (global sectors,
    /// bank conflicts...): deterministic bars for memory-access lessons. `None` on a GPU.
    pub fn cpu_counters(&self) -> anyhow::Result<Option<LaunchCounters>> {
        if self.backend != BackendKind::Cpu {
            return Ok(None);
        }
        // `launch` recorded the driver's report of each launch.
        self.counters
            .last()
            .cloned()
            .map(Some)
            .context("the CPU driver reported no launch")
    }

    /// Number of streaming multiprocessors, for grids sized to the device.
    pub fn sm_count(&self) -> anyhow::Result<u32> {
        use cudarc::driver::sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT;
        Ok(self
            .cuda
            .attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?
            .max(1) as u32)
    }

    /// Name the case being checked; failures and passes are reported under it ("n = 33").
    /// Each case draws its inputs from its own stream, seeded by the run's seed and the label,
    /// so a case's inputs do not depend on which cases ran before it (the CPU backend skips
    /// the largest ones): the same seed gives the same inputs for the same case on both backends.
    pub fn case(&mut self, label: impl Into<String>) {
        self.case = label.into();
        self.rng = inputs::rng(inputs::case_seed(self.seed, &self.case));
    }

    /// Random f32s with a random offset and scale (see `inputs`).
    pub fn random_f32(&mut self, n: usize) -> Vec<f32> {
        inputs::f32s(&mut self.rng, n)
    }

    pub fn random_positive_f32(&mut self, n: usize) -> Vec<f32> {
        inputs::positive_f32s(&mut self.rng, n)
    }

    pub fn random_i32(&mut self, n: usize, lo: i32, hi: i32) -> Vec<i32> {
        inputs::i32s(&mut self.rng, n, lo, hi)
    }

    /// The learner's kernel `name`. A missing one fails the attempt with a hint.
    pub fn kernel(&self, name: &str) -> anyhow::Result<Kernel> {
        match self.module.load_function(name) {
            Ok(func) => Ok(Kernel {
                name: name.to_string(),
                func,
            }),
            Err(_) => Err(Failure::new(
                format!("your file has no kernel named `{name}`"),
                format!(
                    "Keep the kernel's name and the `extern \"C\"` in front of it as the stub \
                     has them: kernlings looks the kernel up as `{name}`.\n"
                ),
            )
            .into()),
        }
    }

    /// An input buffer holding `data`; every launch checks it still does.
    pub fn input<T: Element>(&self, name: &str, data: &[T]) -> anyhow::Result<DevBuf<T>> {
        self.buffer(name, Shape::Linear, data, true)
    }

    /// A row-major `rows x cols` input.
    pub fn input_2d<T: Element>(
        &self,
        name: &str,
        rows: usize,
        cols: usize,
        data: &[T],
    ) -> anyhow::Result<DevBuf<T>> {
        self.buffer(name, Shape::Grid { rows, cols }, data, true)
    }

    /// An output buffer of `len` elements, poisoned before every launch.
    pub fn output<T: Element>(&self, name: &str, len: usize) -> anyhow::Result<DevBuf<T>> {
        self.buffer(name, Shape::Linear, &vec![T::POISON; len], false)
    }

    /// A row-major `rows x cols` output; mismatches are reported as (row, col).
    pub fn output_2d<T: Element>(
        &self,
        name: &str,
        rows: usize,
        cols: usize,
    ) -> anyhow::Result<DevBuf<T>> {
        let shape = Shape::Grid { rows, cols };
        self.buffer(name, shape, &vec![T::POISON; rows * cols], false)
    }

    /// An output that `launch` sets to zero instead of poison: for kernels that accumulate
    /// with atomics (a sum, histogram bins). A kernel that adds nothing leaves zeros there.
    pub fn accumulator<T: Element>(&self, name: &str, len: usize) -> anyhow::Result<DevBuf<T>> {
        let mut buf = self.output(name, len)?;
        buf.reset = Reset::Zero;
        Ok(buf)
    }

    /// Scratch passed from one launch to the next (tile sums of a multi-launch scan):
    /// poisoned when created, then left alone by `launch`; its guard zones are still checked.
    pub fn scratch<T: Element>(&self, name: &str, len: usize) -> anyhow::Result<DevBuf<T>> {
        let mut buf = self.output(name, len)?;
        buf.reset = Reset::Keep;
        Ok(buf)
    }

    /// A buffer the kernel reads and updates in place (Q and K rotated in place, a KV cache
    /// written at one slot): every launch, timed ones too, starts from `data`; afterwards it
    /// is compared like an output, so entries the kernel must leave alone are checked too.
    pub fn in_out<T: Element>(&self, name: &str, data: &[T]) -> anyhow::Result<DevBuf<T>> {
        let mut buf = self.buffer(name, Shape::Linear, data, false)?;
        buf.start = Some(data.to_vec());
        buf.reset = Reset::Restore;
        Ok(buf)
    }

    fn buffer<T: Element>(
        &self,
        name: &str,
        shape: Shape,
        data: &[T],
        input: bool,
    ) -> anyhow::Result<DevBuf<T>> {
        let guard = if input { T::input_guard() } else { T::POISON };
        let mut host = vec![guard; GUARD + data.len() + GUARD];
        host[GUARD..GUARD + data.len()].copy_from_slice(data);
        let slice = self.stream.clone_htod(&host)?;
        let ptr = slice.device_ptr(&self.stream).0 + (GUARD * std::mem::size_of::<T>()) as u64;
        if self.backend == BackendKind::Cpu {
            let guard_bytes = GUARD * std::mem::size_of::<T>();
            protect_on_cpu(ptr - guard_bytes as u64, guard_bytes, false)?;
            protect_on_cpu(ptr + std::mem::size_of_val(data) as u64, guard_bytes, false)?;
            if input && !data.is_empty() {
                protect_on_cpu(ptr, std::mem::size_of_val(data), true)?;
            }
        }
        self.buffers.borrow_mut().push(BufferInfo {
            name: name.to_string(),
            base: ptr,
            len: data.len(),
            elem_size: std::mem::size_of::<T>(),
            elem_type: T::C_NAME.to_string(),
        });
        Ok(DevBuf {
            name: name.to_string(),
            shape,
            len: data.len(),
            guard,
            slice,
            ptr,
            original: input.then(|| data.to_vec()),
            reset: Reset::Poison,
            start: None,
        })
    }

    /// Launch the learner's kernel and wait for it: outputs are poisoned first, inputs are
    /// verified after. A CUDA error fails the attempt with words for what it means.
    pub fn launch(
        &mut self,
        kernel: &Kernel,
        cfg: LaunchConfig,
        args: &[Arg],
    ) -> anyhow::Result<()> {
        let failed = |e: DriverError| anyhow::Error::from(kernel_failure(&kernel.name, e));
        self.references.clear();
        self.versions.clear();
        self.varied_references.clear();
        for arg in args {
            if let Arg::Buf(b) = arg {
                b.poison(&self.stream)
                    .context("poisoning an output buffer")?;
            }
        }
        let launched = self
            .launch_async(kernel, cfg, args)
            .and_then(|()| self.stream.synchronize());
        // The CPU driver's account of the launch: the details under a CUDA error's words, or
        // the failure itself when the launch "worked" (a race, an uninitialised read).
        let seen = self.cpu_diagnostic()?;
        match (launched, seen) {
            (Err(e), None) => return Err(kernel_failure(&kernel.name, e).into()),
            (Err(e), Some((diag, sentence))) => {
                return Err(cpu_backend_failure(&kernel.name, e, &diag, &sentence).into());
            }
            (Ok(()), Some((_, sentence))) => {
                let details = "(seen by the CPU backend, which checks every access)\n";
                return Err(Failure::new(sentence, details).into());
            }
            (Ok(()), None) => {}
        }
        for arg in args {
            if let Arg::Buf(b) = arg {
                if let Some(f) = b.verify(&self.stream).map_err(failed)? {
                    return Err(f.into());
                }
            }
        }
        Ok(())
    }

    /// CPU backend: record the last launch's counters; return its diagnostic in words.
    fn cpu_diagnostic(&mut self) -> anyhow::Result<Option<(cpu_report::Diagnostic, String)>> {
        let Some(path) = &self.cpu_report else {
            return Ok(None);
        };
        let reports = cpu_report::read_reports(path)?;
        let fresh = reports.len() > self.cpu_reports_seen;
        self.cpu_reports_seen = reports.len();
        let Some(report) = reports.into_iter().last().filter(|_| fresh) else {
            return Ok(None);
        };
        self.counters.push(report.counters);
        Ok(report.diagnostic.map(|d| {
            let sentence = cpu_report::describe(&d, &self.buffers.borrow());
            (d, sentence)
        }))
    }

    /// Queue a launch, nothing else: what the timing loop repeats.
    pub(super) fn launch_async(
        &self,
        kernel: &Kernel,
        cfg: LaunchConfig,
        args: &[Arg],
    ) -> Result<(), DriverError> {
        let ptrs: Vec<u64> = args
            .iter()
            .map(|a| {
                if let Arg::Buf(b) = a {
                    b.device_ptr()
                } else {
                    0
                }
            })
            .collect();
        let mut builder = self.stream.launch_builder(&kernel.func);
        for (arg, ptr) in args.iter().zip(&ptrs) {
            match arg {
                Arg::Buf(_) => builder.arg(ptr),
                Arg::I32(x) => builder.arg(x),
                Arg::U32(x) => builder.arg(x),
                Arg::I64(x) => builder.arg(x),
                Arg::U64(x) => builder.arg(x),
                Arg::F32(x) => builder.arg(x),
                Arg::F64(x) => builder.arg(x),
            };
        }
        unsafe { builder.launch(cfg) }.map(|_| ())
    }

    /// Copy a buffer back to the host.
    pub fn read<T: Element>(&self, buf: &DevBuf<T>) -> anyhow::Result<Vec<T>> {
        let all = self.stream.clone_dtoh(&buf.slice)?;
        Ok(all[GUARD..GUARD + buf.len].to_vec())
    }

    /// Compare an output with the CPU reference `want` (exact for integers, the exercise's
    /// tolerance for floats) and record the passing case.
    pub fn expect<T: Element>(&mut self, out: &DevBuf<T>, want: &[T]) -> anyhow::Result<()> {
        self.expect_within(out, want, self.tolerance())
    }

    /// `expect` with a tolerance the check derives itself, e.g. an atol scaled to the size of
    /// the sums a GEMM element adds up.
    pub fn expect_within<T: Element>(
        &mut self,
        out: &DevBuf<T>,
        want: &[T],
        tol: Tolerance,
    ) -> anyhow::Result<()> {
        let got = self.read(out)?;
        if let Some(dir) = std::env::var_os(DUMP_OUTPUTS_ENV) {
            dump_output(
                std::path::Path::new(&dir),
                &self.exercise.name,
                &self.case,
                out,
                &got,
            )?;
        }
        let line = compare::compare(&out.name, out.shape, &got, want, tol)?;
        self.hold_timed_to(out, want, tol);
        self.cases.push(if self.case.is_empty() {
            line
        } else {
            format!("{}: {line}", self.case)
        });
        Ok(())
    }

    /// What the timed launches of `out` must produce: `expect` calls this; a check that
    /// compares an output its own way (with its own words) calls it after that comparison.
    pub fn hold_timed_to<T: Element>(&mut self, out: &DevBuf<T>, want: &[T], tol: Tolerance) {
        self.record(out, want, Bound::Uniform(tol));
    }

    /// A second version of an input for the timed launches: `varied` is `buf`'s checked
    /// contents with a few elements changed (`vary` makes one). Each timed launch gets one of
    /// the two versions, chosen from OS entropy, so a kernel that replays a remembered result
    /// instead of reading its inputs fails. Give every output's reference for the varied
    /// version with `hold_varied_to` (or `hold_varied_bounded`).
    pub fn vary_input<T: Element>(&mut self, buf: &DevBuf<T>, varied: &[T]) -> anyhow::Result<()> {
        let original = buf
            .original
            .as_ref()
            .context("vary_input takes an input buffer")?;
        let bytes = |v: &[T]| -> Vec<u8> {
            v.iter()
                .flat_map(|x| {
                    x.bits()
                        .to_le_bytes()
                        .into_iter()
                        .take(std::mem::size_of::<T>())
                })
                .collect()
        };
        let hosts = [bytes(original), bytes(varied)];
        let images = [
            self.stream.clone_htod(&hosts[0])?,
            self.stream.clone_htod(&hosts[1])?,
        ];
        self.versions.push(timed::Versions {
            ptr: buf.ptr,
            bytes: hosts[0].len(),
            images,
            hosts,
        });
        Ok(())
    }

    /// What `out` must hold after a timed launch that got the varied inputs.
    pub fn hold_varied_to<T: Element>(&mut self, out: &DevBuf<T>, want: &[T], tol: Tolerance) {
        self.varied_references.push(Box::new(Recorded {
            name: out.name.clone(),
            ptr: out.ptr,
            shape: out.shape,
            want: want.to_vec(),
            bound: Bound::Uniform(tol),
        }));
    }

    /// `hold_varied_to` with a bound per element (as `expect_bounded`).
    pub fn hold_varied_bounded<T: Element>(
        &mut self,
        out: &DevBuf<T>,
        want: &[T],
        bounds: Vec<f64>,
        rule: String,
    ) {
        self.varied_references.push(Box::new(Recorded {
            name: out.name.clone(),
            ptr: out.ptr,
            shape: out.shape,
            want: want.to_vec(),
            bound: Bound::PerElement { bounds, rule },
        }));
    }

    /// `data` with three elements at seeded random positions changed by `change`: the varied
    /// version of a timed input (see `vary_input`).
    pub fn vary<T: Copy>(&mut self, data: &[T], change: impl Fn(T) -> T) -> Vec<T> {
        let mut out = data.to_vec();
        for _ in 0..3 {
            let i = self.random_i32(1, 0, data.len() as i32)[0] as usize;
            out[i] = change(out[i]);
        }
        out
    }

    fn record<T: Element>(&mut self, out: &DevBuf<T>, want: &[T], bound: Bound) {
        self.references.retain(|r| r.ptr() != out.ptr);
        self.references.push(Box::new(Recorded {
            name: out.name.clone(),
            ptr: out.ptr,
            shape: out.shape,
            want: want.to_vec(),
            bound,
        }));
    }

    /// `expect` with a bound of its own for every element (`bounds[i]`: the error a correct
    /// kernel can make there), explained to the learner by `rule`.
    pub fn expect_bounded<T: Element>(
        &mut self,
        out: &DevBuf<T>,
        want: &[T],
        bounds: Vec<f64>,
        rule: String,
    ) -> anyhow::Result<()> {
        let got = self.read(out)?;
        let line =
            compare::compare_bounded(&out.name, out.shape, &got, want, |i| bounds[i], &rule)?;
        self.record(out, want, Bound::PerElement { bounds, rule });
        self.cases.push(format!("{}: {line}", self.case));
        Ok(())
    }

    /// A kernel of the harness's own (a baseline, a GPU-side reference), compiled from `source`.
    pub fn harness_kernel(&self, source: &str, name: &str) -> anyhow::Result<Kernel> {
        let cc = self.cuda.compute_capability()?;
        let ptx = super::compile::compile(source, name, cc, &self.include_dirs)?
            .map_err(|f| anyhow::anyhow!("compiling the harness's kernel {name}:\n{}", f.0))?;
        let module = self.cuda.load_module(ptx)?;
        Ok(Kernel {
            name: name.to_string(),
            func: module.load_function(name)?,
        })
    }

    /// Time `learner` against the exercise's baseline and record the speed result.
    /// `work` says what one launch moves or computes; `naive` is the harness's own kernel
    /// launch for a `naive` baseline. Every launch the timing loop makes is held to the
    /// references the outputs were `expect`ed against in this case (see `timed`).
    pub fn measure_speed(
        &mut self,
        learner: Launch,
        work: Work,
        naive: Option<Launch>,
    ) -> anyhow::Result<()> {
        self.measure(std::slice::from_ref(&learner), work, naive, None)
    }

    /// `measure_speed` for a computation made of several launches in a row (a multi-launch
    /// scan): the timed span covers all of them.
    pub fn measure_speed_of_sequence(
        &mut self,
        learner: &[Launch],
        work: Work,
        naive: Option<Launch>,
    ) -> anyhow::Result<()> {
        self.measure(learner, work, naive, None)
    }

    /// `measure_speed` against a baseline the check builds itself (an unfused attention made
    /// of several harness launches, on buffers of its own).
    pub fn measure_speed_with(
        &mut self,
        learner: &[Launch],
        work: Work,
        baseline: Timed,
    ) -> anyhow::Result<()> {
        self.measure(learner, work, None, Some(baseline))
    }

    /// `measure_speed_with` against the exercise's further bar named `against` in
    /// curriculum.toml (`also = [{ against = "...", bar = ... }]`): the result is shown
    /// against that name, and the worst of all the exercise's bars is its speed.
    pub fn measure_speed_against(
        &mut self,
        learner: &[Launch],
        work: Work,
        baseline: Timed,
        against: &str,
    ) -> anyhow::Result<()> {
        let Some(speed) = &self.exercise.speed else {
            return Ok(());
        };
        let also = speed
            .also
            .iter()
            .find(|a| a.against == against)
            .with_context(|| {
                format!(
                    "kernlings bug: {} has no `also` bar against \"{against}\" in curriculum.toml",
                    self.exercise.name
                )
            })?;
        self.also_used.push(against.to_string());
        let bar = SpeedBar {
            bar: also.bar,
            also: Vec::new(),
            ..speed.clone()
        };
        self.measure_with_bar(bar, Some(against), learner, work, None, Some(baseline))
    }

    fn measure(
        &mut self,
        learner: &[Launch],
        work: Work,
        naive: Option<Launch>,
        custom: Option<Timed>,
    ) -> anyhow::Result<()> {
        let Some(bar) = self.exercise.speed.clone() else {
            return Ok(());
        };
        self.measure_with_bar(bar, None, learner, work, naive, custom)
    }

    fn measure_with_bar(
        &mut self,
        bar: SpeedBar,
        against: Option<&str>,
        learner: &[Launch],
        work: Work,
        naive: Option<Launch>,
        custom: Option<Timed>,
    ) -> anyhow::Result<()> {
        let mut accountant = self.accountant(learner)?;
        if !self.timing {
            // Deterministic here: first the varied inputs (when the check gives them), then
            // the checked ones.
            for repeat in 0..UNTIMED_REPEATS {
                accountant.before_with(1 - repeat % 2)?;
                for l in learner {
                    self.launch_async(l.kernel, l.cfg, l.args)
                        .and_then(|()| self.stream.synchronize())
                        .map_err(|e| kernel_failure(&l.kernel.name, e))?;
                }
                accountant.after(Some(repeat), true)?;
            }
            drop(accountant);
            self.cases.push(format!(
                "{}: the launch repeated {UNTIMED_REPEATS} times on the same buffers, every \
                 output held to the checked run (speed not measured)",
                self.case
            ));
            return Ok(());
        }
        let (mut result, checked) =
            speed::measure(self, &bar, learner, work, naive, custom, accountant)?;
        if let Some(name) = against {
            result.baseline = name.to_string();
        }
        self.cases.push(format!(
            "{}: every timed launch checked ({} launches, {} of them element by element)",
            self.case, checked.0, checked.1
        ));
        // Several timed shapes: the exercise is as fast as its slowest shape, against its bar.
        let worse =
            |new: &SpeedResult, old: &SpeedResult| new.ratio / new.bar < old.ratio / old.bar;
        if self.speed.as_ref().is_none_or(|old| worse(&result, old)) {
            self.speed = Some(result);
        }
        Ok(())
    }

    /// The resets and references for the buffers of `learner`'s launches.
    fn accountant<'a>(&'a self, learner: &'a [Launch]) -> anyhow::Result<timed::Accountant<'a>> {
        let bufs: Vec<&dyn AnyBuf> = learner
            .iter()
            .flat_map(|l| l.args.iter())
            .filter_map(|a| match a {
                Arg::Buf(b) => Some(*b),
                _ => None,
            })
            .collect();
        let mut resets = Vec::new();
        let mut references: timed::References = Vec::new();
        let mut seen = Vec::new();
        for b in &bufs {
            let ptr = b.device_ptr();
            if seen.contains(&ptr) {
                continue;
            }
            seen.push(ptr);
            resets.extend(b.timed_reset(&self.stream)?);
            if let Some(r) = self.references.iter().find(|r| r.ptr() == ptr) {
                let varied = self.varied_references.iter().find(|r| r.ptr() == ptr);
                if !self.versions.is_empty() && varied.is_none() {
                    anyhow::bail!(
                        "kernlings bug: the timed inputs vary but an output has no reference for \
                         the varied version (hold_varied_to)"
                    );
                }
                references.push((r.as_ref(), varied.map(|v| v.as_ref())));
            } else if b.is_result() {
                anyhow::bail!(
                    "kernlings bug: an output of the timed launch was not checked first (call \
                     `expect` on every output of the checked launch before `measure_speed`)"
                );
            }
        }
        let stream = self.stream.clone();
        let verify = Box::new(move || {
            for b in &bufs {
                if let Some(f) = b.verify(&stream)? {
                    return Ok(Some(f));
                }
            }
            Ok(None)
        });
        Ok(timed::Accountant::new(
            self.stream.clone(),
            resets,
            references,
            self.versions.iter().collect(),
            verify,
            speed::MIN_SAMPLES,
        ))
    }
}

/// One launch, as the timing loop repeats it.
pub struct Launch<'a> {
    pub kernel: &'a Kernel,
    pub cfg: LaunchConfig,
    pub args: &'a [Arg<'a>],
}

/// `ceil(n / block)` blocks: enough to give every element a thread.
pub fn blocks_for(n: usize, block: u32) -> u32 {
    (n as u32).div_ceil(block).max(1)
}
