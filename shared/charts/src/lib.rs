//! The charts of the PDF reports and of the console's pages, drawn as SVG with plotters'
//! SVG backend (in a report, typst sets the text in the report's font when the image is
//! placed; in a page, the browser's sans-serif). Each returns `None` when there is nothing
//! to draw. This crate has no typst, so the console function links it without the report
//! renderer.

use chrono::NaiveDate;
use plotters::coord::ranged1d::SegmentValue;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use roi_domain::forecast::BandDay;
use roi_domain::report::{MetricRow, NamedAmount, Point};
use roi_domain::roi::sensitivity::Sensitivity;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Chart size, px (SVG user units; the template scales to the column width).
const SIZE: (u32, u32) = (520, 330);
const FONT: &str = "Inter";
const NAVY: RGBColor = RGBColor(0x0f, 0x3d, 0x5e);
const GOOD: RGBColor = RGBColor(0x04, 0x78, 0x57);
const BAD: RGBColor = RGBColor(0xb4, 0x53, 0x09);
const GRID: RGBColor = RGBColor(0xe5, 0xe7, 0xeb);
const MUTED: RGBColor = RGBColor(0x6b, 0x72, 0x80);
const BAND: RGBColor = RGBColor(0x93, 0xc5, 0xfd);
const GRID_DARK: RGBColor = RGBColor(0x9c, 0xa3, 0xaf);

fn f(v: Decimal) -> f64 {
    v.to_f64().unwrap_or(0.0)
}

fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// An axis label in USD ([`roi_domain::units::usd_compact`]).
fn usd(v: f64) -> String {
    roi_domain::units::usd_compact(rust_decimal::Decimal::try_from(v).unwrap_or_default())
}

/// Runs a drawing into an SVG string; a drawing error (never expected for these inputs)
/// leaves the chart out.
fn svg(
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> Option<()>,
) -> Option<String> {
    svg_of(SIZE, draw)
}

fn svg_of(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> Option<()>,
) -> Option<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).ok()?;
        draw(&root)?;
        root.present().ok()?;
    }
    Some(out)
}

/// The grid and labels of a chart over days (x: days since the first, labelled by `x_fmt`).
fn time_mesh(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    x_fmt: &dyn Fn(&f64) -> String,
    y_fmt: &dyn Fn(&f64) -> String,
) -> Option<()> {
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .axis_style(MUTED)
        .x_labels(5)
        .x_label_formatter(x_fmt)
        .y_label_formatter(y_fmt)
        .label_style((FONT, 18).into_font().color(&MUTED))
        .draw()
        .ok()
}

/// A chart with one row per segment (`0..n`), its x axis labelled by `x_fmt` and described
/// by `x_desc`, its rows named by `name` (shortened to 22 characters).
fn row_mesh(
    chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<RangedCoordf64, RowCoord>>,
    n: usize,
    x_desc: &str,
    x_fmt: &dyn Fn(&f64) -> String,
    name: &dyn Fn(usize) -> Option<String>,
) -> Option<()> {
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .axis_style(MUTED)
        .x_desc(x_desc)
        .x_labels(5)
        .x_label_formatter(x_fmt)
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                name(*i).map(|s| short(&s, 22)).unwrap_or_default()
            }
            SegmentValue::Last => String::new(),
        })
        .label_style((FONT, 18).into_font().color(&NAVY))
        .axis_desc_style((FONT, 17).into_font().color(&MUTED))
        .draw()
        .ok()
}

/// The y coordinate of [`row_mesh`] charts: one segment per row.
type RowCoord = plotters::coord::ranged1d::SegmentedCoord<plotters::coord::types::RangedCoordusize>;

/// Horizontal bars, one per name, from 0 or the smallest value.
fn hbars(
    names: &[String],
    values: &[f64],
    colour: impl Fn(usize) -> RGBColor,
    x_label: &str,
    reference: Option<f64>,
    fmt: impl Fn(f64) -> String,
) -> Option<String> {
    let n = names.len();
    if n == 0 {
        return None;
    }
    let max = values
        .iter()
        .copied()
        .chain(reference)
        .fold(0.0f64, f64::max)
        * 1.12;
    svg(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(8)
            .x_label_area_size(40)
            .y_label_area_size(200)
            .build_cartesian_2d(0f64..max.max(1.0), (0..n).into_segmented())
            .ok()?;
        row_mesh(&mut chart, n, x_label, &|v| fmt(*v), &|i| {
            names.get(i).cloned()
        })?;
        chart
            .draw_series(values.iter().enumerate().map(|(i, v)| {
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(i)),
                        (*v, SegmentValue::Exact(i + 1)),
                    ],
                    colour(i).filled(),
                );
                bar.set_margin(5, 5, 0, 0);
                bar
            }))
            .ok()?;
        chart
            .draw_series(values.iter().enumerate().map(|(i, v)| {
                Text::new(
                    fmt(*v),
                    (*v + max * 0.01, SegmentValue::CenterOf(i)),
                    (FONT, 17).into_font().color(&MUTED),
                )
            }))
            .ok()?;
        if let Some(r) = reference {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(r, SegmentValue::Exact(0)), (r, SegmentValue::Last)],
                    MUTED.stroke_width(2),
                )))
                .ok()?;
        }
        Some(())
    })
}

/// Baseline against now, per metric, as an index with the baseline at 100; bars are green
/// where the metric moved the better way, amber where it moved the worse way (at most 8
/// metrics; metrics with a zero baseline have no index and are left out).
pub fn metrics(rows: &[MetricRow]) -> Option<String> {
    let shown: Vec<&MetricRow> = rows
        .iter()
        .filter(|r| !r.baseline.is_zero())
        .take(8)
        .collect();
    let names: Vec<String> = shown.iter().map(|r| r.label.clone()).collect();
    let values: Vec<f64> = shown
        .iter()
        .map(|r| f(r.current / r.baseline * Decimal::ONE_HUNDRED).max(0.0))
        .collect();
    hbars(
        &names,
        &values,
        |i| match shown[i].improved {
            Some(true) => GOOD,
            Some(false) => BAD,
            None => MUTED,
        },
        "index, baseline = 100",
        Some(100.0),
        |v| format!("{v:.0}"),
    )
}

/// AI cost by department, USD, largest first (at most 8).
pub fn by_department(rows: &[NamedAmount]) -> Option<String> {
    let shown: Vec<&NamedAmount> = rows.iter().take(8).collect();
    let names: Vec<String> = shown.iter().map(|r| r.name.clone()).collect();
    let values: Vec<f64> = shown.iter().map(|r| f(r.usd)).collect();
    hbars(&names, &values, |_| NAVY, "USD", None, usd)
}

fn day_axis(first: NaiveDate) -> impl Fn(&f64) -> String {
    move |x: &f64| {
        let d = first + chrono::Days::new(x.max(0.0).round() as u64);
        d.format("%d %b").to_string()
    }
}

/// ROI since go-live at each month end, percent, with the zero line.
pub fn roi_over_time(points: &[Point]) -> Option<String> {
    let first = points.first()?.day;
    let xs: Vec<(f64, f64)> = points
        .iter()
        .map(|p| ((p.day - first).num_days() as f64, f(p.value)))
        .collect();
    let x_max = xs.last().map_or(1.0, |p| p.0).max(1.0);
    let (lo, hi) = xs
        .iter()
        .fold((0.0f64, 0.0f64), |(l, h), p| (l.min(p.1), h.max(p.1)));
    let pad = ((hi - lo) * 0.15).max(10.0);
    let fmt = day_axis(first);
    svg(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(72)
            .build_cartesian_2d(-x_max * 0.03..x_max * 1.03, (lo - pad)..(hi + pad))
            .ok()?;
        time_mesh(&mut chart, &fmt, &|v| format!("{v:.0} %"))?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(-x_max * 0.03, 0.0), (x_max * 1.03, 0.0)],
                MUTED.stroke_width(1),
            )))
            .ok()?;
        chart
            .draw_series(LineSeries::new(xs.iter().copied(), NAVY.stroke_width(3)))
            .ok()?;
        chart
            .draw_series(xs.iter().map(|p| Circle::new(*p, 4, NAVY.filled())))
            .ok()?;
        if let Some(last) = xs.last() {
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("{:.0} %", last.1),
                    (last.0 - x_max * 0.14, last.1 + pad * 0.6),
                    (FONT, 19).into_font().color(&NAVY),
                )))
                .ok()?;
        }
        Some(())
    })
}

/// Sparkline size, px: a table cell's width.
pub const SPARKLINE_SIZE: (u32, u32) = (120, 32);

/// A sparkline of `points` (e.g. ROI since go-live at each of the last 12 month ends,
/// percent): the line alone, with the zero line when the values cross it, and the last
/// point marked; no axes or text (the page prints the figure beside it). `None` with
/// fewer than two points.
pub fn sparkline(points: &[Point]) -> Option<String> {
    if points.len() < 2 {
        return None;
    }
    let ys: Vec<f64> = points.iter().map(|p| f(p.value)).collect();
    let (lo, hi) = ys
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), y| (l.min(*y), h.max(*y)));
    let pad = ((hi - lo) * 0.1).max(1.0);
    let n = (ys.len() - 1) as f64;
    svg_of(SPARKLINE_SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(4)
            .build_cartesian_2d(0.0..n, (lo - pad)..(hi + pad))
            .ok()?;
        if lo < 0.0 && hi > 0.0 {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(0.0, 0.0), (n, 0.0)],
                    GRID_DARK.stroke_width(1),
                )))
                .ok()?;
        }
        let line = ys.iter().enumerate().map(|(i, y)| (i as f64, *y));
        chart
            .draw_series(LineSeries::new(line, NAVY.stroke_width(2)))
            .ok()?;
        let last = *ys.last()?;
        let colour = if last >= 0.0 { GOOD } else { BAD };
        chart
            .draw_series(std::iter::once(Circle::new((n, last), 3, colour.filled())))
            .ok()?;
        Some(())
    })
}

/// What moves ROI most (a tornado): per input, a bar from the ROI with the input 10 % lower
/// (grey half) to the ROI with it 10 % higher (navy half), around the expected ROI (the
/// vertical line), percent.
pub fn sensitivity(rows: &[Sensitivity], expected: Decimal) -> Option<String> {
    if rows.is_empty() {
        return None;
    }
    let n = rows.len();
    let base = f(expected);
    let (lo, hi) = rows.iter().fold((base, base), |(l, h), r| {
        let (a, b) = (f(r.roi_if_lower_percentage), f(r.roi_if_higher_percentage));
        (l.min(a).min(b), h.max(a).max(b))
    });
    let pad = ((hi - lo) * 0.12).max(2.0);
    svg(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(8)
            .x_label_area_size(40)
            .y_label_area_size(200)
            .build_cartesian_2d((lo - pad)..(hi + pad), (0..n).into_segmented())
            .ok()?;
        row_mesh(
            &mut chart,
            n,
            "ROI, percent",
            &|v| format!("{v:.0} %"),
            // the first row on top; the top edge (i = n) has no row
            &|i| {
                n.checked_sub(i + 1)
                    .and_then(|row| rows.get(row))
                    .map(|r| r.input.clone())
            },
        )?;
        // the first row (the largest swing) on top
        let bar = |row: usize, to: f64, colour: RGBColor| {
            let i = n - 1 - row;
            let mut r = Rectangle::new(
                [
                    (base, SegmentValue::Exact(i)),
                    (to, SegmentValue::Exact(i + 1)),
                ],
                colour.filled(),
            );
            r.set_margin(6, 6, 0, 0);
            r
        };
        chart
            .draw_series(rows.iter().enumerate().flat_map(|(i, r)| {
                [
                    bar(i, f(r.roi_if_lower_percentage), GRID_DARK),
                    bar(i, f(r.roi_if_higher_percentage), NAVY),
                ]
            }))
            .ok()?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(base, SegmentValue::Exact(0)), (base, SegmentValue::Last)],
                BAD.stroke_width(2),
            )))
            .ok()?;
        Some(())
    })
}

/// Daily AI cost (USD) with the next 30 days' expected cost (dashed) inside its band.
pub fn cost_trend(daily: &[Point], band: &[BandDay]) -> Option<String> {
    let first = daily.first()?.day;
    let x = |d: NaiveDate| (d - first).num_days() as f64;
    let history: Vec<(f64, f64)> = daily.iter().map(|p| (x(p.day), f(p.value))).collect();
    let x_max = band
        .last()
        .map(|b| x(b.day))
        .or_else(|| history.last().map(|p| p.0))
        .unwrap_or(1.0)
        .max(1.0);
    let hi = history
        .iter()
        .map(|p| p.1)
        .chain(band.iter().map(|b| f(b.high_usd)))
        .fold(0.0f64, f64::max)
        .max(1.0)
        * 1.1;
    let fmt = day_axis(first);
    svg(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(72)
            .build_cartesian_2d(0f64..x_max, 0f64..hi)
            .ok()?;
        time_mesh(&mut chart, &fmt, &|v| usd(*v))?;
        if !band.is_empty() {
            let mut outline: Vec<(f64, f64)> =
                band.iter().map(|b| (x(b.day), f(b.high_usd))).collect();
            outline.extend(band.iter().rev().map(|b| (x(b.day), f(b.low_usd))));
            chart
                .draw_series(std::iter::once(Polygon::new(
                    outline,
                    BAND.mix(0.45).filled(),
                )))
                .ok()?;
            let expected: Vec<(f64, f64)> =
                band.iter().map(|b| (x(b.day), f(b.expected_usd))).collect();
            chart
                .draw_series(DashedLineSeries::new(expected, 6, 4, NAVY.stroke_width(2)))
                .ok()?;
        }
        chart
            .draw_series(LineSeries::new(
                history.iter().copied(),
                NAVY.stroke_width(2),
            ))
            .ok()?;
        Some(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn row(metric: &str, baseline: Decimal, current: Decimal, improved: bool) -> MetricRow {
        MetricRow {
            metric: metric.into(),
            label: roi_domain::report::metric_label(metric),
            unit: "USD".into(),
            baseline,
            current,
            change_percentage: None,
            improved: Some(improved),
        }
    }

    #[test]
    fn the_metric_chart_indexes_to_the_baseline_and_escapes_names() {
        let svg = metrics(&[
            row("monthly_labor_cost", dec!(40000), dec!(30000), true),
            row("error_rate_percentage", dec!(8), dec!(10), false),
            row("<script>&", dec!(0), dec!(1), true),
        ])
        .unwrap();
        assert!(svg.starts_with("<svg"));
        let texts: Vec<&str> = svg
            .split("<text")
            .skip(1)
            .filter_map(|t| Some(t.split_once('>')?.1.split_once("</text>")?.0.trim()))
            .collect();
        assert!(texts.contains(&"Monthly labor cost"), "{texts:?}");
        assert!(texts.contains(&"75") && texts.contains(&"125"), "{texts:?}");
        assert!(
            !svg.contains("<script>"),
            "zero baselines are left out, names escaped"
        );
        let lower = svg.to_lowercase();
        assert!(
            lower.contains("#047857") && lower.contains("#b45309"),
            "green and amber bars"
        );
        assert_eq!(metrics(&[]), None);
    }

    #[test]
    fn department_names_are_escaped_in_the_svg() {
        let svg = by_department(&[NamedAmount {
            name: "R&D <lab>".into(),
            usd: dec!(1234),
        }])
        .unwrap();
        assert!(svg.contains("R&amp;D &lt;lab&gt;"), "{svg}");
        assert!(svg.contains("$1.2k"));
    }

    #[test]
    fn the_cost_chart_draws_the_band_after_the_history() {
        let d0: NaiveDate = "2026-10-01".parse().unwrap();
        let daily: Vec<Point> = (0..30)
            .map(|i| Point {
                day: d0 + chrono::Days::new(i),
                value: dec!(10),
            })
            .collect();
        let band: Vec<BandDay> = (30..60)
            .map(|i| BandDay {
                day: d0 + chrono::Days::new(i),
                expected_usd: dec!(10),
                low_usd: dec!(8),
                high_usd: dec!(12),
            })
            .collect();
        let svg = cost_trend(&daily, &band).unwrap();
        assert!(svg.contains("<polygon"), "the band");
        assert!(svg.contains("stroke-dasharray") || svg.matches("<polyline").count() >= 1);
        assert!(cost_trend(&[], &band).is_none());
    }
}

#[cfg(test)]
mod sparkline_tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn points(values: &[Decimal]) -> Vec<Point> {
        let first: NaiveDate = "2026-01-31".parse().unwrap();
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Point {
                day: first + chrono::Months::new(i as u32),
                value: *v,
            })
            .collect()
    }

    #[test]
    fn a_sparkline_needs_two_points_and_marks_the_last_by_its_sign() {
        assert!(sparkline(&points(&[dec!(5)])).is_none());
        let rising = sparkline(&points(&[dec!(-40), dec!(-10), dec!(25)])).unwrap();
        assert!(rising.contains("<svg") && rising.contains("width=\"120\""));
        assert!(
            rising.contains("#047857"),
            "the last point is good: {rising}"
        );
        assert!(
            rising.contains("#9CA3AF") || rising.contains("#9ca3af"),
            "the zero line"
        );
        let falling = sparkline(&points(&[dec!(10), dec!(-5)])).unwrap();
        assert!(falling.contains("#B45309") || falling.contains("#b45309"));
        let flat = sparkline(&points(&[dec!(12), dec!(12)])).unwrap();
        assert!(
            !flat.contains("#9CA3AF") && !flat.contains("#9ca3af"),
            "no zero line"
        );
    }
}
