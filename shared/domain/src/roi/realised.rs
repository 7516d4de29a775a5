//! Realised value (issue 16): a period is valued month by month, each calendar month with
//! the measurement in force for it, and its figures are the sums and cash flows of those
//! months, not the latest month multiplied out.
//!
//! - **Months.** The calendar months of the period, as-of dates inclusive: a period ending
//!   on a month's last day includes that month whole; a partial first or last month counts
//!   pro rata by days ([`calendar_months`]).
//! - **In force.** A month is valued with the latest ongoing measurement taken on or before
//!   its last day (or the as-of date, in the as-of month). A month after that measurement's
//!   own month *carries* it (no newer one yet); a month before the first measurement takes
//!   the first one (*back-filled*: measurements describe the month just ended). The report
//!   says which months carry or back-fill.
//! - **Per month** (share s, the month's inputs as in the module definition of
//!   [`super`]): benefit = s × gross monthly benefit; running cost = s × running cost per
//!   month; net = benefit − running cost.
//! - **Over the period:** value delivered = Σ benefit; costs = one-time investment +
//!   Σ running cost; `roi_percentage` = (value delivered − costs) / costs × 100; payback is
//!   *reached* in the first month whose cumulative net covers the investment.
//! - **Cash flows** −investment at t = 0, then each month's net at t = 1, 2, …:
//!   NPV = Σ net_t / (1 + r/12)^t − investment (r the annual discount rate), as
//!   numpy-financial's `npv(r/12, flows)`; IRR is the monthly rate where NPV = 0, as
//!   `irr(flows)`, and annualised as (1 + IRR)^12 − 1.

use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use super::{MAX_PERIOD_MONTHS, RoiError, checked_sum};
use crate::snapshot::SnapshotId;
use crate::units::Percentage;

/// The calendar months of `from..=to` (both inclusive), each as its first day and the share
/// of its days inside the range, 0 < share ≤ 1. Empty when `to < from`.
///
/// Go-live 2026-09-01 to 2026-10-31 is two whole months; 2026-09-16 to 2026-10-31 is
/// 15/30 + 1.
pub fn calendar_months(from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, Decimal)> {
    let mut out = Vec::new();
    let Some(mut first) = from.with_day(1) else {
        return out;
    };
    while first <= to {
        let Some(next) = first.checked_add_months(Months::new(1)) else {
            break;
        };
        let last = next.pred_opt().unwrap_or(first);
        let days_in_month = (next - first).num_days();
        let inside = (last.min(to) - first.max(from)).num_days() + 1;
        if inside > 0 {
            let share = if inside == days_in_month {
                Decimal::ONE
            } else {
                Decimal::from(inside) / Decimal::from(days_in_month)
            };
            out.push((first, share));
        }
        first = next;
    }
    out
}

/// How a month's measurement relates to the month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InForce {
    /// Taken in this month.
    Measured,
    /// Taken in an earlier month: no newer measurement yet.
    Carried,
    /// Taken after this month: the month is before the first measurement.
    BackFilled,
}

/// One calendar month of a period, valued with the measurement in force for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthValue {
    /// The month's first day.
    pub month: NaiveDate,
    /// The share of the month inside the period, 0 < share ≤ 1.
    pub share: Decimal,
    /// The measurement it is valued with.
    pub measurement: SnapshotId,
    /// That measurement's date.
    pub measured_on: NaiveDate,
    /// How that measurement relates to the month.
    pub in_force: InForce,
    /// share × gross monthly benefit, USD.
    pub benefit_usd: Decimal,
    /// share × running cost per month, USD.
    pub running_cost_usd: Decimal,
}

impl MonthValue {
    /// Benefit − running cost, USD (may be negative; saturates at the decimal range, which
    /// bounded measurements never reach).
    pub fn net_usd(&self) -> Decimal {
        self.benefit_usd.saturating_sub(self.running_cost_usd)
    }
}

/// The realised figures of a period: sums and cash flows over its months (module docs).
/// Money in USD at full precision (rounded where stored), percentages in percent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Realised {
    /// Every month of the period, oldest first.
    pub months: Vec<MonthValue>,
    /// Σ shares: the months analysed, e.g. 2.93.
    pub months_analysed: Decimal,
    /// Σ benefit, USD.
    pub value_delivered_usd: Decimal,
    /// One-time investment + Σ running cost, USD.
    pub costs_usd: Decimal,
    /// (value delivered − costs) / costs × 100.
    pub roi_percentage: Decimal,
    /// The first month (its first day) whose cumulative net covers the investment.
    pub payback_reached_in: Option<NaiveDate>,
    /// NPV of the monthly cash flows, USD.
    pub npv_usd: Decimal,
    /// IRR of the monthly cash flows, percent per month; absent when the flows do not
    /// change sign once from the investment (no rate makes NPV zero in −99 %..1,000 %).
    pub irr_monthly_percentage: Option<Decimal>,
    /// (1 + monthly IRR)^12 − 1, percent.
    pub irr_annual_percentage: Option<Decimal>,
}

/// Sums `months` into the period's realised figures.
///
/// # Errors
/// [`RoiError::NoMonths`] for no month, [`RoiError::TooManyMonths`] beyond
/// [`MAX_PERIOD_MONTHS`], [`RoiError::ZeroCost`] when investment and running costs are zero,
/// [`RoiError::Overflow`] beyond the decimal range.
pub fn realise(
    investment: Decimal,
    months: Vec<MonthValue>,
    annual_discount_rate: Percentage,
) -> Result<Realised, RoiError> {
    if months.is_empty() {
        return Err(RoiError::NoMonths);
    }
    let count = u32::try_from(months.len()).unwrap_or(u32::MAX);
    if count > MAX_PERIOD_MONTHS {
        return Err(RoiError::TooManyMonths(count));
    }
    let value = checked_sum(months.iter().map(|m| m.benefit_usd))?;
    let running = checked_sum(months.iter().map(|m| m.running_cost_usd))?;
    let costs = investment.checked_add(running).ok_or(RoiError::Overflow)?;
    if costs.is_zero() {
        return Err(RoiError::ZeroCost);
    }
    let roi = value
        .checked_sub(costs)
        .and_then(|net| net.checked_div(costs))
        .and_then(|r| r.checked_mul(Decimal::ONE_HUNDRED))
        .ok_or(RoiError::Overflow)?;
    let mut cumulative = Decimal::ZERO;
    let mut payback = None;
    for m in &months {
        cumulative = cumulative
            .checked_add(m.net_usd())
            .ok_or(RoiError::Overflow)?;
        if payback.is_none() && investment > Decimal::ZERO && cumulative >= investment {
            payback = Some(m.month);
        }
    }
    let flows: Vec<Decimal> = std::iter::once(-investment)
        .chain(months.iter().map(MonthValue::net_usd))
        .collect();
    let npv = npv(annual_discount_rate.fraction() / Decimal::from(12), &flows)?;
    let irr = irr(&flows);
    Ok(Realised {
        months_analysed: checked_sum(months.iter().map(|m| m.share))?,
        months,
        value_delivered_usd: value,
        costs_usd: costs,
        roi_percentage: roi,
        payback_reached_in: payback,
        npv_usd: npv,
        irr_monthly_percentage: irr.map(|r| r * Decimal::ONE_HUNDRED),
        irr_annual_percentage: irr.and_then(annualised),
    })
}

/// Σ flows_t / (1 + rate)^t, t from 0 (numpy-financial's `npv`), with checked arithmetic.
///
/// # Errors
/// [`RoiError::Overflow`] beyond the decimal range.
pub(super) fn npv(rate: Decimal, flows: &[Decimal]) -> Result<Decimal, RoiError> {
    let mut factor = Decimal::ONE;
    let mut total = Decimal::ZERO;
    for (t, flow) in flows.iter().enumerate() {
        if t > 0 {
            factor = factor
                .checked_mul(Decimal::ONE + rate)
                .ok_or(RoiError::Overflow)?;
        }
        total = flow
            .checked_div(factor)
            .and_then(|v| total.checked_add(v))
            .ok_or(RoiError::Overflow)?;
    }
    Ok(total)
}

/// The monthly rate in −99 %..1,000 % where the NPV of `flows` is zero, found by bisection
/// to 10⁻¹⁰ (a rate, so computed in `f64`); `None` when the NPV has the same sign at both
/// ends (no sign change: the flows never pay back, or cost nothing).
fn irr(flows: &[Decimal]) -> Option<Decimal> {
    let flows: Vec<f64> = flows.iter().map(|f| f.to_f64().unwrap_or(0.0)).collect();
    let npv_at = |rate: f64| -> f64 {
        flows
            .iter()
            .enumerate()
            .map(|(t, f)| f / (1.0 + rate).powi(i32::try_from(t).unwrap_or(i32::MAX)))
            .sum()
    };
    let (mut lo, mut hi) = (-0.99_f64, 10.0_f64);
    let (f_lo, f_hi) = (npv_at(lo), npv_at(hi));
    if !f_lo.is_finite() || !f_hi.is_finite() || f_lo.signum() == f_hi.signum() {
        return None;
    }
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        let f_mid = npv_at(mid);
        if f_mid.signum() == f_lo.signum() {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 {
            break;
        }
    }
    Decimal::try_from((lo + hi) / 2.0)
        .ok()
        .map(|r| r.round_dp(10))
}

/// (1 + monthly)^12 − 1.
fn annualised(monthly: Decimal) -> Option<Decimal> {
    let m = monthly.to_f64()?;
    let annual = (1.0 + m).powi(12) - 1.0;
    Decimal::try_from(annual * 100.0)
        .ok()
        .map(|r| r.round_dp(4))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_period_ending_on_a_month_end_includes_that_month_and_a_partial_month_counts_pro_rata() {
        assert_eq!(
            calendar_months(d("2026-09-01"), d("2026-10-31")),
            vec![(d("2026-09-01"), dec!(1)), (d("2026-10-01"), dec!(1))]
        );
        let mid = calendar_months(d("2026-09-16"), d("2026-10-31"));
        assert_eq!(mid[0], (d("2026-09-01"), dec!(15) / dec!(30)));
        assert_eq!(mid[1], (d("2026-10-01"), dec!(1)));
        let to_mid = calendar_months(d("2026-06-01"), d("2026-08-15"));
        assert_eq!(to_mid.len(), 3);
        assert_eq!(to_mid[2].1, dec!(15) / dec!(31));
        assert!(calendar_months(d("2026-06-02"), d("2026-06-01")).is_empty());
        // February of a leap year, one day
        assert_eq!(
            calendar_months(d("2028-02-29"), d("2028-02-29")),
            vec![(d("2028-02-01"), dec!(1) / dec!(29))]
        );
    }

    #[test]
    fn no_month_or_no_cost_is_refused() {
        let rate = Percentage::try_from(dec!(10)).unwrap();
        assert_eq!(realise(dec!(1), vec![], rate), Err(RoiError::NoMonths));
        let free = MonthValue {
            month: d("2026-01-01"),
            share: dec!(1),
            measurement: SnapshotId::derive(
                &"p".parse().unwrap(),
                crate::SnapshotKind::Ongoing,
                d("2026-01-31"),
            ),
            measured_on: d("2026-01-31"),
            in_force: InForce::Measured,
            benefit_usd: dec!(10),
            running_cost_usd: dec!(0),
        };
        assert_eq!(realise(dec!(0), vec![free], rate), Err(RoiError::ZeroCost));
    }
}
