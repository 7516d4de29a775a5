//! Reports (issue 6; seed 000 §6.2, seed 003 weekly summaries, seed 004 FR-016.4): what a
//! report says, gathered from the store ([`assemble`]); issuing it once per input
//! ([`issue`]): rendered by a [`Renderer`] (the `roi-reports` crate: typst, charts,
//! CSV / XLSX), stored in the [`BlobStore`](roi_domain::ports::BlobStore), recorded, and e-mailed as a signed link
//! ([`ReportLinks`]) that `GET /r/{token}` (`crate::http::links`) redeems.
//!
//! Keys: the PDF is `reports/{client}/{project}/{kind}/{period}/v{n}.pdf` (CSV and XLSX
//! beside it); the record is `PROJECT#{project}` / `REPORT#{kind}#{period}#v{n:03}` with the
//! SHA-256 digest of the report data. Issuing again with the same data does nothing;
//! changed data (a late correction) issues `v{n+1}` marked restated.

mod assemble;
mod email;
mod issue;
mod links;
mod review;
mod schedule;

pub use assemble::assemble;
pub use email::report_email;
pub use issue::{AUTO_SEND, Issued, ReportRecord, ReportServices, issue, recipients};
pub use links::{
    LINK_DAYS, LinkRecord, OpenError, PRESIGNED_FOR, ReportLinkClaims, ReportLinks, open,
    revoke_links,
};
pub use review::{MAX_REASON_CHARS, ReportRef, ReviewError, approve, withdraw};
pub use schedule::{ISSUE_FROM_HOUR, ReportJob, ReportRun, run};

use roi_domain::ProjectId;
use roi_domain::ports::BlobError;
pub use roi_domain::report::{
    BadPeriod, DUE_WINDOW_DAYS, MetricRow, NamedAmount, Point, RenderError, Rendered, Renderer,
    ReportData, ReportKind, ReportMeta, ReportPeriod, UnknownReportKind, UsageSummary, UserCost,
    due_period, metric_label,
};

use crate::store::StoreError;

/// Why a report was not issued or a link not redeemed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The request names something that cannot be (a bad kind or period).
    #[error("{0}")]
    BadRequest(String),
    /// The project does not exist.
    #[error("project '{0}' does not exist")]
    UnknownProject(ProjectId),
    /// The period ends before go-live or has not ended yet.
    #[error("{0}")]
    NotReportable(String),
    /// Rendering failed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// Blob storage failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The roll-ups could not be read.
    #[error(transparent)]
    Rollup(#[from] crate::rollup::RollupError),
}

impl From<BadPeriod> for ReportError {
    fn from(e: BadPeriod) -> Self {
        ReportError::BadRequest(e.to_string())
    }
}

impl From<UnknownReportKind> for ReportError {
    fn from(e: UnknownReportKind) -> Self {
        ReportError::BadRequest(e.to_string())
    }
}
