//! Usage and cost events from a client's systems (seed 004 FR-016.1–016.5; seed 001,
//! event-driven analytics; seed 003, feature metrics and operating costs).
//!
//! Events arrive as CloudEvents 1.0 in structured mode: one JSON object per event with the
//! context attributes `specversion`, `id`, `source`, `type`, `time` and the event's `data`.
//! This module decodes request bodies ([`split`]), checks the envelope and the typed `data`
//! of each [`EventType`] ([`validate`]), and derives the storage key ([`EventKey`]).
//! An invalid event is rejected alone, with a [`FieldError`](crate::FieldError) naming the field and the reason;
//! the other events of the request go on. Pricing and storage live in `roi-app`.
//!
//! What is required beyond the CloudEvents spec, and why:
//! - `time` (RFC 3339): the event's day and storage key come from it, so a resent event
//!   lands on the same key (the spec makes `time` optional).
//! - `data` as JSON (`datacontenttype` absent or `application/json`), an object.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

mod body;
mod data;
mod validate;

pub use body::*;
pub use data::*;
pub use validate::*;

/// The CloudEvents version accepted.
pub const SPEC_VERSION: &str = "1.0";
/// The most events one request may carry (issue 4; BatchWriteItem takes 25, so 40 calls).
pub const MAX_EVENTS_PER_REQUEST: usize = 1000;
/// The largest request body accepted: 1 MiB.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// Raw events partitions per client and day (ARCHITECTURE.md, "write-sharded"): events of
/// one client-day spread over this many DynamoDB partitions, each good for 1,000 WCU/s.
pub const EVENT_SHARDS: u8 = 8;
/// How long raw events are kept: 90 days (ARCHITECTURE.md key design); roll-ups stay.
pub const EVENT_TTL_DAYS: i64 = 90;
/// How many of a client's days, counted back from its today, can still be rolled up again
/// from raw events: 88. An event is received no earlier than its day and kept
/// [`EVENT_TTL_DAYS`] from receipt; one day each is kept in hand for time zones and clock
/// skew. An older day's roll-up is final: it is never recomputed (that would replace it
/// with one made from fewer events), and an event for it is refused.
pub const RECOMPUTE_WINDOW_DAYS: u64 = 88;

/// The first of a client's days that can still be rolled up again when its today is
/// `today` ([`RECOMPUTE_WINDOW_DAYS`]); days before it are final.
pub fn first_open_day(today: NaiveDate) -> NaiveDate {
    today
        .checked_sub_days(chrono::Days::new(RECOMPUTE_WINDOW_DAYS))
        .unwrap_or(NaiveDate::MIN)
}

/// How far in the future an event's `time` may lie (clock skew of the sender): 5 minutes.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 300;
/// The longest text attribute accepted (`id`, `source`, names in `data`), characters.
pub const MAX_TEXT_CHARS: usize = 256;
/// The most tokens of one kind one event may carry: 10^12 (a usage report's day of a
/// large organisation is far below it; sums over a year of events stay inside `u64`).
pub const MAX_TOKENS_PER_EVENT: u64 = 1_000_000_000_000;
/// The largest amount of money one event may carry (`cost_usd`, `value_usd`): 10^9 USD.
pub const MAX_EVENT_USD: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);
/// The most minutes one event may say were saved (`minutes_saved`): 10^9.
pub const MAX_EVENT_MINUTES: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// An event's storage identity (its keys are `roi_app::store::keys::raw_event` and
/// `event_claim`).
///
/// `event_id` is the first 128 bits of SHA-256(`source` NUL `id`) in hex, so the CloudEvents
/// identity alone decides the key: a resent event lands on its own key. `day` is the
/// event's date in the client's time zone; `shard` (0..[`EVENT_SHARDS`]) comes from the same
/// hash, so one client-day spreads evenly over its partitions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventKey {
    /// The 32-hex-digit event id.
    pub event_id: String,
    /// The partition shard of the event's client-day, 0..[`EVENT_SHARDS`].
    pub shard: u8,
    /// The client's day of the event.
    pub day: NaiveDate,
    /// The event's `time`, UTC.
    pub time: DateTime<Utc>,
}

impl EventKey {
    /// The identity of an event from `source` with `id` at `time`, for a client in time
    /// zone `tz`.
    pub fn new(tz: Tz, source: &str, id: &str, time: DateTime<Utc>) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(source.as_bytes());
        hasher.update([0u8]);
        hasher.update(id.as_bytes());
        let digest = hasher.finalize();
        Self {
            event_id: hex::encode(&digest[..16]),
            shard: digest[0] % EVENT_SHARDS,
            day: time.with_timezone(&tz).date_naive(),
            time,
        }
    }
}

/// An event's identity claim (pk `EVENTID#{client}#{event_id}`, sk `ID`, TTL
/// [`EVENT_TTL_DAYS`] days): written once, with a conditional put, before the raw record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventClaim {
    /// SHA-256 of the payload without `time` ([`Event::payload_digest`]).
    pub digest: String,
    /// The raw record's partition key.
    pub raw_pk: String,
    /// The raw record's sort key.
    pub raw_sk: String,
    /// `time` as first received, UTC.
    pub time: DateTime<Utc>,
    /// The client's day of that `time`.
    pub day: NaiveDate,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FieldError;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
    }

    fn usage(data: &str) -> String {
        format!(
            r#"{{"specversion":"1.0","id":"e-1","source":"crm/bot","type":"ai.usage","time":"2026-11-21T10:00:00Z","data":{data}}}"#
        )
    }

    fn reason(raw: &str) -> FieldError {
        validate(raw, now()).unwrap_err().error
    }

    #[test]
    fn the_payload_digest_ignores_time_and_sees_everything_else() {
        let event = |time: &str, tokens: u32| {
            let raw = format!(
                r#"{{"specversion":"1.0","id":"e-1","source":"crm/bot","type":"ai.usage","time":"{time}","data":{{"model":"m","input_tokens":{tokens},"output_tokens":1}}}}"#
            );
            validate(&raw, now()).unwrap()
        };
        let first = event("2026-11-21T10:00:00Z", 5);
        assert_eq!(first.payload_digest().len(), 64);
        assert_eq!(
            first.payload_digest(),
            event("2026-11-21T10:00:05Z", 5).payload_digest(),
            "a re-stamped resend is the same payload"
        );
        assert_ne!(
            first.payload_digest(),
            event("2026-11-21T10:00:00Z", 6).payload_digest()
        );
        let mut subject = first.clone();
        subject.subject = Some("ticket-1".into());
        assert_ne!(first.payload_digest(), subject.payload_digest());
    }

    #[test]
    fn the_largest_accepted_amounts_pass_and_one_more_is_refused() {
        let at = |field: &str, value: &str| {
            usage(&format!(
                r#"{{"model":"m","input_tokens":{},"output_tokens":1,"{field}":{value}}}"#,
                MAX_TOKENS_PER_EVENT
            ))
        };
        assert!(validate(&at("cost_usd", "\"1000000000\""), now()).is_ok());
        assert!(validate(&at("cost_usd", "\"1000000000.01\""), now()).is_err());
        assert!(validate(&at("cache_read_tokens", "1000000000000"), now()).is_ok());
        assert!(validate(&at("cache_read_tokens", "1000000000001"), now()).is_err());
        assert!(validate(&at("web_search_requests", "0"), now()).is_ok());
        assert!(validate(&at("web_search_requests", "1000000000"), now()).is_ok());
        let over = validate(&at("web_search_requests", "1000000001"), now()).unwrap_err();
        assert_eq!(over.error.field, "data.web_search_requests");
    }

    #[test]
    fn a_complete_usage_event_is_typed_with_defaults() {
        // GIVEN an ai.usage event with cache tokens and attribution
        let raw = usage(
            r#"{"model":"claude-sonnet-4-5","input_tokens":1200,"output_tokens":300,"cache_read_tokens":5000,"department":"sales","user":"u-17"}"#,
        );
        // WHEN it is validated
        let event = validate(&raw, now()).unwrap();
        // THEN every field is typed and the defaults apply
        let EventData::AiUsage(d) = &event.data else {
            panic!("not ai.usage")
        };
        assert_eq!(d.input_tokens, 1200);
        assert_eq!(d.cache_read_tokens, 5000);
        assert_eq!(d.cache_write_tokens, 0);
        assert_eq!(d.requests, None);
        assert_eq!(d.department.as_deref(), Some("sales"));
        assert_eq!(
            event.time,
            Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap()
        );
    }

    #[test]
    fn each_bad_field_is_named_with_its_reason() {
        let cases = [
            (
                usage(r#"{"model":"m","input_tokens":-1,"output_tokens":1}"#),
                "data.input_tokens",
                "-1",
            ),
            (
                usage(r#"{"model":"m","input_tokens":1.5,"output_tokens":1}"#),
                "data.input_tokens",
                "1.5",
            ),
            (
                usage(r#"{"model":"m","output_tokens":1}"#),
                "data",
                "input_tokens",
            ),
            (
                usage(r#"{"model":"m","input_tokens":1,"output_tokens":1,"input_token":2}"#),
                "data.input_token",
                "unknown field",
            ),
            (
                usage(r#"{"model":"m","input_tokens":1,"output_tokens":1,"requests":0}"#),
                "data.requests",
                "at least 1",
            ),
            (
                usage(r#"{"model":"m","input_tokens":1,"output_tokens":1,"cost_usd":"-2"}"#),
                "data.cost_usd",
                "negative",
            ),
            (
                // issue 13: this value crashed the ingest handler
                usage(r#"{"model":"m","input_tokens":1,"output_tokens":1,"cost_usd":"1e27"}"#),
                "data.cost_usd",
                "at most 1000000000",
            ),
            (
                usage(r#"{"model":"m","input_tokens":1000000000001,"output_tokens":1}"#),
                "data.input_tokens",
                "at most 1000000000000 tokens",
            ),
            (
                usage(r#"{"model":"","input_tokens":1,"output_tokens":1}"#),
                "data.model",
                "empty",
            ),
            (usage(r#"[1,2]"#), "data", "object"),
            (usage(r#""text""#), "data", "object"),
        ];
        for (raw, field, words) in cases {
            let e = reason(&raw);
            assert_eq!(e.field, field, "{raw}: {e}");
            assert!(e.reason.contains(words), "{raw}: {e}");
        }
    }

    #[test]
    fn the_envelope_is_checked_before_the_data() {
        let ok = usage(r#"{"model":"m","input_tokens":1,"output_tokens":1}"#);
        let cases = [
            (
                ok.replace(r#""specversion":"1.0","#, ""),
                "specversion",
                "required",
            ),
            (ok.replace(r#""1.0""#, r#""0.3""#), "specversion", "0.3"),
            (ok.replace(r#""id":"e-1","#, ""), "id", "required"),
            (ok.replace(r#""e-1""#, r#""""#), "id", "empty"),
            (ok.replace(r#""crm/bot""#, "7"), "event", "strings"),
            (
                ok.replace("ai.usage", "ai.usag"),
                "type",
                "unknown event type \"ai.usag\"",
            ),
            (
                ok.replace(r#","time":"2026-11-21T10:00:00Z""#, ""),
                "time",
                "required",
            ),
            (
                ok.replace("2026-11-21T10:00:00Z", "yesterday"),
                "time",
                "RFC 3339",
            ),
            (
                ok.replace("2026-11-21T10:00:00Z", "2026-11-22T10:00:00Z"),
                "time",
                "future",
            ),
            (
                ok.replace(r#","data":"#, r#","datacontenttype":"text/xml","data":"#),
                "datacontenttype",
                "text/xml",
            ),
            (
                ok.replace(
                    r#","data":{"model":"m","input_tokens":1,"output_tokens":1}"#,
                    "",
                ),
                "data",
                "required",
            ),
            ("not json".to_owned(), "event", "JSON object"),
        ];
        for (raw, field, words) in cases {
            let e = reason(&raw);
            assert_eq!(e.field, field, "{raw}: {e}");
            assert!(e.reason.contains(words), "{raw}: {e}");
        }
    }

    #[test]
    fn a_rejection_still_names_the_event() {
        let raw = usage(r#"{"model":"m"}"#);
        let r = validate(&raw, now()).unwrap_err();
        assert_eq!(r.named.id.as_deref(), Some("e-1"));
        assert_eq!(r.named.source.as_deref(), Some("crm/bot"));
    }

    fn event_of(kind: &str, data: &str) -> Result<Event, FieldError> {
        let raw = usage(data).replace("ai.usage", kind);
        validate(&raw, now()).map_err(|r| r.error)
    }

    #[test]
    fn every_type_has_its_own_rules() {
        // (type, data, the field at fault or None when valid)
        let cases = [
            (
                "agent.execution",
                r#"{"agent":"rfp","outcome":"timeout","duration_ms":30000,"retries":2,"error_category":"timeout"}"#,
                None,
            ),
            (
                "agent.execution",
                r#"{"outcome":"success","duration_ms":1}"#,
                Some("data.agent"),
            ),
            (
                "agent.execution",
                r#"{"agent":"a","outcome":"done","duration_ms":1}"#,
                Some("data.outcome"),
            ),
            (
                "agent.execution",
                r#"{"agent":"a","outcome":"success","duration_ms":1,"quality_score":101}"#,
                Some("data.quality_score"),
            ),
            ("feature.usage", r#"{"feature":"search","user":"u1"}"#, None),
            (
                "feature.usage",
                r#"{"feature":"search"}"#,
                Some("data.user"),
            ),
            (
                "session",
                r#"{"session_id":"s1","user":"u1","phase":"start"}"#,
                None,
            ),
            (
                "session",
                r#"{"session_id":"s1","user":"u1","phase":"end"}"#,
                Some("data.duration_ms"),
            ),
            (
                "business.outcome",
                r#"{"kind":"deal_won","value_usd":"12500.00","ai_assisted":true}"#,
                None,
            ),
            (
                "business.outcome",
                r#"{"kind":"custom","ai_assisted":false}"#,
                Some("data.custom_kind"),
            ),
            (
                "business.outcome",
                r#"{"kind":"deal_won","custom_kind":"x","ai_assisted":false}"#,
                Some("data.custom_kind"),
            ),
            (
                "business.outcome",
                r#"{"kind":"task_automated","minutes_saved":-3,"ai_assisted":true}"#,
                Some("data.minutes_saved"),
            ),
            ("business.outcome", r#"{"kind":"deal_won"}"#, Some("data")),
            (
                "audit",
                r#"{"action":"pii_access","user":"u1","resource_type":"customer_record"}"#,
                None,
            ),
            ("audit", r#"{"action":"sudo"}"#, Some("data.action")),
        ];
        for (kind, data, fault) in cases {
            let got = event_of(kind, data).err().map(|e| e.field);
            assert_eq!(got.as_deref(), fault, "{kind} {data}");
        }
        assert_eq!(
            event_of("business.outcome", r#"{"kind":"deal_won"}"#)
                .unwrap_err()
                .reason,
            "missing field `ai_assisted`"
        );
    }

    #[test]
    fn bodies_split_by_their_media_type() {
        let one = usage(r#"{"model":"m","input_tokens":1,"output_tokens":1}"#);
        let batch = format!("[{one},{one}]");
        let lines = format!("{one}\n\n{one}\r\nnot json\n");
        assert_eq!(split(one.as_bytes(), BodyFormat::Single).unwrap().len(), 1);
        assert_eq!(split(batch.as_bytes(), BodyFormat::Batch).unwrap().len(), 2);
        let nd = split(lines.as_bytes(), BodyFormat::NdJson).unwrap();
        assert_eq!(nd.len(), 3, "blank lines are skipped");
        assert!(
            validate(nd[1].clone().unwrap(), now()).is_ok(),
            "CRLF is whitespace to JSON"
        );
        assert_eq!(
            validate(nd[2].clone().unwrap(), now())
                .unwrap_err()
                .error
                .field,
            "event"
        );
        assert!(matches!(
            split(b"{}", BodyFormat::Batch),
            Err(DecodeError::Malformed { .. })
        ));
        assert_eq!(split(b"[]", BodyFormat::Batch), Err(DecodeError::Empty));
        let many = format!("[{}]", vec!["{}"; MAX_EVENTS_PER_REQUEST + 1].join(","));
        assert_eq!(
            split(many.as_bytes(), BodyFormat::Batch),
            Err(DecodeError::TooManyEvents {
                count: MAX_EVENTS_PER_REQUEST + 1
            })
        );
        assert_eq!(
            BodyFormat::from_content_type("application/cloudevents-batch+json; charset=utf-8", b""),
            Some(BodyFormat::Batch)
        );
        assert_eq!(
            BodyFormat::from_content_type("application/json", b" [ ]"),
            Some(BodyFormat::Batch)
        );
        assert_eq!(BodyFormat::from_content_type("text/plain", b""), None);
    }

    #[test]
    fn the_key_depends_on_source_and_id_only() {
        let t = Utc.with_ymd_and_hms(2026, 11, 21, 23, 30, 0).unwrap();
        let a = EventKey::new(chrono_tz::UTC, "crm/bot", "e-1", t);
        assert_eq!(a, EventKey::new(chrono_tz::UTC, "crm/bot", "e-1", t));
        assert_ne!(
            a.event_id,
            EventKey::new(chrono_tz::UTC, "crm/bot2", "e-1", t).event_id
        );
        // "a" + "bc" and "ab" + "c" must not collide
        assert_ne!(
            EventKey::new(chrono_tz::UTC, "a", "bc", t).event_id,
            EventKey::new(chrono_tz::UTC, "ab", "c", t).event_id
        );
        assert_eq!((a.day.to_string(), a.time), ("2026-11-21".into(), t));
        assert!(a.shard < EVENT_SHARDS);
        // the client's day, not UTC's
        let tokyo = EventKey::new(chrono_tz::Asia::Tokyo, "crm/bot", "e-1", t);
        assert_eq!(tokyo.day.to_string(), "2026-11-22");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_every_rejection_has_a_reason(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            format in prop_oneof![Just(BodyFormat::Single), Just(BodyFormat::Batch), Just(BodyFormat::NdJson)],
        ) {
            if let Ok(events) = split(&body, format) {
                for raw in events {
                    match raw {
                        Err(e) => prop_assert!(!e.reason.is_empty() && !e.field.is_empty()),
                        Ok(text) => if let Err(r) = validate(text, now()) {
                            prop_assert!(!r.error.reason.is_empty() && !r.error.field.is_empty());
                        },
                    }
                }
            }
        }

        #[test]
        fn event_like_json_never_panics_and_every_rejection_has_a_reason(
            id in proptest::option::of("[a-z0-9-]{0,8}"),
            kind in prop_oneof![Just("ai.usage"), Just("session"), Just("audit"), Just("x")],
            time in prop_oneof![Just("2026-11-21T10:00:00Z"), Just("2026-13-01"), Just("")],
            tokens in any::<i64>(),
            extra in "[a-z_]{0,6}",
        ) {
            let id = id.map_or("null".to_owned(), |s| format!("\"{s}\""));
            let raw = format!(
                r#"{{"specversion":"1.0","id":{id},"source":"s","type":"{kind}","time":"{time}","data":{{"model":"m","input_tokens":{tokens},"output_tokens":0,"{extra}":1}}}}"#
            );
            if let Err(r) = validate(&raw, now()) {
                prop_assert!(!r.error.reason.is_empty() && !r.error.field.is_empty());
            }
        }
    }
}
