//! Validated quantities: money in USD and percentages in percent (0–100).
//!
//! Money is always [`Decimal`], never a float (ARCHITECTURE.md, rules of the numbers).

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// The largest value a measurement of money, counts, minutes, hours or days may take:
/// 1,000,000,000,000 (a trillion USD a month, a trillion tasks). Far beyond any client's
/// figures, and far enough below `Decimal`'s limit (about 7.9 × 10^28) that sums and products
/// of ROI over 1,200 months cannot overflow.
pub const MAX_MEASURED_VALUE: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

/// A non-negative amount of money in USD, at most [`MAX_MEASURED_VALUE`] (a trillion)
/// (seed 000 §7.1: "all currency values must be positive"; zero is allowed, a cost can be
/// nil).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct Money(Decimal);

impl Money {
    /// Zero dollars.
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// The amount in USD.
    pub fn amount(self) -> Decimal {
        self.0
    }
}

impl TryFrom<Decimal> for Money {
    type Error = String;

    /// # Errors
    /// A reason when the amount is negative or over [`MAX_MEASURED_VALUE`].
    fn try_from(value: Decimal) -> Result<Self, Self::Error> {
        if value.is_sign_negative() && !value.is_zero() {
            Err(format!("must be zero or more (USD), got {value}"))
        } else if value > MAX_MEASURED_VALUE {
            Err(format!(
                "must be at most {MAX_MEASURED_VALUE} (USD), got {value}"
            ))
        } else {
            Ok(Self(value))
        }
    }
}

impl From<Money> for Decimal {
    fn from(m: Money) -> Self {
        m.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}", round_money(self.0))
    }
}

/// A percentage in percent, 0–100 inclusive (seed 000 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct Percentage(Decimal);

impl Percentage {
    /// 100 %.
    pub const HUNDRED: Percentage = Percentage(Decimal::ONE_HUNDRED);

    /// The value in percent.
    pub fn value(self) -> Decimal {
        self.0
    }

    /// The value as a fraction (50 % → 0.5).
    pub fn fraction(self) -> Decimal {
        self.0 / Decimal::ONE_HUNDRED
    }
}

impl TryFrom<Decimal> for Percentage {
    type Error = String;

    /// # Errors
    /// A reason when the value is outside 0–100.
    fn try_from(value: Decimal) -> Result<Self, Self::Error> {
        if value < Decimal::ZERO || value > Decimal::ONE_HUNDRED {
            Err(format!("must be between 0 and 100 (percent), got {value}"))
        } else {
            Ok(Self(value))
        }
    }
}

impl From<Percentage> for Decimal {
    fn from(p: Percentage) -> Self {
        p.0
    }
}

impl fmt::Display for Percentage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0.normalize())
    }
}

/// Rounds an amount of money to cents, half away from zero (the convention of invoices),
/// always with two decimals (`4400` → `4400.00`).
pub fn round_money(value: Decimal) -> Decimal {
    two_places(value)
}

/// Rounds a ratio (percent, months) to two decimals, half away from zero, always with
/// two decimals.
pub fn round_ratio(value: Decimal) -> Decimal {
    two_places(value)
}

/// The minus sign of every figure people read: `−` (U+2212), as in typeset finance.
pub const MINUS: char = '\u{2212}';

/// A decimal for reading, with thousands grouped by commas and the minus sign [`MINUS`]:
/// `-1234567.5` → `−1,234,567.5`. Digits after the point are kept as they are.
pub fn grouped(value: Decimal) -> String {
    let text = value.abs().to_string();
    let (int, frac) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    if value.is_sign_negative() && !value.is_zero() {
        out.push(MINUS);
    }
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// A number as printed in report sentences and e-mails: rounded to `dp` decimals (half away
/// from zero), trailing zeros dropped, thousands grouped, negative with [`MINUS`]:
/// `-5.1149` at 1 → `−5.1`.
pub fn rounded_grouped(v: Decimal, dp: u32) -> String {
    grouped(
        v.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
            .normalize(),
    )
}

/// An amount for reading, as the PDF reports print it (`templates/lib.typ`, `money`): whole
/// dollars, but cents below $100 where whole dollars would hide the figure; thousands
/// grouped; [`MINUS`]: `1234567.89` → `$1,234,568`, `-5000` → `−$5,000`, `4.2` → `$4.20`.
pub fn usd(v: Decimal) -> String {
    let a = v.abs();
    let dp = if a < Decimal::ONE_HUNDRED && !a.fract().is_zero() {
        2
    } else {
        0
    };
    usd_to(v, dp)
}

/// An amount to the cent, for tables a finance team checks: `-4400` → `−$4,400.00`.
pub fn usd_cents(v: Decimal) -> String {
    usd_to(v, 2)
}

/// An amount on a chart's axis, short: `$12k`, `$1.5k`, `$950`, `$4.20`.
pub fn usd_compact(v: Decimal) -> String {
    let a = v.abs();
    let thousand = Decimal::ONE_THOUSAND;
    if a >= Decimal::TEN * thousand {
        format!("{}k", usd_to(v / thousand, 0))
    } else if a >= thousand {
        format!("{}k", usd_to(v / thousand, 1))
    } else if a.is_zero() || a >= Decimal::TEN {
        usd_to(v, 0)
    } else {
        usd_to(v, 2)
    }
}

/// `v` rounded half away from zero to exactly `dp` decimals, as `[−]$d,ddd.dd`.
fn usd_to(v: Decimal, dp: u32) -> String {
    let mut r = v.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(dp);
    let sign = if r.is_sign_negative() && !r.is_zero() {
        MINUS.to_string()
    } else {
        String::new()
    };
    format!("{sign}${}", grouped(r.abs()))
}

fn two_places(value: Decimal) -> Decimal {
    let mut v = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    v.rescale(2);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn money_refuses_negative_amounts_and_accepts_zero() {
        assert!(Money::try_from(dec!(-0.01)).is_err());
        assert_eq!(Money::try_from(dec!(0)).map(Money::amount), Ok(dec!(0)));
    }

    #[test]
    fn percentage_is_bounded_by_0_and_100() {
        assert!(Percentage::try_from(dec!(100.01)).is_err());
        assert!(Percentage::try_from(dec!(-1)).is_err());
        assert_eq!(
            Percentage::try_from(dec!(40)).map(Percentage::fraction),
            Ok(dec!(0.4))
        );
    }

    #[test]
    fn thousands_are_grouped_and_the_fraction_kept() {
        assert_eq!(grouped(dec!(1234567.50)), "1,234,567.50");
        assert_eq!(grouped(dec!(-4400)), "−4,400");
        assert_eq!(grouped(dec!(999)), "999");
        assert_eq!(grouped(dec!(0.5)), "0.5");
    }

    #[test]
    fn amounts_read_as_the_reports_print_them() {
        assert_eq!(usd(dec!(1234567.89)), "$1,234,568");
        assert_eq!(usd(dec!(-5000)), "−$5,000");
        assert_eq!(usd(Decimal::ZERO), "$0");
        assert_eq!(usd(dec!(4.2)), "$4.20");
        assert_eq!(usd(dec!(-0.004)), "$0.00");
        assert_eq!(usd_cents(dec!(1234567.891)), "$1,234,567.89");
        assert_eq!(usd_cents(dec!(-4400)), "−$4,400.00");
        assert_eq!(usd_cents(dec!(0.5)), "$0.50");
        assert_eq!(usd_compact(dec!(12500)), "$13k");
        assert_eq!(usd_compact(dec!(1540)), "$1.5k");
        assert_eq!(usd_compact(dec!(950)), "$950");
        assert_eq!(usd_compact(dec!(4.2)), "$4.20");
        assert_eq!(usd_compact(dec!(-2000)), "−$2.0k");
        assert_eq!(rounded_grouped(dec!(-5.1149), 1), "−5.1");
        assert_eq!(rounded_grouped(dec!(42000.00), 2), "42,000");
    }

    #[test]
    fn money_serializes_as_a_decimal_string() {
        let json = serde_json::to_string(&Money::try_from(dec!(12.50)).unwrap()).unwrap();
        assert_eq!(json, "\"12.50\"");
        assert!(serde_json::from_str::<Money>("\"-3\"").is_err());
    }
}
