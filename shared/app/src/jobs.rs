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
//! A scheduled job for every client is split into **units**, one per client (the job with
//! its `client` set). Each unit runs on its own: a failing client, project or day is
//! logged with the client id, reported and counted (`job_units_failed`), and the other
//! units go on.
//!
//! - On AWS (`Services::queue` set), the scheduled invocation only queues the units on
//!   SQS ([`handle_payload`]); `compute-roi` consumes them ([`handle_units`]) and reports
//!   each failed unit as a batch item failure, so SQS delivers it again and, after the
//!   queue's `maxReceiveCount`, moves it to the dead-letter queue (README, "When a client's
//!   scheduled work fails").
//! - Under `roi serve` and `roi compute` (no queue), [`run`] runs the units one after the
//!   other in-process.
//!
//! Every step is idempotent (deterministic keys, claims before e-mail), so a retried,
//! duplicated or overlapping unit changes nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use chrono::NaiveDate;
use roi_domain::ports::{QueueError, WorkQueue};
use roi_domain::{Client, ClientId, ProjectId};
use serde::{Deserialize, Serialize};

use crate::correlation::CorrelationId;

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
    /// The units could not be queued; the scheduler's retry queues them all again.
    #[error("queueing the units: {0}")]
    Queue(#[from] QueueError),
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
        job.check()?;
        Ok(job)
    }

    /// Checks the job's dates: each within `roi_domain::dates`' window, and a backfill's
    /// range in order and at most [`MAX_SPAN_DAYS`] days.
    ///
    /// # Errors
    /// [`JobError::BadRange`].
    pub fn check(&self) -> Result<(), JobError> {
        let dates = match self {
            Job::Daily { date, .. } => date.iter().copied().collect(),
            Job::Backfill { from, to, .. } => vec![*from, *to],
            Job::AlertCheck { .. } | Job::ProjectChanged { .. } => Vec::new(),
        };
        for date in dates {
            roi_domain::dates::in_window(date).map_err(JobError::BadRange)?;
        }
        if let Job::Backfill { from, to, .. } = self
            && (from > to || (*to - *from).num_days() >= MAX_SPAN_DAYS)
        {
            return Err(JobError::BadRange(format!(
                "backfill {from} to {to}: the first day must not be after the last, and at most {MAX_SPAN_DAYS} days"
            )));
        }
        Ok(())
    }

    /// The one client this job is narrowed to, if any (a project-changed job names a project).
    pub fn client(&self) -> Option<&ClientId> {
        match self {
            Job::Daily { client, .. }
            | Job::AlertCheck { client }
            | Job::Backfill { client, .. } => client.as_ref(),
            Job::ProjectChanged { .. } => None,
        }
    }

    /// Whether the job covers every client, and so splits into one unit per client.
    pub fn fans_out(&self) -> bool {
        !matches!(self, Job::ProjectChanged { .. }) && self.client().is_none()
    }

    /// This job's unit for `id`: the same job narrowed to that client.
    pub fn unit_for(&self, id: ClientId) -> Job {
        let mut unit = self.clone();
        match &mut unit {
            Job::Daily { client, .. }
            | Job::AlertCheck { client }
            | Job::Backfill { client, .. } => *client = Some(id),
            Job::ProjectChanged { .. } => {}
        }
        unit
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
    /// Units (one client each) queued for `compute-roi` to run, when the job was queued
    /// rather than run.
    pub units_queued: u32,
    /// Units with at least one failure.
    pub units_failed: u32,
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
    /// Where a job for every client queues its units (SQS on AWS); `None` runs them
    /// in-process.
    pub queue: Option<Arc<dyn WorkQueue>>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("base_url", &self.base_url)
            .field("queue", &self.queue.is_some())
            .finish_non_exhaustive()
    }
}

/// What one invocation of `compute-roi` answers: a job's report, or, for an SQS event, the
/// batch item failures (`{"batchItemFailures": [{"itemIdentifier": message id}]}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// A job ran or queued its units.
    Job(JobReport),
    /// The units of an SQS event ran; the failed ones are named.
    Units(SqsBatchResponse),
}

/// The `compute-roi` function's handler: an SQS event (`Records[].eventSource` =
/// `aws:sqs`) goes to [`handle_units`], anything else to [`handle_payload`].
///
/// # Errors
/// [`JobError`] from [`handle_payload`]; an SQS event never fails as a whole.
pub async fn handle_invocation(
    services: &Services,
    payload: serde_json::Value,
) -> Result<Answer, JobError> {
    let from_sqs = payload
        .pointer("/Records/0/eventSource")
        .and_then(|v| v.as_str())
        == Some("aws:sqs");
    if from_sqs {
        let event: SqsEvent =
            serde_json::from_value(payload).map_err(|e| JobError::NotAJob(e.to_string()))?;
        return Ok(Answer::Units(handle_units(services, event).await));
    }
    Ok(Answer::Job(handle_payload(services, payload).await?))
}

/// Reads an invocation payload ([`Job::from_payload`]) and does the job: with a queue, a job
/// for every client only queues its units ([`JobReport::units_queued`]); otherwise, or for
/// a job narrowed to one client or project, it runs ([`run`]).
///
/// # Errors
/// [`JobError`].
pub async fn handle_payload(
    services: &Services,
    payload: serde_json::Value,
) -> Result<JobReport, JobError> {
    let id = crate::correlation::for_job(&payload);
    let job = Job::from_payload(payload)?;
    crate::correlation::scope("job", id.clone(), async {
        match &services.queue {
            Some(queue) if job.fans_out() => {
                enqueue(&services.store, queue.as_ref(), &job, &id).await
            }
            _ => run(services, &job).await,
        }
    })
    .await
}

/// Queues one unit per client, each carrying the job's correlation id.
async fn enqueue(
    store: &Store,
    queue: &dyn WorkQueue,
    job: &Job,
    id: &CorrelationId,
) -> Result<JobReport, JobError> {
    let clients = store.clients().await?;
    let mut bodies = Vec::with_capacity(clients.len());
    for client in clients {
        let mut unit = serde_json::to_value(job.unit_for(client.id))
            .map_err(|e| JobError::NotAJob(e.to_string()))?;
        unit["correlation_id"] = id.as_str().into();
        bodies.push(unit.to_string());
    }
    queue.send(&bodies).await?;
    let n = u32::try_from(bodies.len()).unwrap_or(u32::MAX);
    let report = JobReport {
        clients: n,
        units_queued: n,
        ..JobReport::default()
    };
    tracing::info!(job = ?job, units = n, "units queued");
    Ok(report)
}

/// Runs the units of an SQS event one after the other (each as [`run`] would), and names the
/// messages whose unit failed, or could not be read, so SQS delivers them again (then to
/// the dead-letter queue). Successful messages are deleted by Lambda.
pub async fn handle_units(services: &Services, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        let Some(message_id) = message.message_id else {
            tracing::error!("an SQS message without a message id; it cannot be reported");
            continue;
        };
        let unit = message
            .body
            .as_deref()
            .map(serde_json::from_str::<serde_json::Value>)
            .unwrap_or(Ok(serde_json::Value::Null));
        let outcome = match unit {
            Ok(payload) => {
                let id = crate::correlation::for_job(&payload);
                crate::correlation::scope("unit", id, async {
                    let job = Job::from_payload(payload)?;
                    run(services, &job).await
                })
                .await
            }
            Err(e) => Err(JobError::NotAJob(e.to_string())),
        };
        let failed = match &outcome {
            Ok(report) => report.units_failed > 0,
            Err(e) => {
                metrics::counter!("job_units_failed").increment(1);
                tracing::error!(message_id, error = %e, "a queued unit could not run");
                true
            }
        };
        if failed {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// Runs one job in-process: for every client (or the one it names), its unit, each on its
/// own (module docs).
///
/// # Errors
/// [`JobError`] for a job that cannot start; failures of single clients, days or projects
/// are in the report.
pub async fn run(services: &Services, job: &Job) -> Result<JobReport, JobError> {
    job.check()?;
    let store = &services.store;
    let mut report = JobReport::default();
    if let Job::ProjectChanged { project_id } = job {
        project_changed(services, project_id, &mut report).await?;
        tracing::info!(job = ?job, report = ?report, "job done");
        return Ok(report);
    }
    let clients = match job.client() {
        None => store.clients().await?,
        Some(id) => vec![
            store
                .client(id)
                .await?
                .ok_or_else(|| JobError::Unknown(format!("client '{id}' does not exist")))?,
        ],
    };
    for client in clients {
        report.clients += 1;
        let before = report.failures.len();
        run_unit(services, job, &client, &mut report).await;
        if report.failures.len() > before {
            report.units_failed += 1;
            metrics::counter!("job_units_failed").increment(1);
            tracing::error!(client = %client.id, "a client's unit failed; the other clients go on");
        }
    }
    tracing::info!(job = ?job, report = ?report, "job done");
    Ok(report)
}

/// One client's part of `job`.
async fn run_unit(services: &Services, job: &Job, c: &Client, report: &mut JobReport) {
    let store = &services.store;
    match job {
        Job::Daily { date, .. } => {
            let today = store.client_today(Some(c));
            let day = date.unwrap_or(today - chrono::Days::new(1));
            roll_changed(store, &c.id, day, today, report).await;
            compute_client(services, c, day, report).await;
            alert_check(services, c, report).await;
            remind(services, c, today, report).await;
        }
        Job::AlertCheck { .. } => alert_check(services, c, report).await,
        Job::Backfill { from, to, .. } => {
            let rolled = roll(store, &c.id, *from, *to).await;
            if let Ok(n) = &rolled {
                report.days_rolled_up += n;
                let asked = u32::try_from((*to - *from).num_days() + 1).unwrap_or(u32::MAX);
                report.days_final += asked.saturating_sub(*n);
            }
            step(report, &c.id, "roll-up", rolled.map(|_| ()));
            compute_client(services, c, *to, report).await;
        }
        Job::ProjectChanged { .. } => {}
    }
}

/// A project's measurements changed: its ROI periods as of its client's today.
async fn project_changed(
    services: &Services,
    project_id: &ProjectId,
    report: &mut JobReport,
) -> Result<(), JobError> {
    let store = &services.store;
    let project = store
        .project(project_id)
        .await?
        .ok_or_else(|| JobError::Unknown(format!("project '{project_id}' does not exist")))?;
    let client = store.client(&project.client_id).await?.ok_or_else(|| {
        JobError::Unknown(format!("client '{}' does not exist", project.client_id))
    })?;
    report.clients = 1;
    let today = store.client_today(Some(&client));
    let daily =
        crate::compute::stored_rollups(store, &client.id, project.go_live_date, today).await?;
    compute_project(services, &client, &project.id, today, &daily, report).await;
    Ok(())
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
/// imports), oldest first, each day on its own (a failing day is reported, the next goes
/// on); each roll-up marks its day caught up. A marked day that is already final
/// (`roi_domain::event::first_open_day`) is logged and closed, never rewritten.
async fn roll_changed(
    store: &Store,
    client: &ClientId,
    day: NaiveDate,
    today: NaiveDate,
    report: &mut JobReport,
) {
    let markers: Vec<_> = match store.changed_days(client).await {
        Ok(m) => m.into_iter().filter(|m| m.day <= day).collect(),
        Err(e) => {
            step(report, client, "changed days", Err(e));
            Vec::new()
        }
    };
    let first_open = roi_domain::event::first_open_day(today);
    let mut days: std::collections::BTreeSet<NaiveDate> = markers.iter().map(|m| m.day).collect();
    days.insert(day);
    for d in days {
        if d < first_open {
            tracing::warn!(%client, day = %d, "a changed day is final; its roll-up is kept");
            if let Some(marker) = markers.iter().find(|m| m.day == d) {
                let closed = store.day_rolled_up(client, marker).await;
                step(report, client, &format!("roll-up of {d}"), closed);
            }
            report.days_final += 1;
            continue;
        }
        // closes the day's marker too
        match rollup_days(store, client, d, d).await {
            Ok(_) => report.days_rolled_up += 1,
            Err(e) => step(report, client, &format!("roll-up of {d}"), Err::<(), _>(e)),
        }
    }
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
