//! Reports as the client's finance team reads them: the kinds of report (seed 000 §6.2;
//! seed 003 weekly summaries; seed 004 FR-016.4 one-page executive summary).

use serde::{Deserialize, Serialize};

mod data;
mod narrate;
mod period;

pub use data::{
    MetricRow, NamedAmount, Point, ReconciledRow, Reconciliation, RenderError, Rendered, Renderer,
    ReportData, ReportMeta, UsageSummary, UserCost, change, metric_label, metric_rows,
};
pub use narrate::narrate;
pub use period::{BadPeriod, DUE_WINDOW_DAYS, ReportPeriod, due_period};

/// The kinds of report (seed 000 §6.2; seed 003 weekly summaries; seed 004 FR-016.4
/// one-page executive summary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Weekly executive summary: the week against the week before.
    Weekly,
    /// Monthly progress report: the month against the baseline, trends, wins, next steps.
    Monthly,
    /// Quarterly business review: 90-day summary, cumulative ROI, recommendations.
    Quarterly,
    /// Annual ROI report: year over year, total value delivered.
    Annual,
    /// Executive one-pager: the month's headline figures on one page.
    Executive,
}

impl ReportKind {
    /// Every kind.
    pub const ALL: [ReportKind; 5] = [
        Self::Weekly,
        Self::Monthly,
        Self::Quarterly,
        Self::Annual,
        Self::Executive,
    ];

    /// Its name in keys, payloads and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
            Self::Quarterly => "quarterly",
            Self::Annual => "annual",
            Self::Executive => "executive",
        }
    }

    /// Its title on the cover and in the e-mail.
    pub fn title(self) -> &'static str {
        match self {
            Self::Weekly => "Weekly executive summary",
            Self::Monthly => "Monthly progress report",
            Self::Quarterly => "Quarterly business review",
            Self::Annual => "Annual ROI report",
            Self::Executive => "Executive summary",
        }
    }

    /// How its periods are written, for error messages and `--help`.
    pub fn period_form(self) -> &'static str {
        match self {
            Self::Weekly => "an ISO week such as 2026-W47",
            Self::Monthly | Self::Executive => "a month such as 2026-11",
            Self::Quarterly => "a quarter such as 2026-Q4",
            Self::Annual => "a year of operation such as year-1 (go-live to first anniversary)",
        }
    }
}

impl std::fmt::Display for ReportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a [`ReportKind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a report kind (weekly, monthly, quarterly, annual, executive)")]
pub struct UnknownReportKind(pub String);

impl std::str::FromStr for ReportKind {
    type Err = UnknownReportKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownReportKind(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::rounded_grouped as grouped;
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn periods_parse_in_each_form_and_refuse_others() {
        let go_live = d("2025-03-15");
        let p = |k, t| ReportPeriod::parse(k, t, go_live);
        let w = p(ReportKind::Weekly, "2026-W47").unwrap();
        assert_eq!((w.from, w.to), (d("2026-11-16"), d("2026-11-22")));
        let m = p(ReportKind::Monthly, "2026-02").unwrap();
        assert_eq!((m.from, m.to), (d("2026-02-01"), d("2026-02-28")));
        let q = p(ReportKind::Quarterly, "2026-Q4").unwrap();
        assert_eq!((q.from, q.to), (d("2026-10-01"), d("2026-12-31")));
        let y = p(ReportKind::Annual, "year-2").unwrap();
        assert_eq!((y.from, y.to), (d("2026-03-15"), d("2027-03-14")));
        for (k, t) in [
            (ReportKind::Weekly, "2026-47"),
            (ReportKind::Weekly, "2026-W54"),
            (ReportKind::Monthly, "2026-13"),
            (ReportKind::Monthly, "2026-1"),
            (ReportKind::Quarterly, "2026-Q5"),
            (ReportKind::Annual, "year-0"),
            (ReportKind::Annual, "2026"),
        ] {
            let e = p(k, t).unwrap_err().to_string();
            assert!(e.contains(t) && e.contains("such as"), "{e}");
        }
    }

    #[test]
    fn the_due_period_is_the_one_that_just_ended() {
        let go_live = d("2025-11-21");
        let due = |k, today: &str| due_period(k, d(today), go_live).map(|p| p.label);
        // Monday 2026-11-23: last week is due; on Friday it is too late
        assert_eq!(
            due(ReportKind::Weekly, "2026-11-23").as_deref(),
            Some("2026-W47")
        );
        assert_eq!(due(ReportKind::Weekly, "2026-11-27"), None);
        assert_eq!(
            due(ReportKind::Monthly, "2026-12-01").as_deref(),
            Some("2026-11")
        );
        assert_eq!(
            due(ReportKind::Executive, "2026-12-02").as_deref(),
            Some("2026-11")
        );
        assert_eq!(due(ReportKind::Monthly, "2026-12-15"), None);
        assert_eq!(
            due(ReportKind::Quarterly, "2027-01-01").as_deref(),
            Some("2026-Q4")
        );
        assert_eq!(due(ReportKind::Quarterly, "2026-12-01"), None);
        // the first anniversary, and not a day before
        assert_eq!(
            due(ReportKind::Annual, "2026-11-21").as_deref(),
            Some("year-1")
        );
        assert_eq!(due(ReportKind::Annual, "2026-11-20"), None);
        // nothing before go-live
        assert_eq!(
            due_period(ReportKind::Monthly, d("2025-11-01"), go_live),
            None
        );
    }

    #[test]
    fn the_previous_period_is_the_same_length_just_before() {
        let go_live = d("2025-03-15");
        let prev = |k, t| {
            ReportPeriod::parse(k, t, go_live)
                .unwrap()
                .previous(k, go_live)
                .map(|p| p.label)
        };
        assert_eq!(
            prev(ReportKind::Weekly, "2026-W01").as_deref(),
            Some("2025-W52")
        );
        assert_eq!(
            prev(ReportKind::Monthly, "2026-01").as_deref(),
            Some("2025-12")
        );
        assert_eq!(
            prev(ReportKind::Quarterly, "2026-Q1").as_deref(),
            Some("2025-Q4")
        );
        assert_eq!(
            prev(ReportKind::Annual, "year-2").as_deref(),
            Some("year-1")
        );
        assert_eq!(prev(ReportKind::Annual, "year-1"), None);
    }

    #[test]
    fn metric_names_read_as_words() {
        assert_eq!(
            metric_label("avg_task_completion_time"),
            "Average task completion time"
        );
        assert_eq!(metric_label("nps_score"), "Net Promoter Score (NPS)");
        assert_eq!(
            metric_label("ai_solution_cost"),
            "AI solution cost per month"
        );
        assert_eq!(metric_label("roi_percentage"), "ROI");
        for m in crate::Metric::ALL {
            assert_eq!(metric_label(m.name()), m.label(), "one label per metric");
        }
        assert_eq!(metric_label("error_rate_percentage"), "Error rate");
        assert_eq!(grouped(Decimal::new(4200000, 2), 2), "42,000");
        assert_eq!(grouped(Decimal::new(-51149, 4), 1), "−5.1");
    }
}
