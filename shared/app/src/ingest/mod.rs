//! Ingesting usage and cost events (issue 4): decode, validate, price, deduplicate and
//! write them, and say per event what happened.
//!
//! An event is reported `accepted` only once it is durably written (BatchWriteItem with its
//! unprocessed items resent, ARCHITECTURE.md). Its identity is its CloudEvents `source` and
//! `id`, as the spec defines it, never its `time`: before its raw record is written, the
//! event *claims* its identity with a conditional put of an [`EventClaim`](roi_domain::event::EventClaim) (pk
//! `EVENTID#{client}#{event_id}`), which holds the digest of its payload and where its raw
//! record goes. A resend of a claimed identity is `duplicate` when the payload is the same
//! (even with another `time`), and `conflict` when it differs; either way nothing is stored
//! twice. A claim whose raw record is missing (a write that failed or was cut short after the
//! claim) is completed by the resend, at the claimed key. Claims live as long as raw events
//! ([`EVENT_TTL_DAYS`](roi_domain::event::EVENT_TTL_DAYS) days). The client always comes from the caller's API key: every key
//! written names it.

mod prepare;
mod write;

use roi_domain::ClientId;
use roi_domain::event::{self, BodyFormat, DecodeError, Named, Rejection};
use serde::Serialize;

pub use self::prepare::{ClientContext, PreparedEvent, prepare};
pub use self::write::store_events;
use crate::pricing::PriceTable;
pub use crate::store::StoredEvent;
use crate::store::{Store, StoreError};

/// What happened to one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    /// Written now.
    Accepted,
    /// Stored already (same `source` and `id`), by an earlier request or earlier in this
    /// one; not written again.
    Duplicate,
    /// Its identity (`source` and `id`) is stored already with another payload; nothing
    /// was written. Give a new event a new `id`.
    Conflict,
    /// Invalid; `field` and `reason` say why. Sending it again as is will not help.
    Rejected,
    /// Valid, but storage did not take it after retries; send it again later.
    NotWritten,
}

/// One event's result, in request order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventResult {
    /// Position in the request (0-based; for NDJSON, the n-th non-blank line).
    pub index: usize,
    /// CloudEvents `id` and `source`, where readable.
    #[serde(flatten)]
    pub named: Named,
    /// What happened.
    pub status: EventStatus,
    /// The field at fault, for `rejected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why, for `rejected` and `not_written`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Notes on an accepted event: a model missing from the price table, a reported cost
    /// over 1 % from ours.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The outcome of one request: counts and one result per event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IngestReport {
    /// Events written now.
    pub accepted: usize,
    /// Events stored already.
    pub duplicate: usize,
    /// Events whose identity is stored already with another payload.
    pub conflict: usize,
    /// Invalid events.
    pub rejected: usize,
    /// Valid events storage did not take; retry them.
    pub not_written: usize,
    /// One result per event, in request order.
    pub results: Vec<EventResult>,
}

impl IngestReport {
    /// Whether every event was accepted.
    pub fn all_accepted(&self) -> bool {
        self.accepted == self.results.len()
    }
}

/// Why a request as a whole was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The body cannot be read as events (→ 400, or 413 for too many).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The key's client is not registered (→ 403).
    #[error("client '{0}' does not exist")]
    UnknownClient(String),
    /// Storage failed before anything was written (→ 503).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Decodes, validates and stores the events of one request body for `client`.
///
/// # Errors
/// [`IngestError`] for request-level problems; per-event problems are in the report.
pub async fn ingest(
    store: &Store,
    prices: &PriceTable,
    client: &ClientId,
    body: &[u8],
    format: BodyFormat,
) -> Result<IngestReport, IngestError> {
    ingest_framed(store, prices, client, event::split(body, format)?).await
}

/// Validates and stores events already framed by [`event::split`] (the events API splits
/// once, to count them against the key's rate budget, then hands them here).
///
/// # Errors
/// As [`ingest`], but for decoding.
pub async fn ingest_framed(
    store: &Store,
    prices: &PriceTable,
    client: &ClientId,
    framed: Vec<event::RawEvent<'_>>,
) -> Result<IngestReport, IngestError> {
    let now = store.clock().now();
    let checked = framed
        .into_iter()
        .map(|raw| match raw {
            Ok(text) => event::validate(text, now),
            Err(error) => Err(Rejection {
                named: Named::default(),
                error,
            }),
        })
        .collect();
    store_events(store, prices, client, checked).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use roi_domain::event::EventData;

    #[test]
    fn a_stored_event_reads_back_whatever_the_field_order() {
        let typed_first = r#"{"type":"agent.execution","id":"e1","source":"s","time":"2026-11-20T10:00:00Z","day":"2026-11-20","received_at":"2026-11-21T00:00:00Z","data":{"outcome":"timeout","duration_ms":30000,"agent":"triage"},"extra":1}"#;
        let event: StoredEvent = serde_json::from_str(typed_first).unwrap();
        let EventData::AgentExecution(x) = &event.data else {
            panic!("{event:?}")
        };
        assert_eq!((x.duration_ms, x.agent.as_deref()), (30000, Some("triage")));
        // a JSON map with sorted keys puts data before type
        let value: serde_json::Value = serde_json::from_str(typed_first).unwrap();
        assert_eq!(serde_json::from_value::<StoredEvent>(value).unwrap(), event);
        // and what is written reads back equal
        let text = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<StoredEvent>(&text).unwrap(), event);
        let missing = serde_json::from_str::<StoredEvent>(r#"{"type":"audit","id":"e"}"#);
        assert!(missing.unwrap_err().to_string().contains("missing field"));
    }

    #[test]
    fn a_stored_instant_reads_as_chrono_reads_it_in_every_form() {
        let read = |time: &str| {
            let text = format!(
                r#"{{"type":"audit","id":"e","source":"s","time":"{time}","day":"2026-11-20","received_at":"{time}","data":{{"action":"data_export","outcome":"success"}}}}"#
            );
            serde_json::from_str::<StoredEvent>(&text).map(|e| (e.time, e.received_at))
        };
        for time in [
            "2026-11-20T10:00:00Z",
            "2026-11-20T10:00:00.123Z",
            "2026-11-20T10:00:00.123456789Z",
            "2026-11-20T11:00:00+01:00",
            "2026-11-20t10:00:00z",
            // taken by chrono's `FromStr` only
            "2026-11-20T10:00:00+0000",
            "2026-11-20T10:00:00 +00:00",
            "2026-11-20 11:00:00 +0100",
        ] {
            let chrono: chrono::DateTime<chrono::Utc> = time.parse().unwrap();
            assert_eq!(read(time).unwrap(), (chrono, chrono), "{time}");
        }
        for bad in [
            "2026-11-20",
            "2026-11-20T10:00Z",
            "2026-13-20T10:00:00Z",
            "yesterday",
        ] {
            let e = read(bad).unwrap_err().to_string();
            assert!(e.contains("input") || e.contains("premature"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_stored_day_reads_as_chrono_reads_it_in_every_form() {
        let read = |day: &str| {
            let text = format!(
                r#"{{"type":"audit","id":"e","source":"s","time":"2026-11-20T10:00:00Z","day":"{day}","received_at":"2026-11-20T10:00:00Z","data":{{"action":"data_export","outcome":"success"}}}}"#
            );
            serde_json::from_str::<StoredEvent>(&text).map(|e| e.day)
        };
        for day in [
            "2026-11-20",
            "2024-02-29",
            "0001-01-01",
            "9999-12-31",
            // taken by chrono's `FromStr` only
            "2026-1-5",
            "+2026-11-20",
            "+12026-11-20",
            " 2026-11-20",
        ] {
            let chrono: chrono::NaiveDate = day.parse().unwrap();
            assert_eq!(read(day).unwrap(), chrono, "{day}");
        }
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-11-20T10:00",
            "2026/11/20",
            "2026-11-2x",
            "２０２６-11-20",
            "12026-11-20",
            "",
        ] {
            let chrono = bad.parse::<chrono::NaiveDate>().unwrap_err().to_string();
            let ours = read(bad).unwrap_err().to_string();
            assert!(
                ours.starts_with(&chrono),
                "{bad}: {ours} (chrono: {chrono})"
            );
        }
    }
}
