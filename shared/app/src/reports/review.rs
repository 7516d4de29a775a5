//! Review before delivery (issue 15; seed 000 §9.2): a report is issued as a draft, its
//! account manager is told, and an operator approves it (then the client's recipients get
//! it) or withdraws it with a reason. A client whose settings say `auto_send_reports`
//! skips the review.

use roi_domain::ProjectId;

use super::issue::deliver;
use super::{ReportData, ReportError, ReportKind, ReportRecord, ReportServices, assemble};
use crate::store::{AuditEntry, Review, StoreError};

/// The longest reason a withdrawal may give, characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Which version of which report a review names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRef {
    /// The project.
    pub project: ProjectId,
    /// The kind.
    pub kind: ReportKind,
    /// The period's label (`2026-10`, `2026-W47`, `2026-Q3`, `year-1`).
    pub period: String,
    /// The version; the latest when `None`.
    pub version: Option<u32>,
}

impl std::fmt::Display for ReportRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} of {}", self.kind, self.period, self.project)?;
        if let Some(v) = self.version {
            write!(f, " v{v}")?;
        }
        Ok(())
    }
}

/// Why a review was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// No such report version.
    #[error("there is no report {0}")]
    NotFound(ReportRef),
    /// The version was withdrawn: it cannot be approved.
    #[error("{0} was withdrawn; issue it again to review new figures")]
    Withdrawn(String),
    /// A later version replaces this one.
    #[error("{0} is replaced by v{1}; review that version")]
    Superseded(String, u32),
    /// The reason is empty or too long.
    #[error("a withdrawal needs a reason of 1 to {MAX_REASON_CHARS} characters")]
    BadReason,
    /// Issuing, storage or delivery failed.
    #[error(transparent)]
    Report(#[from] ReportError),
}

impl From<StoreError> for ReviewError {
    fn from(e: StoreError) -> Self {
        ReviewError::Report(e.into())
    }
}

/// The version `r` names, with the latest version of its report.
async fn find(
    services: &ReportServices,
    r: &ReportRef,
) -> Result<(ReportRecord, u32), ReviewError> {
    let versions = services
        .store
        .report_versions(&r.project, r.kind, &r.period)
        .await?;
    let latest = versions.last().map_or(0, |l| l.version);
    let found = match r.version {
        Some(v) => versions.into_iter().find(|x| x.version == v),
        None => versions.into_iter().last(),
    };
    found
        .map(|f| (f, latest))
        .ok_or_else(|| ReviewError::NotFound(r.clone()))
}

fn label(record: &ReportRecord) -> String {
    format!(
        "{} {} of {} v{}",
        record.kind, record.period, record.project_id, record.version
    )
}

/// The data a version was rendered from: its stored JSON, else (a version issued before
/// the JSON was kept) assembled again.
async fn data_of(
    services: &ReportServices,
    record: &ReportRecord,
) -> Result<ReportData, ReviewError> {
    if let Some(blob) = services
        .blobs
        .get(&record.data_key())
        .await
        .map_err(ReportError::from)?
        && let Ok(data) = serde_json::from_slice::<ReportData>(&blob.bytes)
    {
        return Ok(data);
    }
    let go_live = services
        .store
        .project(&record.project_id)
        .await?
        .ok_or_else(|| ReportError::UnknownProject(record.project_id.clone()))?
        .go_live_date;
    let period = roi_domain::report::ReportPeriod::parse(record.kind, &record.period, go_live)
        .map_err(ReportError::from)?;
    Ok(assemble(&services.store, &record.project_id, record.kind, &period).await?)
}

/// Approves a draft: records who approved it and when, audits `report_approved`, and
/// e-mails the signed link to the client's recipients. Approving an approved version
/// again only completes its delivery if that failed.
///
/// # Errors
/// [`ReviewError`]: unknown, withdrawn or superseded versions are refused.
pub async fn approve(
    services: &ReportServices,
    r: &ReportRef,
    actor: &str,
) -> Result<ReportRecord, ReviewError> {
    let (mut record, latest) = find(services, r).await?;
    match record.review {
        Review::Withdrawn => return Err(ReviewError::Withdrawn(label(&record))),
        _ if record.version < latest => {
            return Err(ReviewError::Superseded(label(&record), latest));
        }
        Review::Approved if record.delivered => return Ok(record),
        Review::Approved => {}
        Review::Draft => {
            record.review = Review::Approved;
            record.reviewed_by = Some(actor.to_owned());
            record.reviewed_at = Some(services.store.clock().now());
            services.store.update_report(&record).await?;
            audit(services, &record, actor, "report_approved", String::new()).await?;
        }
    }
    let data = data_of(services, &record).await?;
    deliver(services, &mut record, &data).await?;
    summarise(services, &record.project_id).await;
    Ok(record)
}

/// Withdraws a version with a reason: it is never e-mailed, its links (if it was sent)
/// stop working, and `report_withdrawn` is audited with the reason.
///
/// # Errors
/// [`ReviewError::BadReason`] for an empty or overlong reason; [`ReviewError::NotFound`].
pub async fn withdraw(
    services: &ReportServices,
    r: &ReportRef,
    actor: &str,
    reason: &str,
) -> Result<ReportRecord, ReviewError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ReviewError::BadReason);
    }
    let (mut record, _) = find(services, r).await?;
    if record.review == Review::Withdrawn {
        return Ok(record);
    }
    record.review = Review::Withdrawn;
    record.reviewed_by = Some(actor.to_owned());
    record.reviewed_at = Some(services.store.clock().now());
    record.withdraw_reason = Some(reason.to_owned());
    services.store.update_report(&record).await?;
    let this = format!("{}/{}/v{}", record.kind, record.period, record.version);
    for mut link in services.store.report_links_of(&record.project_id).await? {
        if link.report == this && !link.revoked {
            link.revoked = true;
            services.store.put_report_link(&link).await?;
        }
    }
    audit(
        services,
        &record,
        actor,
        "report_withdrawn",
        format!(": {reason}"),
    )
    .await?;
    summarise(services, &record.project_id).await;
    Ok(record)
}

/// Refreshes the project's portfolio summary; a failure is logged (the daily job refreshes
/// it again).
pub(super) async fn summarise(services: &ReportServices, project: &ProjectId) {
    if let Err(e) = crate::console::summary::refresh(&services.store, project).await {
        tracing::warn!(%project, error = %e, "the portfolio summary was not refreshed");
    }
}

async fn audit(
    services: &ReportServices,
    record: &ReportRecord,
    actor: &str,
    action: &str,
    detail: String,
) -> Result<(), StoreError> {
    services
        .store
        .audit(
            &record.client_id,
            &AuditEntry {
                at: services.store.clock().now(),
                action: action.into(),
                actor: actor.into(),
                project_id: Some(record.project_id.clone()),
                detail: format!(
                    "{} {} v{}{detail}",
                    record.kind, record.period, record.version
                ),
            },
        )
        .await
}

/// Tells the account manager (the client's `account_manager_email`) that a draft waits
/// for review, with its headline figures and the console page to review it on, and marks
/// the draft announced. Without an account manager the draft waits in the console's
/// portfolio; a failed e-mail is retried by the next scheduled run.
///
/// # Errors
/// [`ReportError::Store`].
pub(super) async fn announce_draft(
    services: &ReportServices,
    record: &mut ReportRecord,
    data: &ReportData,
) -> Result<(), ReportError> {
    let store = &services.store;
    let settings = store.settings(&record.client_id).await?;
    let Some(am) = settings.account_manager_email else {
        tracing::warn!(project = %record.project_id, "a draft report has no account manager to tell");
        return Ok(());
    };
    let url = format!(
        "{}/console/projects/{}#reports",
        services.links.base_url, record.project_id
    );
    let headline = match &data.roi {
        Some(r) => format!(
            "ROI since go-live {} %, payback {}.",
            r.roi_percentage.round_dp(1),
            r.payback_period_months
                .map_or("not yet in sight".into(), |m| format!(
                    "{} months",
                    m.round_dp(1)
                ))
        ),
        None => "ROI is not computable yet for this period.".into(),
    };
    let text = format!(
        "A draft {title} for {client}, {project}, {period} (v{v}) waits for your review.\n\n{headline}\n\nReview it, then approve it to send it to the client, or withdraw it with a reason:\n{url}\n",
        title = data.title,
        client = data.client_name,
        project = data.project_name,
        period = record.period,
        v = record.version,
    );
    let email = roi_domain::ports::Email {
        from: services.mail_from.clone(),
        to: vec![am],
        subject: format!(
            "Draft to review: {} — {} {}",
            data.client_name, data.title, record.period
        ),
        html: crate::templates::notice_html(&text),
        text,
    };
    if let Err(e) = services.mailer.send(&email).await {
        tracing::warn!(error = %e, project = %record.project_id, "the draft notice failed");
        return Ok(());
    }
    record.draft_notified = true;
    store.update_report(record).await?;
    Ok(())
}
