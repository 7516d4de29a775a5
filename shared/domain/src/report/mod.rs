//! Reports as the client's finance team reads them: the kinds of report (seed 000 §6.2;
//! seed 003 weekly summaries; seed 004 FR-016.4 one-page executive summary).

use serde::{Deserialize, Serialize};

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
