//! Report periods: ISO weeks, months, quarters and years of operation, in the client's
//! calendar, and which one is due.

use chrono::{Datelike, Months, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use super::ReportKind;

/// A period that is not written in its kind's form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadPeriod(pub String);

/// The days a report covers, in the client's calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportPeriod {
    /// As written in keys and on the cover: `2026-W47`, `2026-11`, `2026-Q4`, `year-1`.
    pub label: String,
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
}

fn month_period(year: i32, month: u32) -> Option<ReportPeriod> {
    let from = NaiveDate::from_ymd_opt(year, month, 1)?;
    let to = from.checked_add_months(Months::new(1))?.pred_opt()?;
    Some(ReportPeriod {
        label: format!("{year:04}-{month:02}"),
        from,
        to,
    })
}

fn quarter_period(year: i32, quarter: u32) -> Option<ReportPeriod> {
    let from = NaiveDate::from_ymd_opt(year, 3 * (quarter - 1) + 1, 1)?;
    let to = from.checked_add_months(Months::new(3))?.pred_opt()?;
    Some(ReportPeriod {
        label: format!("{year:04}-Q{quarter}"),
        from,
        to,
    })
}

fn week_period(year: i32, week: u32) -> Option<ReportPeriod> {
    let from = NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)?;
    Some(ReportPeriod {
        label: format!("{year:04}-W{week:02}"),
        from,
        to: from + chrono::Days::new(6),
    })
}

fn year_period(go_live: NaiveDate, n: u32) -> Option<ReportPeriod> {
    let from = go_live.checked_add_months(Months::new(12 * (n - 1)))?;
    let to = go_live
        .checked_add_months(Months::new(12 * n))?
        .pred_opt()?;
    Some(ReportPeriod {
        label: format!("year-{n}"),
        from,
        to,
    })
}

impl ReportPeriod {
    /// Reads a period of `kind` as written by [`ReportKind::period_form`]; years of
    /// operation count from `go_live`.
    ///
    /// # Errors
    /// [`BadPeriod`] naming the expected form.
    pub fn parse(kind: ReportKind, text: &str, go_live: NaiveDate) -> Result<Self, BadPeriod> {
        let bad = || {
            BadPeriod(format!(
                "'{text}' is not a {} period: give {}",
                kind.name(),
                kind.period_form()
            ))
        };
        let num = |s: &str| s.parse::<u32>().ok();
        let parsed = match kind {
            ReportKind::Weekly => text.split_once("-W").and_then(|(y, w)| {
                week_period(y.parse().ok()?, num(w)?).filter(|p| p.label == text)
            }),
            ReportKind::Monthly | ReportKind::Executive => text
                .split_once('-')
                .and_then(|(y, m)| month_period(y.parse().ok()?, num(m)?))
                .filter(|p| p.label == text),
            ReportKind::Quarterly => text
                .split_once("-Q")
                .and_then(|(y, q)| {
                    quarter_period(y.parse().ok()?, num(q).filter(|q| (1..=4).contains(q))?)
                })
                .filter(|p| p.label == text),
            ReportKind::Annual => text
                .strip_prefix("year-")
                .and_then(num)
                .filter(|n| *n >= 1)
                .and_then(|n| year_period(go_live, n)),
        };
        parsed.ok_or_else(bad)
    }

    /// The last whole period of `kind` that ended before `today`; `None` for a year of
    /// operation not yet complete.
    pub fn last_complete(kind: ReportKind, today: NaiveDate, go_live: NaiveDate) -> Option<Self> {
        match kind {
            ReportKind::Weekly => {
                let d = today - chrono::Days::new(7);
                let w = d.iso_week();
                week_period(w.year(), w.week())
            }
            ReportKind::Monthly | ReportKind::Executive => {
                let d = today.with_day(1)?.pred_opt()?;
                month_period(d.year(), d.month())
            }
            ReportKind::Quarterly => {
                let d = today.checked_sub_months(Months::new(3))?;
                quarter_period(d.year(), d.month0() / 3 + 1)
            }
            ReportKind::Annual => {
                let years = crate::roi::whole_months_between(go_live, today) / 12;
                (years >= 1).then(|| year_period(go_live, years)).flatten()
            }
        }
    }

    /// The period of the same kind just before this one (week over week, month over month,
    /// quarter over quarter, year over year).
    pub fn previous(&self, kind: ReportKind, go_live: NaiveDate) -> Option<Self> {
        match kind {
            ReportKind::Annual => {
                let n: u32 = self.label.strip_prefix("year-")?.parse().ok()?;
                (n > 1).then(|| year_period(go_live, n - 1)).flatten()
            }
            _ => Self::last_complete(kind, self.from, go_live),
        }
    }

    /// Days covered.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
}

/// Days after a period's end during which the schedule still issues its report (so a
/// missed run is harmless).
pub const DUE_WINDOW_DAYS: i64 = 3;

/// The period of `kind` whose report is due on the client's `today`: the last complete one,
/// if it ended at most [`DUE_WINDOW_DAYS`] ago (weekly reports on Mondays, monthly and
/// executive on the 1st, quarterly after each quarter, annual on the go-live anniversary).
pub fn due_period(kind: ReportKind, today: NaiveDate, go_live: NaiveDate) -> Option<ReportPeriod> {
    ReportPeriod::last_complete(kind, today, go_live)
        .filter(|p| p.to >= go_live && (today - p.to).num_days() <= DUE_WINDOW_DAYS)
}
