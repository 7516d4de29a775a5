//! The sentences of a report (wins, what needs attention, next steps), made from its
//! figures.

use rust_decimal::Decimal;

use super::data::{ReportData, metric_label};
use crate::trend::Trend;
use crate::units::rounded_grouped;

/// Wins, points needing attention and next steps, as sentences made from the figures
/// (seed 000 §6.2: "wins and areas for improvement", "next steps", "strategic
/// recommendations").
/// `needs_review`: the latest measurement awaits review.
pub fn narrate(d: &mut ReportData, needs_review: bool) {
    metric_lines(d);
    roi_lines(d);
    if needs_review {
        d.attention
            .push("The latest measurement awaits review; its figures may change".into());
    }
    usage_lines(d);
}

/// A change as printed in a sentence: its size, one decimal, no sign.
fn pct(v: Decimal) -> String {
    format!("{}", v.abs().round_dp(1).normalize())
}

/// Each metric's change (wins, at most five, and what needs attention), then the metrics
/// moving the wrong way across the measurements.
fn metric_lines(d: &mut ReportData) {
    for m in &d.metrics {
        let (Some(c), Some(better)) = (m.change_percentage, m.improved) else {
            continue;
        };
        let line = format!(
            "{}: {} → {} {} ({} {} %)",
            metric_label(&m.metric),
            rounded_grouped(m.baseline, 2),
            rounded_grouped(m.current, 2),
            m.unit,
            if c.is_sign_negative() { "down" } else { "up" },
            pct(c)
        );
        if better {
            d.wins.push(line);
        } else {
            d.attention.push(line);
        }
    }
    d.wins.truncate(5);
    for t in &d.trends {
        if t.trend == Trend::Declining {
            d.attention.push(format!(
                "{} has been moving the wrong way across the measurements ({} %)",
                metric_label(&t.metric),
                pct(t.change_percentage)
            ));
        }
    }
}

/// Payback first among the wins (or why there is none), and expansion above 100 % ROI.
fn roi_lines(d: &mut ReportData) {
    let Some(r) = &d.roi else {
        return;
    };
    match r.payback_period_months {
        Some(months) if Decimal::from(r.period_months) >= months => d.wins.insert(
            0,
            format!(
                "The investment has paid back (payback {} months)",
                rounded_grouped(months, 1)
            ),
        ),
        Some(months) => d.wins.insert(
            0,
            format!(
                "Payback expected after {} months",
                rounded_grouped(months, 1)
            ),
        ),
        None => d.attention.push(
            "The solution does not pay back at current figures: the monthly benefit does not exceed its running cost"
                .into(),
        ),
    }
    if r.roi_percentage >= Decimal::ONE_HUNDRED {
        d.next_steps.push(
            "ROI above 100 %: a candidate for expansion to further teams and for a case study"
                .into(),
        );
    }
}

/// AI cost rising over 25 %, incomplete measurements, and the next steps.
fn usage_lines(d: &mut ReportData) {
    if let Some(u) = &d.usage
        && let Some(prev) = u.previous_cost_usd
        && !prev.is_zero()
    {
        let c = (u.cost_usd - prev) / prev * Decimal::ONE_HUNDRED;
        if c > Decimal::from(25) {
            d.attention.push(format!(
                "AI cost rose {} % against the previous period",
                pct(c)
            ));
        }
    }
    if let Some(c) = d.tracking.completeness_percentage
        && c < Decimal::from(80)
    {
        d.next_steps.push(format!(
            "Only {} % of due measurements were submitted: agree an owner for each measurement",
            c.round_dp(0)
        ));
    }
    if d.roi.is_none() {
        d.next_steps.push(
            "Approve a baseline and submit an ongoing measurement so ROI can be computed".into(),
        );
    }
    if let Some(f) = &d.forecast {
        d.next_steps.push(format!(
            "Budget about ${} of AI cost for the next 30 days (forecast confidence {})",
            rounded_grouped(f.next_30_days_usd, 0),
            f.confidence
        ));
    }
    if d.attention.is_empty() && d.roi.is_some() {
        d.next_steps
            .push("Keep the measurement cadence; look for further processes to automate".into());
    }
}
