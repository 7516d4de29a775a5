//! The window every date taken from input must fall in, so that date arithmetic on it
//! (weeks, months, the 30 days before a day, a year of periods) can never leave chrono's
//! range and panic.

use chrono::NaiveDate;

/// The first date accepted from input: 2000-01-01.
pub const FIRST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// The last date accepted from input: 2099-12-31.
pub const LAST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2099, 12, 31) {
    Some(d) => d,
    None => NaiveDate::MAX,
};

/// `date` when it lies in [`FIRST_DATE`]..=[`LAST_DATE`].
///
/// # Errors
/// A reason naming the window.
pub fn in_window(date: NaiveDate) -> Result<NaiveDate, String> {
    if (FIRST_DATE..=LAST_DATE).contains(&date) {
        Ok(date)
    } else {
        Err(format!(
            "{date} is outside the dates accepted, {FIRST_DATE} to {LAST_DATE}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_holds_its_ends_and_refuses_beyond() {
        assert!(in_window(FIRST_DATE).is_ok());
        assert!(in_window(LAST_DATE).is_ok());
        assert!(in_window(NaiveDate::MAX).is_err());
        let far: NaiveDate = "+262142-12-31".parse().unwrap();
        assert!(in_window(far).unwrap_err().contains("outside"));
        assert!(in_window(FIRST_DATE.pred_opt().unwrap()).is_err());
    }
}
