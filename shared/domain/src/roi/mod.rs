//! ROI math. One set of definitions (issue 2, built on seed 000 §2.1 `ROICalculation`) that
//! every part of the system uses:
//!
//! - *total monthly cost* of a snapshot: as given, else the sum of its components
//!   ([`MetricSnapshot::total_monthly_cost`](crate::MetricSnapshot::total_monthly_cost));
//! - *running cost* per month = the ongoing `ai_solution_cost` + any operating cost lines;
//! - *gross monthly benefit* = ((baseline total monthly cost − ongoing total monthly cost,
//!   without the AI cost) + monthly revenue increase × gross margin + named value lines)
//!   × attribution share (the project's, default 100 %; the value lines of
//!   [`value`] and the metered ones are named value lines);
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

mod calculation;
pub mod range;
pub mod realised;
pub mod sensitivity;
pub mod value;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use self::calculation::{
    Basis, FigureSource, RoiCalculation, RoiOptions, months_through, whole_months_between,
};
use crate::snapshot::SnapshotId;
use crate::units::{Money, Percentage};

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
    /// Share of the improvement due to the AI solution, percent (100 for calculations
    /// stored before it existed).
    #[serde(default = "hundred")]
    pub attribution: Percentage,
}

fn hundred() -> Percentage {
    Percentage::HUNDRED
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
        ])?
        .checked_mul(self.attribution.fraction())
        .ok_or(RoiError::Overflow)
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
        let months = usize::try_from(self.months).unwrap_or(usize::MAX);
        let flows: Vec<Decimal> = std::iter::once(-self.one_time_investment.amount())
            .chain(std::iter::repeat_n(net, months))
            .collect();
        realised::npv(monthly, &flows)
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
            attribution: Percentage::HUNDRED,
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
            attribution: Percentage::HUNDRED,
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
                attribution: Percentage::HUNDRED,
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
                attribution: Percentage::HUNDRED,
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
