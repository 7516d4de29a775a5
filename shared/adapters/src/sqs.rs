//! The AWS [`WorkQueue`]: SQS `SendMessageBatch`, ten messages a call (the API's limit).
//! The SDK retries throttling and transport errors; a batch entry SQS still refuses fails
//! the call, so the caller's own retry (EventBridge Scheduler's retry policy) queues the
//! whole job again. Units are idempotent, so a unit queued twice does its work once.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use roi_domain::ports::{QueueError, WorkQueue};

/// Messages in one `SendMessageBatch` call (SQS's maximum).
pub const BATCH: usize = 10;

/// A [`WorkQueue`] on one SQS queue.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    /// Sends to the queue at `url` (e.g. `https://sqs.eu-west-1.amazonaws.com/123456789012/jobs`)
    /// through `client`.
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }
}

#[async_trait]
impl WorkQueue for SqsQueue {
    async fn send(&self, bodies: &[String]) -> Result<(), QueueError> {
        for chunk in bodies.chunks(BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .build()
                        .map_err(|e| QueueError::Rejected(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| {
                    tracing::warn!(error = %DisplayErrorContext(&e), "SQS send failed");
                    match e.as_service_error() {
                        Some(s)
                            if s.is_batch_request_too_long()
                                || s.is_invalid_batch_entry_id()
                                || s.is_too_many_entries_in_batch_request() =>
                        {
                            QueueError::Rejected("the queue refused the batch".into())
                        }
                        _ => QueueError::Unavailable("SQS call failed after retries".into()),
                    }
                })?;
            if let Some(first) = out.failed.first() {
                let reason = format!(
                    "{} of {} messages refused, e.g. {}: {}",
                    out.failed.len(),
                    chunk.len(),
                    first.code,
                    first.message.as_deref().unwrap_or("no message")
                );
                return Err(if first.sender_fault {
                    QueueError::Rejected(reason)
                } else {
                    QueueError::Unavailable(reason)
                });
            }
        }
        Ok(())
    }
}
