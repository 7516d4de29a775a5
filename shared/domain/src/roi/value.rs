//! Value lines from the measurements (issue 16): gains the measurements hold that the
//! total-cost change does not value by itself, each shown with its formula and inputs, each
//! on or off per project ([`Valuation::lines_off`]).
//!
//! | line | formula (USD per month) | inputs |
//! |---|---|---|
//! | labour time saved | monthly volume × (baseline − now) minutes per task ÷ 60 × hourly rate | `volume_per_period`, `avg_task_completion_time`, hourly rate |
//! | rework hours saved | (baseline − now) `rework_hours_per_week` × 365.25 / 7 / 12 × hourly rate | `rework_hours_per_week`, hourly rate |
//! | quality-control hours saved | (baseline − now) `quality_control_hours_per_week` × 365.25 / 7 / 12 × hourly rate | `quality_control_hours_per_week`, hourly rate |
//! | errors avoided | monthly volume × (baseline − now) `error_rate_percentage` ÷ 100 × `cost_per_error` | volume, error rate, cost per error (now, else baseline) |
//! | lost revenue recovered | (baseline − now) `estimated_monthly_lost_revenue` × gross margin | lost revenue |
//! | churn reduction | (baseline − now) `churn_rate_percentage` ÷ 100 × baseline `monthly_revenue` × gross margin | churn rate, monthly revenue |
//!
//! Seed 000 (§2.1 "time savings", "error reduction", "lost revenue", churn) names the gains;
//! the monthly volume is the measurement's volume (else the baseline's, when the
//! measurement does not report one) per day × 365.25 / 12, per week × 365.25 / 7 / 12, or
//! per month as given (a volume without its period counts per month). The hourly
//! rate is the project's loaded hourly rate, else the client's.
//!
//! **No double counting.** The gross monthly benefit already counts the total-cost change
//! (money that stopped being spent) and the revenue increase × margin. Labour, rework,
//! quality-control and error lines describe the same money when it shows in the costs:
//! they count only what exceeds the positive part of the total-cost change plus the
//! metered value lines (time saved and cost avoided from events), taken in the table's
//! order. Lost revenue and churn lines count only what exceeds the positive part of the
//! revenue increase × margin. A line whose measure got worse (or did not change) is shown
//! and counts nothing: any cost of it is already in the cost change.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{FieldError, ValidationErrors};
use crate::metric::{Metric, VolumePeriod};
use crate::snapshot::MetricSnapshot;
use crate::units::{Money, Percentage, grouped, usd_cents};

/// Average days per month: 365.25 / 12 = 30.4375.
pub const DAYS_PER_MONTH: Decimal = Decimal::from_parts(304_375, 0, 0, false, 4);

/// Average weeks per month, 365.25 / 7 / 12 (≈ 4.3482), at 28 digits.
pub fn weeks_per_month() -> Decimal {
    DAYS_PER_MONTH / Decimal::from(7)
}

/// Self-reported figures are trusted at 80 % by default in the conservative and optimistic
/// scenarios (issue 16, "confidence of self-reported figures").
pub const DEFAULT_CONFIDENCE: Decimal = Decimal::from_parts(80, 0, 0, false, 0);

/// A value line of the module table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueLineKind {
    /// Labour time saved on the measured volume.
    LabourTime,
    /// Rework hours saved.
    ReworkHours,
    /// Quality-control hours saved.
    QualityControlHours,
    /// Errors avoided × cost per error.
    ErrorsAvoided,
    /// Lost revenue recovered × margin.
    LostRevenueRecovered,
    /// Churn reduction × revenue × margin.
    ChurnReduction,
}

impl ValueLineKind {
    /// Every line, in the module table's order (the order overlaps are taken in).
    pub const ALL: [ValueLineKind; 6] = [
        ValueLineKind::LabourTime,
        ValueLineKind::ReworkHours,
        ValueLineKind::QualityControlHours,
        ValueLineKind::ErrorsAvoided,
        ValueLineKind::LostRevenueRecovered,
        ValueLineKind::ChurnReduction,
    ];

    /// The name used in settings and on the command line, e.g. `labour_time`.
    pub fn name(self) -> &'static str {
        match self {
            ValueLineKind::LabourTime => "labour_time",
            ValueLineKind::ReworkHours => "rework_hours",
            ValueLineKind::QualityControlHours => "quality_control_hours",
            ValueLineKind::ErrorsAvoided => "errors_avoided",
            ValueLineKind::LostRevenueRecovered => "lost_revenue_recovered",
            ValueLineKind::ChurnReduction => "churn_reduction",
        }
    }

    /// The label people read.
    pub fn label(self) -> &'static str {
        match self {
            ValueLineKind::LabourTime => "Labour time saved",
            ValueLineKind::ReworkHours => "Rework hours saved",
            ValueLineKind::QualityControlHours => "Quality-control hours saved",
            ValueLineKind::ErrorsAvoided => "Errors avoided",
            ValueLineKind::LostRevenueRecovered => "Lost revenue recovered",
            ValueLineKind::ChurnReduction => "Churn reduction",
        }
    }

    /// Whether the line values revenue (else cost); it decides which figure it may overlap.
    pub fn is_revenue(self) -> bool {
        matches!(
            self,
            ValueLineKind::LostRevenueRecovered | ValueLineKind::ChurnReduction
        )
    }
}

impl fmt::Display for ValueLineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ValueLineKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ValueLineKind::ALL
            .into_iter()
            .find(|k| k.name() == s.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = ValueLineKind::ALL.iter().map(|k| k.name()).collect();
                format!("'{s}' is not a value line; use one of {}", names.join(", "))
            })
    }
}

/// Whether a value line counts, and why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    /// Counted (its `counted_usd` may still be 0 when the overlap covers it).
    Counted,
    /// Turned off for the project.
    Off,
    /// An input is missing ([`ValueLine::missing`] names them).
    MissingInputs,
    /// The measure did not improve: shown, not counted.
    NoGain,
}

/// One value line at one measurement, USD per month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueLine {
    /// Which line.
    pub kind: ValueLineKind,
    /// Its label.
    pub label: String,
    /// The formula with its inputs, e.g. "1,200 tasks/month × (12 − 7) min ÷ 60 × $45.00/h".
    pub formula: String,
    /// The formula's value, USD per month; absent when an input is missing.
    pub gross_usd: Option<Decimal>,
    /// The part already counted by the cost change or the revenue increase, USD per month.
    pub overlap_usd: Decimal,
    /// What the line adds to the gross monthly benefit, USD per month (≥ 0).
    pub counted_usd: Decimal,
    /// Whether it counts.
    pub status: LineStatus,
    /// The inputs missing, by metric name (or "hourly rate"), when it cannot be computed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// A dated running cost of a project (fees, hosting, licences), counted in running cost
/// from `from` through `to` (inclusive; open-ended without `to`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningCost {
    /// What it is, 1–100 characters, e.g. "Consultancy retainer".
    pub name: String,
    /// USD per month, 0–[`crate::units::MAX_MEASURED_VALUE`].
    pub monthly_usd: Money,
    /// First day counted.
    pub from: NaiveDate,
    /// Last day counted, if it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
}

impl RunningCost {
    /// The share of the days of `first..=last` this cost is in force, 0–1.
    pub fn share_of(&self, first: NaiveDate, last: NaiveDate) -> Decimal {
        let start = self.from.max(first);
        let end = self.to.map_or(last, |to| to.min(last));
        let days = (last - first).num_days() + 1;
        let inside = (end - start).num_days() + 1;
        if days <= 0 || inside <= 0 {
            Decimal::ZERO
        } else if inside >= days {
            Decimal::ONE
        } else {
            Decimal::from(inside) / Decimal::from(days)
        }
    }
}

/// How a project's value is counted (issue 16). Stored with the project; every field has a
/// default, so projects stored before it read as the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Valuation {
    /// Loaded hourly rate (salary, benefits, overhead), USD per hour; the client's hourly
    /// rate when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loaded_hourly_rate_usd: Option<Money>,
    /// Share of the measured improvement due to the AI solution, percent (default 100):
    /// every benefit is multiplied by it.
    #[serde(default = "hundred")]
    pub attribution_percentage: Percentage,
    /// How far self-reported figures are trusted in the range, percent (default 80): the
    /// conservative and optimistic scenarios move self-reported value by (100 − this) %.
    #[serde(default = "default_confidence")]
    pub confidence_percentage: Percentage,
    /// Value lines turned off.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub lines_off: BTreeSet<ValueLineKind>,
    /// Running costs beyond the AI solution cost.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub running_costs: Vec<RunningCost>,
    /// The ROI the project was sold on, percent (−100 to 100,000): once the project is past
    /// its payback, ROI below it is a warning for the account manager (issue 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_roi_percentage: Option<Decimal>,
    /// The payback period the project was sold on, months (more than 0, at most 1,200):
    /// ROI alerts start after go-live + this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_payback_months: Option<Decimal>,
}

fn hundred() -> Percentage {
    Percentage::HUNDRED
}

fn default_confidence() -> Percentage {
    Percentage::try_from(DEFAULT_CONFIDENCE).unwrap_or(Percentage::HUNDRED)
}

impl Default for Valuation {
    fn default() -> Self {
        Self {
            loaded_hourly_rate_usd: None,
            attribution_percentage: hundred(),
            confidence_percentage: default_confidence(),
            lines_off: BTreeSet::new(),
            running_costs: Vec::new(),
            planned_roi_percentage: None,
            planned_payback_months: None,
        }
    }
}

impl Valuation {
    /// The default (issue 16).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Checks the running costs (names of 1–100 characters, unique per start date, `to` not
    /// before `from`) and the plan's ranges. (Money and percentages are valid by
    /// construction.)
    ///
    /// # Errors
    /// [`ValidationErrors`] naming `running_costs[i].name`, `running_costs[i].to`,
    /// `planned_roi_percentage` or `planned_payback_months`.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, c) in self.running_costs.iter().enumerate() {
            let len = c.name.trim().chars().count();
            if len == 0 || len > 100 {
                errors.push(FieldError::new(
                    format!("running_costs[{i}].name"),
                    "must be 1 to 100 characters",
                ));
            }
            if !seen.insert((c.name.trim().to_lowercase(), c.from)) {
                errors.push(FieldError::new(
                    format!("running_costs[{i}].name"),
                    format!("'{}' from {} is listed twice", c.name, c.from),
                ));
            }
            if let Some(to) = c.to
                && to < c.from
            {
                errors.push(FieldError::new(
                    format!("running_costs[{i}].to"),
                    format!("ends {to}, before it starts ({})", c.from),
                ));
            }
        }
        if let Some(roi) = self.planned_roi_percentage
            && (roi < Decimal::from(-100) || roi > Decimal::from(100_000))
        {
            errors.push(FieldError::new(
                "planned_roi_percentage",
                format!("must be between -100 and 100000 (percent), got {roi}"),
            ));
        }
        if let Some(months) = self.planned_payback_months
            && (months <= Decimal::ZERO || months > Decimal::from(1200))
        {
            errors.push(FieldError::new(
                "planned_payback_months",
                format!("must be more than 0 and at most 1200 (months), got {months}"),
            ));
        }
        ValidationErrors::from_vec(errors).map_or(Ok(()), Err)
    }
}

/// What the value lines of one measurement are computed from.
#[derive(Debug, Clone, Copy)]
pub struct LineInputs<'a> {
    /// The approved baseline.
    pub baseline: &'a MetricSnapshot,
    /// The measurement valued.
    pub current: &'a MetricSnapshot,
    /// Hourly rate, USD per hour.
    pub hourly_rate_usd: Option<Decimal>,
    /// Gross margin on revenue.
    pub gross_margin: Percentage,
    /// Lines turned off.
    pub lines_off: &'a BTreeSet<ValueLineKind>,
    /// Already counted on the cost side: the positive part of the total-cost change plus
    /// the metered value lines, USD per month.
    pub cost_overlap_usd: Decimal,
    /// Already counted on the revenue side: the positive part of revenue increase ×
    /// margin, USD per month.
    pub revenue_overlap_usd: Decimal,
}

/// The value lines of one measurement, in the module table's order, with their overlaps
/// taken (module docs). Never fails: an input out of the decimal range makes its line
/// "missing" rather than a panic.
pub fn value_lines(i: &LineInputs<'_>) -> Vec<ValueLine> {
    let mut cost_left = i.cost_overlap_usd.max(Decimal::ZERO);
    let mut revenue_left = i.revenue_overlap_usd.max(Decimal::ZERO);
    ValueLineKind::ALL
        .into_iter()
        .map(|kind| {
            let (formula, gross) = match formula(kind, i) {
                Ok(found) => found,
                Err(missing) => {
                    return ValueLine {
                        missing,
                        ..line(kind, String::new(), None, LineStatus::MissingInputs)
                    };
                }
            };
            if i.lines_off.contains(&kind) {
                return line(kind, formula, Some(gross), LineStatus::Off);
            }
            if gross <= Decimal::ZERO {
                return line(kind, formula, Some(gross), LineStatus::NoGain);
            }
            let left = if kind.is_revenue() {
                &mut revenue_left
            } else {
                &mut cost_left
            };
            let overlap = gross.min(*left);
            *left -= overlap;
            ValueLine {
                overlap_usd: overlap,
                counted_usd: gross - overlap,
                ..line(kind, formula, Some(gross), LineStatus::Counted)
            }
        })
        .collect()
}

fn line(
    kind: ValueLineKind,
    formula: String,
    gross: Option<Decimal>,
    status: LineStatus,
) -> ValueLine {
    ValueLine {
        kind,
        label: kind.label().to_owned(),
        formula,
        gross_usd: gross,
        overlap_usd: Decimal::ZERO,
        counted_usd: Decimal::ZERO,
        status,
        missing: Vec::new(),
    }
}

/// The monthly volume of `s`, and its unit in words.
fn monthly_volume(s: &MetricSnapshot) -> Option<Decimal> {
    let v = s.value(Metric::VolumePerPeriod)?;
    match s.volume_period().unwrap_or(VolumePeriod::Month) {
        VolumePeriod::Day => v.checked_mul(DAYS_PER_MONTH),
        VolumePeriod::Week => v.checked_mul(weeks_per_month()),
        VolumePeriod::Month => Some(v),
    }
}

/// A line's formula in words and its value, or the inputs it misses.
fn formula(kind: ValueLineKind, i: &LineInputs<'_>) -> Result<(String, Decimal), Vec<String>> {
    let mut missing = Vec::new();
    let mut both = |m: Metric| match (i.baseline.value(m), i.current.value(m)) {
        (Some(b), Some(n)) => Some((b, n)),
        _ => {
            missing.push(m.name().to_owned());
            None
        }
    };
    let margin = i.gross_margin.fraction();
    let pct = |v: Decimal| format!("{}%", v.normalize());
    let found = match kind {
        ValueLineKind::LabourTime => {
            let minutes = both(Metric::AvgTaskCompletionTime);
            let volume = volume(i, &mut missing);
            let rate = rate(i, &mut missing);
            match (minutes, volume, rate) {
                (Some((b, n)), Some(v), Some(r)) => Some((
                    format!(
                        "{} tasks/month × ({} − {}) min ÷ 60 × {}/h",
                        grouped(v.round_dp(0)),
                        b.normalize(),
                        n.normalize(),
                        usd_cents(r)
                    ),
                    b.checked_sub(n)
                        .and_then(|d| v.checked_mul(d))
                        .and_then(|x| x.checked_mul(r))
                        .map(|x| x / Decimal::from(60)),
                )),
                _ => None,
            }
        }
        ValueLineKind::ReworkHours | ValueLineKind::QualityControlHours => {
            let metric = if kind == ValueLineKind::ReworkHours {
                Metric::ReworkHoursPerWeek
            } else {
                Metric::QualityControlHoursPerWeek
            };
            let hours = both(metric);
            let rate = rate(i, &mut missing);
            match (hours, rate) {
                (Some((b, n)), Some(r)) => Some((
                    format!(
                        "({} − {}) h/week × 4.348 weeks/month × {}/h",
                        b.normalize(),
                        n.normalize(),
                        usd_cents(r)
                    ),
                    b.checked_sub(n)
                        .and_then(|d| d.checked_mul(weeks_per_month()))
                        .and_then(|x| x.checked_mul(r)),
                )),
                _ => None,
            }
        }
        ValueLineKind::ErrorsAvoided => {
            let rates = both(Metric::ErrorRatePercentage);
            let volume = volume(i, &mut missing);
            let cost = i
                .current
                .value(Metric::CostPerError)
                .or_else(|| i.baseline.value(Metric::CostPerError));
            if cost.is_none() {
                missing.push(Metric::CostPerError.name().to_owned());
            }
            match (rates, volume, cost) {
                (Some((b, n)), Some(v), Some(c)) => Some((
                    format!(
                        "{} tasks/month × ({} − {}) × {} per error",
                        grouped(v.round_dp(0)),
                        pct(b),
                        pct(n),
                        usd_cents(c)
                    ),
                    b.checked_sub(n)
                        .and_then(|d| v.checked_mul(d))
                        .and_then(|x| x.checked_mul(c))
                        .map(|x| x / Decimal::ONE_HUNDRED),
                )),
                _ => None,
            }
        }
        ValueLineKind::LostRevenueRecovered => {
            both(Metric::EstimatedMonthlyLostRevenue).map(|(b, n)| {
                (
                    format!(
                        "({} − {}) lost per month × {} margin",
                        usd_cents(b),
                        usd_cents(n),
                        pct(i.gross_margin.value())
                    ),
                    b.checked_sub(n).and_then(|d| d.checked_mul(margin)),
                )
            })
        }
        ValueLineKind::ChurnReduction => {
            let churn = both(Metric::ChurnRatePercentage);
            let revenue = i.baseline.value(Metric::MonthlyRevenue);
            if revenue.is_none() {
                missing.push(Metric::MonthlyRevenue.name().to_owned());
            }
            match (churn, revenue) {
                (Some((b, n)), Some(r)) => Some((
                    format!(
                        "({} − {}) × {} revenue/month × {} margin",
                        pct(b),
                        pct(n),
                        usd_cents(r),
                        pct(i.gross_margin.value())
                    ),
                    b.checked_sub(n)
                        .and_then(|d| d.checked_mul(r))
                        .and_then(|x| x.checked_mul(margin))
                        .map(|x| x / Decimal::ONE_HUNDRED),
                )),
                _ => None,
            }
        }
    };
    match found {
        Some((text, Some(value))) if missing.is_empty() => Ok((text, value)),
        Some((_, None)) => Err(vec!["a value within range".to_owned()]),
        _ => Err(missing),
    }
}

/// The monthly volume of the measurement, else of the baseline.
fn volume(i: &LineInputs<'_>, missing: &mut Vec<String>) -> Option<Decimal> {
    let found = monthly_volume(i.current).or_else(|| monthly_volume(i.baseline));
    if found.is_none() {
        missing.push(Metric::VolumePerPeriod.name().to_owned());
    }
    found
}

fn rate(i: &LineInputs<'_>, missing: &mut Vec<String>) -> Option<Decimal> {
    if i.hourly_rate_usd.is_none() {
        missing.push("hourly rate".to_owned());
    }
    i.hourly_rate_usd
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{SnapshotDraft, SnapshotKind};
    use rust_decimal_macros::dec;

    fn snap(kind: SnapshotKind, day: &str, values: &[(Metric, Decimal)]) -> MetricSnapshot {
        let mut draft = SnapshotDraft::new("p".parse().unwrap(), kind, day.parse().unwrap());
        for (m, v) in values {
            draft.values.insert(*m, *v);
        }
        draft.values.insert(Metric::TotalMonthlyCost, dec!(1000));
        draft.volume_period = Some(VolumePeriod::Week);
        let at = chrono::DateTime::<chrono::Utc>::from_timestamp(1_790_000_000, 0).unwrap();
        draft
            .validate(
                crate::snapshot::SnapshotContext {
                    baseline_date: Some("2026-01-31".parse().unwrap()),
                    previous: None,
                },
                at,
            )
            .unwrap()
    }

    fn inputs<'a>(
        b: &'a MetricSnapshot,
        n: &'a MetricSnapshot,
        off: &'a BTreeSet<ValueLineKind>,
        cost_overlap: Decimal,
    ) -> LineInputs<'a> {
        LineInputs {
            baseline: b,
            current: n,
            hourly_rate_usd: Some(dec!(60)),
            gross_margin: Percentage::try_from(dec!(50)).unwrap(),
            lines_off: off,
            cost_overlap_usd: cost_overlap,
            revenue_overlap_usd: Decimal::ZERO,
        }
    }

    #[test]
    fn each_line_follows_its_formula_and_overlaps_are_taken_in_order() {
        use Metric::*;
        let b = snap(
            SnapshotKind::Baseline,
            "2026-01-31",
            &[
                (VolumePerPeriod, dec!(100)),
                (AvgTaskCompletionTime, dec!(12)),
                (ReworkHoursPerWeek, dec!(10)),
                (ErrorRatePercentage, dec!(8)),
                (CostPerError, dec!(50)),
                (EstimatedMonthlyLostRevenue, dec!(2000)),
            ],
        );
        let n = snap(
            SnapshotKind::Ongoing,
            "2026-03-31",
            &[
                (VolumePerPeriod, dec!(120)),
                (AvgTaskCompletionTime, dec!(7)),
                (ReworkHoursPerWeek, dec!(12)),
                (ErrorRatePercentage, dec!(4)),
                (EstimatedMonthlyLostRevenue, dec!(500)),
            ],
        );
        let off = BTreeSet::new();
        let lines = value_lines(&inputs(&b, &n, &off, dec!(1000)));
        let by = |k: ValueLineKind| lines.iter().find(|l| l.kind == k).unwrap();
        // 120 tasks/week × 4.3482… weeks/month × 5 min ÷ 60 × $60/h = $2,608.93…
        let labour = by(ValueLineKind::LabourTime);
        let expected = dec!(120) * weeks_per_month() * dec!(5) * dec!(60) / dec!(60);
        assert_eq!(labour.gross_usd, Some(expected));
        assert_eq!(labour.gross_usd.unwrap().round_dp(2), dec!(2608.93));
        // the first $1,000 is the cost change already counted
        assert_eq!(labour.overlap_usd, dec!(1000));
        assert_eq!(labour.counted_usd, expected - dec!(1000));
        assert!(labour.formula.starts_with("522 tasks/month × (12 − 7) min"));
        // rework got worse: shown, not counted
        let rework = by(ValueLineKind::ReworkHours);
        assert_eq!(rework.status, LineStatus::NoGain);
        assert_eq!(rework.counted_usd, Decimal::ZERO);
        // errors: 522 × 4 % × $50 (cost per error from the baseline); the pool is spent
        let errors = by(ValueLineKind::ErrorsAvoided);
        assert_eq!(
            errors.counted_usd,
            dec!(120) * weeks_per_month() * dec!(4) * dec!(50) / dec!(100)
        );
        assert_eq!(errors.overlap_usd, Decimal::ZERO);
        // lost revenue: ($2,000 − $500) × 50 %
        assert_eq!(
            by(ValueLineKind::LostRevenueRecovered).counted_usd,
            dec!(750)
        );
        // no QC hours or churn measured: the missing inputs are named
        let qc = by(ValueLineKind::QualityControlHours);
        assert_eq!(qc.status, LineStatus::MissingInputs);
        assert_eq!(qc.missing, ["quality_control_hours_per_week"]);
        assert_eq!(
            by(ValueLineKind::ChurnReduction).missing,
            ["churn_rate_percentage", "monthly_revenue"]
        );
        // stored and read back as written
        let json = serde_json::to_string(&lines).unwrap();
        assert_eq!(
            serde_json::from_str::<Vec<ValueLine>>(&json).unwrap(),
            lines
        );
    }

    #[test]
    fn a_line_turned_off_is_shown_and_not_counted_and_leaves_the_overlap_to_the_next() {
        use Metric::*;
        let values = |t: Decimal, e: Decimal| {
            vec![
                (VolumePerPeriod, dec!(100)),
                (AvgTaskCompletionTime, t),
                (ErrorRatePercentage, e),
                (CostPerError, dec!(10)),
            ]
        };
        let b = snap(
            SnapshotKind::Baseline,
            "2026-01-31",
            &values(dec!(10), dec!(10)),
        );
        let n = snap(
            SnapshotKind::Ongoing,
            "2026-03-31",
            &values(dec!(5), dec!(5)),
        );
        let off = BTreeSet::from([ValueLineKind::LabourTime]);
        let lines = value_lines(&inputs(&b, &n, &off, dec!(100)));
        assert_eq!(lines[0].status, LineStatus::Off);
        assert_eq!(lines[0].counted_usd, Decimal::ZERO);
        let errors = &lines[3];
        assert_eq!(errors.overlap_usd, dec!(100));
        let gross = dec!(100) * weeks_per_month() * dec!(5) * dec!(10) / dec!(100);
        assert_eq!(errors.counted_usd, gross - dec!(100));
        // no hourly rate: the time lines name it as missing
        let mut no_rate = inputs(&b, &n, &off, Decimal::ZERO);
        no_rate.hourly_rate_usd = None;
        let lines = value_lines(&no_rate);
        assert_eq!(lines[0].status, LineStatus::MissingInputs);
        assert_eq!(lines[0].missing, ["hourly rate"]);
    }

    #[test]
    fn a_running_cost_counts_the_days_it_is_in_force() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let c = RunningCost {
            name: "Retainer".into(),
            monthly_usd: Money::try_from(dec!(300)).unwrap(),
            from: d("2026-03-16"),
            to: Some(d("2026-05-10")),
        };
        assert_eq!(c.share_of(d("2026-02-01"), d("2026-02-28")), dec!(0));
        assert_eq!(
            c.share_of(d("2026-03-01"), d("2026-03-31")),
            dec!(16) / dec!(31)
        );
        assert_eq!(c.share_of(d("2026-04-01"), d("2026-04-30")), dec!(1));
        assert_eq!(
            c.share_of(d("2026-05-01"), d("2026-05-31")),
            dec!(10) / dec!(31)
        );
        let mut v = Valuation {
            running_costs: vec![c.clone(), c.clone()],
            ..Valuation::default()
        };
        v.running_costs[1].to = Some(d("2026-01-01"));
        let err = v.validate().unwrap_err().to_string();
        assert!(
            err.contains("listed twice") && err.contains("before it starts"),
            "{err}"
        );
    }

    #[test]
    fn a_plan_is_checked_at_its_extremes() {
        let plan = |roi: Decimal, months: Decimal| Valuation {
            planned_roi_percentage: Some(roi),
            planned_payback_months: Some(months),
            ..Valuation::default()
        };
        assert!(plan(dec!(-100), dec!(0.01)).validate().is_ok());
        assert!(plan(dec!(100000), dec!(1200)).validate().is_ok());
        let low = plan(dec!(-100.01), dec!(0)).validate().unwrap_err();
        assert!(low.mentions("planned_roi_percentage") && low.mentions("planned_payback_months"));
        let high = plan(dec!(100000.01), dec!(1200.01)).validate().unwrap_err();
        assert!(high.mentions("planned_roi_percentage") && high.mentions("planned_payback_months"));
    }
}
