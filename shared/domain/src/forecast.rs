//! Cost forecast for the next 30 and 90 days (seed 004 FR-016.2: "simple linear regression
//! + seasonal adjustment", with a confidence 0–1).
//!
//! From daily costs `y_t` (t = 0 … n−1, oldest first):
//! 1. least squares line `a + b·t` through the costs;
//! 2. day-of-week effect `s_w` = mean residual of weekday w, centred to sum to zero;
//! 3. the line fitted again to `y_t − s_w(t)`; steps 2 and 3 repeated (backfitting);
//! 4. forecast day t: `max(0, a + b·t + s_w(t))`, summed over the horizon;
//! 5. confidence = R² of the fitted model on the history (0 when it explains nothing),
//!    scaled down by n/28 when there are fewer than four weeks of days.
//!
//! At least 7 days are needed. [`band`] gives the daily forecast with a band of ±1.96
//! residual standard errors around it.

use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, MathematicalOps};
use serde::{Deserialize, Serialize};

use crate::units::MAX_MEASURED_VALUE;

/// Fewest days of history a forecast is made from.
pub const MIN_DAYS: usize = 7;

/// The forecast (seed 004 `forecast { next30Days, next90Days, confidence }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostForecast {
    /// Cost of the 30 days after the last day, USD (cents).
    pub next_30_days_usd: Decimal,
    /// Cost of the 90 days after the last day, USD (cents).
    pub next_90_days_usd: Decimal,
    /// 0–1, two decimals.
    pub confidence: Decimal,
    /// Days of history used.
    pub history_days: u32,
}

fn line(points: &[(Decimal, Decimal)]) -> (Decimal, Decimal) {
    let n = Decimal::from(points.len());
    let (sx, sy) = points
        .iter()
        .fold((Decimal::ZERO, Decimal::ZERO), |(a, b), (x, y)| {
            (a + x, b + y)
        });
    let (mx, my) = (sx / n, sy / n);
    let (sxy, sxx) = points
        .iter()
        .fold((Decimal::ZERO, Decimal::ZERO), |(a, b), (x, y)| {
            (a + (x - mx) * (y - my), b + (x - mx) * (x - mx))
        });
    let slope = if sxx.is_zero() {
        Decimal::ZERO
    } else {
        sxy / sxx
    };
    (my - slope * mx, slope)
}

/// A least-squares line with day-of-week effects fitted to a daily series
/// (see [`forecast`]), with what it explains.
struct Fit {
    first: NaiveDate,
    last: NaiveDate,
    a: Decimal,
    b: Decimal,
    season: [Decimal; 7],
    /// Coefficient of determination, 0–1.
    r2: Decimal,
    /// Residual standard error, USD per day.
    sigma: Decimal,
    days: usize,
}

impl Fit {
    fn at(&self, d: NaiveDate) -> Decimal {
        let t = Decimal::from((d - self.first).num_days());
        self.a + self.b * t + self.season[d.weekday().num_days_from_monday() as usize]
    }

    fn new(daily: &[(NaiveDate, Decimal)]) -> Option<Self> {
        if daily.len() < MIN_DAYS {
            return None;
        }
        let first = daily[0].0;
        let t_of = |d: NaiveDate| Decimal::from((d - first).num_days());
        let weekday = |d: NaiveDate| d.weekday().num_days_from_monday() as usize;
        let points: Vec<(Decimal, Decimal)> = daily.iter().map(|(d, y)| (t_of(*d), *y)).collect();
        // Backfitting: the weekday effects and the line are estimated in turn until they
        // settle (they converge to the joint least-squares fit; 10 rounds are plenty for
        // daily data).
        let (mut a, mut b) = line(&points);
        let mut season = [Decimal::ZERO; 7];
        for _ in 0..10 {
            let mut sums = [Decimal::ZERO; 7];
            let mut counts = [0u32; 7];
            for (d, y) in daily {
                let w = weekday(*d);
                sums[w] += y - (a + b * t_of(*d));
                counts[w] += 1;
            }
            let present: Vec<usize> = (0..7).filter(|w| counts[*w] > 0).collect();
            for w in &present {
                season[*w] = sums[*w] / Decimal::from(counts[*w]);
            }
            let centre =
                present.iter().map(|w| season[*w]).sum::<Decimal>() / Decimal::from(present.len());
            for w in &present {
                season[*w] -= centre;
            }
            let adjusted: Vec<(Decimal, Decimal)> = daily
                .iter()
                .map(|(d, y)| (t_of(*d), y - season[weekday(*d)]))
                .collect();
            (a, b) = line(&adjusted);
        }
        let mut fit = Self {
            first,
            last: daily[daily.len() - 1].0,
            a,
            b,
            season,
            r2: Decimal::ONE,
            sigma: Decimal::ZERO,
            days: daily.len(),
        };
        let mean = daily.iter().map(|(_, y)| *y).sum::<Decimal>() / Decimal::from(daily.len());
        let (ss_res, ss_tot) =
            daily
                .iter()
                .fold((Decimal::ZERO, Decimal::ZERO), |(r, t), (d, y)| {
                    let e = y - fit.at(*d);
                    (r + e * e, t + (y - mean) * (y - mean))
                });
        if !ss_tot.is_zero() {
            // a flat history is explained perfectly
            fit.r2 = (Decimal::ONE - ss_res / ss_tot).max(Decimal::ZERO);
        }
        // 9 parameters: intercept, slope and 7 weekday effects (one constrained).
        let dof = Decimal::from(daily.len().saturating_sub(8).max(1));
        fit.sigma = (ss_res / dof).sqrt().unwrap_or(Decimal::ZERO);
        Some(fit)
    }
}

/// Forecasts from `(day, cost USD)` points, one per day, oldest first (missing days are
/// simply absent), or `None` with fewer than [`MIN_DAYS`] or with a day's cost beyond
/// ±[`MAX_MEASURED_VALUE`] (10^12 USD): within it, the squares of the fit stay far inside
/// `Decimal`'s range, so no input can make it overflow.
pub fn forecast(daily: &[(NaiveDate, Decimal)]) -> Option<CostForecast> {
    if daily.iter().any(|(_, v)| v.abs() > MAX_MEASURED_VALUE) {
        return None;
    }
    let fit = Fit::new(daily)?;
    let scale = Decimal::from(fit.days.min(28)) / Decimal::from(28);
    let horizon = |days: u64| -> Decimal {
        (1..=days)
            .map(|k| fit.at(fit.last + chrono::Days::new(k)).max(Decimal::ZERO))
            .sum::<Decimal>()
            .round_dp(2)
    };
    Some(CostForecast {
        next_30_days_usd: horizon(30),
        next_90_days_usd: horizon(90),
        confidence: (fit.r2 * scale).round_dp(2),
        history_days: u32::try_from(fit.days).unwrap_or(u32::MAX),
    })
}

/// One forecast day with its band.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BandDay {
    /// The day.
    pub day: NaiveDate,
    /// Expected cost, USD (cents, never below 0).
    pub expected_usd: Decimal,
    /// Lower edge: expected − 1.96 × the residual standard error, at least 0, USD.
    pub low_usd: Decimal,
    /// Upper edge: expected + 1.96 × the residual standard error, USD.
    pub high_usd: Decimal,
}

/// The daily forecast for the `days` days after the last point, with a band of ±1.96
/// residual standard errors (an approximate 95 % band for a day's cost under normal
/// residuals), from the same fit as [`forecast`]; empty with fewer than [`MIN_DAYS`] points.
pub fn band(daily: &[(NaiveDate, Decimal)], days: u64) -> Vec<BandDay> {
    let Some(fit) = Fit::new(daily) else {
        return Vec::new();
    };
    let spread = fit.sigma * Decimal::new(196, 2);
    (1..=days)
        .map(|k| {
            let day = fit.last + chrono::Days::new(k);
            let expected = fit.at(day).max(Decimal::ZERO);
            BandDay {
                day,
                expected_usd: expected.round_dp(2),
                low_usd: (expected - spread).max(Decimal::ZERO).round_dp(2),
                high_usd: (expected + spread).round_dp(2),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn days(n: i64, cost: impl Fn(i64, u32) -> Decimal) -> Vec<(NaiveDate, Decimal)> {
        let start: NaiveDate = "2026-08-03".parse().unwrap(); // a Monday
        (0..n)
            .map(|i| {
                let d = start + chrono::Duration::days(i);
                (d, cost(i, d.weekday().num_days_from_monday()))
            })
            .collect()
    }

    #[test]
    fn the_band_is_tight_on_a_clean_series_and_widens_with_noise() {
        let clean = band(&days(28, |_, _| dec!(10)), 30);
        assert_eq!(clean.len(), 30);
        assert_eq!(clean[0].day.to_string(), "2026-08-31");
        assert!(
            clean
                .iter()
                .all(|b| b.low_usd == dec!(10) && b.high_usd == dec!(10))
        );
        // ±3 around 10 on alternate days: σ ≈ 3.2, band ≈ ±6.3
        let noisy = band(
            &days(28, |i, _| if i % 2 == 0 { dec!(13) } else { dec!(7) }),
            5,
        );
        let width = noisy[0].high_usd - noisy[0].low_usd;
        assert!(width > dec!(10) && width < dec!(16), "width {width}");
        assert!(
            noisy
                .iter()
                .all(|b| b.low_usd <= b.expected_usd && b.expected_usd <= b.high_usd)
        );
        assert!(
            band(&days(6, |_, _| dec!(1)), 30).is_empty(),
            "too little history"
        );
    }

    #[test]
    fn costs_at_the_range_extremes_forecast_and_beyond_it_do_not() {
        let swinging = days(90, |i, _| {
            if i % 2 == 0 {
                MAX_MEASURED_VALUE
            } else {
                Decimal::ZERO
            }
        });
        assert!(forecast(&swinging).is_some());
        let poisoned = days(28, |i, _| {
            if i == 3 {
                MAX_MEASURED_VALUE + Decimal::ONE
            } else {
                dec!(10)
            }
        });
        assert_eq!(forecast(&poisoned), None);
    }

    #[test]
    fn a_flat_cost_forecasts_itself_with_full_confidence() {
        let f = forecast(&days(28, |_, _| dec!(10))).unwrap();
        assert_eq!(f.next_30_days_usd, dec!(300));
        assert_eq!(f.next_90_days_usd, dec!(900));
        assert_eq!(f.confidence, dec!(1));
    }

    #[test]
    fn a_trend_with_quiet_weekends_is_followed_exactly() {
        // $10 + $0.10 a day on weekdays; weekends $6 less
        let cost = |i: i64, w: u32| {
            dec!(10) + Decimal::from(i) * dec!(0.1) - if w >= 5 { dec!(6) } else { Decimal::ZERO }
        };
        let f = forecast(&days(56, cost)).unwrap();
        let expected: Decimal = (56..86)
            .map(|i| {
                let d: NaiveDate =
                    "2026-08-03".parse::<NaiveDate>().unwrap() + chrono::Duration::days(i);
                cost(i, d.weekday().num_days_from_monday())
            })
            .sum();
        assert!(
            (f.next_30_days_usd - expected).abs() < dec!(0.05),
            "{} vs {expected}",
            f.next_30_days_usd
        );
        assert_eq!(f.confidence, dec!(1));
    }

    #[test]
    fn noise_lowers_confidence_and_short_histories_are_refused() {
        let noisy = forecast(&days(
            28,
            |i, _| if i % 3 == 0 { dec!(30) } else { dec!(5) },
        ))
        .unwrap();
        assert!(noisy.confidence < dec!(0.5), "{}", noisy.confidence);
        assert!(forecast(&days(6, |_, _| dec!(1))).is_none());
        let short = forecast(&days(7, |_, _| dec!(1))).unwrap();
        assert_eq!(short.confidence, dec!(0.25), "7 of 28 days");
    }
}
