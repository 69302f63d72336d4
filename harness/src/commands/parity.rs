//! `kernlings dev parity run`: the CPU driver's PTX fixtures (cpu-driver/tests/fixtures/parity)
//! run on the backend in use, their outputs written as a text file of hex bit patterns, or
//! compared with one recorded earlier (on a GPU, to hold the interpreter to the hardware).
//!
//! A fixture is a `.ptx` file whose `// parity:` lines say what to launch:
//! `kernel NAME view u32|f32|u64|f64 [input u32|u64] [threads N] [blocks B] [ulp U] [abs X]
//! ops OP...` and, after it, one `in W...` line per thread (its operands; `0x..` hex, a decimal
//! integer, `f:1.5` or `d:-0.0` for float bits). The kernel is called as `NAME(in, out)`:
//! thread t's j-th operand is `in[j * T + t]`, op k's result goes to `out[k * T + t]`, and
//! `out` starts filled with 0xcd bytes. `ulp`/`abs` let an op differ by that much (approximate
//! instructions); everything else must match bit for bit.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use cudarc::driver::{CudaContext, LaunchConfig, PushKernelArg};
use cudarc::nvrtc::Ptx;

use super::Course;
use crate::cli::ParityAction;
use crate::toolchain;

/// Set on the child this command re-runs itself as, once the backend's libcuda.so is first on
/// the loader's path (cudarc finds the driver when it first loads it, in this process).
const CHILD_ENV: &str = "KERNLINGS_PARITY_CHILD";
/// What `out` holds before the launch: an element no op writes stays recognisable.
const POISON: u8 = 0xcd;
/// Elements per line of the text file.
const PER_LINE: usize = 8;
/// Differences shown before the count of the rest.
const SHOWN: usize = 200;

pub fn run(course: &Course, action: &ParityAction) -> anyhow::Result<ExitCode> {
    let ParityAction::Run {
        fixtures,
        out,
        check,
        allow,
    } = action;
    if out.is_none() && check.is_none() {
        bail!("dev parity run: say where the outputs go (--out FILE), or what to compare them with (--check FILE)");
    }
    if std::env::var_os(CHILD_ENV).is_none() {
        return rerun_on_backend(course);
    }
    let kernels = load_fixtures(fixtures)?;
    let device = CudaContext::new(0)
        .and_then(|cuda| cuda.name())
        .context("opening the CUDA device")?;
    let mut results = Vec::new();
    let mut failed = false;
    for k in &kernels {
        // A context of its own: a kernel that faults leaves its context unusable (on a GPU as
        // on the CPU driver), and the next kernel must still run. The last one is released
        // when `launch` returns, so this one is fresh.
        let ran = CudaContext::new(0)
            .context("opening the CUDA device")
            .and_then(|cuda| launch(&cuda, k));
        match ran {
            Ok(values) => results.push((k, values)),
            Err(e) => {
                failed = true;
                eprintln!("{}: {e:#}", k.id());
                if toolchain::uses_cpu_backend(course.global.backend) {
                    eprintln!("  (KERNLINGS_CPU_REPORT=FILE makes the CPU driver name the instruction and line)");
                }
            }
        }
    }
    if let Some(path) = out {
        let text = render(&fixtures.display().to_string(), &device, &results);
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        println!(
            "{} kernel(s) on {device}: outputs in {}",
            results.len(),
            path.display()
        );
    }
    if let Some(path) = check {
        let recorded =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut diffs = compare(&parse_recording(&recorded)?, &results);
        if let Some(allow) = allow {
            let text = std::fs::read_to_string(allow)
                .with_context(|| format!("reading {}", allow.display()))?;
            diffs = apply_allowed(diffs, &parse_allowed(&text)?);
        }
        match diffs.is_empty() {
            true => println!(
                "{} kernel(s) on {device} match {}",
                results.len(),
                path.display()
            ),
            false => {
                failed = true;
                println!(
                    "{} difference(s) from {} on {device}:",
                    diffs.len(),
                    path.display()
                );
                for d in diffs.iter().take(SHOWN) {
                    println!("  {d}");
                }
                if diffs.len() > SHOWN {
                    println!("  ... and {} more", diffs.len() - SHOWN);
                }
            }
        }
    }
    Ok(super::exit(!failed))
}

/// Runs this same command again with the chosen backend's driver first on LD_LIBRARY_PATH
/// (none needed for a real GPU; NVRTC never is: the fixtures are PTX already).
fn rerun_on_backend(course: &Course) -> anyhow::Result<ExitCode> {
    let mut cmd = std::process::Command::new(
        std::env::current_exe().context("finding the kernlings executable")?,
    );
    cmd.args(std::env::args_os().skip(1)).env(CHILD_ENV, "1");
    if toolchain::uses_cpu_backend(course.global.backend) {
        let dir = crate::cpu_setup::driver_dir(&course.root)?;
        let old = std::env::var_os("LD_LIBRARY_PATH").unwrap_or_default();
        let paths = std::iter::once(dir).chain(std::env::split_paths(&old));
        cmd.env("LD_LIBRARY_PATH", std::env::join_paths(paths)?);
    } else if course.global.backend == toolchain::BackendChoice::Gpu
        && toolchain::real_gpu().is_none()
    {
        bail!("--backend gpu: no working NVIDIA GPU found");
    }
    let status = cmd.status().context("running the parity child")?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(1)),
        None => bail!("the parity child died ({status})"),
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum View {
    U32,
    F32,
    U64,
    F64,
}

impl View {
    fn parse(s: &str) -> Option<View> {
        Some(match s {
            "u32" => View::U32,
            "f32" => View::F32,
            "u64" => View::U64,
            "f64" => View::F64,
            _ => return None,
        })
    }

    fn bytes(self) -> usize {
        match self {
            View::U32 | View::F32 => 4,
            View::U64 | View::F64 => 8,
        }
    }

    /// The value as a reader wants it in a difference: hex, and the float it stands for.
    fn show(self, bits: u64) -> String {
        match self {
            View::U32 => format!("0x{bits:08x}"),
            View::U64 => format!("0x{bits:016x}"),
            View::F32 => format!("0x{bits:08x} ({:e})", f32::from_bits(bits as u32)),
            View::F64 => format!("0x{bits:016x} ({:e})", f64::from_bits(bits)),
        }
    }
}

/// One kernel of a fixture and the launch its `// parity:` lines describe.
#[derive(Debug)]
struct Kernel {
    fixture: String,
    name: String,
    ptx: std::sync::Arc<String>,
    view: View,
    input_bytes: usize,
    threads: usize,
    blocks: u32,
    ulp: u64,
    abs: f64,
    ops: Vec<String>,
    /// One row of operands per thread.
    rows: Vec<Vec<u64>>,
}

impl Kernel {
    fn id(&self) -> String {
        format!("{}/{}", self.fixture, self.name)
    }

    /// Whether `got` may stand for `want`: the same bits, or within the fixture's tolerance.
    fn agrees(&self, got: u64, want: u64) -> bool {
        if got == want {
            return true;
        }
        if self.ulp == 0 && self.abs == 0.0 {
            return false;
        }
        let (x, y, ulps) = match self.view {
            View::F32 => {
                let (x, y) = (f32::from_bits(got as u32), f32::from_bits(want as u32));
                (
                    x as f64,
                    y as f64,
                    ordered32(got as u32).abs_diff(ordered32(want as u32)),
                )
            }
            View::F64 => {
                let (x, y) = (f64::from_bits(got), f64::from_bits(want));
                let ulps = ordered64(got).abs_diff(ordered64(want));
                (x, y, u64::try_from(ulps).unwrap_or(u64::MAX))
            }
            View::U32 | View::U64 => return false,
        };
        (x.is_nan() && y.is_nan()) || ulps <= self.ulp || (x - y).abs() <= self.abs
    }
}

/// Float bits on a line where neighbours differ by one: the distance is the ULPs between.
fn ordered32(bits: u32) -> i64 {
    match bits >> 31 {
        0 => bits as i64,
        _ => -((bits & 0x7fff_ffff) as i64),
    }
}

fn ordered64(bits: u64) -> i128 {
    match bits >> 63 {
        0 => bits as i128,
        _ => -((bits & !(1 << 63)) as i128),
    }
}

fn load_fixtures(dir: &Path) -> anyhow::Result<Vec<Kernel>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ptx"))
        .collect();
    paths.sort();
    let mut kernels = Vec::new();
    for path in &paths {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let fixture = path.file_stem().unwrap_or_default().to_string_lossy();
        let found = parse_fixture(&fixture, &text).with_context(|| path.display().to_string())?;
        if found.is_empty() {
            bail!("{}: no `// parity: kernel` line", path.display());
        }
        kernels.extend(found);
    }
    if kernels.is_empty() {
        bail!("no .ptx fixtures in {}", dir.display());
    }
    Ok(kernels)
}

fn parse_fixture(fixture: &str, text: &str) -> anyhow::Result<Vec<Kernel>> {
    let ptx = std::sync::Arc::new(text.to_string());
    let mut kernels: Vec<Kernel> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix("// parity:") else {
            continue;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        let at = || format!("line {}", n + 1);
        match words.first() {
            Some(&"kernel") => {
                kernels.push(parse_kernel(fixture, &ptx, &words[1..]).with_context(at)?)
            }
            Some(&"in") => {
                let k = kernels
                    .last_mut()
                    .with_context(|| format!("{}: `in` before any `kernel`", at()))?;
                let row = words[1..]
                    .iter()
                    .map(|w| operand(w, k.input_bytes))
                    .collect::<anyhow::Result<Vec<u64>>>()
                    .with_context(at)?;
                if k.rows.first().is_some_and(|r| r.len() != row.len()) {
                    bail!(
                        "{}: {} operands, the kernel's first row has {}",
                        at(),
                        row.len(),
                        k.rows[0].len()
                    );
                }
                k.rows.push(row);
            }
            _ => bail!("{}: a `// parity:` line is `kernel ...` or `in ...`", at()),
        }
    }
    for k in &mut kernels {
        k.threads = k.threads.max(k.rows.len());
        if k.threads == 0 || k.rows.len() > k.threads {
            bail!(
                "{}: {} threads for {} `in` rows",
                k.name,
                k.threads,
                k.rows.len()
            );
        }
    }
    Ok(kernels)
}

fn parse_kernel(
    fixture: &str,
    ptx: &std::sync::Arc<String>,
    words: &[&str],
) -> anyhow::Result<Kernel> {
    let mut k = Kernel {
        fixture: fixture.to_string(),
        name: words.first().context("`kernel` needs a name")?.to_string(),
        ptx: ptx.clone(),
        view: View::U32,
        input_bytes: 4,
        threads: 0,
        blocks: 1,
        ulp: 0,
        abs: 0.0,
        ops: Vec::new(),
        rows: Vec::new(),
    };
    let mut it = words[1..].iter();
    while let Some(&key) = it.next() {
        if key == "ops" {
            k.ops = it.by_ref().map(|s| s.to_string()).collect();
            break;
        }
        let value = it
            .next()
            .with_context(|| format!("`{key}` needs a value"))?;
        let bad = || format!("`{key} {value}`");
        match key {
            "view" => k.view = View::parse(value).with_context(bad)?,
            "input" => k.input_bytes = View::parse(value).with_context(bad)?.bytes(),
            "threads" => k.threads = value.parse().with_context(bad)?,
            "blocks" => k.blocks = value.parse().with_context(bad)?,
            "ulp" => k.ulp = value.parse().with_context(bad)?,
            "abs" => k.abs = value.parse().with_context(bad)?,
            _ => bail!("unknown `{key}` (view, input, threads, blocks, ulp, abs, ops)"),
        }
    }
    if k.ops.is_empty() {
        bail!(
            "kernel {}: no `ops` (the names of its output rows, last on the line)",
            k.name
        );
    }
    Ok(k)
}

/// One operand: `0x..` bits, a decimal integer (two's complement), `f:X` or `d:X` float bits.
fn operand(word: &str, bytes: usize) -> anyhow::Result<u64> {
    let bad = || format!("operand `{word}`");
    let bits = if let Some(h) = word.strip_prefix("0x") {
        u64::from_str_radix(h, 16).with_context(bad)?
    } else if let Some(f) = word.strip_prefix("f:") {
        f.parse::<f32>().with_context(bad)?.to_bits() as u64
    } else if let Some(d) = word.strip_prefix("d:") {
        d.parse::<f64>().with_context(bad)?.to_bits()
    } else {
        word.parse::<i64>().with_context(bad)? as u64
    };
    Ok(match bytes {
        4 => bits & 0xffff_ffff,
        _ => bits,
    })
}

/// Launches one kernel on its inputs; returns its outputs, op by op, thread by thread.
fn launch(cuda: &std::sync::Arc<CudaContext>, k: &Kernel) -> anyhow::Result<Vec<u64>> {
    let module = cuda
        .load_module(Ptx::from_src(k.ptx.as_str()))
        .context("loading the PTX")?;
    let func = module
        .load_function(&k.name)
        .with_context(|| format!("no kernel `{}` in the PTX", k.name))?;
    let stream = cuda.default_stream();
    let t = k.threads;
    let width = k.rows.first().map_or(0, Vec::len);
    let mut input = vec![0u8; (width * t).max(1) * k.input_bytes];
    for (i, row) in k.rows.iter().enumerate() {
        for (j, &w) in row.iter().enumerate() {
            let at = (j * t + i) * k.input_bytes;
            input[at..at + k.input_bytes].copy_from_slice(&w.to_le_bytes()[..k.input_bytes]);
        }
    }
    let n = k.ops.len() * t;
    let dev_in = stream.clone_htod(&input)?;
    let mut dev_out = stream.clone_htod(&vec![POISON; n * k.view.bytes()])?;
    let cfg = LaunchConfig {
        grid_dim: (k.blocks, 1, 1),
        block_dim: (t as u32, 1, 1),
        shared_mem_bytes: 0,
    };
    let mut builder = stream.launch_builder(&func);
    builder.arg(&dev_in).arg(&mut dev_out);
    unsafe { builder.launch(cfg) }.context("launching")?;
    let bytes = stream.clone_dtoh(&dev_out).context("running")?;
    Ok(bytes
        .chunks_exact(k.view.bytes())
        .map(|c| {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(w)
        })
        .collect())
}

/// The text file: a header, then `fixture/kernel op first-thread: hex...`, 8 elements a line.
fn render(dir: &str, device: &str, results: &[(&Kernel, Vec<u64>)]) -> String {
    let mut s = format!(
        "# kernlings dev parity: the outputs of {dir}/*.ptx on {device}\n\
         # <fixture>/<kernel> <op> <first thread>: bit patterns, thread by thread\n"
    );
    for (k, values) in results {
        let digits = k.view.bytes() * 2;
        for (op, row) in k.ops.iter().zip(values.chunks(k.threads)) {
            for (i, chunk) in row.chunks(PER_LINE).enumerate() {
                let _ = write!(s, "{} {op} {}:", k.id(), i * PER_LINE);
                for v in chunk {
                    let _ = write!(s, " {v:0digits$x}");
                }
                s.push('\n');
            }
        }
    }
    s
}

/// A recording: (kernel id, op, thread) -> bits.
type Recording = HashMap<(String, String, usize), u64>;

fn parse_recording(text: &str) -> anyhow::Result<Recording> {
    let mut rec = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let bad = || format!("recording line {}: `{line}`", n + 1);
        let (key, values) = line.split_once(':').with_context(bad)?;
        let mut key = key.split_whitespace();
        let (Some(id), Some(op), Some(first)) = (key.next(), key.next(), key.next()) else {
            bail!("{}", bad());
        };
        let first: usize = first.parse().with_context(bad)?;
        for (i, v) in values.split_whitespace().enumerate() {
            let bits = u64::from_str_radix(v, 16).with_context(bad)?;
            rec.insert((id.to_string(), op.to_string(), first + i), bits);
        }
    }
    Ok(rec)
}

/// Every element that differs from the recording beyond its kernel's tolerance, said readably.
/// The `<fixture>/<kernel> <op> thread N` a difference line is about.
fn diff_key(diff: &str) -> &str {
    let end = diff
        .find(" (in:")
        .or_else(|| diff.find(':'))
        .unwrap_or(diff.len());
    &diff[..end]
}

/// An --allow file's keys (each line `KEY: reason`; blank lines and `#` comments skipped).
fn parse_allowed(text: &str) -> anyhow::Result<Vec<String>> {
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once(':') {
            Some((key, reason)) if !reason.trim().is_empty() && key.contains(" thread ") => {
                keys.push(key.trim().to_string())
            }
            _ => bail!("allowed differences, line {}: want `<fixture>/<kernel> <op> thread N: <reason>`, got `{line}`", n + 1),
        }
    }
    Ok(keys)
}

/// The differences not allowed, then one line per allowed key that no longer differs.
fn apply_allowed(diffs: Vec<String>, allowed: &[String]) -> Vec<String> {
    let mut used = vec![false; allowed.len()];
    let mut left = Vec::new();
    for d in diffs {
        match allowed.iter().position(|k| k == diff_key(&d)) {
            Some(i) => used[i] = true,
            None => left.push(d),
        }
    }
    for (k, _) in allowed.iter().zip(&used).filter(|(_, &u)| !u) {
        left.push(format!("{k}: listed as a known difference but matches the recording now (remove it from the list)"));
    }
    left
}

fn compare(recorded: &Recording, results: &[(&Kernel, Vec<u64>)]) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut seen = 0;
    for (k, values) in results {
        for (op, row) in k.ops.iter().zip(values.chunks(k.threads)) {
            for (t, &got) in row.iter().enumerate() {
                let key = (k.id(), op.clone(), t);
                let Some(&want) = recorded.get(&key) else {
                    diffs.push(format!("{} {op} thread {t}: not in the recording", k.id()));
                    continue;
                };
                seen += 1;
                if !k.agrees(got, want) {
                    let inputs = k.rows.get(t).map(|r| {
                        r.iter()
                            .map(|w| format!("{w:#x}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    });
                    diffs.push(format!(
                        "{} {op} thread {t} (in: {}): got {}, recorded {}",
                        k.id(),
                        inputs.unwrap_or_default(),
                        k.view.show(got),
                        k.view.show(want)
                    ));
                }
            }
        }
    }
    if seen < recorded.len() {
        diffs.push(format!(
            "{} recorded element(s) no fixture produces now (a kernel or op renamed or removed?)",
            recorded.len() - seen
        ));
    }
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = "// parity: kernel k view f32 ulp 2 ops ex2 rsqrt\n\
                           // parity: in f:1.5 0x3f800000\n\
                           // parity: in -1 d:0.5\n\
                           // parity: kernel w view u64 input u64 threads 4 ops add\n\
                           // parity: in 1\n";

    #[test]
    fn fixture_lines_give_launches_inputs_and_tolerance() {
        let ks = parse_fixture("fx", FIXTURE).unwrap();
        assert_eq!(ks.len(), 2);
        assert_eq!((ks[0].threads, ks[0].ulp, ks[0].view), (2, 2, View::F32));
        assert_eq!(ks[0].ops, ["ex2", "rsqrt"]);
        // 32-bit inputs keep the low word: -1 and the f64 0.5's low (zero) bits.
        assert_eq!(
            ks[0].rows,
            [vec![0x3fc0_0000, 0x3f80_0000], vec![0xffff_ffff, 0]]
        );
        assert_eq!((ks[1].threads, ks[1].input_bytes), (4, 8));
        assert!(parse_fixture("fx", "// parity: in 1\n").is_err());
        assert!(parse_fixture("fx", "// parity: kernel k view f16 ops a\n").is_err());
        assert!(parse_fixture("fx", "// parity: kernel k view u32\n").is_err());
    }

    #[test]
    fn exact_kernels_match_bits_and_approx_ones_their_ulps() {
        let ks = parse_fixture("fx", FIXTURE).unwrap();
        let one = 1.0f32.to_bits() as u64;
        assert!(ks[0].agrees(one + 2, one) && !ks[0].agrees(one + 3, one));
        // Across zero: -0 and +0 are no ULP apart; the smallest denormals of both signs two.
        assert!(ks[0].agrees(0x8000_0000, 0) && ks[0].agrees(0x8000_0001, 1));
        assert!(ks[0].agrees(0x7fc0_0000, 0x7fff_ffff), "NaN for NaN");
        assert!(!ks[0].agrees(0x7fc0_0000, one));
        assert!(!ks[1].agrees(2, 1) && ks[1].agrees(1, 1));
    }

    #[test]
    fn a_rendered_recording_reads_back_and_differences_name_op_thread_and_inputs() {
        let ks = parse_fixture("fx", FIXTURE).unwrap();
        let values = vec![1.0f32.to_bits() as u64, 0, 7, 8];
        let results = vec![(&ks[0], values.clone())];
        let text = render("dir", "dev", &results);
        let rec = parse_recording(&text).unwrap();
        assert!(compare(&rec, &results).is_empty(), "{text}");
        let changed = vec![(&ks[0], vec![values[0], 0x7fc0_0000, 7, 8])];
        let diffs = compare(&rec, &changed);
        assert_eq!(diffs.len(), 1, "{diffs:?}");
        assert!(
            diffs[0].contains("fx/k ex2 thread 1 (in: 0xffffffff, 0x0)"),
            "{}",
            diffs[0]
        );
        assert!(diffs[0].contains("NaN"), "{}", diffs[0]);
        // A kernel that now runs one thread leaves the recording's second thread unmatched.
        let mut short = ks;
        short[0].threads = 1;
        let diffs = compare(&rec, &[(&short[0], vec![values[0], 0])]);
        assert!(
            diffs.iter().any(|d| d.contains("no fixture produces")),
            "{diffs:?}"
        );
    }
}
