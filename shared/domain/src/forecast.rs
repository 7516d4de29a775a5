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
//! At least 7 days are needed.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

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

/// Forecasts from `(day, cost USD)` points, one per day, oldest first (missing days are
/// simply absent), or `None` with fewer than [`MIN_DAYS`].
pub fn forecast(daily: &[(NaiveDate, Decimal)]) -> Option<CostForecast> {
    if daily.len() < MIN_DAYS {
        return None;
    }
    let first = daily[0].0;
    let t_of = |d: NaiveDate| Decimal::from((d - first).num_days());
    let weekday = |d: NaiveDate| d.weekday().num_days_from_monday() as usize;
    let points: Vec<(Decimal, Decimal)> = daily.iter().map(|(d, y)| (t_of(*d), *y)).collect();
    // Backfitting: the weekday effects and the line are estimated in turn until they settle
    // (they converge to the joint least-squares fit; 10 rounds are plenty for daily data).
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
    let fitted = |d: NaiveDate| a + b * t_of(d) + season[weekday(d)];

    let mean = daily.iter().map(|(_, y)| *y).sum::<Decimal>() / Decimal::from(daily.len());
    let (ss_res, ss_tot) = daily
        .iter()
        .fold((Decimal::ZERO, Decimal::ZERO), |(r, t), (d, y)| {
            let e = y - fitted(*d);
            (r + e * e, t + (y - mean) * (y - mean))
        });
    let r2 = if ss_tot.is_zero() {
        Decimal::ONE // a flat history is explained perfectly
    } else {
        (Decimal::ONE - ss_res / ss_tot).max(Decimal::ZERO)
    };
    let scale = Decimal::from(daily.len().min(28)) / Decimal::from(28);
    let last = daily[daily.len() - 1].0;
    let horizon = |days: u64| -> Decimal {
        (1..=days)
            .map(|k| fitted(last + chrono::Days::new(k)).max(Decimal::ZERO))
            .sum::<Decimal>()
            .round_dp(2)
    };
    Some(CostForecast {
        next_30_days_usd: horizon(30),
        next_90_days_usd: horizon(90),
        confidence: (r2 * scale).round_dp(2),
        history_days: u32::try_from(daily.len()).unwrap_or(u32::MAX),
    })
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
