//! The scheduled work of the `compute-roi` function, `roi serve` and `roi compute --from`
//! (issue 5; seed 000 §9 automatic ROI and reminders, seed 003 monitoring cadence):
//!
//! | job | when | does |
//! |---|---|---|
//! | `daily` | after midnight (EventBridge Scheduler) | rolls up each client's yesterday and every earlier day changed since its roll-up (late events, imports), computes every project's ROI periods and insights as of yesterday, checks alerts, sends reminders |
//! | `alert_check` | every 5 minutes | checks alerts |
//! | `backfill` | by hand | rolls up `from..=to`, then ROI as of `to` |
//! | `project_changed` | a form submission | recomputes that project's ROI as of today |
//!
//! Every step is idempotent, so a retried or overlapping run changes nothing. A client or
//! project that fails is logged and reported; the others go on.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use roi_domain::{Client, ClientId, ProjectId};
use serde::{Deserialize, Serialize};

use crate::alerts::{self, Notifier};
use crate::compute::{ComputeError, compute_periods};
use crate::form_link::FormSigner;
use crate::reminders::{ReminderServices, send_reminders};
use crate::rollup::{MAX_SPAN_DAYS, Rollup, RollupError, rollup_days};
use crate::store::{Store, StoreError};

/// One job, as EventBridge Scheduler sends it (`{"job": "daily"}`), or as the project-changed
/// event carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// The daily run; `date` (default: each client's yesterday) and `client` (default: all)
    /// narrow it.
    Daily {
        /// The day to roll up and compute as of.
        #[serde(default)]
        date: Option<NaiveDate>,
        /// Only this client.
        #[serde(default)]
        client: Option<ClientId>,
    },
    /// The alert check.
    AlertCheck {
        /// Only this client.
        #[serde(default)]
        client: Option<ClientId>,
    },
    /// Roll-ups of `from..=to` (at most 400 days), then ROI as of `to`.
    Backfill {
        /// First day.
        from: NaiveDate,
        /// Last day.
        to: NaiveDate,
        /// Only this client.
        #[serde(default)]
        client: Option<ClientId>,
    },
    /// A project's measurements changed.
    ProjectChanged {
        /// The project.
        project_id: ProjectId,
    },
}

/// Why an invocation is not a job.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The payload is neither a job nor a project-changed event.
    #[error("not a job: {0}")]
    NotAJob(String),
    /// The named client or project does not exist.
    #[error("{0}")]
    Unknown(String),
    /// The range is not allowed.
    #[error("{0}")]
    BadRange(String),
    /// Storage failed before any work.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Job {
    /// Reads an invocation payload: a job object, or an EventBridge event with
    /// `detail-type: "project.changed"` and `detail.project_id`.
    ///
    /// # Errors
    /// [`JobError::NotAJob`] naming what is wrong.
    pub fn from_payload(payload: serde_json::Value) -> Result<Self, JobError> {
        if payload.get("detail-type").and_then(|v| v.as_str()) == Some("project.changed") {
            let project_id = payload
                .pointer("/detail/project_id")
                .and_then(|v| v.as_str())
                .ok_or_else(|| {
                    JobError::NotAJob("project.changed without detail.project_id".into())
                })?
                .parse()
                .map_err(|e: roi_domain::FieldError| JobError::NotAJob(e.reason))?;
            return Ok(Self::ProjectChanged { project_id });
        }
        let job: Self =
            serde_json::from_value(payload).map_err(|e| JobError::NotAJob(e.to_string()))?;
        let dates = match &job {
            Job::Daily { date, .. } => date.iter().copied().collect(),
            Job::Backfill { from, to, .. } => vec![*from, *to],
            Job::AlertCheck { .. } | Job::ProjectChanged { .. } => Vec::new(),
        };
        for date in dates {
            roi_domain::dates::in_window(date).map_err(JobError::BadRange)?;
        }
        Ok(job)
    }
}

/// What a job did (logged as one line, returned to the invoker).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JobReport {
    /// Clients worked on.
    pub clients: u32,
    /// Client-days rolled up.
    pub days_rolled_up: u32,
    /// Client-days asked for but final, kept as stored: their raw events may have expired
    /// (`roi_domain::event::RECOMPUTE_WINDOW_DAYS`).
    pub days_final: u32,
    /// ROI calculations stored.
    pub roi_calculations: u32,
    /// Projects skipped for want of an approved baseline or a measurement.
    pub projects_waiting: u32,
    /// Alert notices sent.
    pub alert_notices: u32,
    /// Reminders sent.
    pub reminders: u32,
    /// What failed, one line each (details in the logs).
    pub failures: Vec<String>,
}

/// What jobs need.
pub struct Services {
    /// Records.
    pub store: Store,
    /// E-mail and webhooks.
    pub notifier: Notifier,
    /// Signs reminder form links.
    pub signer: FormSigner,
    /// Where forms are served.
    pub base_url: String,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Reads an invocation payload ([`Job::from_payload`]) and runs the job: the `compute-roi`
/// function's handler.
///
/// # Errors
/// [`JobError`].
pub async fn handle_payload(
    services: &Services,
    payload: serde_json::Value,
) -> Result<JobReport, JobError> {
    let id = crate::correlation::for_job(&payload);
    let job = Job::from_payload(payload)?;
    crate::correlation::scope("job", id, run(services, &job)).await
}

/// Runs one job.
///
/// # Errors
/// [`JobError`] for a job that cannot start; failures of single clients or projects are in
/// the report.
pub async fn run(services: &Services, job: &Job) -> Result<JobReport, JobError> {
    let store = &services.store;
    let mut report = JobReport::default();
    let clients = |only: &Option<ClientId>| {
        let only = only.clone();
        async move {
            let all = store.clients().await?;
            match only {
                None => Ok(all),
                Some(id) => {
                    let found: Vec<Client> = all.into_iter().filter(|c| c.id == id).collect();
                    if found.is_empty() {
                        Err(JobError::Unknown(format!("client '{id}' does not exist")))
                    } else {
                        Ok(found)
                    }
                }
            }
        }
    };
    match job {
        Job::Daily { date, client } => {
            for c in clients(client).await? {
                report.clients += 1;
                let today = store.client_today(Some(&c));
                let day = date.unwrap_or(today - chrono::Days::new(1));
                let rolled = roll_changed(store, &c.id, day, today).await;
                if let Ok((rolled, kept)) = &rolled {
                    report.days_rolled_up += rolled;
                    report.days_final += kept;
                }
                step(&mut report, &c.id, "roll-up", rolled.map(|_| ()));
                compute_client(services, &c, day, &mut report).await;
                alert_check(services, &c, &mut report).await;
                remind(services, &c, today, &mut report).await;
            }
        }
        Job::AlertCheck { client } => {
            for c in clients(client).await? {
                report.clients += 1;
                alert_check(services, &c, &mut report).await;
            }
        }
        Job::Backfill { from, to, client } => {
            if from > to || (*to - *from).num_days() >= MAX_SPAN_DAYS {
                return Err(JobError::BadRange(format!(
                    "backfill {from} to {to}: the first day must not be after the last, and at most {MAX_SPAN_DAYS} days"
                )));
            }
            for c in clients(client).await? {
                report.clients += 1;
                let rolled = roll(store, &c.id, *from, *to).await;
                if let Ok(n) = &rolled {
                    report.days_rolled_up += n;
                    let asked = u32::try_from((*to - *from).num_days() + 1).unwrap_or(u32::MAX);
                    report.days_final += asked.saturating_sub(*n);
                }
                step(&mut report, &c.id, "roll-up", rolled.map(|_| ()));
                compute_client(services, &c, *to, &mut report).await;
            }
        }
        Job::ProjectChanged { project_id } => {
            let project = store.project(project_id).await?.ok_or_else(|| {
                JobError::Unknown(format!("project '{project_id}' does not exist"))
            })?;
            let client = store.client(&project.client_id).await?.ok_or_else(|| {
                JobError::Unknown(format!("client '{}' does not exist", project.client_id))
            })?;
            report.clients = 1;
            let today = store.client_today(Some(&client));
            let daily =
                crate::compute::stored_rollups(store, &client.id, project.go_live_date, today)
                    .await?;
            compute_project(services, &client, &project.id, today, &daily, &mut report).await;
        }
    }
    tracing::info!(job = ?job, report = ?report, "job done");
    Ok(report)
}

fn step<E: std::fmt::Display>(
    report: &mut JobReport,
    client: &ClientId,
    what: &str,
    r: Result<(), E>,
) {
    if let Err(e) = r {
        tracing::error!(%client, what, error = %e, "job step failed");
        report.failures.push(format!("{client}: {what}: {e}"));
    }
}

async fn roll(
    store: &Store,
    client: &ClientId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<u32, RollupError> {
    Ok(u32::try_from(rollup_days(store, client, from, to).await?.len()).unwrap_or(u32::MAX))
}

/// Rolls up `day` and every earlier day marked changed since its roll-up (late events,
/// imports), oldest first; each roll-up marks its day caught up. A marked day that is already final
/// (`roi_domain::event::first_open_day`) is logged and closed, never rewritten. Returns the
/// days rolled up and the final days met.
async fn roll_changed(
    store: &Store,
    client: &ClientId,
    day: NaiveDate,
    today: NaiveDate,
) -> Result<(u32, u32), RollupError> {
    let markers: Vec<_> = store
        .changed_days(client)
        .await?
        .into_iter()
        .filter(|m| m.day <= day)
        .collect();
    let first_open = roi_domain::event::first_open_day(today);
    let mut days: std::collections::BTreeSet<NaiveDate> = markers.iter().map(|m| m.day).collect();
    days.insert(day);
    let (mut rolled, mut kept) = (0u32, 0u32);
    for d in days {
        if d < first_open {
            tracing::warn!(%client, day = %d, "a changed day is final; its roll-up is kept");
            if let Some(marker) = markers.iter().find(|m| m.day == d) {
                store.day_rolled_up(client, marker).await?;
            }
            kept += 1;
            continue;
        }
        // closes the day's marker too
        rollup_days(store, client, d, d).await?;
        rolled += 1;
    }
    Ok((rolled, kept))
}

async fn compute_client(
    services: &Services,
    client: &Client,
    as_of: NaiveDate,
    report: &mut JobReport,
) {
    let store = &services.store;
    let projects = match store.projects_of(&client.id).await {
        Ok(p) => p,
        Err(e) => return step(report, &client.id, "projects", Err(e)),
    };
    let Some(first_live) = projects.iter().map(|p| p.go_live_date).min() else {
        return;
    };
    let daily = match crate::compute::stored_rollups(store, &client.id, first_live, as_of).await {
        Ok(d) => d,
        Err(e) => return step(report, &client.id, "roll-ups", Err(e)),
    };
    for project in projects.iter().filter(|p| p.go_live_date <= as_of) {
        compute_project(services, client, &project.id, as_of, &daily, report).await;
    }
}

async fn compute_project(
    services: &Services,
    client: &Client,
    project: &ProjectId,
    as_of: NaiveDate,
    daily: &BTreeMap<NaiveDate, Rollup>,
    report: &mut JobReport,
) {
    match compute_periods(&services.store, project, as_of, daily).await {
        Ok((calculations, _)) => {
            report.roi_calculations += u32::try_from(calculations.len()).unwrap_or(u32::MAX);
            let settings = services
                .store
                .settings(&client.id)
                .await
                .unwrap_or_default();
            if let Some(whole) = calculations.last() {
                alerts::roi_complete(&services.notifier, &settings, &client.id, whole).await;
            }
        }
        Err(ComputeError::NoApprovedBaseline(_) | ComputeError::NoMeasurement { .. }) => {
            report.projects_waiting += 1;
        }
        Err(e) => step(report, &client.id, &format!("ROI of {project}"), Err(e)),
    }
}

async fn alert_check(services: &Services, client: &Client, report: &mut JobReport) {
    let now = services.store.clock().now();
    match alerts::check(&services.store, &services.notifier, client, now).await {
        Ok(run) => report.alert_notices += u32::try_from(run.notices.len()).unwrap_or(u32::MAX),
        Err(e) => step(report, &client.id, "alerts", Err(e)),
    }
}

async fn remind(services: &Services, client: &Client, today: NaiveDate, report: &mut JobReport) {
    let store = &services.store;
    let settings = match store.settings(&client.id).await {
        Ok(s) => s,
        Err(e) => return step(report, &client.id, "settings", Err(e)),
    };
    let reminder_services = ReminderServices {
        mailer: services.notifier.mailer.as_ref(),
        signer: &services.signer,
        base_url: &services.base_url,
        mail_from: &services.notifier.mail_from,
    };
    let now = store.clock().now();
    match send_reminders(store, &reminder_services, client, &settings, today, now).await {
        Ok(sent) => report.reminders += u32::try_from(sent.len()).unwrap_or(u32::MAX),
        Err(e) => step(report, &client.id, "reminders", Err(e)),
    }
}
