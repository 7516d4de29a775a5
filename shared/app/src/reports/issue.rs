//! Issuing a report: render once per input, store, record, e-mail a link; and the report
//! jobs of the schedules.

use chrono::{DateTime, Utc};
use roi_domain::ports::{BlobStore, Email};
use roi_domain::{ClientId, ProjectId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::{
    Renderer, ReportData, ReportError, ReportKind, ReportLinks, ReportMeta, ReportPeriod, assemble,
    due_period,
};
use crate::Store;
pub use crate::store::ReportRecord;
use crate::store::{AuditEntry, StoreError};

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
    /// Whether this call e-mailed it.
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
/// latest stored version has the same digest, does nothing more (but e-mails it if that
/// version's e-mail never went out); otherwise renders it, stores the PDF, CSV and XLSX
/// under `reports/{client}/{project}/{kind}/{period}/v{n}.*`, records version `n` (a
/// conditional write: two concurrent issues cannot both take `n`), audits it, and e-mails
/// a signed link to the recipients. Every step is safe to retry.
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
    if let Some(p) = store.project(project).await?
        && let Some(c) = store.client(&p.client_id).await?
        && period.to >= store.client_today(Some(&c))
    {
        return Err(ReportError::NotReportable(format!(
            "{} runs to {}; it can be issued from the day after",
            period.label, period.to
        )));
    }
    let data = assemble(store, project, kind, period).await?;
    let digest = data.digest();
    let versions = store.report_versions(project, kind, &period.label).await?;
    let latest = versions.last();
    if let Some(l) = latest
        && l.digest == digest
    {
        // This version is claimed already: complete what its first run did not finish.
        let mut record = l.clone();
        if !record.files_written {
            write_files(services, renderer, &data, &mut record).await?;
        }
        let emailed = if record.delivered {
            false
        } else {
            deliver(services, &mut record, &data).await?
        };
        return Ok(Issued {
            record,
            new: false,
            emailed,
        });
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
    };
    // Claim the version before any file is written: a duplicate delivery of the same
    // scheduled run cannot overwrite the winner's files.
    match store.put_report(&record).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            // Another run took this version first; its record is the one in force.
            let now = store.report_versions(project, kind, &period.label).await?;
            if let Some(winner) = now.into_iter().find(|r| r.version == version) {
                return Ok(Issued {
                    record: winner,
                    new: false,
                    emailed: false,
                });
            }
        }
        Err(e) => return Err(e.into()),
    }
    write_files(services, renderer, &data, &mut record).await?;
    let meta_restated = record.restated;
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
                    if meta_restated { " (restated)" } else { "" }
                ),
            },
        )
        .await?;
    let emailed = deliver(services, &mut record, &data).await?;
    metrics::counter!("reports_issued", "kind" => kind.name()).increment(1);
    Ok(Issued {
        record,
        new: true,
        emailed,
    })
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
async fn deliver(
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

fn money(v: Decimal) -> String {
    let sign = if v.round_dp(0).is_sign_negative() && !v.round_dp(0).is_zero() {
        "−"
    } else {
        ""
    };
    format!("{sign}${}", roi_domain::units::rounded_grouped(v.abs(), 0))
}

/// The report e-mail: a short summary, the link and its expiry, as text and HTML.
pub fn report_email(
    from: &str,
    to: &[String],
    record: &ReportRecord,
    data: &ReportData,
    url: &str,
    expires_at: DateTime<Utc>,
) -> Email {
    let subject = format!(
        "{}: {} — {} {}{}",
        data.client_name,
        data.title,
        data.project_name,
        data.period.label,
        if record.restated { " (restated)" } else { "" }
    );
    let headline = match &data.roi {
        Some(r) => format!(
            "ROI since go-live: {} %. Payback: {}. Cost savings: {} a month.",
            r.roi_percentage.round_dp(1),
            r.payback_period_months
                .map_or("not yet in sight".into(), |m| format!(
                    "{} months",
                    m.round_dp(1)
                )),
            money(r.cost_savings_monthly)
        ),
        None => "ROI is not computable yet for this period.".into(),
    };
    let text = format!(
        "{title} for {project}, {from} to {to}.\n\n{headline}\n\nOpen the report (PDF):\n{url}\n\nThe link works until {expires}. Version {v}{restated}.\n",
        title = data.title,
        project = data.project_name,
        from = data.period.from,
        to = data.period.to,
        expires = expires_at.format("%Y-%m-%d"),
        v = record.version,
        restated = if record.restated {
            ", restating an earlier version"
        } else {
            ""
        },
    );
    let html = crate::templates::render(
        "email/report.html",
        minijinja::context! {
            title => &data.title,
            project => &data.project_name,
            from => data.period.from.to_string(),
            to => data.period.to.to_string(),
            headline,
            url,
            expires => expires_at.format("%Y-%m-%d").to_string(),
            version => record.version,
            restated => record.restated,
        },
    )
    .unwrap_or_else(|e| {
        tracing::error!(error = %e, "the report e-mail template failed; sending text only");
        minijinja::HtmlEscape(&text).to_string()
    });
    Email {
        from: from.to_owned(),
        to: to.to_vec(),
        subject,
        text,
        html,
    }
}

/// A report job: an EventBridge Scheduler input, or a request by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportJob {
    /// Always `reports`.
    pub job: String,
    /// Which kind.
    pub kind: ReportKind,
    /// One project (by hand); every project of every client when absent (scheduled).
    #[serde(default)]
    pub project: Option<ProjectId>,
    /// The period (with `project`); the one due today when absent.
    #[serde(default)]
    pub period: Option<String>,
}

/// What a report job did (logged as one line, returned to the invoker).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReportRun {
    /// Versions issued.
    pub issued: u32,
    /// Of those, restatements.
    pub restated: u32,
    /// E-mails sent.
    pub emailed: u32,
    /// Projects whose report for the due period exists already.
    pub already_issued: u32,
    /// Projects with nothing due now.
    pub not_due: u32,
    /// What failed, one line each (details in the logs).
    pub failures: Vec<String>,
}

/// The local hour from which a due report is issued on its first day (07:00), so it is
/// waiting when the client's day starts; later days of the window issue at any hour.
pub const ISSUE_FROM_HOUR: u32 = 7;

/// Runs a report job: by hand, issues (or restates) the named project's period; scheduled,
/// issues for every project the period of `kind` due in its client's time zone (see
/// [`due_period`] and [`ISSUE_FROM_HOUR`]), once: a period with a stored version is skipped,
/// so hourly runs are cheap and a missed run is harmless.
///
/// # Errors
/// [`ReportError`] for a job that cannot start (a bad payload, an unknown project, storage
/// down); failures of single projects are in the run's `failures`.
pub async fn run(
    services: &ReportServices,
    renderer: &dyn Renderer,
    payload: serde_json::Value,
) -> Result<ReportRun, ReportError> {
    let id = crate::correlation::for_job(&payload);
    crate::correlation::scope("reports", id, run_job(services, renderer, payload)).await
}

async fn run_job(
    services: &ReportServices,
    renderer: &dyn Renderer,
    payload: serde_json::Value,
) -> Result<ReportRun, ReportError> {
    let job: ReportJob = serde_json::from_value(payload)
        .map_err(|e| ReportError::BadRequest(format!("not a report job: {e}")))?;
    if job.job != "reports" {
        return Err(ReportError::BadRequest(format!(
            "not a report job: \"job\" is '{}', expected 'reports'",
            job.job
        )));
    }
    let store = &services.store;
    let mut run = ReportRun::default();
    let tally =
        |run: &mut ReportRun, label: String, result: Result<Issued, ReportError>| match result {
            Ok(i) => {
                if i.new {
                    run.issued += 1;
                    run.restated += u32::from(i.record.restated);
                } else {
                    run.already_issued += 1;
                }
                run.emailed += u32::from(i.emailed);
            }
            Err(e) => {
                tracing::warn!(error = %e, report = %label, "report failed");
                run.failures.push(format!("{label}: {e}"));
            }
        };
    if let Some(project) = &job.project {
        let p = store
            .project(project)
            .await?
            .ok_or_else(|| ReportError::UnknownProject(project.clone()))?;
        let period = match &job.period {
            Some(text) => ReportPeriod::parse(job.kind, text, p.go_live_date)?,
            None => {
                let c = store.client(&p.client_id).await?;
                ReportPeriod::last_complete(
                    job.kind,
                    store.client_today(c.as_ref()),
                    p.go_live_date,
                )
                .ok_or_else(|| {
                    ReportError::NotReportable(format!("no {} period has ended yet", job.kind))
                })?
            }
        };
        let result = issue(services, renderer, project, job.kind, &period).await;
        tally(
            &mut run,
            format!("{project} {} {}", job.kind, period.label),
            result,
        );
        return Ok(run);
    }
    for client in store.clients().await? {
        let local = store.clock().now().with_timezone(&client.time_zone);
        let today = local.date_naive();
        for p in store.projects_of(&client.id).await? {
            let Some(period) = due_period(job.kind, today, p.go_live_date) else {
                run.not_due += 1;
                continue;
            };
            if today == period.to + chrono::Days::new(1)
                && chrono::Timelike::hour(&local) < ISSUE_FROM_HOUR
            {
                run.not_due += 1;
                continue;
            }
            let versions = store
                .report_versions(&p.id, job.kind, &period.label)
                .await?;
            // A version stored, written and e-mailed is done; one whose files or e-mail did
            // not go out is completed by `issue` (the same data finds the same version).
            if versions
                .last()
                .is_some_and(|v| v.files_written && v.delivered)
            {
                run.already_issued += 1;
                continue;
            }
            let result = issue(services, renderer, &p.id, job.kind, &period).await;
            tally(
                &mut run,
                format!("{} {} {}", p.id, job.kind, period.label),
                result,
            );
        }
    }
    tracing::info!(kind = %job.kind, issued = run.issued, emailed = run.emailed, failures = run.failures.len(), "report job done");
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_and_signed() {
        assert_eq!(money(Decimal::new(123456789, 2)), "$1,234,568");
        assert_eq!(money(Decimal::new(-5000, 0)), "−$5,000");
        assert_eq!(money(Decimal::ZERO), "$0");
    }
}
