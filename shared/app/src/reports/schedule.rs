//! The report jobs of the schedules, and report requests by hand.

use roi_domain::ProjectId;
use serde::{Deserialize, Serialize};

use super::{
    Issued, Renderer, ReportError, ReportKind, ReportPeriod, ReportServices, due_period, issue,
};

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
    let mut run = ReportRun::default();
    match &job.project {
        Some(project) => by_hand(services, renderer, &job, project, &mut run).await?,
        None => scheduled(services, renderer, job.kind, &mut run).await?,
    }
    tracing::info!(kind = %job.kind, issued = run.issued, emailed = run.emailed, failures = run.failures.len(), "report job done");
    Ok(run)
}

impl ReportRun {
    fn tally(&mut self, label: String, result: Result<Issued, ReportError>) {
        match result {
            Ok(i) => {
                if i.new {
                    self.issued += 1;
                    self.restated += u32::from(i.record.restated);
                } else {
                    self.already_issued += 1;
                }
                self.emailed += u32::from(i.emailed);
            }
            Err(e) => {
                tracing::warn!(error = %e, report = %label, "report failed");
                self.failures.push(format!("{label}: {e}"));
            }
        }
    }
}

/// A job naming its project: that project's period (or its last complete one).
async fn by_hand(
    services: &ReportServices,
    renderer: &dyn Renderer,
    job: &ReportJob,
    project: &ProjectId,
    run: &mut ReportRun,
) -> Result<(), ReportError> {
    let store = &services.store;
    let p = store
        .project(project)
        .await?
        .ok_or_else(|| ReportError::UnknownProject(project.clone()))?;
    let period = match &job.period {
        Some(text) => ReportPeriod::parse(job.kind, text, p.go_live_date)?,
        None => {
            let c = store.client(&p.client_id).await?;
            ReportPeriod::last_complete(job.kind, store.client_today(c.as_ref()), p.go_live_date)
                .ok_or_else(|| {
                    ReportError::NotReportable(format!("no {} period has ended yet", job.kind))
                })?
        }
    };
    let result = issue(services, renderer, project, job.kind, &period).await;
    run.tally(format!("{project} {} {}", job.kind, period.label), result);
    Ok(())
}

/// A scheduled job: every project's period of `kind` due in its client's time zone.
async fn scheduled(
    services: &ReportServices,
    renderer: &dyn Renderer,
    kind: ReportKind,
    run: &mut ReportRun,
) -> Result<(), ReportError> {
    let store = &services.store;
    for client in store.clients().await? {
        let local = store.clock().now().with_timezone(&client.time_zone);
        let today = local.date_naive();
        for p in store.projects_of(&client.id).await? {
            let Some(period) = due_period(kind, today, p.go_live_date) else {
                run.not_due += 1;
                continue;
            };
            if today == period.to + chrono::Days::new(1)
                && chrono::Timelike::hour(&local) < ISSUE_FROM_HOUR
            {
                run.not_due += 1;
                continue;
            }
            let versions = store.report_versions(&p.id, kind, &period.label).await?;
            // A version stored, written and e-mailed is done; one whose files or e-mail did
            // not go out is completed by `issue` (the same data finds the same version).
            if versions
                .last()
                .is_some_and(|v| v.files_written && v.delivered)
            {
                run.already_issued += 1;
                continue;
            }
            let result = issue(services, renderer, &p.id, kind, &period).await;
            run.tally(format!("{} {kind} {}", p.id, period.label), result);
        }
    }
    Ok(())
}
