//! `kernlings profile NAME`: what the hardware did while the learner's kernel ran, in the
//! learner's words. On a GPU with Nsight Compute's `ncu` on PATH, the grading child runs under
//! `ncu` (speed off: only the checked launches) and the longest launch's counters are shown;
//! on the CPU backend, the interpreter's counters. Each profile is appended to
//! `.kernlings/profiles/NAME.json`, which `kernlings report` shows.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{show, Course};
use crate::curriculum::{self, ExerciseKind};
use crate::grade;
use crate::outcome::{LaunchCounters, Outcome};

/// One profile of one exercise, as saved and as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub at: DateTime<Utc>,
    /// "NVIDIA H200 (Nsight Compute)" or "CPU backend (PTX interpreter counters)".
    pub source: String,
    pub kernel: String,
    pub readings: Vec<Reading>,
    /// The learner's own note, e.g. "naive vs tiled: ...".
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub what: String,
    pub value: String,
    pub meaning: String,
}

/// ncu's view of a profiled run: long enough for the replays ncu does of every launch.
const NCU_TIMEOUT: Duration = Duration::from_secs(600);

/// (metric, what the learner reads, how the value is shown, what it means).
const NCU_METRICS: [(&str, &str, Unit, &str); 7] = [
    (
        "dram__throughput.avg.pct_of_peak_sustained_elapsed",
        "DRAM throughput",
        Unit::PercentOfPeak,
        "how busy device memory was; near 100% a memory-bound kernel is at the hardware's limit",
    ),
    (
        "sm__warps_active.avg.pct_of_peak_sustained_active",
        "achieved occupancy",
        Unit::Percent,
        "resident warps as a share of what an SM can hold: fewer warps hide less memory latency",
    ),
    (
        "l1tex__t_sector_hit_rate.pct",
        "L1 hit rate",
        Unit::Percent,
        "sectors found in the SM's L1 cache: data reused by nearby threads",
    ),
    (
        "lts__t_sector_hit_rate.pct",
        "L2 hit rate",
        Unit::Percent,
        "sectors found in the shared L2 instead of fetched from DRAM",
    ),
    (
        "l1tex__average_t_sectors_per_request_pipe_lsu_mem_global_op_ld.ratio",
        "sectors per global load request",
        Unit::Ratio,
        "4 is a warp reading 32 consecutive floats (coalesced); up to 32 when each thread needs a \
         sector of its own",
    ),
    (
        "l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum",
        "shared-memory bank conflicts (loads)",
        Unit::Count,
        "extra passes because threads of a warp read different addresses in the same bank",
    ),
    (
        "l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_st.sum",
        "shared-memory bank conflicts (stores)",
        Unit::Count,
        "the same for writes to shared memory",
    ),
];

/// Warp stall reasons ncu counts (`smsp__average_warps_issue_stalled_<reason>_per_issue_active
/// .ratio`), and what each means for the kernel.
const STALLS: [(&str, &str); 10] = [
    (
        "long_scoreboard",
        "waiting for global or local memory (a load from DRAM or L2)",
    ),
    (
        "barrier",
        "waiting at __syncthreads() for the rest of the block",
    ),
    (
        "mio_throttle",
        "the shared-memory pipe is full (many shared loads or bank conflicts)",
    ),
    ("short_scoreboard", "waiting for a shared-memory result"),
    ("lg_throttle", "too many global loads/stores queued at once"),
    (
        "math_pipe_throttle",
        "the arithmetic units are busy: compute-bound, which is good",
    ),
    ("wait", "fixed-latency dependencies between instructions"),
    (
        "not_selected",
        "ready, but another warp was picked: plenty of work",
    ),
    ("membar", "waiting at a memory fence"),
    ("no_instruction", "waiting for instructions to be fetched"),
];

const DURATION: &str = "gpu__time_duration.sum";

#[derive(Debug, Clone, Copy)]
enum Unit {
    PercentOfPeak,
    Percent,
    Ratio,
    Count,
}

pub fn run(course: &Course, name: &str, note: Option<&str>) -> anyhow::Result<ExitCode> {
    let ex = course.exercise(name)?;
    if ex.kind == ExerciseKind::Rust {
        bail!("`{name}` is a Rust exercise: `kernlings profile` profiles the .cu kernels");
    }
    let path = curriculum::exercise_path(&course.root, ex);
    let mut req = course.request(ex, path, None);
    req.speed = false;
    let profile = if course.on_gpu() && which("ncu").is_some() {
        req.timeout = req.timeout.max(NCU_TIMEOUT);
        profile_with_ncu(&req)?
    } else {
        if course.on_gpu() {
            println!(
                "{}",
                show::yellow("`ncu` (Nsight Compute) is not on PATH: showing the CPU backend's counters instead.")
            );
            req.backend = crate::toolchain::BackendChoice::Cpu;
        }
        let outcome = grade::grade(&req).with_context(|| format!("grading `{name}`"))?;
        from_counters(&outcome)?
    };
    let profile = Profile {
        note: note.map(str::to_string),
        ..profile
    };
    print!("{}", render(name, &profile));
    let saved = save(&course.root, name, &profile)?;
    println!(
        "Saved in {}; `kernlings report` shows it in PROGRESS.md.",
        course.display_path(&saved)
    );
    Ok(ExitCode::SUCCESS)
}

fn profile_with_ncu(req: &grade::GradeRequest) -> anyhow::Result<Profile> {
    let log = std::env::temp_dir().join(format!("kernlings-ncu-{}.csv", std::process::id()));
    let mut metrics: Vec<String> = NCU_METRICS.iter().map(|m| m.0.to_string()).collect();
    metrics.extend(STALLS.iter().map(|(r, _)| stall_metric(r)));
    metrics.push(DURATION.into());
    let wrapper: Vec<OsString> = [
        "ncu",
        // The GPU's own clocks, as when kernlings times a kernel.
        "--clock-control",
        "none",
        "--target-processes",
        "all",
        "--print-units",
        "base",
        "--csv",
        "--log-file",
    ]
    .iter()
    .map(OsString::from)
    .chain([log.clone().into_os_string()])
    .chain(["--metrics".into(), metrics.join(",").into()])
    .collect();
    let outcome = grade::grade_under(req, &wrapper, &grade::Cancel::default())?;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    if !outcome.correctness.passed() {
        println!(
            "{}",
            show::yellow(&format!(
                "Your kernel is not correct yet ({}); the profile is of what it does now.",
                show::one_line(&outcome)
            ))
        );
    }
    let launches = parse_ncu_csv(&text);
    let Some(launch) = launches.iter().max_by(|a, b| {
        let d = |l: &Launch| l.metric(DURATION).unwrap_or(0.0);
        d(a).total_cmp(&d(b))
    }) else {
        let hint = if text.contains("ERR_NVGPUCTRPERM") {
            "ncu has no permission to read the GPU's counters (run as root, or load the driver \
             with NVreg_RestrictProfilingToAdminUsers=0)"
        } else {
            "ncu profiled no kernel launch"
        };
        bail!("{hint}; ncu said:\n{}", last_lines(&text, 15));
    };
    Ok(Profile {
        at: Utc::now(),
        source: format!("{} (Nsight Compute)", outcome.backend.device),
        kernel: launch.kernel.clone(),
        readings: ncu_readings(launch),
        note: None,
    })
}

fn stall_metric(reason: &str) -> String {
    format!("smsp__average_warps_issue_stalled_{reason}_per_issue_active.ratio")
}

/// One profiled launch from ncu's CSV: kernel name and metric values.
#[derive(Debug, Default, PartialEq)]
pub struct Launch {
    pub id: String,
    pub kernel: String,
    pub metrics: Vec<(String, f64)>,
}

impl Launch {
    fn metric(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }
}

/// ncu's `--csv` details page: a header row (`"ID","Process ID",...,"Kernel Name",...,
/// "Metric Name","Metric Unit","Metric Value"`), then one row per metric per launch. Lines
/// before the header (`==PROF==` messages, the program's output) are skipped; columns are
/// found by name, so extra columns of other ncu versions do not matter.
pub fn parse_ncu_csv(text: &str) -> Vec<Launch> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with("\"ID\""));
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let header = csv_fields(header);
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(id), Some(kernel), Some(metric), Some(value)) = (
        col("ID"),
        col("Kernel Name"),
        col("Metric Name"),
        col("Metric Value"),
    ) else {
        return Vec::new();
    };
    let mut launches: Vec<Launch> = Vec::new();
    for line in lines.filter(|l| l.starts_with('"')) {
        let f = csv_fields(line);
        let (Some(i), Some(k), Some(m), Some(v)) =
            (f.get(id), f.get(kernel), f.get(metric), f.get(value))
        else {
            continue;
        };
        // "1,234.5" in ncu's default number format; "n/a" for a metric it could not collect.
        let Ok(v) = v.replace(',', "").parse::<f64>() else {
            continue;
        };
        if launches.last().is_none_or(|l| &l.id != i) {
            launches.push(Launch {
                id: i.clone(),
                kernel: k.clone(),
                metrics: Vec::new(),
            });
        }
        let launch = launches.last_mut().expect("just pushed");
        launch.metrics.push((m.clone(), v));
    }
    launches
}

/// The fields of one CSV line: quoted, with `""` for a quote inside a field.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let (mut quoted, mut chars) = (false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

fn ncu_readings(launch: &Launch) -> Vec<Reading> {
    let mut out: Vec<Reading> = NCU_METRICS
        .iter()
        .filter_map(|(metric, what, unit, meaning)| {
            let v = launch.metric(metric)?;
            let value = match unit {
                Unit::PercentOfPeak => format!("{v:.1}% of peak"),
                Unit::Percent => format!("{v:.1}%"),
                Unit::Ratio => format!("{v:.2}"),
                Unit::Count => format!("{v:.0}"),
            };
            Some(Reading {
                what: what.to_string(),
                value,
                meaning: meaning.to_string(),
            })
        })
        .collect();
    let mut stalls: Vec<(&str, &str, f64)> = STALLS
        .iter()
        .filter_map(|(r, meaning)| Some((*r, *meaning, launch.metric(&stall_metric(r))?)))
        .filter(|(_, _, v)| *v > 0.0)
        .collect();
    stalls.sort_by(|a, b| b.2.total_cmp(&a.2));
    for (i, (reason, meaning, v)) in stalls.iter().take(3).enumerate() {
        out.push(Reading {
            what: format!("warp stall #{}: {}", i + 1, reason.replace('_', " ")),
            value: format!("{v:.2} cycles per instruction"),
            meaning: meaning.to_string(),
        });
    }
    if let Some(ns) = launch.metric(DURATION) {
        out.push(Reading {
            what: "duration (under the profiler)".into(),
            value: format!("{:.1} us", ns / 1e3),
            meaning: "ncu replays the launch to read every counter: not kernlings' timing".into(),
        });
    }
    out
}

/// The CPU backend's counters for the check's last launch: its last case, so two versions of
/// an exercise ("naive vs tiled") are compared on the same problem.
fn from_counters(outcome: &Outcome) -> anyhow::Result<Profile> {
    let Some(c) = outcome.counters.last() else {
        bail!(
            "the CPU backend reported no launch counters for this run ({})",
            show::one_line(outcome)
        );
    };
    if !outcome.correctness.passed() {
        println!(
            "{}",
            show::yellow(&format!(
                "Your kernel is not correct yet ({}); the counters are of what it does now.",
                show::one_line(outcome)
            ))
        );
    }
    Ok(Profile {
        at: Utc::now(),
        source: "CPU backend (PTX interpreter counters)".into(),
        kernel: c.kernel.clone(),
        readings: counter_readings(c),
        note: None,
    })
}

pub fn counter_readings(c: &LaunchCounters) -> Vec<Reading> {
    let r = |what: &str, value: String, meaning: &str| Reading {
        what: what.into(),
        value,
        meaning: meaning.into(),
    };
    let ratio = c.global_sectors as f64 / c.global_sectors_min.max(1) as f64;
    vec![
        r(
            "instructions",
            c.instructions.to_string(),
            "PTX instructions executed, summed over every thread",
        ),
        r(
            "global memory sectors",
            format!(
                "{} ({ratio:.2}x the minimum {})",
                c.global_sectors, c.global_sectors_min
            ),
            "32-byte pieces of global memory your loads and stores touched, against the fewest \
             that hold the same bytes: 1x is coalesced, 8x is a strided walk",
        ),
        r(
            "shared-memory bank conflicts",
            c.shared_bank_conflicts.to_string(),
            "extra passes because threads of a warp hit one bank at different addresses",
        ),
        r(
            "divergent branches",
            c.divergent_branches.to_string(),
            "branches where threads of one warp went different ways, so the warp ran both paths",
        ),
    ]
}

pub fn render(name: &str, p: &Profile) -> String {
    let mut out = format!(
        "{} — kernel `{}`, {}\n",
        show::bold(&format!("Profile of {name}")),
        p.kernel,
        p.source
    );
    for r in &p.readings {
        out += &format!(
            "  {}: {}\n      {}\n",
            r.what,
            r.value,
            show::dim(&r.meaning)
        );
    }
    if let Some(note) = &p.note {
        out += &format!("  note: {note}\n");
    }
    out
}

pub fn profiles_dir(root: &Path) -> PathBuf {
    root.join(".kernlings").join("profiles")
}

/// Every profile saved for `name`, oldest first.
pub fn load(root: &Path, name: &str) -> Vec<Profile> {
    let path = profiles_dir(root).join(format!("{name}.json"));
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn save(root: &Path, name: &str, profile: &Profile) -> anyhow::Result<PathBuf> {
    let dir = profiles_dir(root);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut all = load(root, name);
    all.push(profile.clone());
    let path = dir.join(format!("{name}.json"));
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&all)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by hand in the layout of `ncu --csv --print-units base --metrics ...` (the
    /// details page: one row per metric per launch), not recorded from a GPU: two launches of
    /// the learner's kernel, ncu's own messages and the program's output around them, a
    /// thousands separator and a metric ncu could not collect.
    const SAMPLE: &str = r#"==PROF== Connected to process 41122 (/work/kernlings/target/release/kernlings)
==PROF== Profiling "sgemm_shared" - 0: 0%....50%....100% - 19 passes
==PROF== Profiling "sgemm_shared" - 1: 0%....50%....100% - 19 passes
==PROF== Disconnected from process 41122
"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream","Block Size","Grid Size","Device","CC","Section Name","Metric Name","Metric Unit","Metric Value"
"0","41122","kernlings","127.0.0.1","sgemm_shared","1","7","(32, 32, 1)","(1, 1, 1)","0","9.0","Command line profiler metrics","dram__throughput.avg.pct_of_peak_sustained_elapsed","%","0.41"
"0","41122","kernlings","127.0.0.1","sgemm_shared","1","7","(32, 32, 1)","(1, 1, 1)","0","9.0","Command line profiler metrics","gpu__time_duration.sum","nsecond","3,136"
"1","41122","kernlings","127.0.0.1","sgemm_shared","1","7","(32, 32, 1)","(5, 5, 1)","0","9.0","Command line profiler metrics","dram__throughput.avg.pct_of_peak_sustained_elapsed","%","12.73"
"1","41122","kernlings","127.0.0.1","sgemm_shared","1","7","(32, 32, 1)","(5, 5, 1)","0","9.0","Command line profiler metrics","gpu__time_duration.sum","nsecond","5,984"
"1","41122","kernlings","127.0.0.1","sgemm_shared","1","7","(32, 32, 1)","(5, 5, 1)","0","9.0","Command line profiler metrics","l1tex__average_t_sectors_per_request_pipe_lsu_mem_global_op_ld.ratio","sector/request","4.25"
"1","41122","kernlings","127.0.0.1","sgemm_shared","1","7","(32, 32, 1)","(5, 5, 1)","0","9.0","Command line profiler metrics","l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum","","1,024"
"1","41122","kernlings","127.0.0.1","sgemm_shared","1","7","(32, 32, 1)","(5, 5, 1)","0","9.0","Command line profiler metrics","l1tex__t_sector_hit_rate.pct","%","n/a"
"1","41122","kernlings","127.0.0.1","sgemm_shared","1","7","(32, 32, 1)","(5, 5, 1)","0","9.0","Command line profiler metrics","lts__t_sector_hit_rate.pct","%","88.02"
"1","41122","kernlings","127.0.0.1","sgemm_shared","1","7","(32, 32, 1)","(5, 5, 1)","0","9.0","Command line profiler metrics","sm__warps_active.avg.pct_of_peak_sustained_active","%","47.91"
"1","41122","kernlings","127.0.0.1","sgemm_shared","1","7","(32, 32, 1)","(5, 5, 1)","0","9.0","Command line profiler metrics","smsp__average_warps_issue_stalled_barrier_per_issue_active.ratio","ratio","3.11"
"1","41122","kernlings","127.0.0.1","sgemm_shared","1","7","(32, 32, 1)","(5, 5, 1)","0","9.0","Command line profiler metrics","smsp__average_warps_issue_stalled_long_scoreboard_per_issue_active.ratio","ratio","1.52"
"1","41122","kernlings","127.0.0.1","sgemm_shared","1","7","(32, 32, 1)","(5, 5, 1)","0","9.0","Command line profiler metrics","smsp__average_warps_issue_stalled_mio_throttle_per_issue_active.ratio","ratio","5.87"
"1","41122","kernlings","127.0.0.1","sgemm_shared","1","7","(32, 32, 1)","(5, 5, 1)","0","9.0","Command line profiler metrics","smsp__average_warps_issue_stalled_wait_per_issue_active.ratio","ratio","0.62"
"#;

    #[test]
    fn ncu_csv_is_read_by_column_name() {
        let launches = parse_ncu_csv(SAMPLE);
        assert_eq!(launches.len(), 2);
        assert_eq!(launches[0].kernel, "sgemm_shared");
        assert_eq!(launches[0].metric(DURATION), Some(3136.0));
        let big = &launches[1];
        assert_eq!(big.metric(DURATION), Some(5984.0));
        assert_eq!(
            big.metric("l1tex__t_sector_hit_rate.pct"),
            None,
            "n/a is skipped"
        );
        let readings = ncu_readings(big);
        let find = |what: &str| {
            readings
                .iter()
                .find(|r| r.what == what)
                .map(|r| r.value.as_str())
        };
        assert_eq!(find("DRAM throughput"), Some("12.7% of peak"));
        assert_eq!(find("achieved occupancy"), Some("47.9%"));
        assert_eq!(find("sectors per global load request"), Some("4.25"));
        assert_eq!(find("shared-memory bank conflicts (loads)"), Some("1024"));
        assert_eq!(find("L1 hit rate"), None);
        assert_eq!(
            find("warp stall #1: mio throttle"),
            Some("5.87 cycles per instruction")
        );
        assert_eq!(
            find("warp stall #2: barrier"),
            Some("3.11 cycles per instruction")
        );
        assert!(find("warp stall #3: long scoreboard").is_some());
        assert_eq!(find("duration (under the profiler)"), Some("6.0 us"));
    }

    #[test]
    fn csv_without_a_header_has_no_launches() {
        assert!(parse_ncu_csv("==ERROR== ERR_NVGPUCTRPERM - no permission").is_empty());
        assert_eq!(
            csv_fields(r#""a","b, c","say ""hi""""#),
            vec!["a", "b, c", "say \"hi\""]
        );
    }

    #[test]
    fn profiles_are_appended_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = Profile {
            at: Utc::now(),
            source: "CPU backend (PTX interpreter counters)".into(),
            kernel: "k".into(),
            readings: counter_readings(&LaunchCounters {
                kernel: "k".into(),
                instructions: 10,
                global_sectors: 16,
                global_sectors_min: 4,
                shared_bank_conflicts: 0,
                divergent_branches: 1,
                worst_site: None,
            }),
            note: Some("naive".into()),
        };
        save(dir.path(), "x", &p).unwrap();
        save(dir.path(), "x", &p).unwrap();
        let back = load(dir.path(), "x");
        assert_eq!(back.len(), 2);
        assert_eq!(back[0], p);
        assert!(back[0].readings[1]
            .value
            .starts_with("16 (4.00x the minimum 4)"));
    }
}
