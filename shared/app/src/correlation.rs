//! Correlation ids: one id follows a piece of work from where it entered (a form
//! submission, an event batch, a scheduled job) through what it caused (the ROI recompute of
//! a submission, the raw events of a batch and the day's roll-up that reads them, a report
//! run and the report records it issues).
//!
//! - HTTP: [`middleware`] takes the caller's `X-Correlation-Id` when it is well formed
//!   (1–64 characters of `A-Z a-z 0-9 . _ : -`), or makes a new one, and answers with it in
//!   the same header.
//! - Jobs: [`for_job`] takes the payload's `correlation_id`, else the EventBridge event's
//!   `id`, else makes one.
//!
//! While the work runs, the id is the `correlation_id` field of a tracing span (so every
//! JSON log line carries it) and [`current`] returns it (a tokio task-local), so records
//! written on the way can keep it: raw events store their batch's id, and roll-ups log
//! the ids of the batches they read.

use std::future::Future;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The HTTP header that carries the id, both ways.
pub const HEADER: &str = "x-correlation-id";

pub use roi_domain::correlation::CorrelationId;

/// A new random id: 32 hexadecimal digits (128 bits).
pub fn generate() -> CorrelationId {
    let mut bytes = [0u8; 16];
    // The OS random source only fails on platforms Lambda and the CLI do not run on;
    // a fixed id would still be a valid one.
    let _ = getrandom::fill(&mut bytes);
    CorrelationId::from_random(bytes)
}

tokio::task_local! {
    static CURRENT: CorrelationId;
}

/// The id of the work this task is doing, if it runs under [`scope`].
pub fn current() -> Option<CorrelationId> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Runs `work` with `id` as its correlation id: in a tracing span named `name` with the field
/// `correlation_id`, and as [`current`].
pub async fn scope<F: Future>(name: &'static str, id: CorrelationId, work: F) -> F::Output {
    let span = tracing::info_span!("work", kind = name, correlation_id = %id);
    CURRENT.scope(id, work).instrument(span).await
}

/// The id of a job payload: its `correlation_id`, else an EventBridge event's `id`, else a
/// new one.
pub fn for_job(payload: &serde_json::Value) -> CorrelationId {
    ["correlation_id", "id"]
        .iter()
        .filter_map(|k| payload.get(*k)?.as_str())
        .find_map(|s| CorrelationId::try_from(s.to_owned()).ok())
        .unwrap_or_else(generate)
}

/// axum middleware: the request runs under [`scope`] with the caller's `X-Correlation-Id`
/// or a new one, and the answer carries it back.
pub async fn middleware(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| CorrelationId::try_from(s.to_owned()).ok())
        .unwrap_or_else(generate);
    let mut response = scope("http", id.clone(), next.run(request)).await;
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_and_jobs_take_theirs_or_the_event_id() {
        assert!(CorrelationId::try_from("batch-2026-11-21:7".to_owned()).is_ok());
        assert!(CorrelationId::try_from(String::new()).is_err());
        assert!(CorrelationId::try_from("a b".to_owned()).is_err());
        assert!(CorrelationId::try_from("x".repeat(65)).is_err());
        assert_eq!(generate().as_str().len(), 32);
        let job = serde_json::json!({"job": "daily", "correlation_id": "c-1", "id": "e-1"});
        assert_eq!(for_job(&job).as_str(), "c-1");
        let event = serde_json::json!({"id": "3f1c", "detail-type": "Scheduled Event"});
        assert_eq!(for_job(&event).as_str(), "3f1c");
        let bad = serde_json::json!({"correlation_id": "not valid!"});
        assert_eq!(for_job(&bad).as_str().len(), 32);
    }

    #[tokio::test]
    async fn current_is_the_scope_id_and_none_outside() {
        assert_eq!(current(), None);
        let id = CorrelationId::try_from("abc".to_owned()).expect("valid");
        let seen = scope("test", id.clone(), async { current() }).await;
        assert_eq!(seen, Some(id));
    }
}
