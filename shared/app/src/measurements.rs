//! Recording measurements: importing baseline and tracking files, approving a baseline.
//!
//! An import is all or nothing as far as validation goes: every row and every snapshot is
//! checked before the first write, and a file with any problem stores nothing. Writes are
//! idempotent (deterministic snapshot ids), so an import interrupted half-way is finished
//! by running it again.

use roi_domain::project_kpi::KpiSet;
use roi_domain::snapshot::{ApproveError, SnapshotContext};
use roi_domain::{MetricSnapshot, Project, ProjectId, SnapshotKind, SnapshotStatus};
use serde::Serialize;

use crate::csv_import::{self, ImportErrors, LineError, ParsedSnapshot, Template};
use crate::store::{
    AuditEntry, KpiValueRecord, Store, StoreError, Written, current_baseline, measurement_before,
};

/// Why an import stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The project does not exist.
    #[error("project '{0}' does not exist; add it with `roi project add` first")]
    UnknownProject(ProjectId),
    /// The file has problems; each names its line.
    #[error("{0}")]
    File(ImportErrors),
    /// Ongoing measurements need a baseline to follow.
    #[error("project '{0}' has no baseline yet; import the baseline first")]
    NoBaseline(ProjectId),
    /// The approved baseline cannot be replaced.
    #[error("{0}")]
    Locked(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an import did, per snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    /// Each snapshot and what happened to it.
    pub snapshots: Vec<(MetricSnapshot, Written)>,
    /// What was imported anyway but should be checked, with its line.
    pub warnings: Vec<LineError>,
    /// Measured KPI values stored (tracking files).
    pub kpi_values: usize,
}

async fn load_project(store: &Store, project: &ProjectId) -> Result<Project, ImportError> {
    store
        .project(project)
        .await?
        .ok_or_else(|| ImportError::UnknownProject(project.clone()))
}

fn invalid(parsed: &ParsedSnapshot, e: &roi_domain::ValidationErrors) -> Vec<LineError> {
    e.errors()
        .iter()
        .map(|f| LineError {
            line: parsed.line_of(&f.field),
            field: f.field.clone(),
            reason: f.reason.clone(),
        })
        .collect()
}

/// Imports a `baseline-snapshot.csv` for `project`. The baseline is stored as `submitted`;
/// importing it again unchanged does nothing; a changed file replaces a submitted baseline
/// (a correction) but never an approved one.
///
/// # Errors
/// [`ImportError`]; on any error nothing is stored.
pub async fn import_baseline(
    store: &Store,
    project: &ProjectId,
    bytes: &[u8],
    actor: &str,
) -> Result<Imported, ImportError> {
    let project = load_project(store, project).await?;
    let parsed = csv_import::parse(Template::Baseline, &project.id, &KpiSet::default(), bytes)
        .map_err(ImportError::File)?;
    let now = store.clock().now();
    let mut errors = Vec::new();
    let mut snapshots = Vec::new();
    for p in &parsed {
        match p.draft.clone().validate(SnapshotContext::default(), now) {
            Ok(s) => snapshots.push(s),
            Err(e) => errors.extend(invalid(p, &e)),
        }
    }
    if !errors.is_empty() {
        return Err(ImportError::File(ImportErrors(errors)));
    }
    let existing = store.snapshots(&project.id).await?;
    let approved = existing
        .iter()
        .find(|s| s.kind() == SnapshotKind::Baseline && s.status() == SnapshotStatus::Approved);
    if let Some(approved) = approved
        && snapshots.iter().any(|s| !s.same_measurement(approved))
    {
        return Err(ImportError::Locked(format!(
            "project '{}' has an approved baseline of {}; it is locked and cannot be replaced",
            project.id,
            approved.measured_on()
        )));
    }
    let mut out = Vec::new();
    for s in snapshots {
        let written = store.put_snapshot(&s).await.map_err(|e| match e {
            StoreError::Locked(m) => ImportError::Locked(m),
            e => ImportError::Store(e),
        })?;
        // A submitted baseline of another date is superseded by this one.
        for old in existing.iter().filter(|o| {
            o.kind() == SnapshotKind::Baseline
                && o.status() == SnapshotStatus::Submitted
                && o.id() != s.id()
        }) {
            store.remove_snapshot(old).await?;
        }
        audit(store, &project, &s, written, actor).await?;
        out.push((s, written));
    }
    Ok(Imported {
        snapshots: out,
        warnings: parsed.into_iter().flat_map(|p| p.warnings).collect(),
        kpi_values: 0,
    })
}

/// Imports a `monthly-tracking.csv` for `project`: one ongoing snapshot per date, each
/// validated against the baseline date and compared with the measurement before it
/// (> 50 % moves are marked `needs_review`). A date already stored with other values is
/// replaced and audited as a correction.
///
/// # Errors
/// [`ImportError`]; on any validation error nothing is stored.
pub async fn import_tracking(
    store: &Store,
    project: &ProjectId,
    bytes: &[u8],
    actor: &str,
) -> Result<Imported, ImportError> {
    let project = load_project(store, project).await?;
    let kpis = crate::project_kpis::definitions(store, &project.id).await?;
    let parsed = csv_import::parse(Template::Tracking, &project.id, &kpis, bytes)
        .map_err(ImportError::File)?;
    let existing = store.snapshots(&project.id).await?;
    let baseline = current_baseline(&existing)
        .cloned()
        .ok_or_else(|| ImportError::NoBaseline(project.id.clone()))?;
    let now = store.clock().now();
    let mut errors = Vec::new();
    let mut snapshots: Vec<MetricSnapshot> = Vec::new();
    for p in parsed
        .iter()
        .filter(|p| !p.draft.values.is_empty() || p.kpi_values.is_empty())
    {
        let date = p.draft.measured_on;
        // The measurement before this one: from this file if it holds one, else the store.
        let previous = snapshots
            .last()
            .filter(|s| s.measured_on() < date)
            .or_else(|| measurement_before(&existing, date))
            .cloned();
        let ctx = SnapshotContext {
            baseline_date: Some(baseline.measured_on()),
            previous: previous.as_ref(),
        };
        match p.draft.clone().validate(ctx, now) {
            Ok(s) => snapshots.push(s),
            Err(e) => errors.extend(invalid(p, &e)),
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Err(ImportError::File(ImportErrors(errors)));
    }
    let mut out = Vec::new();
    for s in snapshots {
        let written = store.put_snapshot(&s).await?;
        audit(store, &project, &s, written, actor).await?;
        out.push((s, written));
    }
    let mut kpi_values = 0;
    for p in &parsed {
        for (kpi, value) in &p.kpi_values {
            store
                .put_kpi_value(
                    &project.id,
                    &KpiValueRecord {
                        kpi: kpi.clone(),
                        on: p.draft.measured_on,
                        value: value.normalize(),
                        source: "csv".into(),
                        recorded_at: now,
                    },
                )
                .await?;
            kpi_values += 1;
        }
    }
    Ok(Imported {
        snapshots: out,
        warnings: parsed.into_iter().flat_map(|p| p.warnings).collect(),
        kpi_values,
    })
}

async fn audit(
    store: &Store,
    project: &Project,
    s: &MetricSnapshot,
    written: Written,
    actor: &str,
) -> Result<(), StoreError> {
    let action = match written {
        Written::Unchanged => return Ok(()),
        Written::Created => format!("{}_recorded", s.kind()),
        Written::Corrected => format!("{}_corrected", s.kind()),
    };
    let entry = AuditEntry {
        at: store.clock().now(),
        action,
        actor: actor.into(),
        project_id: Some(project.id.clone()),
        detail: format!(
            "snapshot {} of {} ({} values)",
            s.id(),
            s.measured_on(),
            s.values().len()
        ),
    };
    store.audit(&project.client_id, &entry).await
}

/// Why a baseline could not be approved.
#[derive(Debug, thiserror::Error)]
pub enum ApproveBaselineError {
    /// The project does not exist.
    #[error("project '{0}' does not exist")]
    UnknownProject(ProjectId),
    /// There is no baseline to approve.
    #[error("project '{0}' has no baseline; import one with `roi import baseline`")]
    NoBaseline(ProjectId),
    /// The baseline is approved already.
    #[error(transparent)]
    Approve(#[from] ApproveError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Approves the project's submitted baseline, locking it.
///
/// # Errors
/// [`ApproveBaselineError`]; approving an approved baseline is
/// [`ApproveError::AlreadyApproved`].
pub async fn approve_baseline(
    store: &Store,
    project: &ProjectId,
    actor: &str,
) -> Result<MetricSnapshot, ApproveBaselineError> {
    let p = store
        .project(project)
        .await?
        .ok_or_else(|| ApproveBaselineError::UnknownProject(project.clone()))?;
    let snapshots = store.snapshots(project).await?;
    let mut baseline = current_baseline(&snapshots)
        .cloned()
        .ok_or_else(|| ApproveBaselineError::NoBaseline(project.clone()))?;
    let now = store.clock().now();
    baseline.approve(now)?;
    store.put_approved_baseline(&baseline).await?;
    let entry = AuditEntry {
        at: now,
        action: "baseline_approved".into(),
        actor: actor.into(),
        project_id: Some(project.clone()),
        detail: format!("baseline {} of {}", baseline.id(), baseline.measured_on()),
    };
    store.audit(&p.client_id, &entry).await?;
    Ok(baseline)
}

/// Why a measurement's review was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum ReviewMeasurementError {
    /// The project does not exist.
    #[error("project '{0}' does not exist")]
    UnknownProject(ProjectId),
    /// No measurement of the project has this id.
    #[error("project '{0}' has no measurement '{1}'")]
    UnknownMeasurement(ProjectId, String),
    /// Not under review, or a rejection without a reason.
    #[error(transparent)]
    Decision(#[from] roi_domain::snapshot::ReviewDecisionError),
    /// Storage failed, or another person decided first ([`StoreError::Conflict`]).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Records a person's decision on a measurement that needs review (seed 000 §9.2, > 50 %
/// moves): confirmed, it stands; rejected (with a reason), it stops feeding ROI. The
/// decision is audited (`measurement_confirmed` / `measurement_rejected`) and the
/// project's ROI is computed again at once.
///
/// # Errors
/// [`ReviewMeasurementError`].
pub async fn review_measurement(
    store: &Store,
    project: &ProjectId,
    snapshot_id: &str,
    confirmed: bool,
    reason: &str,
    actor: &str,
) -> Result<MetricSnapshot, ReviewMeasurementError> {
    let p = store
        .project(project)
        .await?
        .ok_or_else(|| ReviewMeasurementError::UnknownProject(project.clone()))?;
    let mut snapshot = store
        .snapshots(project)
        .await?
        .into_iter()
        .find(|s| s.id().as_str() == snapshot_id)
        .ok_or_else(|| {
            ReviewMeasurementError::UnknownMeasurement(project.clone(), snapshot_id.into())
        })?;
    let now = store.clock().now();
    snapshot.decide(roi_domain::snapshot::ReviewNote {
        confirmed,
        by: actor.into(),
        at: now,
        reason: reason.into(),
    })?;
    store.put_reviewed_measurement(&snapshot).await?;
    let entry = AuditEntry {
        at: now,
        action: if confirmed {
            "measurement_confirmed"
        } else {
            "measurement_rejected"
        }
        .into(),
        actor: actor.into(),
        project_id: Some(project.clone()),
        detail: format!(
            "measurement {} of {}{}",
            snapshot.id(),
            snapshot.measured_on(),
            snapshot
                .reviewed()
                .filter(|n| !n.reason.is_empty())
                .map(|n| format!(": {}", n.reason))
                .unwrap_or_default()
        ),
    };
    store.audit(&p.client_id, &entry).await?;
    if let Err(e) = crate::compute::recompute_project(store, &p).await {
        // the daily job computes it again; the decision is stored
        tracing::warn!(%project, error = %e, "recomputing after a review failed");
    }
    Ok(snapshot)
}
