//! One ROI calculation of a project: its options, its checks, and the seed's figures.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::range::{RangeInputs, RoiRange};
use super::realised::{InForce, MonthValue, calendar_months, realise};
use super::sensitivity::{Components, Sensitivity};
use super::value::{LineInputs, ValueLine, value_lines};
use super::{MAX_PERIOD_MONTHS, MonthlyLine, RoiError, RoiInputs, checked_sum};
use crate::client::{Project, ProjectId};
use crate::metric::Metric;
use crate::snapshot::{MetricSnapshot, SnapshotId, SnapshotKind, SnapshotStatus};
use crate::units::{Money, Percentage, round_money, round_ratio};

/// Choices for one calculation.
#[derive(Debug, Clone, PartialEq)]
pub struct RoiOptions {
    /// The day the calculation is as of (its `calculation_date`).
    pub as_of: NaiveDate,
    /// N, months analysed; when absent, the whole months from go-live to `as_of` (≥ 1).
    pub months: Option<u32>,
    /// Annual discount rate for NPV, percent (default 10 %).
    pub annual_discount_rate: Percentage,
    /// Value lines metered from events (time saved, cost avoided), USD per month. The
    /// measured value lines (module [`super::value`]) are added by the calculation.
    pub value_lines: Vec<MonthlyLine>,
    /// Operating cost lines beyond the AI solution cost, USD per month.
    pub operating_cost_lines: Vec<MonthlyLine>,
    /// The AI solution cost metered from usage events, USD per month: used when the
    /// compared measurement does not report `ai_solution_cost` (then
    /// `ai_solution_cost_source` is `metered`).
    pub metered_ai_cost_monthly: Option<Money>,
    /// The period's name in `period_analyzed` (default: "N months").
    pub period_label: Option<String>,
    /// The client's hourly rate, USD per hour: values the time lines when the project has
    /// no loaded hourly rate of its own.
    pub hourly_rate_usd: Option<Decimal>,
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
            hourly_rate_usd: None,
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
    /// (benefits − costs) / costs × 100 over the period, percent: realised (each month
    /// valued with its own measurement) or at the run rate, as [`RoiCalculation::basis`]
    /// says.
    pub roi_percentage: Decimal,
    /// One-time investment / (gross monthly benefit − running cost) at the latest
    /// measurement, months (forward-looking); absent when the project does not pay back.
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
    /// How the period's totals (`roi_percentage`, `benefits_total`, `costs_total`, `npv`)
    /// were made. Calculations stored before realised value existed read as `run_rate`.
    #[serde(default)]
    pub basis: Basis,
    /// Σ of the months' shares (partial months pro rata), for a realised calculation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months_analysed: Option<Decimal>,
    /// The month whose cumulative net value first covered the investment (its first day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payback_reached_in: Option<NaiveDate>,
    /// IRR of the monthly cash flows, annualised, percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub irr_annual_percentage: Option<Decimal>,
    /// The months of a realised calculation, each with its measurement and value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub months: Vec<MonthValue>,
    /// The value lines of the latest measurement, counted or not, with their formulas
    /// (module [`super::value`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value_lines: Vec<ValueLine>,
    /// Conservative, expected and optimistic figures (module [`super::range`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<RoiRange>,
    /// The inputs that move `roi_percentage` most, ±10 % each (module
    /// [`super::sensitivity`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitivity: Vec<Sensitivity>,
}

/// How a calculation's period totals were made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Each month of the period valued with the measurement in force for it, then summed
    /// (issue 16; module [`super::realised`]).
    Realised,
    /// The latest measurement's month × N: a projection (`roi compute --months N`).
    #[default]
    RunRate,
}

/// Whole calendar months in `from..=to`, the as-of date `to` inclusive: a period ending on
/// a month's last day includes that month (1 Jun → 31 Aug is 3 months).
pub fn months_through(from: NaiveDate, to: NaiveDate) -> u32 {
    to.succ_opt()
        .map_or(0, |after| whole_months_between(from, after))
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
        let months = check(project, baseline, current, options)?;
        let Built {
            inputs,
            ai_cost_source,
            lines,
            metered_monthly,
        } = inputs(
            project,
            baseline,
            current,
            options,
            months,
            (options.as_of, options.as_of),
        )?;
        let f = inputs.evaluate()?;
        let mut components = Components::default();
        components.add_month(&inputs, Decimal::ONE);
        let sensitivity = components
            .scaled(Decimal::from(months))
            .sensitivity(project.one_time_investment.amount());
        let metered = metered_monthly
            .checked_mul(Decimal::from(months))
            .ok_or(RoiError::Overflow)?;
        let range = RoiRange::compute(&RangeInputs {
            value_delivered: f.benefits_total,
            self_reported_value: f.benefits_total.saturating_sub(metered),
            costs: f.costs_total,
            investment: project.one_time_investment.amount(),
            gross_monthly: f.gross_monthly_benefit,
            running_monthly: f.running_cost_monthly,
            confidence: project.valuation.confidence_percentage,
            measured_monthly_benefits: Vec::new(),
        })?;
        let npv = inputs.npv(options.annual_discount_rate)?;
        let changes = Changes { baseline, current };
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
            time_savings_percentage: changes.relative_drop(Metric::AvgTaskCompletionTime),
            error_reduction_percentage: changes.relative_drop(Metric::ErrorRatePercentage),
            revenue_increase: round_money(inputs.monthly_revenue_increase),
            roi_percentage: round_ratio(f.roi_percentage),
            payback_period_months: f.payback_period_months.map(round_ratio),
            customer_satisfaction_improvement: changes.points(Metric::CsatScore),
            conversion_rate_improvement: changes.points(Metric::ConversionRatePercentage),
            efficiency_gain_percentage: changes.efficiency(),
            npv: round_money(npv),
            discount_rate_percentage: options.annual_discount_rate.value(),
            gross_monthly_benefit: round_money(f.gross_monthly_benefit),
            running_cost_monthly: round_money(f.running_cost_monthly),
            benefits_total: round_money(f.benefits_total),
            costs_total: round_money(f.costs_total),
            ai_solution_cost_source: ai_cost_source,
            inputs,
            basis: Basis::RunRate,
            months_analysed: None,
            payback_reached_in: None,
            irr_annual_percentage: None,
            months: Vec::new(),
            value_lines: lines
                .into_iter()
                .map(|l| ValueLine {
                    gross_usd: l.gross_usd.map(round_money),
                    overlap_usd: round_money(l.overlap_usd),
                    counted_usd: round_money(l.counted_usd),
                    ..l
                })
                .collect(),
            range: Some(range),
            sensitivity,
        })
    }

    /// Computes the ROI of `from..=options.as_of` as realised value (module
    /// [`super::realised`]): each calendar month valued with the ongoing measurement in force
    /// for it, summed. The forward-looking figures (`cost_savings_*`,
    /// `payback_period_months`, `gross_monthly_benefit`, `running_cost_monthly`) stay on
    /// `current`, the latest measurement.
    ///
    /// `ongoing` holds the project's ongoing measurements (any order; those after the as-of
    /// date are ignored); `current` must be among them. `options.months`, when set, only
    /// names the period (`period_months`, the id); the months valued are the calendar
    /// months of `from..=as_of`.
    ///
    /// # Errors
    /// As [`RoiCalculation::compute`], and [`RoiError::OutOfRange`] for any measurement in
    /// force.
    pub fn compute_realised(
        project: &Project,
        baseline: &MetricSnapshot,
        current: &MetricSnapshot,
        ongoing: &[&MetricSnapshot],
        from: NaiveDate,
        options: &RoiOptions,
    ) -> Result<Self, RoiError> {
        let from = from.max(project.go_live_date);
        let calendar = calendar_months(from, options.as_of);
        // N names the period (its id and `period_months`): the caller's, or the calendar
        // months it touches.
        let mut run_rate = options.clone();
        run_rate.months = options.months.or(Some(
            u32::try_from(calendar.len()).unwrap_or(u32::MAX).max(1),
        ));
        let mut calc = Self::compute(project, baseline, current, &run_rate)?;
        let mut measured: Vec<&MetricSnapshot> = ongoing
            .iter()
            .copied()
            .filter(|s| s.kind() == SnapshotKind::Ongoing && s.measured_on() <= options.as_of)
            .collect();
        measured.sort_by_key(|s| s.measured_on());
        let mut months = Vec::with_capacity(calendar.len());
        let (mut metered, mut measured_benefits) = (Decimal::ZERO, Vec::new());
        let mut components = Components::default();
        for (month, share) in calendar {
            let end = month
                .checked_add_months(chrono::Months::new(1))
                .and_then(|n| n.pred_opt())
                .unwrap_or(month)
                .min(options.as_of);
            let (snapshot, in_force) = match measured.iter().rev().find(|s| s.measured_on() <= end)
            {
                Some(s) if s.measured_on() >= month => (*s, InForce::Measured),
                Some(s) => (*s, InForce::Carried),
                None => (
                    measured.first().copied().unwrap_or(current),
                    InForce::BackFilled,
                ),
            };
            snapshot.check_ranges().map_err(|e| RoiError::OutOfRange {
                snapshot: snapshot.id().clone(),
                field: e.field,
                reason: e.reason,
            })?;
            let built = inputs(
                project,
                baseline,
                snapshot,
                options,
                1,
                (month.max(from), end),
            )?;
            components.add_month(&built.inputs, share);
            let gross = built.inputs.gross_monthly_benefit()?;
            let running = built.inputs.running_cost_monthly()?;
            metered = built
                .metered_monthly
                .checked_mul(share)
                .and_then(|m| metered.checked_add(m))
                .ok_or(RoiError::Overflow)?;
            if in_force == InForce::Measured {
                measured_benefits.push(gross);
            }
            months.push(MonthValue {
                month,
                share,
                measurement: snapshot.id().clone(),
                measured_on: snapshot.measured_on(),
                in_force,
                benefit_usd: gross.checked_mul(share).ok_or(RoiError::Overflow)?,
                running_cost_usd: running.checked_mul(share).ok_or(RoiError::Overflow)?,
            });
        }
        let r = realise(
            project.one_time_investment.amount(),
            months,
            options.annual_discount_rate,
        )?;
        calc.range = Some(RoiRange::compute(&RangeInputs {
            value_delivered: r.value_delivered_usd,
            self_reported_value: r.value_delivered_usd.saturating_sub(metered),
            costs: r.costs_usd,
            investment: project.one_time_investment.amount(),
            gross_monthly: calc.gross_monthly_benefit,
            running_monthly: calc.running_cost_monthly,
            confidence: project.valuation.confidence_percentage,
            measured_monthly_benefits: measured_benefits,
        })?);
        calc.sensitivity = components.sensitivity(project.one_time_investment.amount());
        calc.basis = Basis::Realised;
        calc.roi_percentage = round_ratio(r.roi_percentage);
        calc.benefits_total = round_money(r.value_delivered_usd);
        calc.costs_total = round_money(r.costs_usd);
        calc.npv = round_money(r.npv_usd);
        calc.months_analysed = Some(round_ratio(r.months_analysed));
        calc.payback_reached_in = r.payback_reached_in;
        calc.irr_annual_percentage = r.irr_annual_percentage.map(round_ratio);
        if options.period_label.is_none() {
            calc.period_analyzed = format!("{} months", round_ratio(r.months_analysed).normalize());
        }
        calc.months = r.months;
        Ok(calc)
    }
}

/// Checks that `baseline` and `current` can be compared as of `options.as_of`, and returns
/// the months analysed.
fn check(
    project: &Project,
    baseline: &MetricSnapshot,
    current: &MetricSnapshot,
    options: &RoiOptions,
) -> Result<u32, RoiError> {
    if baseline.kind() != SnapshotKind::Baseline || baseline.status() != SnapshotStatus::Approved {
        return Err(RoiError::BaselineNotApproved(baseline.id().clone()));
    }
    if current.kind() != SnapshotKind::Ongoing || current.measured_on() <= baseline.measured_on() {
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
        .unwrap_or_else(|| months_through(project.go_live_date, options.as_of).max(1));
    if months > MAX_PERIOD_MONTHS {
        return Err(RoiError::TooManyMonths(months));
    }
    Ok(months)
}

/// What [`inputs`] builds.
struct Built {
    inputs: RoiInputs,
    ai_cost_source: FigureSource,
    lines: Vec<ValueLine>,
    /// The metered part of the gross monthly benefit (the options' value lines, which come
    /// from events) × attribution, USD per month.
    metered_monthly: Decimal,
}

/// The inputs of the formulas for the days `window` (first, last) of a period, where the
/// AI solution cost came from (reported in the measurement, else metered, else zero), and
/// the measured value lines (module [`super::value`]).
///
/// Running cost lines: the AI solution cost, the options' operating cost lines, and the
/// project's running costs × the share of `window` each is in force. Value lines: the
/// options' (metered) lines, then the counted measured lines.
fn inputs(
    project: &Project,
    baseline: &MetricSnapshot,
    current: &MetricSnapshot,
    options: &RoiOptions,
    months: u32,
    window: (NaiveDate, NaiveDate),
) -> Result<Built, RoiError> {
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
    let valuation = &project.valuation;
    for cost in &valuation.running_costs {
        let share = cost.share_of(window.0, window.1);
        if share > Decimal::ZERO {
            running_cost_lines.push(MonthlyLine {
                name: cost.name.clone(),
                monthly_usd: cost
                    .monthly_usd
                    .amount()
                    .checked_mul(share)
                    .and_then(|v| Money::try_from(v).ok())
                    .unwrap_or(Money::ZERO),
            });
        }
    }
    let revenue_increase = match (
        current.value(Metric::MonthlyRevenue),
        baseline.value(Metric::MonthlyRevenue),
    ) {
        (Some(now), Some(before)) => now - before,
        _ => Decimal::ZERO,
    };
    let baseline_total = baseline.total_monthly_cost().unwrap_or_default();
    let ongoing_total = current.total_monthly_cost().unwrap_or_default();
    let metered_lines = checked_sum(options.value_lines.iter().map(|l| l.monthly_usd.amount()))?;
    let lines = value_lines(&LineInputs {
        baseline,
        current,
        hourly_rate_usd: valuation
            .loaded_hourly_rate_usd
            .map(Money::amount)
            .or(options.hourly_rate_usd),
        gross_margin: project.gross_margin,
        lines_off: &valuation.lines_off,
        cost_overlap_usd: baseline_total
            .saturating_sub(ongoing_total)
            .max(Decimal::ZERO)
            .saturating_add(metered_lines),
        revenue_overlap_usd: revenue_increase
            .checked_mul(project.gross_margin.fraction())
            .unwrap_or(Decimal::ZERO)
            .max(Decimal::ZERO),
    });
    let mut value_lines = options.value_lines.clone();
    value_lines.extend(
        lines
            .iter()
            .filter(|l| l.counted_usd > Decimal::ZERO)
            .map(|l| MonthlyLine {
                name: l.label.clone(),
                monthly_usd: Money::try_from(l.counted_usd).unwrap_or(Money::ZERO),
            }),
    );
    let inputs = RoiInputs {
        months,
        one_time_investment: project.one_time_investment,
        baseline_total_monthly_cost: baseline_total,
        ongoing_total_monthly_cost: ongoing_total,
        monthly_revenue_increase: revenue_increase,
        gross_margin: project.gross_margin,
        value_lines,
        running_cost_lines,
        attribution: valuation.attribution_percentage,
    };
    Ok(Built {
        inputs,
        ai_cost_source,
        lines,
        metered_monthly: metered_lines
            .checked_mul(valuation.attribution_percentage.fraction())
            .ok_or(RoiError::Overflow)?,
    })
}

/// Changes of measured values from the baseline to the compared measurement: absent where
/// undefined (a metric not measured in both, a zero, or a ratio beyond the decimal range,
/// as with a tiny denominator).
struct Changes<'a> {
    baseline: &'a MetricSnapshot,
    current: &'a MetricSnapshot,
}

impl Changes<'_> {
    fn pair(&self, m: Metric) -> Option<(Decimal, Decimal)> {
        Some((self.baseline.value(m)?, self.current.value(m)?))
    }

    /// (before − now) / before, percent.
    fn relative_drop(&self, m: Metric) -> Option<Decimal> {
        let (before, now) = self.pair(m)?;
        let drop = (before - now).checked_div(before)?;
        drop.checked_mul(Decimal::ONE_HUNDRED).map(round_ratio)
    }

    /// now − before, in the metric's points.
    fn points(&self, m: Metric) -> Option<Decimal> {
        self.pair(m).map(|(before, now)| round_ratio(now - before))
    }

    /// Tasks per unit of time gained: (before / now − 1), percent, from the average task
    /// completion time.
    fn efficiency(&self) -> Option<Decimal> {
        let (before, now) = self.pair(Metric::AvgTaskCompletionTime)?;
        let ratio = before.checked_div(now)?;
        (ratio - Decimal::ONE)
            .checked_mul(Decimal::ONE_HUNDRED)
            .map(round_ratio)
    }
}
