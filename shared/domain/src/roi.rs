//! ROI math. One set of definitions (issue 2, built on seed 000 §2.1 `ROICalculation`) that
//! every part of the system uses:
//!
//! - *total monthly cost* of a snapshot: as given, else the sum of its components
//!   ([`MetricSnapshot::total_monthly_cost`]);
//! - *running cost* per month = the ongoing `ai_solution_cost` + any operating cost lines;
//! - *gross monthly benefit* = (baseline total monthly cost − ongoing total monthly cost,
//!   without the AI cost) + monthly revenue increase × gross margin + named value lines;
//! - `cost_savings_monthly` = baseline total monthly cost − (ongoing total monthly cost +
//!   running cost); `cost_savings_annual` = 12 × that;
//! - over N months: benefits = N × gross monthly benefit; costs = one-time investment +
//!   N × running cost; `roi_percentage` = (benefits − costs) / costs × 100;
//! - `payback_period_months` = one-time investment / (gross monthly benefit − running
//!   cost), absent when the denominator is ≤ 0.
//!
//! Money is USD as [`Decimal`]; percentages are in percent. Figures are computed at full
//! precision and rounded once, to cents and to hundredths of a percent or month, in
//! [`RoiCalculation`].

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::client::{Project, ProjectId};
use crate::metric::Metric;
use crate::snapshot::{MetricSnapshot, SnapshotId, SnapshotKind, SnapshotStatus};
use crate::units::{Money, Percentage, round_money, round_ratio};

/// A named amount per month, USD: a value line ("churn prevention", seed 003) or an
/// operating cost line ("infrastructure + API", seed 003).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthlyLine {
    /// What the amount is.
    pub name: String,
    /// USD per month.
    pub monthly_usd: Money,
}

impl MonthlyLine {
    /// A line from an annual amount (USD per year ÷ 12, kept at full precision).
    pub fn from_annual(name: impl Into<String>, annual_usd: Money) -> Self {
        Self {
            name: name.into(),
            monthly_usd: Money::try_from(annual_usd.amount() / Decimal::from(12))
                .unwrap_or(Money::ZERO),
        }
    }
}

/// The monthly figures one ROI calculation rests on, all USD per month unless named
/// otherwise. Kept with every [`RoiCalculation`] so each figure can be traced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoiInputs {
    /// N, the months analysed (≥ 1).
    pub months: u32,
    /// One-time investment, USD.
    pub one_time_investment: Money,
    /// Baseline total monthly cost, USD.
    pub baseline_total_monthly_cost: Decimal,
    /// Ongoing total monthly cost without the AI solution's cost, USD.
    pub ongoing_total_monthly_cost: Decimal,
    /// Monthly revenue increase (may be negative), USD.
    pub monthly_revenue_increase: Decimal,
    /// Share of a revenue increase that is profit, percent.
    pub gross_margin: Percentage,
    /// Named value lines, USD per month.
    pub value_lines: Vec<MonthlyLine>,
    /// Running cost lines (the AI solution cost first, then operating costs), USD per month.
    pub running_cost_lines: Vec<MonthlyLine>,
}

/// The figures of [`RoiInputs::evaluate`], unrounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoiFigures {
    /// Gross monthly benefit, USD.
    pub gross_monthly_benefit: Decimal,
    /// Running cost per month, USD.
    pub running_cost_monthly: Decimal,
    /// `cost_savings_monthly`, USD.
    pub cost_savings_monthly: Decimal,
    /// `cost_savings_annual`, USD.
    pub cost_savings_annual: Decimal,
    /// Benefits over the period, USD.
    pub benefits_total: Decimal,
    /// Costs over the period, USD.
    pub costs_total: Decimal,
    /// `roi_percentage`, percent.
    pub roi_percentage: Decimal,
    /// `payback_period_months`, months; `None` when the project never pays back.
    pub payback_period_months: Option<Decimal>,
}

/// Why an ROI could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoiError {
    /// The period is empty.
    #[error("the period analysed must be at least 1 month")]
    NoMonths,
    /// Investment plus running costs are zero: ROI is a ratio to cost and has no value.
    #[error(
        "costs over the period are zero (no one-time investment and no running cost), so ROI is undefined"
    )]
    ZeroCost,
    /// A figure overflowed the decimal range.
    #[error("the figures are too large to compute")]
    Overflow,
    /// A stored measurement holds a value beyond its metric's range (written before the
    /// range existed); correct it.
    #[error("measurement {snapshot}: {field} {reason}")]
    OutOfRange {
        /// The snapshot at fault.
        snapshot: SnapshotId,
        /// The metric.
        field: String,
        /// Why.
        reason: String,
    },
    /// More months than [`MAX_PERIOD_MONTHS`] were asked for.
    #[error("a period of {0} months is longer than the {MAX_PERIOD_MONTHS} months allowed")]
    TooManyMonths(u32),
    /// The baseline is not approved yet.
    #[error("baseline {0} is not approved yet; run `roi baseline approve` first")]
    BaselineNotApproved(SnapshotId),
    /// The comparison is not an ongoing measurement after the baseline.
    #[error("measurement {0} is not an ongoing measurement taken after the baseline")]
    BadComparison(SnapshotId),
    /// The as-of date is before go-live.
    #[error("as-of date {as_of} is before the go-live date {go_live}")]
    AsOfBeforeGoLive {
        /// The requested date.
        as_of: NaiveDate,
        /// The project's go-live.
        go_live: NaiveDate,
    },
}

/// The longest period one calculation covers: 1,200 months (a century).
pub const MAX_PERIOD_MONTHS: u32 = 1200;

/// Σ of `values`, or [`RoiError::Overflow`].
fn checked_sum(values: impl IntoIterator<Item = Decimal>) -> Result<Decimal, RoiError> {
    values
        .into_iter()
        .try_fold(Decimal::ZERO, |a, b| a.checked_add(b))
        .ok_or(RoiError::Overflow)
}

impl RoiInputs {
    /// Running cost per month, USD: the sum of the running cost lines.
    ///
    /// # Errors
    /// [`RoiError::Overflow`] beyond the decimal range.
    pub fn running_cost_monthly(&self) -> Result<Decimal, RoiError> {
        checked_sum(
            self.running_cost_lines
                .iter()
                .map(|l| l.monthly_usd.amount()),
        )
    }

    /// Gross monthly benefit, USD (module definition).
    ///
    /// # Errors
    /// [`RoiError::Overflow`] beyond the decimal range.
    pub fn gross_monthly_benefit(&self) -> Result<Decimal, RoiError> {
        let cost_delta = self
            .baseline_total_monthly_cost
            .checked_sub(self.ongoing_total_monthly_cost);
        let revenue = self
            .monthly_revenue_increase
            .checked_mul(self.gross_margin.fraction());
        let values = checked_sum(self.value_lines.iter().map(|l| l.monthly_usd.amount()))?;
        checked_sum([
            cost_delta.ok_or(RoiError::Overflow)?,
            revenue.ok_or(RoiError::Overflow)?,
            values,
        ])
    }

    /// Computes every figure of the module definition at full precision, with checked
    /// arithmetic throughout.
    ///
    /// # Errors
    /// [`RoiError::NoMonths`] for N = 0, [`RoiError::TooManyMonths`] beyond
    /// [`MAX_PERIOD_MONTHS`], [`RoiError::ZeroCost`] when costs over the period are zero,
    /// [`RoiError::Overflow`] beyond the decimal range.
    pub fn evaluate(&self) -> Result<RoiFigures, RoiError> {
        if self.months == 0 {
            return Err(RoiError::NoMonths);
        }
        if self.months > MAX_PERIOD_MONTHS {
            return Err(RoiError::TooManyMonths(self.months));
        }
        let n = Decimal::from(self.months);
        let gross = self.gross_monthly_benefit()?;
        let running = self.running_cost_monthly()?;
        let savings = self
            .ongoing_total_monthly_cost
            .checked_add(running)
            .and_then(|spent| self.baseline_total_monthly_cost.checked_sub(spent))
            .ok_or(RoiError::Overflow)?;
        let benefits = n.checked_mul(gross).ok_or(RoiError::Overflow)?;
        let costs = n
            .checked_mul(running)
            .and_then(|r| r.checked_add(self.one_time_investment.amount()))
            .ok_or(RoiError::Overflow)?;
        if costs.is_zero() {
            return Err(RoiError::ZeroCost);
        }
        let roi = benefits
            .checked_sub(costs)
            .and_then(|net| net.checked_div(costs))
            .and_then(|r| r.checked_mul(Decimal::ONE_HUNDRED))
            .ok_or(RoiError::Overflow)?;
        let net = gross.checked_sub(running).ok_or(RoiError::Overflow)?;
        let payback = if net > Decimal::ZERO {
            Some(
                self.one_time_investment
                    .amount()
                    .checked_div(net)
                    .ok_or(RoiError::Overflow)?,
            )
        } else {
            None
        };
        Ok(RoiFigures {
            gross_monthly_benefit: gross,
            running_cost_monthly: running,
            cost_savings_monthly: savings,
            cost_savings_annual: savings
                .checked_mul(Decimal::from(12))
                .ok_or(RoiError::Overflow)?,
            benefits_total: benefits,
            costs_total: costs,
            roi_percentage: roi,
            payback_period_months: payback,
        })
    }

    /// Net present value over the period, USD, at an annual discount rate compounded
    /// monthly at rate/12:
    /// NPV = −investment + Σ_{t=1..N} (gross monthly benefit − running cost) / (1 + r/12)^t.
    ///
    /// # Errors
    /// [`RoiError::TooManyMonths`] beyond [`MAX_PERIOD_MONTHS`], [`RoiError::Overflow`]
    /// beyond the decimal range.
    pub fn npv(&self, annual_discount_rate: Percentage) -> Result<Decimal, RoiError> {
        if self.months > MAX_PERIOD_MONTHS {
            return Err(RoiError::TooManyMonths(self.months));
        }
        let monthly = annual_discount_rate.fraction() / Decimal::from(12);
        let net = self
            .gross_monthly_benefit()?
            .checked_sub(self.running_cost_monthly()?)
            .ok_or(RoiError::Overflow)?;
        let mut factor = Decimal::ONE;
        let mut total = -self.one_time_investment.amount();
        for _ in 0..self.months {
            factor = factor
                .checked_mul(Decimal::ONE + monthly)
                .ok_or(RoiError::Overflow)?;
            total = net
                .checked_div(factor)
                .and_then(|v| total.checked_add(v))
                .ok_or(RoiError::Overflow)?;
        }
        Ok(total)
    }
}

/// Choices for one calculation.
#[derive(Debug, Clone, PartialEq)]
pub struct RoiOptions {
    /// The day the calculation is as of (its `calculation_date`).
    pub as_of: NaiveDate,
    /// N, months analysed; when absent, the whole months from go-live to `as_of` (≥ 1).
    pub months: Option<u32>,
    /// Annual discount rate for NPV, percent (default 10 %).
    pub annual_discount_rate: Percentage,
    /// Named value lines, USD per month.
    pub value_lines: Vec<MonthlyLine>,
    /// Operating cost lines beyond the AI solution cost, USD per month.
    pub operating_cost_lines: Vec<MonthlyLine>,
    /// The AI solution cost metered from usage events, USD per month: used when the
    /// compared measurement does not report `ai_solution_cost` (then
    /// `ai_solution_cost_source` is `metered`).
    pub metered_ai_cost_monthly: Option<Money>,
    /// The period's name in `period_analyzed` (default: "N months").
    pub period_label: Option<String>,
}

impl RoiOptions {
    /// Defaults for a calculation as of `as_of`.
    pub fn as_of(as_of: NaiveDate) -> Self {
        Self {
            as_of,
            months: None,
            annual_discount_rate: Percentage::try_from(Decimal::TEN).unwrap_or(Percentage::HUNDRED),
            value_lines: Vec::new(),
            operating_cost_lines: Vec::new(),
            metered_ai_cost_monthly: None,
            period_label: None,
        }
    }
}

/// Where a figure came from (ARCHITECTURE.md: "metered or self-reported").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FigureSource {
    /// Reported by the client in a snapshot.
    SelfReported,
    /// Measured from usage events.
    Metered,
    /// Not reported; counted as zero.
    NotReported,
}

/// One ROI calculation of a project (seed 000 §2.1 `ROICalculation`), with the seed's field
/// names. Money in USD rounded to cents, percentages in percent and months rounded to two
/// decimals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoiCalculation {
    /// Deterministic id over (project, as-of date, months): recomputing overwrites it.
    pub roi_id: String,
    /// The project.
    pub project_id: ProjectId,
    /// The approved baseline used.
    pub baseline_snapshot_id: SnapshotId,
    /// The ongoing measurement compared against it.
    pub comparison_metric_id: SnapshotId,
    /// Whether that measurement awaits a person's review.
    pub comparison_needs_review: bool,
    /// The as-of date.
    pub calculation_date: NaiveDate,
    /// The period, e.g. `"3 months"`.
    pub period_analyzed: String,
    /// N, the months analysed.
    pub period_months: u32,
    /// Baseline total monthly cost − (ongoing total monthly cost + running cost), USD/month.
    pub cost_savings_monthly: Decimal,
    /// 12 × `cost_savings_monthly`, USD/year.
    pub cost_savings_annual: Decimal,
    /// (baseline − ongoing) `avg_task_completion_time` / baseline × 100, percent.
    pub time_savings_percentage: Option<Decimal>,
    /// (baseline − ongoing) `error_rate_percentage` / baseline × 100, percent (a relative
    /// reduction: 8 % → 4 % is 50 %).
    pub error_reduction_percentage: Option<Decimal>,
    /// Ongoing − baseline `monthly_revenue`, USD/month (0 when either is not reported).
    pub revenue_increase: Decimal,
    /// (benefits − costs) / costs × 100 over the period, percent.
    pub roi_percentage: Decimal,
    /// One-time investment / (gross monthly benefit − running cost), months; absent when
    /// the project does not pay back.
    pub payback_period_months: Option<Decimal>,
    /// Ongoing − baseline `csat_score`, points.
    pub customer_satisfaction_improvement: Option<Decimal>,
    /// Ongoing − baseline `conversion_rate_percentage`, percentage points.
    pub conversion_rate_improvement: Option<Decimal>,
    /// (baseline time per task / ongoing time per task − 1) × 100: the rise in tasks done
    /// per hour, percent.
    pub efficiency_gain_percentage: Option<Decimal>,
    /// Net present value over the period at `discount_rate_percentage`, USD.
    pub npv: Decimal,
    /// Annual discount rate of the NPV, percent.
    pub discount_rate_percentage: Decimal,
    /// Gross monthly benefit, USD/month.
    pub gross_monthly_benefit: Decimal,
    /// Running cost, USD/month.
    pub running_cost_monthly: Decimal,
    /// Benefits over the period, USD.
    pub benefits_total: Decimal,
    /// Costs over the period, USD.
    pub costs_total: Decimal,
    /// Where the AI solution cost came from.
    pub ai_solution_cost_source: FigureSource,
    /// The monthly figures behind every number above.
    pub inputs: RoiInputs,
}

/// Whole calendar months from `from` to `to` (a month counts once its day-of-month is
/// reached; 31 Jan → 28 Feb is 0 months, 31 Jan → 1 Mar is 1).
pub fn whole_months_between(from: NaiveDate, to: NaiveDate) -> u32 {
    if to <= from {
        return 0;
    }
    let mut months = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
    if to.day() < from.day() {
        months -= 1;
    }
    u32::try_from(months.max(0)).unwrap_or(0)
}

impl RoiCalculation {
    /// Computes the ROI of `project` from its approved `baseline` and the ongoing
    /// measurement `current` (module definitions).
    ///
    /// # Errors
    /// [`RoiError::BaselineNotApproved`], [`RoiError::BadComparison`],
    /// [`RoiError::AsOfBeforeGoLive`], and those of [`RoiInputs::evaluate`].
    pub fn compute(
        project: &Project,
        baseline: &MetricSnapshot,
        current: &MetricSnapshot,
        options: &RoiOptions,
    ) -> Result<Self, RoiError> {
        if baseline.kind() != SnapshotKind::Baseline
            || baseline.status() != SnapshotStatus::Approved
        {
            return Err(RoiError::BaselineNotApproved(baseline.id().clone()));
        }
        if current.kind() != SnapshotKind::Ongoing
            || current.measured_on() <= baseline.measured_on()
        {
            return Err(RoiError::BadComparison(current.id().clone()));
        }
        if options.as_of < project.go_live_date {
            return Err(RoiError::AsOfBeforeGoLive {
                as_of: options.as_of,
                go_live: project.go_live_date,
            });
        }
        for snapshot in [baseline, current] {
            snapshot.check_ranges().map_err(|e| RoiError::OutOfRange {
                snapshot: snapshot.id().clone(),
                field: e.field,
                reason: e.reason,
            })?;
        }
        let months = options
            .months
            .unwrap_or_else(|| whole_months_between(project.go_live_date, options.as_of).max(1));
        if months > MAX_PERIOD_MONTHS {
            return Err(RoiError::TooManyMonths(months));
        }

        let reported = current.value(Metric::AiSolutionCost);
        let (ai_cost, ai_cost_source) = match (reported, options.metered_ai_cost_monthly) {
            (Some(v), _) => (v, FigureSource::SelfReported),
            (None, Some(m)) => (m.amount(), FigureSource::Metered),
            (None, None) => (Decimal::ZERO, FigureSource::NotReported),
        };
        let mut running_cost_lines = vec![MonthlyLine {
            name: Metric::AiSolutionCost.name().to_owned(),
            monthly_usd: Money::try_from(ai_cost).unwrap_or(Money::ZERO),
        }];
        running_cost_lines.extend(options.operating_cost_lines.iter().cloned());
        let revenue_increase = match (
            current.value(Metric::MonthlyRevenue),
            baseline.value(Metric::MonthlyRevenue),
        ) {
            (Some(now), Some(before)) => now - before,
            _ => Decimal::ZERO,
        };
        let inputs = RoiInputs {
            months,
            one_time_investment: project.one_time_investment,
            baseline_total_monthly_cost: baseline.total_monthly_cost().unwrap_or_default(),
            ongoing_total_monthly_cost: current.total_monthly_cost().unwrap_or_default(),
            monthly_revenue_increase: revenue_increase,
            gross_margin: project.gross_margin,
            value_lines: options.value_lines.clone(),
            running_cost_lines,
        };
        let f = inputs.evaluate()?;

        let pair = |m: Metric| Some((baseline.value(m)?, current.value(m)?));
        // Ratios of measured values: absent where undefined (a zero, or a ratio beyond the
        // decimal range, as with a tiny denominator).
        let relative_drop = |m: Metric| {
            let (before, now) = pair(m)?;
            let drop = (before - now).checked_div(before)?;
            drop.checked_mul(Decimal::ONE_HUNDRED).map(round_ratio)
        };
        let points = |m: Metric| pair(m).map(|(before, now)| round_ratio(now - before));
        let efficiency = pair(Metric::AvgTaskCompletionTime).and_then(|(before, now)| {
            let ratio = before.checked_div(now)?;
            (ratio - Decimal::ONE)
                .checked_mul(Decimal::ONE_HUNDRED)
                .map(round_ratio)
        });
        let npv = inputs.npv(options.annual_discount_rate)?;

        let digest = Sha256::digest(format!("{}|{}|{months}", project.id, options.as_of));
        Ok(RoiCalculation {
            roi_id: hex::encode(&digest[..8]),
            project_id: project.id.clone(),
            baseline_snapshot_id: baseline.id().clone(),
            comparison_metric_id: current.id().clone(),
            comparison_needs_review: current.status() == SnapshotStatus::NeedsReview,
            calculation_date: options.as_of,
            period_analyzed: options
                .period_label
                .clone()
                .unwrap_or_else(|| format!("{months} month{}", if months == 1 { "" } else { "s" })),
            period_months: months,
            cost_savings_monthly: round_money(f.cost_savings_monthly),
            cost_savings_annual: round_money(f.cost_savings_annual),
            time_savings_percentage: relative_drop(Metric::AvgTaskCompletionTime),
            error_reduction_percentage: relative_drop(Metric::ErrorRatePercentage),
            revenue_increase: round_money(revenue_increase),
            roi_percentage: round_ratio(f.roi_percentage),
            payback_period_months: f.payback_period_months.map(round_ratio),
            customer_satisfaction_improvement: points(Metric::CsatScore),
            conversion_rate_improvement: points(Metric::ConversionRatePercentage),
            efficiency_gain_percentage: efficiency,
            npv: round_money(npv),
            discount_rate_percentage: options.annual_discount_rate.value(),
            gross_monthly_benefit: round_money(f.gross_monthly_benefit),
            running_cost_monthly: round_money(f.running_cost_monthly),
            benefits_total: round_money(f.benefits_total),
            costs_total: round_money(f.costs_total),
            ai_solution_cost_source: ai_cost_source,
            inputs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::MAX_MEASURED_VALUE;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn money(d: Decimal) -> Money {
        Money::try_from(d).unwrap()
    }

    #[test]
    fn too_many_months_are_refused_before_any_arithmetic() {
        let inputs = value_only(MAX_PERIOD_MONTHS + 1, dec!(1000), dec!(1200), dec!(0));
        assert_eq!(
            inputs.evaluate().unwrap_err(),
            RoiError::TooManyMonths(MAX_PERIOD_MONTHS + 1)
        );
        assert!(inputs.npv(Percentage::HUNDRED).is_err());
    }

    fn value_only(
        months: u32,
        investment: Decimal,
        annual_value: Decimal,
        annual_cost: Decimal,
    ) -> RoiInputs {
        RoiInputs {
            months,
            one_time_investment: money(investment),
            baseline_total_monthly_cost: Decimal::ZERO,
            ongoing_total_monthly_cost: Decimal::ZERO,
            monthly_revenue_increase: Decimal::ZERO,
            gross_margin: Percentage::HUNDRED,
            value_lines: vec![MonthlyLine::from_annual(
                "platform value",
                money(annual_value),
            )],
            running_cost_lines: vec![MonthlyLine::from_annual(
                "operating cost",
                money(annual_cost),
            )],
        }
    }

    #[test]
    fn seed_003_conservative_and_optimistic_value_give_513_4_and_918_5_percent() {
        // GIVEN $265K and $440K of value a year against $43.2K a year of operating cost
        // WHEN a year is analysed with no one-time investment
        let low = value_only(12, dec!(0), dec!(265000), dec!(43200))
            .evaluate()
            .unwrap();
        let high = value_only(12, dec!(0), dec!(440000), dec!(43200))
            .evaluate()
            .unwrap();
        // THEN ROI is 513.4 % and 918.5 % (seed 003, "513-918% ROI")
        assert_eq!(low.roi_percentage.round_dp(1), dec!(513.4));
        assert_eq!(high.roi_percentage.round_dp(1), dec!(918.5));
        assert_eq!(payback_of(&low), Some(dec!(0)));
    }

    fn payback_of(f: &RoiFigures) -> Option<Decimal> {
        f.payback_period_months.map(|p| p.round_dp(2))
    }

    #[test]
    fn seed_004_three_years_give_59_5_percent_and_a_22_month_payback() {
        // GIVEN $200K a year of savings, $360K one-time and $5.4K a year (seed 004 budget)
        let f = value_only(36, dec!(360000), dec!(200000), dec!(5400))
            .evaluate()
            .unwrap();
        // THEN 3-year ROI is 59.5 % and payback 22.2 months (seed 004: "1.8 years")
        assert_eq!(f.roi_percentage.round_dp(1), dec!(59.5));
        assert_eq!(f.costs_total, dec!(376200));
        assert_eq!(payback_of(&f), Some(dec!(22.20)));
    }

    #[test]
    fn a_hand_computed_case_with_cost_savings_revenue_and_margin() {
        // baseline $20,000/month; ongoing $14,000 + $1,000 AI; revenue +$4,000 at 50 % margin;
        // $30,000 invested; 6 months.
        let inputs = RoiInputs {
            months: 6,
            one_time_investment: money(dec!(30000)),
            baseline_total_monthly_cost: dec!(20000),
            ongoing_total_monthly_cost: dec!(14000),
            monthly_revenue_increase: dec!(4000),
            gross_margin: Percentage::try_from(dec!(50)).unwrap(),
            value_lines: vec![],
            running_cost_lines: vec![MonthlyLine {
                name: "ai".into(),
                monthly_usd: money(dec!(1000)),
            }],
        };
        let f = inputs.evaluate().unwrap();
        assert_eq!(f.gross_monthly_benefit, dec!(8000)); // 6,000 + 2,000
        assert_eq!(f.cost_savings_monthly, dec!(5000)); // 20,000 − 15,000
        assert_eq!(f.cost_savings_annual, dec!(60000));
        assert_eq!(f.benefits_total, dec!(48000));
        assert_eq!(f.costs_total, dec!(36000));
        assert_eq!(f.roi_percentage.round_dp(4), dec!(33.3333));
        assert_eq!(f.payback_period_months.unwrap().round_dp(4), dec!(4.2857)); // 30,000 / 7,000
        // NPV at 0 % is the undiscounted net: 6 × 7,000 − 30,000
        assert_eq!(
            inputs.npv(Percentage::try_from(dec!(0)).unwrap()).unwrap(),
            dec!(12000)
        );
        assert!(inputs.npv(Percentage::try_from(dec!(12)).unwrap()).unwrap() < dec!(12000));
    }

    #[test]
    fn zero_cost_is_an_error_not_a_division_by_zero() {
        let f = value_only(12, dec!(0), dec!(1000), dec!(0)).evaluate();
        assert_eq!(f, Err(RoiError::ZeroCost));
        assert_eq!(
            value_only(0, dec!(1), dec!(1), dec!(1)).evaluate(),
            Err(RoiError::NoMonths)
        );
    }

    #[test]
    fn a_project_whose_running_cost_eats_the_benefit_never_pays_back() {
        let f = value_only(12, dec!(1000), dec!(1200), dec!(1200))
            .evaluate()
            .unwrap();
        assert_eq!(f.payback_period_months, None);
        assert!(f.roi_percentage < Decimal::ZERO);
    }

    #[test]
    fn whole_months_count_a_month_once_its_day_is_reached() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(whole_months_between(d("2025-01-31"), d("2025-02-28")), 0);
        assert_eq!(whole_months_between(d("2025-01-31"), d("2025-03-01")), 1);
        assert_eq!(whole_months_between(d("2025-02-01"), d("2026-02-01")), 12);
    }

    proptest! {
        /// Every input at its documented extremes (money 0..=10^12 USD, 1..=1,200 months,
        /// revenue change ±10^12, margin 0..=100 %) gives figures or an error, never a panic.
        #[test]
        fn documented_extremes_never_panic(
            months in prop_oneof![Just(1u32), Just(MAX_PERIOD_MONTHS), 1u32..=MAX_PERIOD_MONTHS],
            investment in prop_oneof![Just(Decimal::ZERO), Just(MAX_MEASURED_VALUE)],
            baseline in prop_oneof![Just(Decimal::ZERO), Just(MAX_MEASURED_VALUE), Just(Decimal::new(1, 28))],
            ongoing in prop_oneof![Just(Decimal::ZERO), Just(MAX_MEASURED_VALUE)],
            revenue in prop_oneof![Just(-MAX_MEASURED_VALUE), Just(Decimal::ZERO), Just(MAX_MEASURED_VALUE)],
            margin in prop_oneof![Just(Decimal::ZERO), Just(Decimal::ONE_HUNDRED)],
            lines in 0usize..20,
        ) {
            let line = |name: &str| MonthlyLine { name: name.into(), monthly_usd: money(MAX_MEASURED_VALUE) };
            let inputs = RoiInputs {
                months,
                one_time_investment: money(investment),
                baseline_total_monthly_cost: baseline,
                ongoing_total_monthly_cost: ongoing,
                monthly_revenue_increase: revenue,
                gross_margin: Percentage::try_from(margin).unwrap(),
                value_lines: (0..lines).map(|_| line("value")).collect(),
                running_cost_lines: (0..lines).map(|_| line("cost")).collect(),
            };
            match inputs.evaluate() {
                Ok(_) | Err(RoiError::ZeroCost | RoiError::Overflow) => {}
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
            let rate = Percentage::try_from(Decimal::ONE_HUNDRED).unwrap();
            prop_assert!(matches!(inputs.npv(rate), Ok(_) | Err(RoiError::Overflow)));
        }

        /// ROI and payback agree: the period covers the payback period exactly when ROI ≥ 0.
        #[test]
        fn roi_and_payback_are_consistent(
            months in 1u32..120,
            investment in 0i64..5_000_000,
            baseline in 0i64..1_000_000,
            ongoing in 0i64..1_000_000,
            running in 0i64..100_000,
        ) {
            let inputs = RoiInputs {
                months,
                one_time_investment: money(Decimal::from(investment)),
                baseline_total_monthly_cost: Decimal::from(baseline),
                ongoing_total_monthly_cost: Decimal::from(ongoing),
                monthly_revenue_increase: Decimal::ZERO,
                gross_margin: Percentage::HUNDRED,
                value_lines: vec![],
                running_cost_lines: vec![MonthlyLine { name: "ai".into(), monthly_usd: money(Decimal::from(running)) }],
            };
            match inputs.evaluate() {
                Err(RoiError::ZeroCost) => prop_assert!(investment == 0 && running == 0),
                Err(e) => prop_assert!(false, "unexpected {e}"),
                Ok(f) => {
                    let net = f.gross_monthly_benefit - f.running_cost_monthly;
                    prop_assert_eq!(f.cost_savings_monthly, net);
                    match f.payback_period_months {
                        Some(p) => prop_assert_eq!(f.roi_percentage >= Decimal::ZERO, Decimal::from(months) >= p,
                            "roi {} payback {} months {}", f.roi_percentage, p, months),
                        None => prop_assert!(f.roi_percentage < Decimal::ZERO || investment == 0 && net.is_zero() && f.roi_percentage.is_zero()),
                    }
                }
            }
        }
    }
}
