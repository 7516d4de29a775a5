//! Issuing a report: render once per input, store, record, e-mail a link.

use std::sync::Arc;

use roi_domain::ports::BlobStore;
use roi_domain::{ClientId, ProjectId};
use serde::Serialize;

use super::{
    Renderer, ReportData, ReportError, ReportKind, ReportLinks, ReportMeta, ReportPeriod, assemble,
    report_email,
};
use crate::Store;
pub use crate::store::ReportRecord;
use crate::store::{AuditEntry, Review, StoreError};

impl ReportRecord {
    /// The blob key prefix `reports/{client}/{project}/{kind}/{period}/v{n}`.
    pub fn key_prefix(
        client: &ClientId,
        project: &ProjectId,
        kind: ReportKind,
        period: &str,
        version: u32,
    ) -> String {
        format!("reports/{client}/{project}/{kind}/{period}/v{version}")
    }
}

/// What [`issue`] needs.
#[derive(Clone)]
pub struct ReportServices {
    /// Records.
    pub store: Store,
    /// Where PDFs and exports go (S3 on AWS).
    pub blobs: Arc<dyn BlobStore>,
    /// E-mail (SES v2 on AWS).
    pub mailer: Arc<dyn roi_domain::ports::Mailer>,
    /// The sender address of report e-mails (a verified SES identity on AWS).
    pub mail_from: String,
    /// Signs the e-mailed links.
    pub links: ReportLinks,
}

impl std::fmt::Debug for ReportServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportServices")
            .field("links", &self.links)
            .finish_non_exhaustive()
    }
}

/// What [`issue`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issued {
    /// The record of the version in force.
    pub record: ReportRecord,
    /// Whether this call issued it (false: the stored version already had this data).
    pub new: bool,
    /// Whether this call e-mailed it to the client's recipients.
    pub emailed: bool,
}

/// Who receives a report of `kind` (seed 003: weekly summaries to executives): the
/// client's report recipients get every kind; the account manager gets monthly,
/// quarterly and annual reports.
pub fn recipients(
    client: &roi_domain::Client,
    settings: &crate::settings::ClientSettings,
    kind: ReportKind,
) -> Vec<String> {
    let mut to = client.report_recipients.clone();
    if matches!(
        kind,
        ReportKind::Monthly | ReportKind::Quarterly | ReportKind::Annual
    ) && let Some(am) = &settings.account_manager_email
        && !to.contains(am)
    {
        to.push(am.clone());
    }
    to
}

/// Issues the report of `kind` for `project` over `period` (once the period has ended in
/// the client's time zone): assembles its data; when the
/// latest stored version has the same digest, does nothing more (but completes what that
/// version's first run did not finish); otherwise renders it, stores the PDF, CSV, XLSX
/// and its data (JSON) under `reports/{client}/{project}/{kind}/{period}/v{n}.*`, records
/// version `n` (a conditional write: two concurrent issues cannot both take `n`), and
/// audits it. Then, when the client auto-sends reports, it e-mails a signed link to the
/// recipients; otherwise the version is a *draft*: the account manager is told, and
/// [`approve`](super::approve) sends it (issue 15). Every step is safe to retry.
///
/// # Errors
/// [`ReportError`].
pub async fn issue(
    services: &ReportServices,
    renderer: &dyn Renderer,
    project: &ProjectId,
    kind: ReportKind,
    period: &ReportPeriod,
) -> Result<Issued, ReportError> {
    let store = &services.store;
    refuse_open_period(store, project, period).await?;
    let data = assemble(store, project, kind, period).await?;
    let digest = data.digest();
    let versions = store.report_versions(project, kind, &period.label).await?;
    let latest = versions.last();
    if let Some(l) = latest
        && l.digest == digest
    {
        // This version is claimed already: complete what its first run did not finish.
        return complete(services, renderer, &data, l.clone()).await;
    }
    let version = latest.map_or(1, |l| l.version + 1);
    let prefix = ReportRecord::key_prefix(&data.client_id, project, kind, &period.label, version);
    let mut record = ReportRecord {
        client_id: data.client_id.clone(),
        project_id: project.clone(),
        kind,
        period: period.label.clone(),
        version,
        restated: version > 1,
        digest,
        issued_at: store.clock().now(),
        pdf_key: format!("{prefix}.pdf"),
        csv_key: format!("{prefix}.csv"),
        xlsx_key: format!("{prefix}.xlsx"),
        delivered: false,
        recipients: 0,
        files_written: false,
        review: Review::Draft,
        reviewed_by: None,
        reviewed_at: None,
        withdraw_reason: None,
        draft_notified: false,
    };
    if store.settings(&data.client_id).await?.auto_send_reports {
        record.review = Review::Approved;
        record.reviewed_by = Some(AUTO_SEND.into());
        record.reviewed_at = Some(record.issued_at);
    }
    // Claim the version before any file is written: a duplicate delivery of the same
    // scheduled run cannot overwrite the winner's files.
    if let Some(winner) = claim_version(store, &record).await? {
        return Ok(Issued {
            record: winner,
            new: false,
            emailed: false,
        });
    }
    write_files(services, renderer, &data, &mut record).await?;
    store
        .audit(
            &data.client_id,
            &AuditEntry {
                at: record.issued_at,
                action: "report_issued".into(),
                actor: "report".into(),
                project_id: Some(project.clone()),
                detail: format!(
                    "{kind} {} v{version}{}",
                    period.label,
                    if record.restated { " (restated)" } else { "" }
                ),
            },
        )
        .await?;
    let emailed = forward(services, &mut record, &data).await?;
    metrics::counter!("reports_issued", "kind" => kind.name()).increment(1);
    super::review::summarise(services, project).await;
    Ok(Issued {
        record,
        new: true,
        emailed,
    })
}

/// A period is reported from the day after it ends, in the client's time zone.
async fn refuse_open_period(
    store: &Store,
    project: &ProjectId,
    period: &ReportPeriod,
) -> Result<(), ReportError> {
    if let Some(p) = store.project(project).await?
        && let Some(c) = store.client(&p.client_id).await?
        && period.to >= store.client_today(Some(&c))
    {
        return Err(ReportError::NotReportable(format!(
            "{} runs to {}; it can be issued from the day after",
            period.label, period.to
        )));
    }
    Ok(())
}

/// Completes a claimed version with the same data: its files, then its e-mail.
async fn complete(
    services: &ReportServices,
    renderer: &dyn Renderer,
    data: &ReportData,
    mut record: ReportRecord,
) -> Result<Issued, ReportError> {
    if !record.files_written {
        write_files(services, renderer, data, &mut record).await?;
    }
    let emailed = forward(services, &mut record, data).await?;
    Ok(Issued {
        record,
        new: false,
        emailed,
    })
}

/// Who approves a report issued for a client that auto-sends reports.
pub const AUTO_SEND: &str = "auto-send";

/// Takes a written version one step on: an approved one not yet e-mailed is e-mailed; a
/// draft whose account manager was not told is announced. Returns whether the client was
/// e-mailed.
async fn forward(
    services: &ReportServices,
    record: &mut ReportRecord,
    data: &ReportData,
) -> Result<bool, ReportError> {
    match record.review {
        Review::Approved if !record.delivered => deliver(services, record, data).await,
        Review::Draft if !record.draft_notified => {
            super::review::announce_draft(services, record, data).await?;
            Ok(false)
        }
        _ => Ok(false),
    }
}

/// Claims `record`'s version with a conditional write; `Some(winner)` when another run took
/// it first (its record is the one in force).
async fn claim_version(
    store: &Store,
    record: &ReportRecord,
) -> Result<Option<ReportRecord>, ReportError> {
    match store.put_report(record).await {
        Ok(()) => Ok(None),
        Err(StoreError::Conflict(_)) => {
            let now = store
                .report_versions(&record.project_id, record.kind, &record.period)
                .await?;
            Ok(now.into_iter().find(|r| r.version == record.version))
        }
        Err(e) => Err(e.into()),
    }
}

/// Renders `record`'s version of the report, stores its PDF, CSV and XLSX, and commits the
/// claimed record (`files_written`). A retry renders the same data with the same metadata,
/// so it writes the same files.
async fn write_files(
    services: &ReportServices,
    renderer: &dyn Renderer,
    data: &ReportData,
    record: &mut ReportRecord,
) -> Result<(), ReportError> {
    let meta = ReportMeta {
        version: record.version,
        restated: record.restated,
        issued_at: record.issued_at,
        digest: record.digest.chars().take(12).collect(),
    };
    let started = std::time::Instant::now();
    let rendered = renderer.render(data, &meta)?;
    tracing::info!(
        project = %record.project_id,
        kind = %record.kind,
        period = %record.period,
        version = record.version,
        pdf_bytes = rendered.pdf.len(),
        render_ms = started.elapsed().as_millis() as u64,
        "report rendered"
    );
    let blobs = &services.blobs;
    let json = serde_json::to_vec(data)
        .map_err(|e| ReportError::BadRequest(format!("the report data is not JSON: {e}")))?;
    blobs
        .put(&record.data_key(), json, "application/json")
        .await?;
    blobs
        .put(&record.pdf_key, rendered.pdf, "application/pdf")
        .await?;
    blobs
        .put(&record.csv_key, rendered.csv, "text/csv; charset=utf-8")
        .await?;
    blobs
        .put(
            &record.xlsx_key,
            rendered.xlsx,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .await?;
    record.files_written = true;
    services.store.update_report(record).await?;
    Ok(())
}

/// E-mails a link to `record`'s PDF to its recipients and marks it delivered.
pub(super) async fn deliver(
    services: &ReportServices,
    record: &mut ReportRecord,
    data: &ReportData,
) -> Result<bool, ReportError> {
    let store = &services.store;
    let Some(client) = store.client(&record.client_id).await? else {
        return Ok(false);
    };
    let settings = store.settings(&record.client_id).await?;
    let to = recipients(&client, &settings, record.kind);
    if to.is_empty() {
        tracing::warn!(project = %record.project_id, "report has no recipients; not e-mailed");
        return Ok(false);
    }
    let (link, url) = services.links.create(store, record).await?;
    let email = report_email(
        &services.mail_from,
        &to,
        record,
        data,
        &url,
        link.valid_until,
    );
    match services.mailer.send(&email).await {
        Ok(_) => {}
        Err(e) => {
            // The next scheduled run of its kind delivers it again (`run`); the metric has
            // an alarm (infra/template.yaml, ReportDeliveryFailures).
            tracing::warn!(error = %e, project = %record.project_id, "report e-mail failed");
            metrics::counter!("report_delivery_failed", "kind" => record.kind.name()).increment(1);
            return Ok(false);
        }
    }
    record.delivered = true;
    record.recipients = u32::try_from(to.len()).unwrap_or(u32::MAX);
    store.update_report(record).await?;
    Ok(true)
}
