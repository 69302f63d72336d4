//! Module 10 (`.rs` exercises): a scheduler and a server for LLM inference, graded with the
//! harness's fake model (harness/rust-graders/serving.rs). The grader binaries run the
//! learner's code through traces the harness draws from the run's seed (batching.rs in the
//! fake model's virtual time; server.rs over loopback HTTP in real time) and write what they saw
//! to `findings.txt`: `ok <case>`, `violation <case>: <what>`, `metric <name> <value>`. This
//! side turns the first violation into the failure and holds the metrics to the bars, all
//! ratios measured in one run on one trace.

use std::collections::HashMap;

use crate::grade::compare::Failure;
use crate::grade::RustCtx;
use crate::outcome::{LoadRow, LoadSweep};

/// Continuous batching against the harness's static batcher at saturating load.
const CONTINUOUS_VS_STATIC: f64 = 2.0;
/// A static batcher against the harness's: it must batch (up to B at once), not serialize.
const STATIC_VS_REFERENCE: f64 = 0.9;
/// Concurrent sequences, paged admission against max-length reservation, same KV budget.
const PAGED_VS_RESERVATION: f64 = 2.0;
/// p50 TTFT below the knee, against one request on an idle server.
const TTFT_VS_SINGLE: f64 = 2.0;

pub fn static_batching(ctx: &mut RustCtx) -> anyhow::Result<()> {
    let m = findings(ctx, "scheduler traces", &[("continuous", 0.0)])?;
    at_least(
        ctx,
        &m,
        "throughput_vs_static",
        STATIC_VS_REFERENCE,
        "output tokens/s against the harness's static batcher (batch 16) on the same trace: \
         a static batcher runs up to B requests in every model call",
    )
}

pub fn continuous_batching(ctx: &mut RustCtx) -> anyhow::Result<()> {
    let m = findings(ctx, "scheduler traces", &[("continuous", 1.0)])?;
    at_least(
        ctx,
        &m,
        "throughput_vs_static",
        CONTINUOUS_VS_STATIC,
        "output tokens/s against the harness's static batcher at saturating load: a finished \
         request's slot must go to a waiting request in the next step",
    )?;
    at_least(
        ctx,
        &m,
        "concurrency_vs_reservation",
        PAGED_VS_RESERVATION,
        "mean running requests with a fixed KV budget, against reserving the model's whole \
         context per request: allocate blocks as the context grows, not up front",
    )
}

pub fn server(ctx: &mut RustCtx) -> anyhow::Result<()> {
    let m = findings(ctx, "server over loopback HTTP", &[])?;
    at_least(
        ctx,
        &m,
        "throughput_vs_static",
        CONTINUOUS_VS_STATIC,
        "output tokens/s at saturating load, your server with the continuous batcher against \
         the same server with the static one",
    )?;
    let ratio = metric(&m, "ttft_below_knee_vs_single")?;
    if ratio > TTFT_VS_SINGLE {
        anyhow::bail!(Failure::new(
            format!(
                "p50 time to first token below the knee is {ratio:.2}x a lone request's, above the \
                 bar of {TTFT_VS_SINGLE}x"
            ),
            format!(
                "{}\nA request that waits for a batch to end, or for a lock the engine holds \
                 while it steps, starts late: hand requests to the engine as they arrive.\n",
                m.get("sweep").map(String::as_str).unwrap_or("")
            )
        ));
    }
    ctx.cases.push(format!(
        "{}: p50 TTFT below the knee {ratio:.2}x a lone request's (bar <= {TTFT_VS_SINGLE}x)",
        ctx.case
    ));
    if let Some(sweep) = m.get("sweep") {
        ctx.cases.push(format!("{}: {sweep}", ctx.case));
    }
    let lines = ctx.load_sweep.as_ref().map(sweep_lines).unwrap_or_default();
    ctx.cases.extend(lines);
    Ok(())
}

type Metrics = HashMap<String, String>;

/// Run the grader once and read its findings: the first violation fails the attempt.
fn findings(ctx: &mut RustCtx, case: &str, params: &[(&str, f64)]) -> anyhow::Result<Metrics> {
    ctx.case(case);
    // The traces come from the run's seed: `--seed` replays them.
    let seed = ctx.random_index(1 << 40) as f64;
    let mut all = params.to_vec();
    all.push(("seed", seed));
    let run = ctx.run(&all, &[])?;
    let text = run.text("findings.txt")?;
    let mut metrics = Metrics::new();
    // The block allocator the scheduler ran on (module 08's, the learner's once it passes).
    let mut blocks = String::new();
    for line in text.lines() {
        let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
        match kind {
            "ok" => ctx.cases.push(format!("{rest}: every invariant held")),
            "blocks" => {
                blocks = format!("blocks: {rest}\n");
                ctx.cases.push(format!("{}: blocks: {rest}", ctx.case));
            }
            "violation" => {
                let (where_, what) = rest.split_once(": ").unwrap_or(("", rest));
                anyhow::bail!(Failure::new(
                    what.to_string(),
                    format!("in the {where_}\n{blocks}")
                ));
            }
            "table" => ctx.cases.push(format!("{}: {rest}", ctx.case)),
            "metric" => {
                let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
                metrics.insert(name.to_string(), value.to_string());
            }
            _ => {}
        }
    }
    ctx.load_sweep = load_sweep(&text)?;
    Ok(metrics)
}

/// The sweep in a server grader's output: its `sweep_row` lines with the `single_ttft_ms` and
/// `knee_rps` metrics; `None` when it has no rows.
pub fn load_sweep(text: &str) -> anyhow::Result<Option<LoadSweep>> {
    let mut rows = Vec::new();
    let mut metrics = Metrics::new();
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("sweep_row", rest)) => rows.push(sweep_row(rest)?),
            Some(("metric", rest)) => {
                let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
                metrics.insert(name.to_string(), value.to_string());
            }
            _ => {}
        }
    }
    if rows.is_empty() {
        return Ok(None);
    }
    Ok(Some(LoadSweep {
        single_ttft_ms: metric(&metrics, "single_ttft_ms")?,
        knee_rps: metric(&metrics, "knee_rps")?,
        rows,
    }))
}

/// `rps ttft_p50 ttft_p99 itl_p50 tokens_per_s goodput`, as server.rs writes them.
fn sweep_row(text: &str) -> anyhow::Result<LoadRow> {
    let v: Vec<f64> = text
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("the grader wrote an unreadable sweep row `{text}`"))?;
    let [rps, ttft_p50_ms, ttft_p99_ms, itl_p50_ms, tokens_per_s, goodput_rps] = v[..] else {
        anyhow::bail!("the grader wrote a sweep row of {} numbers, not 6", v.len());
    };
    Ok(LoadRow {
        rps,
        ttft_p50_ms,
        ttft_p99_ms,
        itl_p50_ms,
        tokens_per_s,
        goodput_rps,
    })
}

/// A terminal sparkline: one block character per value, scaled from the smallest to the
/// largest (all the lowest block when they are equal).
pub fn sparkline(values: &[f64]) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    values
        .iter()
        .map(|v| {
            let at = if hi > lo { (v - lo) / (hi - lo) } else { 0.0 };
            BLOCKS[((at * 7.0).round() as usize).min(7)]
        })
        .collect()
}

/// The sweep as two sparklines over the rates, with the knee: what `run` and `watch` show.
fn sweep_lines(sweep: &LoadSweep) -> Vec<String> {
    let rows = &sweep.rows;
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Vec::new();
    };
    let rates = format!("{:.0} to {:.0} req/s", first.rps, last.rps);
    let p50: Vec<f64> = rows.iter().map(|r| r.ttft_p50_ms).collect();
    let tps: Vec<f64> = rows.iter().map(|r| r.tokens_per_s).collect();
    vec![
        format!(
            "TTFT p50 {} ({rates}: {:.1} to {:.1} ms), knee at {:.0} req/s",
            sparkline(&p50),
            first.ttft_p50_ms,
            last.ttft_p50_ms,
            sweep.knee_rps
        ),
        format!(
            "tokens/s {} ({rates}: {:.0} to {:.0})",
            sparkline(&tps),
            first.tokens_per_s,
            last.tokens_per_s
        ),
    ]
}

fn metric(m: &Metrics, name: &str) -> anyhow::Result<f64> {
    // The number first; a grader may say more after it.
    m.get(name)
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("the grader measured no `{name}`"))
}

fn at_least(
    ctx: &mut RustCtx,
    m: &Metrics,
    name: &str,
    bar: f64,
    what: &str,
) -> anyhow::Result<()> {
    let got = metric(m, name)?;
    if got < bar {
        anyhow::bail!(Failure::new(
            format!(
                "{} is {got:.2}x, under the bar of {bar}x",
                name.replace('_', " ")
            ),
            format!("{what}.\n")
        ));
    }
    ctx.cases.push(format!(
        "{}: {} {got:.2}x (bar >= {bar}x)",
        ctx.case,
        name.replace('_', " ")
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{load_sweep, sparkline, sweep_row};

    #[test]
    fn a_sparkline_spans_the_lowest_to_the_highest_block() {
        assert_eq!(sparkline(&[1.0, 2.0, 8.0, 4.5]), "▁▂█▅");
        assert_eq!(sparkline(&[3.0, 3.0]), "▁▁");
        assert_eq!(sparkline(&[]), "");
    }

    #[test]
    fn a_sweep_row_needs_six_numbers() {
        let r = sweep_row("40 3.5 9.25 1.5 800 39").unwrap();
        assert_eq!((r.rps, r.ttft_p99_ms, r.goodput_rps), (40.0, 9.25, 39.0));
        assert!(sweep_row("40 3.5").is_err());
        assert!(sweep_row("40 x 1 1 1 1").is_err());
    }

    #[test]
    fn a_sweep_is_its_rows_with_the_lone_ttft_and_the_knee() {
        let text = "table x\nsweep_row 4 10 20 2 300 4\nmetric single_ttft_ms 9.5\n\
                    sweep_row 8 11 25 2 600 8\nmetric knee_rps 8 (measured)\n";
        let sweep = load_sweep(text).unwrap().unwrap();
        assert_eq!(sweep.rows.len(), 2);
        assert_eq!((sweep.single_ttft_ms, sweep.rows[1].rps), (9.5, 8.0));
        assert!(load_sweep("metric knee_rps 3\n").unwrap().is_none());
        assert!(
            load_sweep("sweep_row 4 10 20 2 300 4\n").is_err(),
            "no knee"
        );
    }
}
