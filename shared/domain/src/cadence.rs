//! When measurements are due after go-live (seed 000 §5.1 schedule, §5.2 milestones).
//!
//! From the go-live date G:
//! - weekly in weeks 1–4: G + 7, 14, 21, 28 days;
//! - bi-weekly in weeks 5–12: G + 42, 56, 70, 84 days;
//! - monthly in months 4–6: G + 3, 4, 5, 6 calendar months (the month-3 date is the first
//!   formal ROI calculation, §3.2 step 8);
//! - quarterly after: G + 9, 12, 15, … months.
//!
//! Milestones (§5.2): week 2, week 4, month 3, month 6 and month 12 (then every 12 months)
//! are marked on the due date that falls on them.

use chrono::{Days, Months, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::client::Project;
use crate::snapshot::{MetricSnapshot, SnapshotKind};

/// The seed 000 §5.1 phase a due date belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Weeks 1–4, weekly.
    EarlyDeployment,
    /// Weeks 5–12, bi-weekly.
    Stabilization,
    /// Months 4–6, monthly.
    Optimization,
    /// Month 7 on, quarterly.
    MatureState,
}

/// A must-track milestone (seed 000 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    /// Week 2: early adoption check.
    EarlyAdoptionCheck,
    /// Week 4: first impact assessment.
    FirstImpactAssessment,
    /// Month 3: first formal ROI calculation.
    FirstRoiCalculation,
    /// Month 6: mid-term ROI report.
    MidTermRoiReport,
    /// Month 12 (and each anniversary): annual ROI report.
    AnnualRoiReport,
}

/// One measurement due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueMeasurement {
    /// The day the measurement is due.
    pub due_on: NaiveDate,
    /// Its phase.
    pub phase: Phase,
    /// The milestone it marks, if any.
    pub milestone: Option<Milestone>,
}

/// The due dates in `from..=to`, in order, for a project that went live on `go_live`.
pub fn due_dates(go_live: NaiveDate, from: NaiveDate, to: NaiveDate) -> Vec<DueMeasurement> {
    let mut out = Vec::new();
    let mut push = |due: Option<NaiveDate>, phase, milestone| {
        if let Some(due_on) = due.filter(|d| *d >= from && *d <= to) {
            out.push(DueMeasurement {
                due_on,
                phase,
                milestone,
            });
        }
    };
    for week in [1u64, 2, 3, 4] {
        let milestone = match week {
            2 => Some(Milestone::EarlyAdoptionCheck),
            4 => Some(Milestone::FirstImpactAssessment),
            _ => None,
        };
        push(
            go_live.checked_add_days(Days::new(7 * week)),
            Phase::EarlyDeployment,
            milestone,
        );
    }
    for week in [6u64, 8, 10, 12] {
        push(
            go_live.checked_add_days(Days::new(7 * week)),
            Phase::Stabilization,
            None,
        );
    }
    for month in 3u32..=6 {
        let milestone = match month {
            3 => Some(Milestone::FirstRoiCalculation),
            6 => Some(Milestone::MidTermRoiReport),
            _ => None,
        };
        push(
            go_live.checked_add_months(Months::new(month)),
            Phase::Optimization,
            milestone,
        );
    }
    let mut month = 9u32;
    while let Some(due) = go_live
        .checked_add_months(Months::new(month))
        .filter(|d| *d <= to)
    {
        let milestone = month
            .is_multiple_of(12)
            .then_some(Milestone::AnnualRoiReport);
        push(Some(due), Phase::MatureState, milestone);
        month += 3;
    }
    out
}

/// How well a project is measured (seed 000 §10 "track the tracker").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Tracking {
    /// Measurements due up to three days ago (their follow-up window has opened).
    pub due_so_far: u32,
    /// Of those, how many were submitted.
    pub submitted: u32,
    /// Of those, how many were recorded by their due day.
    pub on_time: u32,
    /// submitted / due, percent; `None` before anything was due.
    pub completeness_percentage: Option<Decimal>,
    /// on time / submitted, percent; `None` before anything was submitted.
    pub timeliness_percentage: Option<Decimal>,
}

/// Completeness and timeliness of a project's measurements on `today`.
pub fn tracking(project: &Project, snapshots: &[MetricSnapshot], today: NaiveDate) -> Tracking {
    let last = today - chrono::Days::new(3);
    let dues = if last < project.go_live_date {
        Vec::new()
    } else {
        due_dates(project.go_live_date, project.go_live_date, last)
    };
    let (mut submitted, mut on_time) = (0u32, 0u32);
    for d in &dues {
        let (from, to) = (
            d.due_on - chrono::Days::new(7),
            d.due_on + chrono::Days::new(3),
        );
        let found = snapshots
            .iter()
            .filter(|s| s.kind() == SnapshotKind::Ongoing && (from..=to).contains(&s.measured_on()))
            .min_by_key(|s| s.recorded_at());
        if let Some(s) = found {
            submitted += 1;
            if s.recorded_at().date_naive() <= d.due_on {
                on_time += 1;
            }
        }
    }
    let due = u32::try_from(dues.len()).unwrap_or(u32::MAX);
    let pct = |n: u32, of: u32| {
        (of > 0).then(|| (Decimal::from(n) * Decimal::ONE_HUNDRED / Decimal::from(of)).round_dp(1))
    };
    Tracking {
        due_so_far: due,
        submitted,
        on_time,
        completeness_percentage: pct(submitted, due),
        timeliness_percentage: pct(on_time, submitted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_first_year_follows_the_seed_schedule() {
        let dates: Vec<String> = due_dates(d("2025-01-01"), d("2025-01-01"), d("2026-01-01"))
            .iter()
            .map(|m| m.due_on.to_string())
            .collect();
        assert_eq!(
            dates,
            [
                "2025-01-08",
                "2025-01-15",
                "2025-01-22",
                "2025-01-29", // weekly
                "2025-02-12",
                "2025-02-26",
                "2025-03-12",
                "2025-03-26", // bi-weekly
                "2025-04-01",
                "2025-05-01",
                "2025-06-01",
                "2025-07-01", // monthly
                "2025-10-01",
                "2026-01-01", // quarterly
            ]
        );
    }

    #[test]
    fn milestones_fall_on_week_2_week_4_month_3_month_6_and_month_12() {
        let all = due_dates(d("2025-01-31"), d("2025-01-01"), d("2027-03-01"));
        let marked: Vec<(String, Milestone)> = all
            .iter()
            .filter_map(|m| Some((m.due_on.to_string(), m.milestone?)))
            .collect();
        assert_eq!(
            marked,
            [
                ("2025-02-14".into(), Milestone::EarlyAdoptionCheck),
                ("2025-02-28".into(), Milestone::FirstImpactAssessment),
                ("2025-04-30".into(), Milestone::FirstRoiCalculation), // month ends clamp
                ("2025-07-31".into(), Milestone::MidTermRoiReport),
                ("2026-01-31".into(), Milestone::AnnualRoiReport),
                ("2027-01-31".into(), Milestone::AnnualRoiReport),
            ]
        );
    }

    #[test]
    fn a_range_returns_only_the_dates_inside_it() {
        let got = due_dates(d("2025-01-01"), d("2025-03-01"), d("2025-03-31"));
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|m| m.phase == Phase::Stabilization));
        assert!(due_dates(d("2025-01-01"), d("2024-01-01"), d("2024-12-31")).is_empty());
    }
}
