//! Trend of a metric series: improving, declining or stable (seed 000 §9.1 "trend
//! detection").
//!
//! The rule: fit a least-squares line through (day, value); the fitted change over the
//! series' span, relative to the mean of the values, is the relative change. Within
//! ±[`STABLE_BAND_PERCENT`] it is stable; otherwise it is improving when it moves the way
//! the metric's [`Direction`] calls better, declining when not.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::metric::Direction;
use crate::units::MAX_MEASURED_VALUE;

/// The band of relative change, percent, inside which a series is stable: 5 %.
pub const STABLE_BAND_PERCENT: Decimal = Decimal::from_parts(5, 0, 0, false, 0);

/// The trend of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    /// Moving the better way by more than the band.
    Improving,
    /// Moving the worse way by more than the band.
    Declining,
    /// Within the band.
    Stable,
}

/// The trend of `points` (any order) for a metric whose better way is `direction`;
/// `None` with fewer than two distinct days, or with a value beyond ±[`MAX_MEASURED_VALUE`]
/// (a measurement stored before the ranges existed: within them, with dates inside
/// [`crate::dates`]' window, the sums of products cannot overflow). Also returns the
/// relative change, percent.
pub fn trend(points: &[(NaiveDate, Decimal)], direction: Direction) -> Option<(Trend, Decimal)> {
    if points.iter().any(|(_, v)| v.abs() > MAX_MEASURED_VALUE) {
        return None;
    }
    let first = points.iter().map(|(d, _)| *d).min()?;
    let xs: Vec<Decimal> = points
        .iter()
        .map(|(d, _)| Decimal::from((*d - first).num_days()))
        .collect();
    let n = Decimal::from(points.len());
    let mean_x = xs.iter().sum::<Decimal>() / n;
    let mean_y = points.iter().map(|(_, v)| *v).sum::<Decimal>() / n;
    let (mut sxy, mut sxx) = (Decimal::ZERO, Decimal::ZERO);
    for (x, (_, y)) in xs.iter().zip(points) {
        sxy += (*x - mean_x) * (*y - mean_y);
        sxx += (*x - mean_x) * (*x - mean_x);
    }
    if sxx.is_zero() {
        return None;
    }
    let span = xs.iter().copied().max()? - xs.iter().copied().min()?;
    let fitted_change = sxy / sxx * span;
    let relative = if mean_y.is_zero() {
        if fitted_change.is_zero() {
            Decimal::ZERO
        } else {
            if fitted_change > Decimal::ZERO {
                Decimal::ONE_HUNDRED
            } else {
                -Decimal::ONE_HUNDRED
            }
        }
    } else {
        fitted_change / mean_y.abs() * Decimal::ONE_HUNDRED
    };
    let t = if relative.abs() <= STABLE_BAND_PERCENT {
        Trend::Stable
    } else if (relative > Decimal::ZERO) == (direction == Direction::HigherIsBetter) {
        Trend::Improving
    } else {
        Trend::Declining
    };
    Some((t, crate::units::round_ratio(relative)))
}

/// Trend of one metric over the ongoing measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricTrend {
    /// The metric's name.
    pub metric: String,
    /// Improving, declining or stable.
    pub trend: Trend,
    /// Fitted change over the series, percent of its mean.
    pub change_percentage: Decimal,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn series(values: &[Decimal]) -> Vec<(NaiveDate, Decimal)> {
        let start: NaiveDate = "2025-01-01".parse().unwrap();
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (start + chrono::Days::new(7 * i as u64), *v))
            .collect()
    }

    #[test]
    fn values_at_the_range_extremes_give_a_trend_and_beyond_it_none() {
        let max = MAX_MEASURED_VALUE;
        let extreme = series(&[Decimal::ZERO, max, Decimal::new(1, 28), max]);
        assert!(trend(&extreme, Direction::HigherIsBetter).is_some());
        let poisoned = series(&[dec!(1), dec!(50000000000000000000000000000)]);
        assert_eq!(trend(&poisoned, Direction::HigherIsBetter), None);
    }

    #[test]
    fn a_falling_error_rate_is_improving_and_a_falling_revenue_is_declining() {
        let falling = series(&[dec!(8.5), dec!(7), dec!(5.5), dec!(4.2)]);
        assert_eq!(
            trend(&falling, Direction::LowerIsBetter).unwrap().0,
            Trend::Improving
        );
        assert_eq!(
            trend(&falling, Direction::HigherIsBetter).unwrap().0,
            Trend::Declining
        );
    }

    #[test]
    fn small_wobbles_are_stable_and_one_point_has_no_trend() {
        let flat = series(&[dec!(100), dec!(102), dec!(99), dec!(101)]);
        assert_eq!(
            trend(&flat, Direction::HigherIsBetter).unwrap().0,
            Trend::Stable
        );
        assert_eq!(trend(&series(&[dec!(1)]), Direction::HigherIsBetter), None);
    }
}
