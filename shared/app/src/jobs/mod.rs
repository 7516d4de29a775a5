//! The scheduled work of the `compute-roi` function, `roi serve` and `roi compute --from`
//! (issue 5; seed 000 §9 automatic ROI and reminders, seed 003 monitoring cadence):
//!
//! | job | when | does |
//! |---|---|---|
//! | `daily` | after midnight (EventBridge Scheduler) | anonymises a client churned a year ago (its settings' `anonymise_after_days`), pulls yesterday's usage and cost reports from the providers' admin APIs (clients with an admin key), rolls up each client's yesterday and every earlier day changed since its roll-up (late events, imports), computes every project's ROI periods and insights as of yesterday, checks alerts, sends reminders, seals the audit entries of the UTC days that are over into the audit archive |
//! | `alert_check` | every 5 minutes | checks alerts |
//! | `backfill` | by hand | rolls up `from..=to`, then ROI as of `to` |
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

mod sqs;
mod steps;

use std::sync::Arc;

use chrono::NaiveDate;
use roi_domain::ClientId;
use roi_domain::ports::{QueueError, WorkQueue};
use serde::{Deserialize, Serialize};

pub use self::sqs::{Answer, handle_invocation, handle_payload, handle_units};
use crate::alerts::Notifier;
use crate::form_link::FormSigner;
use crate::rollup::MAX_SPAN_DAYS;
use crate::store::{Store, StoreError};

/// One job, as EventBridge Scheduler sends it (`{"job": "daily"}`) or a unit carries it.
/// (A form submission recomputes its project at once, in `crate::forms`.)
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
}

/// Why an invocation is not a job.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The payload is not a job.
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
    /// Reads an invocation payload: a job object.
    ///
    /// # Errors
    /// [`JobError::NotAJob`] naming what is wrong.
    pub fn from_payload(payload: serde_json::Value) -> Result<Self, JobError> {
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
            Job::AlertCheck { .. } => Vec::new(),
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

    /// The one client this job is narrowed to, if any.
    pub fn client(&self) -> Option<&ClientId> {
        match self {
            Job::Daily { client, .. }
            | Job::AlertCheck { client }
            | Job::Backfill { client, .. } => client.as_ref(),
        }
    }

    /// Whether the job covers every client, and so splits into one unit per client.
    pub fn fans_out(&self) -> bool {
        self.client().is_none()
    }

    /// This job's unit for `id`: the same job narrowed to that client.
    pub fn unit_for(&self, id: ClientId) -> Job {
        let mut unit = self.clone();
        match &mut unit {
            Job::Daily { client, .. }
            | Job::AlertCheck { client }
            | Job::Backfill { client, .. } => *client = Some(id),
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
    /// Closed months whose monthly roll-up was written or restated (once per month per
    /// run, however many of its days were rolled up).
    pub months_restated: u32,
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
    /// Pages of usage and cost reports pulled from the providers' admin APIs.
    pub pages_pulled: u32,
    /// Churned clients anonymised (their settings' `anonymise_after_days` after the churn).
    pub anonymised: u32,
    /// Audit batches (a client's UTC day each) sealed into the audit archive.
    pub audit_batches: u32,
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
    /// The providers' admin APIs the daily job pulls reports from, for clients whose
    /// settings name an admin key; `None` pulls nothing.
    pub admin_api: Option<Arc<dyn roi_domain::ports::AdminApi>>,
    /// The reports' files, deleted when a churned client is anonymised; `None` leaves them
    /// (the anonymisation says how many it removed).
    pub blobs: Option<Arc<dyn roi_domain::ports::BlobStore>>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("base_url", &self.base_url)
            .field("queue", &self.queue.is_some())
            .finish_non_exhaustive()
    }
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
        steps::run_unit(services, job, &client, &mut report).await;
        if report.failures.len() > before {
            report.units_failed += 1;
            metrics::counter!("job_units_failed").increment(1);
            tracing::error!(client = %client.id, "a client's unit failed; the other clients go on");
        }
    }
    tracing::info!(job = ?job, report = ?report, "job done");
    Ok(report)
}
