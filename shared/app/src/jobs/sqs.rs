//! Jobs on AWS: a schedule's invocation queues one unit per client on SQS; `compute-roi`
//! consumes them and names the failed ones as batch item failures.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use roi_domain::ports::WorkQueue;
use serde::Serialize;

use super::{Job, JobError, JobReport, Services, run};
use crate::correlation::CorrelationId;
use crate::store::Store;

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
