//! How an attempt reads to the learner: shared by `watch`, `run`, `verify` and
//! `check-solutions`. Correctness and speed are separate verdicts; the seed is always shown.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::OnceLock;

use owo_colors::OwoColorize;

use super::{Attempt, Course};
use crate::curriculum::Exercise;
use crate::outcome::{Correctness, Outcome, SpeedResult};

/// Colours only on a terminal, and never when NO_COLOR is set (https://no-color.org).
pub fn colors() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
    })
}

pub fn green(s: &str) -> String {
    if colors() {
        s.green().to_string()
    } else {
        s.to_string()
    }
}

pub fn red(s: &str) -> String {
    if colors() {
        s.red().to_string()
    } else {
        s.to_string()
    }
}

pub fn yellow(s: &str) -> String {
    if colors() {
        s.yellow().to_string()
    } else {
        s.to_string()
    }
}

pub fn bold(s: &str) -> String {
    if colors() {
        s.bold().to_string()
    } else {
        s.to_string()
    }
}

pub fn dim(s: &str) -> String {
    if colors() {
        s.dimmed().to_string()
    } else {
        s.to_string()
    }
}

pub fn attempt(course: &Course, ex: &Exercise, attempt: &Attempt) -> String {
    match attempt {
        Attempt::Graded(outcome) => self::outcome(ex, outcome),
        Attempt::Missing(path) => format!(
            "{} {} is missing: `{} reset {}` restores the original stub\n",
            red("✗"),
            course.display_path(path),
            crate::toolchain::command_name(),
            ex.name
        ),
    }
}

/// The full report of one graded attempt, ending in a newline.
pub fn outcome(ex: &Exercise, o: &Outcome) -> String {
    let mut out = String::new();
    let device = format!("{}, seed {}", o.backend.device, o.seed);
    match &o.correctness {
        Correctness::Passed { cases } => {
            let head = if o.passed() {
                green(&format!("✓ {} passed", ex.name))
            } else {
                yellow(&format!("✗ {} is correct but not fast enough yet", ex.name))
            };
            let _ = writeln!(out, "{}  {}", bold(&head), dim(&format!("({device})")));
            for case in cases {
                let _ = writeln!(out, "  {} {case}", green("✓"));
            }
        }
        Correctness::CompileError { message } => {
            let _ = writeln!(
                out,
                "{}  {}",
                bold(&red(&format!("✗ {} does not compile", ex.name))),
                dim(&format!("({device})"))
            );
            out.push_str(&indent(message));
        }
        Correctness::Failed { summary, details } => {
            let _ = writeln!(
                out,
                "{}  {}",
                bold(&red(&format!("✗ {}: {summary}", ex.name))),
                dim(&format!("({device})"))
            );
            if !details.trim().is_empty() {
                out.push_str(&indent(details));
            }
        }
    }
    if let Some(line) = speed_line(o) {
        let _ = writeln!(out, "  {line}");
    }
    if let Some(line) = o
        .speed
        .as_ref()
        .and_then(|s| near_miss(s, ex.speed.as_ref().and_then(|b| b.idea.as_deref())))
    {
        let _ = writeln!(out, "  {}", yellow(&line));
    }
    if let Some(counters) = counters(o) {
        out.push_str(&counters);
    }
    let _ = writeln!(
        out,
        "  {}",
        dim(&format!(
            "replay these inputs: {} run {} --seed {}",
            crate::toolchain::command_name(),
            ex.name,
            o.seed
        ))
    );
    out
}

/// "correct ✓, speed 0.62 of copy bandwidth, bar 0.75 ✗ (2.61 TB/s, 62% of the device limit...)",
/// or why speed was not measured.
pub fn speed_line(o: &Outcome) -> Option<String> {
    if let Some(s) = &o.speed {
        let mark = if s.passed { green("✓") } else { red("✗") };
        let correct = if o.correctness.passed() {
            format!("correct {}, ", green("✓"))
        } else {
            String::new()
        };
        return Some(format!(
            "{correct}speed {}, bar {} {mark} ({}{}; median {:.1} µs vs {:.1} µs, {} samples)",
            ratio_words(s),
            ratio(s.bar),
            s.achieved,
            limit_percent(&s.baseline, s.percent_of_limit)
                .map(|p| format!(", {p} of the device limit"))
                .unwrap_or_default(),
            s.learner.median_us,
            s.baseline_timing.median_us,
            s.learner.samples
        ));
    }
    // The grader words it as a whole sentence ("speed is not measured on the CPU backend: ...").
    o.speed_skipped.as_deref().map(dim)
}

/// How close under the bar counts as a near miss: within 5% of it.
pub const NEAR_MISS: f64 = 0.95;

/// "near miss: 0.43 of cuBLAS, bar 0.45 — look at <idea>", for a speed verdict just under the
/// bar: such a kernel usually has the step's idea half done, not a wrong one.
pub fn near_miss(s: &SpeedResult, idea: Option<&str>) -> Option<String> {
    if s.passed || s.ratio < NEAR_MISS * s.bar {
        return None;
    }
    let look = idea.map_or_else(
        || "look at this step's idea in the exercise's header".to_string(),
        |i| format!("look at {i}"),
    );
    Some(format!(
        "near miss: {}, bar {} — {look}",
        ratio_words(s),
        ratio(s.bar)
    ))
}

/// The ratio in words that fit its baseline.
pub fn ratio_words(s: &SpeedResult) -> String {
    let r = ratio(s.ratio);
    match s.baseline.as_str() {
        "copy" => format!("{r} of copy bandwidth"),
        "cublas" => format!("{r} of cuBLAS"),
        "naive" => format!("{r}× the naive kernel"),
        "cpu-naive" => format!("{r}× the naive Rust version"),
        other => format!("{r}× {other}"),
    }
}

/// "87%" of the measured device limit; none for CPU exercises, which have no device limit.
pub fn limit_percent(baseline: &str, percent: f64) -> Option<String> {
    (baseline != "cpu-naive").then(|| format!("{percent:.0}%"))
}

/// A ratio or a bar with two significant digits below 0.1 (a naive SGEMM runs at 0.0097 of
/// cuBLAS: "0.01" would hide it), two decimals above.
pub fn ratio(v: f64) -> String {
    let decimals = if v > 0.0 && v < 0.1 {
        (-v.log10()).ceil() as usize + 1
    } else {
        2
    };
    format!("{v:.decimals$}")
}

/// One line for the progress state and `list`.
pub fn one_line(o: &Outcome) -> String {
    let first = |s: &str| {
        s.lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string()
    };
    match (&o.correctness, &o.speed) {
        (Correctness::Passed { .. }, Some(s)) => {
            format!(
                "correct, {} (bar {}{})",
                ratio_words(s),
                ratio(s.bar),
                if s.passed { "" } else { ", too slow" }
            )
        }
        (Correctness::Passed { .. }, None) => "correct".to_string(),
        (Correctness::CompileError { message }, _) => {
            format!("does not compile: {}", first(message))
        }
        (Correctness::Failed { summary, .. }, _) => first(summary),
    }
}

fn counters(o: &Outcome) -> Option<String> {
    if o.counters.is_empty() {
        return None;
    }
    let mut out = format!(
        "  {}\n",
        dim("CPU backend counters (what the hardware would do, not speed):")
    );
    for c in &o.counters {
        let _ = writeln!(
            out,
            "    {}: {} instructions, {} global sectors (minimum {}), {} shared bank conflicts, {} divergent branches",
            c.kernel, c.instructions, c.global_sectors, c.global_sectors_min, c.shared_bank_conflicts, c.divergent_branches
        );
        // Where the extra sectors come from: the access to look at first.
        if let Some(s) = c.worst_site.as_ref().filter(|s| s.sectors > s.sectors_min) {
            let at = if s.line == 0 {
                String::new()
            } else {
                format!(" at line {}", s.line)
            };
            let _ = writeln!(
                out,
                "      least coalesced: the {}{at}, {:.1}x the sectors it needs",
                s.access,
                s.sectors as f64 / s.sectors_min.max(1) as f64
            );
        }
    }
    Some(out)
}

fn indent(text: &str) -> String {
    text.trim_end()
        .lines()
        .map(|l| format!("    {l}\n"))
        .collect()
}

/// A drawn bar: `[#####-----]`.
pub fn bar(done: usize, total: usize, width: usize) -> String {
    let filled = (done * width).checked_div(total).unwrap_or(0);
    format!("[{}{}]", "#".repeat(filled), "-".repeat(width - filled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_ratios_keep_two_significant_digits() {
        assert_eq!(ratio(0.0097), "0.0097");
        assert_eq!(ratio(0.006), "0.0060");
        assert_eq!(ratio(0.0123), "0.012");
        assert_eq!(ratio(0.84), "0.84");
        assert_eq!(ratio(389.38), "389.38");
    }
    use crate::outcome::{BackendInfo, Timing};

    fn outcome(correctness: Correctness, speed: Option<(f64, f64)>) -> Outcome {
        let t = Timing {
            median_us: 100.0,
            p10_us: 99.0,
            p90_us: 102.0,
            samples: 20,
        };
        Outcome {
            exercise: "vector_add".into(),
            seed: 42,
            backend: BackendInfo {
                kind: "gpu".into(),
                device: "NVIDIA H200".into(),
            },
            correctness,
            speed: speed.map(|(ratio, bar)| SpeedResult {
                baseline: "copy".into(),
                ratio,
                bar,
                passed: ratio >= bar,
                learner: t.clone(),
                baseline_timing: t.clone(),
                achieved: "2.61 TB/s".into(),
                percent_of_limit: ratio * 100.0,
            }),
            speed_skipped: None,
            counters: vec![],
            load_sweep: None,
        }
    }

    #[test]
    fn counters_name_the_least_coalesced_access() {
        use crate::outcome::{AccessSite, LaunchCounters};
        let mut o = outcome(Correctness::Passed { cases: vec![] }, None);
        let site = |sectors| AccessSite {
            line: 23,
            instruction: 40,
            access: "store".into(),
            sectors,
            sectors_min: 128,
        };
        o.counters = vec![
            LaunchCounters {
                kernel: "transpose".into(),
                worst_site: Some(site(1024)),
                ..Default::default()
            },
            LaunchCounters {
                kernel: "copy".into(),
                worst_site: Some(site(128)),
                ..Default::default()
            },
        ];
        let text = counters(&o).unwrap();
        assert!(
            text.contains("least coalesced: the store at line 23, 8.0x the sectors it needs"),
            "{text}"
        );
        // A site with no extra sectors says nothing.
        assert_eq!(text.matches("least coalesced").count(), 1, "{text}");
    }

    #[test]
    fn speed_verdict_is_separate_from_correctness() {
        let o = outcome(Correctness::Passed { cases: vec![] }, Some((0.62, 0.75)));
        let line = speed_line(&o).unwrap();
        assert!(
            line.starts_with("correct ✓, speed 0.62 of copy bandwidth, bar 0.75 ✗"),
            "{line}"
        );
        assert!(!o.passed());
        assert_eq!(
            one_line(&o),
            "correct, 0.62 of copy bandwidth (bar 0.75, too slow)"
        );
    }

    #[test]
    fn a_near_miss_names_the_idea_to_look_at() {
        let speed = |ratio| {
            outcome(correct_for_near_miss(), Some((ratio, 0.45)))
                .speed
                .unwrap()
        };
        let idea = Some("register arrays");
        assert_eq!(
            near_miss(&speed(0.43), idea).as_deref(),
            Some("near miss: 0.43 of copy bandwidth, bar 0.45 — look at register arrays")
        );
        // 5% under the bar is the edge; further under, or passing, is no near miss.
        assert!(near_miss(&speed(0.428), idea).is_some());
        assert!(near_miss(&speed(0.42), idea).is_none());
        assert!(near_miss(&speed(0.46), idea).is_none());
        let generic = near_miss(&speed(0.44), None).unwrap();
        assert!(generic.contains("this step's idea"), "{generic}");
    }

    fn correct_for_near_miss() -> Correctness {
        Correctness::Passed { cases: vec![] }
    }

    #[test]
    fn no_gpu_says_so_and_gives_no_verdict() {
        let mut o = outcome(
            Correctness::Passed {
                cases: vec!["n=1: 1 element matches".into()],
            },
            None,
        );
        o.speed_skipped = Some("speed is not measured on the CPU backend: no GPU".into());
        let ex: Exercise = toml::from_str(
            "name='vector_add'\nmodule='01'\nfile='a.cu'\nkind='cuda'\nhints=['h']\ncheck='c'",
        )
        .unwrap();
        let text = super::outcome(&ex, &o);
        assert!(
            text.contains("  speed is not measured on the CPU backend: no GPU\n"),
            "{text}"
        );
        assert!(!text.contains("bar"), "{text}");
        assert!(text.contains(" run vector_add --seed 42"), "{text}");
    }

    #[test]
    fn bars_are_drawn_to_width() {
        assert_eq!(bar(0, 4, 8), "[--------]");
        assert_eq!(bar(1, 4, 8), "[##------]");
        assert_eq!(bar(4, 4, 8), "[########]");
        assert_eq!(bar(0, 0, 4), "[----]");
    }
}
