//! Computing a project's ROI from its stored measurements.

use chrono::NaiveDate;
use roi_domain::roi::RoiOptions;
use roi_domain::{Percentage, ProjectId, RoiCalculation, RoiError, SnapshotKind, SnapshotStatus};

use crate::store::{Store, StoreError};

/// Why no ROI was computed.
#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    /// The project does not exist.
    #[error("project '{0}' does not exist")]
    UnknownProject(ProjectId),
    /// No approved baseline.
    #[error("project '{0}' has no approved baseline; import one and run `roi baseline approve`")]
    NoApprovedBaseline(ProjectId),
    /// No ongoing measurement on or before the as-of date.
    #[error("project '{project}' has no ongoing measurement on or before {as_of}")]
    NoMeasurement {
        /// The project.
        project: ProjectId,
        /// The as-of date.
        as_of: NaiveDate,
    },
    /// The math refused (zero cost, as-of before go-live, …).
    #[error(transparent)]
    Roi(#[from] RoiError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What to compute; every field has a default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ComputeRequest {
    /// The as-of date (default: today in the client's time zone).
    pub as_of: Option<NaiveDate>,
    /// Months analysed (default: whole months since go-live, at least 1).
    pub months: Option<u32>,
    /// Annual discount rate of the NPV, percent (default 10 %).
    pub annual_discount_rate: Option<Percentage>,
}

/// Computes and stores the ROI of `project` per `request`, comparing the approved baseline
/// with the latest ongoing measurement on or before the as-of date. Recomputing the same
/// as-of date and period replaces the stored calculation.
///
/// # Errors
/// [`ComputeError`].
pub async fn compute_roi(
    store: &Store,
    project: &ProjectId,
    request: ComputeRequest,
) -> Result<RoiCalculation, ComputeError> {
    let ComputeRequest {
        as_of,
        months,
        annual_discount_rate,
    } = request;
    let p = store
        .project(project)
        .await?
        .ok_or_else(|| ComputeError::UnknownProject(project.clone()))?;
    let as_of = match as_of {
        Some(d) => d,
        None => store.client_today(store.client(&p.client_id).await?.as_ref()),
    };
    let snapshots = store.snapshots(project).await?;
    let baseline = snapshots
        .iter()
        .filter(|s| s.kind() == SnapshotKind::Baseline && s.status() == SnapshotStatus::Approved)
        .max_by_key(|s| s.measured_on())
        .ok_or_else(|| ComputeError::NoApprovedBaseline(project.clone()))?;
    let current = snapshots
        .iter()
        .filter(|s| s.kind() == SnapshotKind::Ongoing && s.measured_on() <= as_of)
        .max_by_key(|s| s.measured_on())
        .ok_or_else(|| ComputeError::NoMeasurement {
            project: project.clone(),
            as_of,
        })?;
    let mut options = RoiOptions::as_of(as_of);
    options.months = months;
    if let Some(rate) = annual_discount_rate {
        options.annual_discount_rate = rate;
    }
    let roi = RoiCalculation::compute(&p, baseline, current, &options)?;
    store.put_roi(&roi).await?;
    Ok(roi)
}
