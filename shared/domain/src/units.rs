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

/// A decimal for reading, with thousands grouped by commas: `-1234567.5` → `-1,234,567.5`.
/// Digits after the point are kept as they are.
pub fn grouped(value: Decimal) -> String {
    let text = value.to_string();
    let (sign, digits) = text
        .strip_prefix('-')
        .map_or(("", text.as_str()), |d| ("-", d));
    let (int, frac) = digits
        .split_once('.')
        .map_or((digits, None), |(i, f)| (i, Some(f)));
    let mut out = String::from(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
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

/// A number as printed in report sentences and e-mails: rounded to `dp` decimals, trailing
/// zeros dropped, thousands grouped, negative with the minus sign `−` (U+2212):
/// `-5.1149` at 1 → `−5.1`.
pub fn rounded_grouped(v: Decimal, dp: u32) -> String {
    let v = v.round_dp(dp).normalize();
    let s = v.abs().to_string();
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    format!("{}{out}", if v.is_sign_negative() { "−" } else { "" })
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
        assert_eq!(grouped(dec!(-4400)), "-4,400");
        assert_eq!(grouped(dec!(999)), "999");
        assert_eq!(grouped(dec!(0.5)), "0.5");
    }

    #[test]
    fn money_serializes_as_a_decimal_string() {
        let json = serde_json::to_string(&Money::try_from(dec!(12.50)).unwrap()).unwrap();
        assert_eq!(json, "\"12.50\"");
        assert!(serde_json::from_str::<Money>("\"-3\"").is_err());
    }
}
