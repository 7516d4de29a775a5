//! Ranges (issue 16): a conservative, an expected and an optimistic ROI and payback, from
//! documented adjustments rather than one point.
//!
//! - **Attribution share** a (the project's, default 100 %) is in every scenario: each
//!   benefit is already × a in the expected figures.
//! - **Confidence** k of self-reported figures (the project's, default 80 %): the
//!   self-reported part of the value may be off by c = (1 − k) × (self-reported value ÷
//!   value delivered). Metered value (from usage and outcome events) is not adjusted.
//! - **Measurement spread** s: the coefficient of variation (population standard deviation
//!   ÷ mean) of the monthly benefit over the months valued with their own measurement; 0
//!   with fewer than two such months.
//! - The uncertainty d = √(c² + s²), at most 100 %. Conservative value = value delivered ×
//!   (1 − d), optimistic = × (1 + d); costs stay as they are (invoices and metered prices).
//!   Each scenario's ROI = (value − costs) ÷ costs × 100, and its payback period =
//!   investment ÷ (gross monthly benefit × (1 ∓ d) − running cost), at the latest
//!   measurement.
//!
//! Seed 003 gives its range as separate low and high estimates per feature ($265K and $440K
//! a year against $43.2K of operating cost: 513 % and 918 %). That is the same shape with
//! the expected value at the midpoint ($352.5K) and d = 87.5 / 352.5 = 24.8 %:
//! [`RoiRange::from_uncertainty`] reproduces it (tested below).

use rust_decimal::{Decimal, MathematicalOps};
use serde::{Deserialize, Serialize};

use super::RoiError;
use crate::units::{Percentage, round_money, round_ratio};

/// One scenario's figures: USD rounded to cents, percent and months to hundredths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    /// Value delivered over the period, USD.
    pub value_delivered_usd: Decimal,
    /// ROI over the period, percent.
    pub roi_percentage: Decimal,
    /// Payback period at the latest measurement, months; absent when it does not pay back.
    pub payback_period_months: Option<Decimal>,
}

/// Conservative, expected and optimistic figures (module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoiRange {
    /// d, percent (0–100).
    pub uncertainty_percentage: Decimal,
    /// c, the confidence part, percent.
    pub confidence_part_percentage: Decimal,
    /// s, the measurement spread, percent.
    pub spread_part_percentage: Decimal,
    /// Value × (1 − d).
    pub conservative: Scenario,
    /// The calculation's own figures.
    pub expected: Scenario,
    /// Value × (1 + d).
    pub optimistic: Scenario,
}

/// What a range is computed from (USD at full precision).
#[derive(Debug, Clone, PartialEq)]
pub struct RangeInputs {
    /// Value delivered over the period.
    pub value_delivered: Decimal,
    /// The part of it that is self-reported (the rest is metered).
    pub self_reported_value: Decimal,
    /// Costs over the period (investment + running costs).
    pub costs: Decimal,
    /// One-time investment.
    pub investment: Decimal,
    /// Gross monthly benefit at the latest measurement.
    pub gross_monthly: Decimal,
    /// Running cost per month at the latest measurement.
    pub running_monthly: Decimal,
    /// Confidence in self-reported figures.
    pub confidence: Percentage,
    /// The monthly benefit of each month valued with its own measurement.
    pub measured_monthly_benefits: Vec<Decimal>,
}

impl RoiRange {
    /// The range of `i` (module docs).
    ///
    /// # Errors
    /// [`RoiError::ZeroCost`] when costs are zero, [`RoiError::Overflow`] beyond the decimal
    /// range.
    pub fn compute(i: &RangeInputs) -> Result<Self, RoiError> {
        let share = if i.value_delivered.is_zero() {
            Decimal::ZERO
        } else {
            // a share beyond the decimal range is all of it
            i.self_reported_value
                .checked_div(i.value_delivered)
                .map_or(Decimal::ONE, |s| s.abs().min(Decimal::ONE))
        };
        let c = (Decimal::ONE - i.confidence.fraction()) * share;
        let s = spread(&i.measured_monthly_benefits);
        let d = c
            .checked_mul(c)
            .zip(s.checked_mul(s))
            .and_then(|(a, b)| a.checked_add(b))
            .and_then(|x| x.sqrt())
            .ok_or(RoiError::Overflow)?
            .min(Decimal::ONE);
        let mut range = Self::from_uncertainty(d, i)?;
        range.confidence_part_percentage = round_ratio(c * Decimal::ONE_HUNDRED);
        range.spread_part_percentage = round_ratio(s * Decimal::ONE_HUNDRED);
        Ok(range)
    }

    /// The range for a given uncertainty `d` (a fraction, 0–1), as seed 003's presets.
    ///
    /// # Errors
    /// As [`RoiRange::compute`].
    pub fn from_uncertainty(d: Decimal, i: &RangeInputs) -> Result<Self, RoiError> {
        if i.costs.is_zero() {
            return Err(RoiError::ZeroCost);
        }
        let scenario = |factor: Decimal| -> Result<Scenario, RoiError> {
            let value = i
                .value_delivered
                .checked_mul(factor)
                .ok_or(RoiError::Overflow)?;
            let roi = value
                .checked_sub(i.costs)
                .and_then(|net| net.checked_div(i.costs))
                .and_then(|r| r.checked_mul(Decimal::ONE_HUNDRED))
                .ok_or(RoiError::Overflow)?;
            let net = i
                .gross_monthly
                .checked_mul(factor)
                .and_then(|g| g.checked_sub(i.running_monthly))
                .ok_or(RoiError::Overflow)?;
            let payback = if net > Decimal::ZERO {
                Some(round_ratio(
                    i.investment.checked_div(net).ok_or(RoiError::Overflow)?,
                ))
            } else {
                None
            };
            Ok(Scenario {
                value_delivered_usd: round_money(value),
                roi_percentage: round_ratio(roi),
                payback_period_months: payback,
            })
        };
        Ok(Self {
            uncertainty_percentage: round_ratio(d * Decimal::ONE_HUNDRED),
            confidence_part_percentage: Decimal::ZERO,
            spread_part_percentage: Decimal::ZERO,
            conservative: scenario(Decimal::ONE - d)?,
            expected: scenario(Decimal::ONE)?,
            optimistic: scenario(Decimal::ONE + d)?,
        })
    }
}

/// Population standard deviation ÷ |mean| of `values`; 0 with fewer than two values or a
/// zero mean.
fn spread(values: &[Decimal]) -> Decimal {
    if values.len() < 2 {
        return Decimal::ZERO;
    }
    let n = Decimal::from(values.len());
    let Some(sum) = values
        .iter()
        .try_fold(Decimal::ZERO, |a, v| a.checked_add(*v))
    else {
        return Decimal::ZERO;
    };
    let mean = sum / n;
    if mean.is_zero() {
        return Decimal::ZERO;
    }
    let variance = values
        .iter()
        .try_fold(Decimal::ZERO, |a, v| {
            let d = v.checked_sub(mean)?;
            a.checked_add(d.checked_mul(d)?)
        })
        .map(|ss| ss / n);
    variance
        .and_then(|v| v.sqrt())
        .and_then(|sd| sd.checked_div(mean.abs()))
        .unwrap_or(Decimal::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn inputs(value: Decimal, self_reported: Decimal, months: Vec<Decimal>) -> RangeInputs {
        RangeInputs {
            value_delivered: value,
            self_reported_value: self_reported,
            costs: dec!(1000),
            investment: dec!(600),
            gross_monthly: dec!(300),
            running_monthly: dec!(100),
            confidence: Percentage::try_from(dec!(80)).unwrap(),
            measured_monthly_benefits: months,
        }
    }

    #[test]
    fn seed_003_range_is_the_midpoint_with_a_24_8_percent_uncertainty() {
        // $265K and $440K a year of value against $43.2K a year of operating cost
        let i = RangeInputs {
            value_delivered: dec!(352.5),
            self_reported_value: dec!(352.5),
            costs: dec!(43.2),
            investment: Decimal::ZERO,
            gross_monthly: dec!(352.5) / dec!(12),
            running_monthly: dec!(3.6),
            confidence: Percentage::HUNDRED,
            measured_monthly_benefits: vec![],
        };
        let r = RoiRange::from_uncertainty(dec!(87.5) / dec!(352.5), &i).unwrap();
        assert_eq!(r.conservative.value_delivered_usd, dec!(265.00));
        assert_eq!(r.conservative.roi_percentage.round_dp(1), dec!(513.4));
        assert_eq!(r.optimistic.value_delivered_usd, dec!(440.00));
        assert_eq!(r.optimistic.roi_percentage.round_dp(1), dec!(918.5));
        assert_eq!(r.uncertainty_percentage, dec!(24.82));
    }

    #[test]
    fn confidence_moves_only_the_self_reported_value_and_spread_adds_in_quadrature() {
        // all self-reported, one measured month: d = 20 %
        let r = RoiRange::compute(&inputs(dec!(2000), dec!(2000), vec![dec!(300)])).unwrap();
        assert_eq!(r.uncertainty_percentage, dec!(20.00));
        assert_eq!(r.conservative.value_delivered_usd, dec!(1600.00));
        assert_eq!(r.conservative.roi_percentage, dec!(60.00));
        assert_eq!(r.expected.roi_percentage, dec!(100.00));
        assert_eq!(r.optimistic.roi_percentage, dec!(140.00));
        // payback: 600 / (300 × 0.8 − 100) = 4.29; 600 / (300 − 100) = 3; 600 / 260 = 2.31
        assert_eq!(r.conservative.payback_period_months, Some(dec!(4.29)));
        assert_eq!(r.expected.payback_period_months, Some(dec!(3.00)));
        assert_eq!(r.optimistic.payback_period_months, Some(dec!(2.31)));
        // half metered: c = 10 %
        let r = RoiRange::compute(&inputs(dec!(2000), dec!(1000), vec![])).unwrap();
        assert_eq!(r.confidence_part_percentage, dec!(10.00));
        // months of 225 and 375: mean 300, sd 75, s = 25 %; d = √(20² + 25²) = 32.02 %
        let r =
            RoiRange::compute(&inputs(dec!(2000), dec!(2000), vec![dec!(225), dec!(375)])).unwrap();
        assert_eq!(r.spread_part_percentage, dec!(25.00));
        assert_eq!(r.uncertainty_percentage, dec!(32.02));
    }

    #[test]
    fn the_uncertainty_is_at_most_100_percent() {
        let r =
            RoiRange::compute(&inputs(dec!(2000), dec!(2000), vec![dec!(1), dec!(1000)])).unwrap();
        assert_eq!(r.uncertainty_percentage, dec!(100.00));
        assert_eq!(r.conservative.value_delivered_usd, dec!(0.00));
        assert_eq!(r.conservative.payback_period_months, None);
    }
}
