//! The report's two charts, as SVG files next to PROGRESS.md: each exercise's best speed
//! against its bar, and a roofline of the learner's GPU kernels on the limits the device
//! showed in the same runs (copy bandwidth, cuBLAS). plotters' SVG backend only: text is
//! written as SVG text, so no font or system library is needed.

use std::path::Path;

use anyhow::Context as _;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::outcome::{LoadRow, LoadSweep};

/// One exercise's best speed, as the speed chart shows it.
pub struct SpeedBar {
    pub name: String,
    pub ratio: f64,
    pub bar: f64,
    /// "of copy", "× naive Rust", ...
    pub unit: String,
}

/// A kernel on the roofline: arithmetic intensity (FLOP per byte moved) and FLOP/s achieved.
pub struct RoofPoint {
    pub name: String,
    pub intensity: f64,
    pub flops: f64,
}

/// The device's limits as measured beside the learner's kernels.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// Device-to-device copy, bytes/s (read + write).
    pub bandwidth: Option<f64>,
    /// cuBLAS SGEMM, FLOP/s.
    pub peak: Option<f64>,
}

const PASS: RGBColor = RGBColor(46, 139, 87);
const SHORT: RGBColor = RGBColor(230, 126, 34);
const INK: RGBColor = RGBColor(40, 40, 40);
const FONT: &str = "sans-serif";

pub fn speed(path: &Path, bars: &[SpeedBar]) -> anyhow::Result<()> {
    let rows = bars.len() as f64;
    let height = 110 + 34 * bars.len() as u32;
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_error)?;
    let (lo, hi) = bars.iter().fold((f64::MAX, f64::MIN), |(lo, hi), b| {
        (lo.min(b.ratio).min(b.bar), hi.max(b.ratio).max(b.bar))
    });
    // Room on the right for the value written after the longest bar.
    let (lo, hi) = (lo / 2.0, hi * 8.0);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Best speed against the bar (black line), times the baseline, log scale",
            (FONT, 18),
        )
        .margin(12)
        .x_label_area_size(34)
        .y_label_area_size(170)
        .build_cartesian_2d((lo..hi).log_scale(), 0.0..rows)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        // Gridlines at 1..9 of each decade, labels at 1, 2 and 5 only: labelled all, "9"
        // and "10" ran into each other.
        .x_label_formatter(&|x| one_two_five(*x))
        .label_style((FONT, 14))
        .draw()
        .map_err(draw_error)?;
    // The curriculum's order from the top down: bar i fills row (rows - 1 - i).
    for (i, b) in bars.iter().enumerate() {
        let row = rows - 1.0 - i as f64;
        let color = if b.ratio >= b.bar { PASS } else { SHORT };
        chart
            .draw_series([
                Rectangle::new([(lo, row + 0.18), (b.ratio, row + 0.82)], color.filled())
                    .into_dyn(),
                PathElement::new(
                    vec![(b.bar, row + 0.08), (b.bar, row + 0.92)],
                    INK.stroke_width(3),
                )
                .into_dyn(),
                Text::new(
                    format!("{} {}", super::show::ratio(b.ratio), b.unit),
                    (b.ratio.max(b.bar) * 1.08, row + 0.5),
                    (FONT, 13)
                        .into_font()
                        .color(&INK)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                )
                .into_dyn(),
            ])
            .map_err(draw_error)?;
        // The name left of the plot, where the axis labels go.
        let (x, y) = chart.backend_coord(&(lo, row + 0.5));
        root.draw(&Text::new(
            b.name.clone(),
            (x - 8, y),
            (FONT, 14)
                .into_font()
                .color(&INK)
                .pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(draw_error)?;
    }
    root.present().map_err(draw_error)?;
    Ok(())
}

/// `x` written out when it is 1, 2 or 5 times a power of ten, else nothing.
fn one_two_five(x: f64) -> String {
    let decade = 10f64.powf(x.log10().floor());
    let lead = x / decade;
    match [1.0, 2.0, 5.0].iter().any(|m| (lead - m).abs() < 1e-6) {
        true => format!("{x}"),
        false => String::new(),
    }
}

pub fn roofline(path: &Path, limits: Limits, points: &[RoofPoint]) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_error)?;
    let most = points.iter().map(|p| p.intensity).fold(100.0, f64::max);
    let (x_lo, x_hi) = (0.01f64, most * 30.0);
    let top = points
        .iter()
        .map(|p| p.flops)
        .chain(limits.peak)
        .chain(limits.bandwidth.map(|b| b * x_hi))
        .fold(1e9, f64::max);
    let peak_or_top = limits.peak.unwrap_or(f64::INFINITY);
    let y_hi = (top * 3.0).min(peak_or_top * 5.0);
    let bottom = points
        .iter()
        .map(|p| p.flops)
        .chain(limits.bandwidth.map(|b| b * x_lo))
        .fold(y_hi, f64::min);
    let y_lo = bottom / 3.0;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Roofline: your kernels on this GPU's measured limits",
            (FONT, 18),
        )
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(90)
        .build_cartesian_2d((x_lo..x_hi).log_scale(), (y_lo..y_hi).log_scale())
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc("arithmetic intensity, FLOP per byte moved")
        .y_desc("TFLOP/s")
        .x_label_formatter(&|x| format!("{x}"))
        .y_label_formatter(&|y| match y / 1e12 {
            t if t < 1.0 => format!("{t}"),
            t => format!("{t:.0}"),
        })
        .label_style((FONT, 14))
        .draw()
        .map_err(draw_error)?;
    // The roof: bandwidth x intensity until it meets the compute peak.
    let roof: Vec<(f64, f64)> = (0..=100)
        .map(|i| x_lo * (x_hi / x_lo).powf(i as f64 / 100.0))
        .filter_map(|x| {
            let memory = limits.bandwidth.map(|b| b * x);
            let y = match (memory, limits.peak) {
                (Some(m), Some(p)) => m.min(p),
                (Some(m), None) => m,
                (None, Some(p)) => p,
                (None, None) => return None,
            };
            (y >= y_lo && y <= y_hi).then_some((x, y))
        })
        .collect();
    chart
        .draw_series(LineSeries::new(roof, INK.stroke_width(2)))
        .map_err(draw_error)?;
    let mut notes = Vec::new();
    if let Some(b) = limits.bandwidth {
        notes.push(format!("copy bandwidth {:.2} TB/s", b / 1e12));
    }
    if let Some(p) = limits.peak {
        notes.push(format!("cuBLAS SGEMM {:.1} TFLOP/s", p / 1e12));
    }
    chart
        .draw_series([Text::new(
            format!("roof: {}", notes.join(", ")),
            (x_lo * 1.3, y_hi / 1.6),
            (FONT, 14).into_font().color(&INK),
        )])
        .map_err(draw_error)?;
    for (p, label_y) in points.iter().zip(label_heights(points)) {
        chart
            .draw_series([
                Circle::new((p.intensity, p.flops), 5, PASS.filled()).into_dyn(),
                Text::new(
                    p.name.clone(),
                    (p.intensity * 1.2, label_y),
                    (FONT, 12)
                        .into_font()
                        .color(&INK)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                )
                .into_dyn(),
            ])
            .map_err(draw_error)?;
    }
    root.present().map_err(draw_error)?;
    Ok(())
}

/// Where each point's label goes: beside the point, except that kernels of one intensity
/// (the GEMM ladder, the reductions) get labels stacked downward at least a line apart.
fn label_heights(points: &[RoofPoint]) -> Vec<f64> {
    const LINE: f64 = 1.45;
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| {
        let (pa, pb) = (&points[a], &points[b]);
        pa.intensity
            .total_cmp(&pb.intensity)
            .then(pb.flops.total_cmp(&pa.flops))
    });
    let mut heights = vec![0.0; points.len()];
    let mut above: Option<(f64, f64)> = None;
    for i in order {
        let p = &points[i];
        let y = match above {
            Some((x, y)) if (p.intensity / x - 1.0).abs() < 0.5 => p.flops.min(y / LINE),
            _ => p.flops,
        };
        heights[i] = y;
        above = Some((p.intensity, y));
    }
    heights
}

fn draw_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing a chart: {e:?}")
}

/// The server's load sweep: time to first token (p50, p99) and output tokens/s against the
/// offered request rate, side by side, with the knee marked on both.
pub fn serving(path: &Path, sweep: &LoadSweep) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (1000, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_error)?;
    let (left, right) = root.split_horizontally(500);
    let rows = &sweep.rows;
    let x_hi = rows.iter().map(|r| r.rps).fold(1.0, f64::max) * 1.08;
    let knee_note = format!("knee {:.0} req/s", sweep.knee_rps);

    let ttft_hi = rows
        .iter()
        .map(|r| r.ttft_p99_ms)
        .chain([sweep.single_ttft_ms])
        .fold(1.0, f64::max)
        * 2.0;
    let ttft_lo = rows
        .iter()
        .map(|r| r.ttft_p50_ms)
        .chain([sweep.single_ttft_ms])
        .fold(ttft_hi, f64::min)
        / 2.0;
    let mut chart = ChartBuilder::on(&left)
        .caption("Time to first token", (FONT, 18))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_hi, (ttft_lo..ttft_hi).log_scale())
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc("offered requests per second")
        .y_desc("ms")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| one_two_five(*y))
        .label_style((FONT, 14))
        .draw()
        .map_err(draw_error)?;
    for (name, color, pick) in [
        (
            "p50",
            PASS,
            (|r: &LoadRow| r.ttft_p50_ms) as fn(&LoadRow) -> f64,
        ),
        ("p99", SHORT, |r: &LoadRow| r.ttft_p99_ms),
    ] {
        let line: Vec<(f64, f64)> = rows.iter().map(|r| (r.rps, pick(r))).collect();
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))
            .map_err(draw_error)?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
        chart
            .draw_series(line.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(draw_error)?;
    }
    chart
        .draw_series(LineSeries::new(
            [(0.0, sweep.single_ttft_ms), (x_hi, sweep.single_ttft_ms)],
            INK.stroke_width(1),
        ))
        .map_err(draw_error)?
        .label("a lone request")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], INK.stroke_width(1)));
    knee(&mut chart, sweep.knee_rps, (ttft_lo, ttft_hi), &knee_note)?;
    // Lower right: TTFT climbs to the right past the knee, whose note is at the top left.
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.8))
        .border_style(INK)
        .draw()
        .map_err(draw_error)?;

    let tps_hi = rows.iter().map(|r| r.tokens_per_s).fold(1.0, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(&right)
        .caption("Output tokens per second", (FONT, 18))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..x_hi, 0.0..tps_hi)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc("offered requests per second")
        .y_desc("tokens/s")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style((FONT, 14))
        .draw()
        .map_err(draw_error)?;
    let line: Vec<(f64, f64)> = rows.iter().map(|r| (r.rps, r.tokens_per_s)).collect();
    chart
        .draw_series(LineSeries::new(line.clone(), PASS.stroke_width(2)))
        .map_err(draw_error)?;
    chart
        .draw_series(line.iter().map(|&p| Circle::new(p, 3, PASS.filled())))
        .map_err(draw_error)?;
    knee(&mut chart, sweep.knee_rps, (0.0, tps_hi), &knee_note)?;
    root.present().map_err(draw_error)?;
    Ok(())
}

/// A dashed vertical line at the knee, labelled at the top.
fn knee<Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<RangedCoordf64, Y>>,
    at: f64,
    (lo, hi): (f64, f64),
    note: &str,
) -> anyhow::Result<()> {
    chart
        .draw_series(DashedLineSeries::new(
            [(at, lo), (at, hi)],
            6,
            4,
            INK.stroke_width(1),
        ))
        .map_err(draw_error)?;
    chart
        .draw_series([Text::new(
            note.to_string(),
            (at, hi),
            (FONT, 13)
                .into_font()
                .color(&INK)
                .pos(Pos::new(HPos::Right, VPos::Top)),
        )])
        .map_err(draw_error)?;
    Ok(())
}

/// Writes the charts that have data into `dir`; returns (alt text, file name) of each written.
pub fn write_all(
    dir: &Path,
    bars: &[SpeedBar],
    limits: Limits,
    points: &[RoofPoint],
    sweep: Option<&LoadSweep>,
) -> anyhow::Result<Vec<(&'static str, &'static str)>> {
    let mut written = Vec::new();
    if bars.is_empty() && points.is_empty() && sweep.is_none() {
        return Ok(written);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if !bars.is_empty() {
        speed(&dir.join("speed.svg"), bars)?;
        written.push(("Best speed of each exercise against its bar", "speed.svg"));
    }
    if !points.is_empty() && limits != Limits::default() {
        roofline(&dir.join("roofline.svg"), limits, points)?;
        written.push(("Roofline of your kernels", "roofline.svg"));
    }
    if let Some(sweep) = sweep.filter(|s| !s.rows.is_empty()) {
        serving(&dir.join("serving.svg"), sweep)?;
        written.push((
            "Your server under load: time to first token and tokens/s against request rate",
            "serving.svg",
        ));
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::one_two_five;

    #[test]
    fn the_serving_chart_marks_the_knee_and_both_percentiles() {
        use crate::outcome::{LoadRow, LoadSweep};
        let row = |rps: f64, p50: f64| LoadRow {
            rps,
            ttft_p50_ms: p50,
            ttft_p99_ms: p50 * 3.0,
            itl_p50_ms: 2.0,
            tokens_per_s: rps * 14.0,
            goodput_rps: rps,
        };
        let sweep = LoadSweep {
            single_ttft_ms: 2.5,
            knee_rps: 260.0,
            rows: vec![row(40.0, 3.0), row(260.0, 4.0), row(450.0, 90.0)],
        };
        let dir = tempfile::tempdir().unwrap();
        let written = super::write_all(dir.path(), &[], Default::default(), &[], Some(&sweep));
        assert_eq!(written.unwrap()[0].1, "serving.svg");
        let svg = std::fs::read_to_string(dir.path().join("serving.svg")).unwrap();
        for text in [
            "knee 260 req/s",
            "p50",
            "p99",
            "a lone request",
            "Time to first token",
        ] {
            assert!(svg.contains(text), "no `{text}` in the chart");
        }
    }

    #[test]
    fn log_axis_labels_only_one_two_five() {
        let shown: Vec<String> = [0.5, 0.9, 1.0, 2.0, 3.0, 5.0, 9.0, 10.0, 20.0, 70.0]
            .iter()
            .map(|x| one_two_five(*x))
            .collect();
        assert_eq!(shown, ["0.5", "", "1", "2", "", "5", "", "10", "20", ""]);
    }
}
