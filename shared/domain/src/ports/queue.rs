//! The [`WorkQueue`] port: units of scheduled work (SQS on AWS).

use async_trait::async_trait;

/// What went wrong handing work to a [`WorkQueue`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// A message cannot be queued as given (too large, malformed); retrying will not help.
    #[error("message refused by the queue: {0}")]
    Rejected(String),
    /// The queue could not be reached, or refused some messages of a batch after the SDK's
    /// retries; the caller should fail so its own retry queues everything again.
    #[error("queue unavailable: {0}")]
    Unavailable(String),
}

/// A queue of units of work (one client's part of a scheduled job), delivered at least
/// once to a consumer. Every adapter must queue each body whole or fail the call: a
/// returned `Ok` means every message is queued. A body is UTF-8 JSON of at most 256 KiB
/// (SQS's limit). Delivery order is not promised, and a message may come twice: work
/// sent through a queue must be idempotent.
///
/// # Errors
/// [`QueueError`].
#[async_trait]
pub trait WorkQueue: Send + Sync {
    /// Queues `bodies`, one message each.
    async fn send(&self, bodies: &[String]) -> Result<(), QueueError>;
}
