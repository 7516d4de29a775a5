//! Usage and cost events from a client's systems (seed 004 FR-016.1–016.5; seed 001,
//! event-driven analytics; seed 003, feature metrics and operating costs).
//!
//! Events arrive as CloudEvents 1.0 in structured mode: one JSON object per event with the
//! context attributes `specversion`, `id`, `source`, `type`, `time` and the event's `data`.
//! This module decodes request bodies ([`split`]), checks the envelope and the typed `data`
//! of each [`EventType`] ([`validate`]), and derives the storage key ([`EventKey`]).
//! An invalid event is rejected alone, with a [`FieldError`] naming the field and the reason;
//! the other events of the request go on. Pricing and storage live in `roi-app`.
//!
//! What is required beyond the CloudEvents spec, and why:
//! - `time` (RFC 3339): the event's day and storage key come from it, so a resent event
//!   lands on the same key (the spec makes `time` optional).
//! - `data` as JSON (`datacontenttype` absent or `application/json`), an object.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::error::FieldError;

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

/// How a request body carries its events, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/cloudevents+json`: one event.
    Single,
    /// `application/cloudevents-batch+json`: a JSON array of events.
    Batch,
    /// `application/x-ndjson` (or `application/ndjson`, `application/jsonl`): one event per
    /// line; blank lines are skipped.
    NdJson,
}

impl BodyFormat {
    /// The format for a `Content-Type` header value (parameters such as `charset` are
    /// ignored), or `None` for a media type this endpoint does not take.
    /// `application/json` is read as a batch when it starts with `[`, else as one event.
    pub fn from_content_type(content_type: &str, body: &[u8]) -> Option<Self> {
        let media = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/cloudevents+json" => Some(Self::Single),
            "application/cloudevents-batch+json" => Some(Self::Batch),
            "application/x-ndjson" | "application/ndjson" | "application/jsonl" => {
                Some(Self::NdJson)
            }
            "application/json" => {
                let first = body.iter().find(|b| !b.is_ascii_whitespace());
                Some(if first == Some(&b'[') {
                    Self::Batch
                } else {
                    Self::Single
                })
            }
            _ => None,
        }
    }
}

/// Why a whole request body cannot be read (each answered with a problem document).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The body is not JSON of the announced shape (a batch must be an array, a single
    /// event an object); no event can be told apart.
    #[error("the body is not {expected}: {reason}")]
    Malformed {
        /// What was expected, e.g. "a JSON array of CloudEvents".
        expected: &'static str,
        /// The parser's words, with line and column.
        reason: String,
    },
    /// More than [`MAX_EVENTS_PER_REQUEST`] events.
    #[error("{count} events in one request; at most {MAX_EVENTS_PER_REQUEST} are accepted")]
    TooManyEvents {
        /// How many the body holds.
        count: usize,
    },
    /// No event at all.
    #[error("the body holds no event")]
    Empty,
}

/// One event's JSON text as found in the body, or why that part of the body is not an
/// event (an NDJSON line that is not JSON).
pub type RawEvent<'a> = Result<&'a str, FieldError>;

/// Splits a request body into its events' JSON texts, in order.
///
/// # Errors
/// [`DecodeError`] when the body as a whole cannot be read, or holds no or too many events.
pub fn split(body: &[u8], format: BodyFormat) -> Result<Vec<RawEvent<'_>>, DecodeError> {
    let events: Vec<RawEvent<'_>> = match format {
        BodyFormat::Single => {
            let raw: &RawValue =
                serde_json::from_slice(body).map_err(|e| DecodeError::Malformed {
                    expected: "one CloudEvent (a JSON object)",
                    reason: e.to_string(),
                })?;
            vec![Ok(raw.get())]
        }
        BodyFormat::Batch => {
            let raws: Vec<&RawValue> =
                serde_json::from_slice(body).map_err(|e| DecodeError::Malformed {
                    expected: "a JSON array of CloudEvents",
                    reason: e.to_string(),
                })?;
            raws.into_iter().map(|r| Ok(r.get())).collect()
        }
        BodyFormat::NdJson => body
            .split(|b| *b == b'\n')
            .enumerate()
            .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
            .map(|(n, line)| {
                std::str::from_utf8(line)
                    .map_err(|_| FieldError::new(format!("line {}", n + 1), "is not UTF-8"))
            })
            .collect(),
    };
    if events.is_empty() {
        return Err(DecodeError::Empty);
    }
    if events.len() > MAX_EVENTS_PER_REQUEST {
        return Err(DecodeError::TooManyEvents {
            count: events.len(),
        });
    }
    Ok(events)
}

/// The event types accepted, by their CloudEvents `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventType {
    /// `ai.usage`: one or more model calls and their tokens ([`AiUsage`]).
    #[serde(rename = "ai.usage")]
    AiUsage,
    /// `agent.execution`: one run of an agent ([`AgentExecution`]).
    #[serde(rename = "agent.execution")]
    AgentExecution,
    /// `feature.usage`: a person used a feature ([`FeatureUsage`]).
    #[serde(rename = "feature.usage")]
    FeatureUsage,
    /// `session`: a session started or ended ([`Session`]).
    #[serde(rename = "session")]
    Session,
    /// `business.outcome`: a result the business counts ([`BusinessOutcome`]).
    #[serde(rename = "business.outcome")]
    BusinessOutcome,
    /// `audit`: a security or compliance event ([`Audit`]).
    #[serde(rename = "audit")]
    Audit,
}

impl EventType {
    /// Every type, in documentation order.
    pub const ALL: [Self; 6] = [
        Self::AiUsage,
        Self::AgentExecution,
        Self::FeatureUsage,
        Self::Session,
        Self::BusinessOutcome,
        Self::Audit,
    ];

    /// The CloudEvents `type` string, e.g. `ai.usage`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AiUsage => "ai.usage",
            Self::AgentExecution => "agent.execution",
            Self::FeatureUsage => "feature.usage",
            Self::Session => "session",
            Self::BusinessOutcome => "business.outcome",
            Self::Audit => "audit",
        }
    }

    /// The type named `name`, if accepted.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who and where an event belongs to inside the client, borrowed from its data. Every
/// field is optional in general (some event types require some), each at most
/// [`MAX_TEXT_CHARS`] characters. `user` is the client's own user identifier; it is stored
/// only as a salted hash (ARCHITECTURE.md, Security).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attribution<'a> {
    /// The project (a `ProjectId` of this client) the event counts towards.
    pub project: Option<&'a str>,
    /// End user identifier.
    pub user: Option<&'a str>,
    /// Team.
    pub team: Option<&'a str>,
    /// Department (cost allocation, seed 004 US-016.2.1).
    pub department: Option<&'a str>,
    /// Agent identifier.
    pub agent: Option<&'a str>,
    /// Product feature.
    pub feature: Option<&'a str>,
}

/// Declares an event data struct with the attribution fields `project`, `user`, `team`,
/// `department`, `agent` and `feature` appended (no `#[serde(flatten)]`, which would buffer
/// every event and cannot refuse unknown fields).
macro_rules! event_data {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// The project (a `ProjectId` of this client) the event counts towards.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub project: Option<String>,
            /// End user identifier (stored as a salted hash).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub user: Option<String>,
            /// Team.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub team: Option<String>,
            /// Department.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub department: Option<String>,
            /// Agent identifier.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub agent: Option<String>,
            /// Product feature.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub feature: Option<String>,
        }

        impl $name {
            /// Who and where.
            pub fn attribution(&self) -> Attribution<'_> {
                Attribution {
                    project: self.project.as_deref(),
                    user: self.user.as_deref(),
                    team: self.team.as_deref(),
                    department: self.department.as_deref(),
                    agent: self.agent.as_deref(),
                    feature: self.feature.as_deref(),
                }
            }
        }
    };
}

event_data! {
/// `ai.usage` data: model calls and their tokens (seed 004 FR-016.2).
///
/// Token counts are disjoint, as in Anthropic's usage fields: `input_tokens` are the input
/// tokens read neither from nor into the prompt cache, so a token is counted in exactly one
/// of `input_tokens`, `cache_read_tokens`, `cache_write_tokens`, `cache_write_1h_tokens`.
/// (OpenAI reports cached tokens inside its input count; the OpenAI import subtracts them.)
pub struct AiUsage {
    /// Model identifier as the provider names it, e.g. `claude-sonnet-4-5`, `gpt-4.1-mini`.
    pub model: String,
    /// Uncached input tokens.
    pub input_tokens: u64,
    /// Output tokens (including reasoning tokens).
    pub output_tokens: u64,
    /// Input tokens read from the prompt cache.
    #[serde(default)]
    pub cache_read_tokens: u64,
    /// Input tokens written to the prompt cache with the default (5-minute) lifetime.
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Input tokens written to the prompt cache with a 1-hour lifetime.
    #[serde(default)]
    pub cache_write_1h_tokens: u64,
    /// Model calls these tokens add up over, at least 1; absent when the sender does not
    /// know (an Anthropic usage report does not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u32>,
    /// The cost the sender computed or was billed, USD; compared with ours (over 1 % apart
    /// is flagged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<Decimal>,
    /// Prompt type or template name (seed 004 US-016.2.3, expensive prompts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_type: Option<String>,
}
}

fn one() -> u32 {
    1
}

/// How an agent run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Finished with a result.
    Success,
    /// Finished with an error.
    Failure,
    /// Did not finish in time.
    Timeout,
}

event_data! {
/// `agent.execution` data: one run of an agent (seed 004 FR-016.3).
pub struct AgentExecution {
    /// How the run ended.
    pub outcome: Outcome,
    /// Wall-clock duration, ms.
    pub duration_ms: u64,
    /// Retries before the outcome (0 when the first attempt settled it).
    #[serde(default)]
    pub retries: u32,
    /// Error category for failures and timeouts, e.g. `rate_limit`, `invalid_input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_category: Option<String>,
    /// A short error message, free of personal data; roll-ups keep a few per category as
    /// samples (seed 004 FR-016.3 `examples`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Quality score from user feedback, 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_score: Option<Decimal>,
}
}

event_data! {
/// `feature.usage` data: a person used a feature (seed 004 FR-016.1; DAU/WAU/MAU).
pub struct FeatureUsage {
    /// Times used in this event; at least 1, default 1.
    #[serde(default = "one")]
    pub count: u32,
}
}

/// Whether a session started or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionPhase {
    /// The session started at the event's `time`.
    Start,
    /// The session ended at the event's `time`.
    End,
}

event_data! {
/// `session` data: a session's start or end (seed 004 FR-016.1, engagement).
pub struct Session {
    /// The session's identifier, shared by its start and end events.
    pub session_id: String,
    /// Start or end.
    pub phase: SessionPhase,
    /// Session length, ms; required on `end`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}
}

/// What kind of business result (seed 004 FR-016.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// A sale closed.
    DealWon,
    /// A task done without a person.
    TaskAutomated,
    /// A support ticket closed.
    TicketResolved,
    /// An error caught before it cost anything.
    ErrorAvoided,
    /// Anything else; `custom_kind` names it.
    Custom,
}

event_data! {
/// `business.outcome` data: a result the business counts (seed 004 FR-016.4).
pub struct BusinessOutcome {
    /// What kind.
    pub kind: OutcomeKind,
    /// The name of a `custom` kind; required for it, refused otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_kind: Option<String>,
    /// Its value, USD, ≥ 0 (deal value, cost avoided).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_usd: Option<Decimal>,
    /// Staff time it saved, minutes, ≥ 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes_saved: Option<Decimal>,
    /// Whether the AI solution had a hand in it (seed 004 US-016.4.1, attribution).
    pub ai_assisted: bool,
    /// How many such results this event records; at least 1, default 1.
    #[serde(default = "one")]
    pub count: u32,
}
}

/// What an `audit` event records (seed 004 FR-016.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A failed sign-in.
    LoginFailed,
    /// A role or permission granted or withdrawn.
    PermissionChanged,
    /// Data exported out of the system.
    DataExport,
    /// Personal data read.
    PiiAccess,
    /// Data deleted on request (GDPR erasure).
    DataDeletion,
}

event_data! {
/// `audit` data: a security or compliance event (seed 004 FR-016.5).
pub struct Audit {
    /// What happened.
    pub action: AuditAction,
    /// Whether the action succeeded; default `success`.
    #[serde(default = "succeeded")]
    pub outcome: AuditOutcome,
    /// The kind of resource concerned, e.g. `customer_record`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// The resource's identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
}
}

/// Whether an audited action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// It went through.
    Success,
    /// It was refused or failed.
    Failure,
}

fn succeeded() -> AuditOutcome {
    AuditOutcome::Success
}

/// An event's typed `data`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EventData {
    /// `ai.usage`.
    AiUsage(AiUsage),
    /// `agent.execution`.
    AgentExecution(AgentExecution),
    /// `feature.usage`.
    FeatureUsage(FeatureUsage),
    /// `session`.
    Session(Session),
    /// `business.outcome`.
    BusinessOutcome(BusinessOutcome),
    /// `audit`.
    Audit(Audit),
}

impl EventData {
    /// The event type this data belongs to.
    pub fn event_type(&self) -> EventType {
        match self {
            Self::AiUsage(_) => EventType::AiUsage,
            Self::AgentExecution(_) => EventType::AgentExecution,
            Self::FeatureUsage(_) => EventType::FeatureUsage,
            Self::Session(_) => EventType::Session,
            Self::BusinessOutcome(_) => EventType::BusinessOutcome,
            Self::Audit(_) => EventType::Audit,
        }
    }

    /// Who and where.
    pub fn attribution(&self) -> Attribution<'_> {
        match self {
            Self::AiUsage(d) => d.attribution(),
            Self::AgentExecution(d) => d.attribution(),
            Self::FeatureUsage(d) => d.attribution(),
            Self::Session(d) => d.attribution(),
            Self::BusinessOutcome(d) => d.attribution(),
            Self::Audit(d) => d.attribution(),
        }
    }

    /// The end user identifier, to replace (storage keeps only its salted hash).
    pub fn user_mut(&mut self) -> &mut Option<String> {
        match self {
            Self::AiUsage(d) => &mut d.user,
            Self::AgentExecution(d) => &mut d.user,
            Self::FeatureUsage(d) => &mut d.user,
            Self::Session(d) => &mut d.user,
            Self::BusinessOutcome(d) => &mut d.user,
            Self::Audit(d) => &mut d.user,
        }
    }
}

/// A valid event: the CloudEvents context attributes kept, and the typed data.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// CloudEvents `id`, unique within `source`.
    pub id: String,
    /// CloudEvents `source`, a URI-reference naming the sending system.
    pub source: String,
    /// CloudEvents `time`, normalised to UTC.
    pub time: DateTime<Utc>,
    /// CloudEvents `subject`, if given.
    pub subject: Option<String>,
    /// The typed data; its variant gives the event type.
    pub data: EventData,
}

impl Event {
    /// The event's type.
    pub fn event_type(&self) -> EventType {
        self.data.event_type()
    }

    /// SHA-256 (64 hex digits) of what the event says apart from its identity and `time`:
    /// its type, `subject` and typed `data` (as validated, before the user id is hashed).
    /// A resend of one identity (`source`, `id`) with the same digest is a duplicate, even
    /// with a re-stamped `time`; with another digest it is a conflict. Numbers compare as
    /// written: `"3.0"` and `"3"` differ.
    pub fn payload_digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.event_type().as_str().as_bytes());
        h.update([0u8]);
        h.update(self.subject.as_deref().unwrap_or_default().as_bytes());
        h.update([0u8]);
        // Typed data serializes its fields in declaration order: the same data, the same bytes.
        match serde_json::to_vec(&self.data) {
            Ok(bytes) => h.update(bytes),
            Err(e) => h.update(format!("unserializable: {e}").as_bytes()),
        }
        hex::encode(h.finalize())
    }
}

/// The identity a rejection can still name: what the envelope said, if readable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Named {
    /// CloudEvents `id`, if it was a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// CloudEvents `source`, if it was a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// Why one event was rejected, and what it was called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The event's id and source, as far as they could be read.
    pub named: Named,
    /// The field at fault (`data.input_tokens`, `time`, …) and the reason.
    pub error: FieldError,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    specversion: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    source: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow, default)]
    event_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    time: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    subject: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    datacontenttype: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(borrow, default)]
    data_base64: Option<&'a RawValue>,
}

/// Only the names, read leniently, to label a rejection of an unreadable envelope.
#[derive(Deserialize)]
struct NamesOnly {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    source: Option<serde_json::Value>,
}

fn names_of(raw: &str) -> Named {
    let text = |v: Option<serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(truncated(&s)),
        _ => None,
    };
    match serde_json::from_str::<NamesOnly>(raw) {
        Ok(n) => Named {
            id: text(n.id),
            source: text(n.source),
        },
        Err(_) => Named::default(),
    }
}

fn truncated(s: &str) -> String {
    s.chars().take(MAX_TEXT_CHARS).collect()
}

fn text_attribute(field: &str, value: Option<Cow<'_, str>>) -> Result<Option<String>, FieldError> {
    match value {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Err(FieldError::new(field, "must not be empty")),
        Some(v) if v.chars().count() > MAX_TEXT_CHARS => Err(FieldError::new(
            field,
            format!("must be at most {MAX_TEXT_CHARS} characters"),
        )),
        Some(v) if v.chars().any(char::is_control) => Err(FieldError::new(
            field,
            "must not contain control characters",
        )),
        Some(v) => Ok(Some(v.into_owned())),
    }
}

fn required(field: &str, value: Option<Cow<'_, str>>) -> Result<String, FieldError> {
    text_attribute(field, value)?.ok_or_else(|| FieldError::new(field, "is required"))
}

/// Checks one event's JSON text at `now`: the envelope, then the typed `data`.
///
/// # Errors
/// A [`Rejection`] naming the first field at fault; `data` fields are named `data.{field}`.
pub fn validate(raw: &str, now: DateTime<Utc>) -> Result<Event, Rejection> {
    let envelope: Envelope<'_> = match serde_json::from_str(raw) {
        Ok(e) => e,
        Err(e) => {
            return Err(Rejection {
                named: names_of(raw),
                error: envelope_error(&e),
            });
        }
    };
    let named = Named {
        id: envelope
            .id
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(truncated),
        source: envelope
            .source
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(truncated),
    };
    check(envelope, now).map_err(|error| Rejection { named, error })
}

fn envelope_error(e: &serde_json::Error) -> FieldError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => {
            FieldError::new("event", format!("context attributes must be strings: {e}"))
        }
        _ => FieldError::new("event", format!("is not a JSON object: {e}")),
    }
}

fn check(envelope: Envelope<'_>, now: DateTime<Utc>) -> Result<Event, FieldError> {
    match envelope.specversion.as_deref() {
        Some(SPEC_VERSION) => {}
        Some(other) => {
            return Err(FieldError::new(
                "specversion",
                format!("must be \"{SPEC_VERSION}\", got \"{}\"", truncated(other)),
            ));
        }
        None => return Err(FieldError::new("specversion", "is required")),
    }
    let id = required("id", envelope.id)?;
    let source = required("source", envelope.source)?;
    let type_name = required("type", envelope.event_type)?;
    let event_type = EventType::from_name(&type_name).ok_or_else(|| {
        FieldError::new(
            "type",
            format!(
                "unknown event type \"{type_name}\"; accepted: {}",
                EventType::ALL.map(EventType::as_str).join(", ")
            ),
        )
    })?;
    let time_text = required("time", envelope.time)?;
    let time = DateTime::parse_from_rfc3339(&time_text)
        .map_err(|e| FieldError::new("time", format!("must be an RFC 3339 timestamp: {e}")))?
        .with_timezone(&Utc);
    if time > now + chrono::Duration::seconds(MAX_CLOCK_SKEW_SECONDS) {
        return Err(FieldError::new(
            "time",
            format!("lies in the future (more than {MAX_CLOCK_SKEW_SECONDS} s ahead)"),
        ));
    }
    let subject = text_attribute("subject", envelope.subject)?;
    if let Some(ct) = envelope.datacontenttype.as_deref() {
        let media = ct.split(';').next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case("application/json") {
            return Err(FieldError::new(
                "datacontenttype",
                format!("must be application/json, got \"{}\"", truncated(ct)),
            ));
        }
    }
    if envelope.data_base64.is_some() {
        return Err(FieldError::new(
            "data_base64",
            "binary data is not accepted; send `data` as a JSON object",
        ));
    }
    let data = envelope
        .data
        .ok_or_else(|| FieldError::new("data", "is required"))?;
    let data = typed_data(event_type, data.get())?;
    check_data(&data)?;
    Ok(Event {
        id,
        source,
        time,
        subject,
        data,
    })
}

/// Parses `data`; only when that fails is it parsed again with path tracking, to name the
/// field at fault (tracking on every event costs a third of the parse).
fn parse<'a, T: Deserialize<'a>>(raw: &'a str) -> Result<T, FieldError> {
    if let Ok(value) = serde_json::from_str(raw) {
        return Ok(value);
    }
    let de = &mut serde_json::Deserializer::from_str(raw);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." || path.is_empty() {
            "data".to_owned()
        } else {
            format!("data.{path}")
        };
        let inner = e.into_inner();
        let reason = strip_position(&inner.to_string());
        FieldError::new(field, reason)
    })
}

/// serde_json appends " at line L column C"; the field name says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn typed_data(event_type: EventType, raw: &str) -> Result<EventData, FieldError> {
    if !raw.trim_start().starts_with('{') {
        return Err(FieldError::new("data", "must be a JSON object"));
    }
    EventData::parse(event_type, raw)
}

impl EventData {
    /// Reads `data` of `event_type` from JSON text (without the checks of [`validate`]).
    ///
    /// # Errors
    /// A [`FieldError`] naming the field, as `data.{field}`.
    pub fn parse(event_type: EventType, raw: &str) -> Result<Self, FieldError> {
        Ok(match event_type {
            EventType::AiUsage => EventData::AiUsage(parse(raw)?),
            EventType::AgentExecution => EventData::AgentExecution(parse(raw)?),
            EventType::FeatureUsage => EventData::FeatureUsage(parse(raw)?),
            EventType::Session => EventData::Session(parse(raw)?),
            EventType::BusinessOutcome => EventData::BusinessOutcome(parse(raw)?),
            EventType::Audit => EventData::Audit(parse(raw)?),
        })
    }

    /// Reads stored `data` of `event_type` back.
    ///
    /// # Errors
    /// A [`FieldError`] naming the field.
    pub fn from_value(event_type: EventType, value: serde_json::Value) -> Result<Self, FieldError> {
        let bad = |e: serde_json::Error| FieldError::new("data", e.to_string());
        Ok(match event_type {
            EventType::AiUsage => EventData::AiUsage(serde_json::from_value(value).map_err(bad)?),
            EventType::AgentExecution => {
                EventData::AgentExecution(serde_json::from_value(value).map_err(bad)?)
            }
            EventType::FeatureUsage => {
                EventData::FeatureUsage(serde_json::from_value(value).map_err(bad)?)
            }
            EventType::Session => EventData::Session(serde_json::from_value(value).map_err(bad)?),
            EventType::BusinessOutcome => {
                EventData::BusinessOutcome(serde_json::from_value(value).map_err(bad)?)
            }
            EventType::Audit => EventData::Audit(serde_json::from_value(value).map_err(bad)?),
        })
    }
}

fn check_text(field: &str, value: Option<&str>) -> Result<(), FieldError> {
    text_attribute(field, value.map(Cow::Borrowed)).map(|_| ())
}

fn require(field: &str, value: Option<&str>) -> Result<(), FieldError> {
    if value.is_none() {
        return Err(FieldError::new(field, "is required for this event type"));
    }
    check_text(field, value)
}

/// A number from 0 to `max` inclusive, when given.
fn within(field: &str, value: Option<Decimal>, max: Decimal) -> Result<(), FieldError> {
    match value {
        Some(v) if v.is_sign_negative() && !v.is_zero() => Err(FieldError::new(
            field,
            format!("must not be negative, got {v}"),
        )),
        Some(v) if v > max => Err(FieldError::new(
            field,
            format!("must be at most {max}, got {v}"),
        )),
        _ => Ok(()),
    }
}

fn at_most_tokens(field: &str, value: u64) -> Result<(), FieldError> {
    if value > MAX_TOKENS_PER_EVENT {
        Err(FieldError::new(
            field,
            format!("must be at most {MAX_TOKENS_PER_EVENT} tokens, got {value}"),
        ))
    } else {
        Ok(())
    }
}

fn at_least_one(field: &str, value: u32) -> Result<(), FieldError> {
    if value == 0 {
        Err(FieldError::new(field, "must be at least 1"))
    } else {
        Ok(())
    }
}

fn check_data(data: &EventData) -> Result<(), FieldError> {
    let a = data.attribution();
    for (field, value) in [
        ("data.project", a.project),
        ("data.user", a.user),
        ("data.team", a.team),
        ("data.department", a.department),
        ("data.agent", a.agent),
        ("data.feature", a.feature),
    ] {
        check_text(field, value)?;
    }
    match data {
        EventData::AiUsage(d) => {
            check_text("data.model", Some(&d.model))?;
            check_text("data.prompt_type", d.prompt_type.as_deref())?;
            if let Some(n) = d.requests {
                at_least_one("data.requests", n)?;
            }
            for (field, tokens) in [
                ("data.input_tokens", d.input_tokens),
                ("data.output_tokens", d.output_tokens),
                ("data.cache_read_tokens", d.cache_read_tokens),
                ("data.cache_write_tokens", d.cache_write_tokens),
                ("data.cache_write_1h_tokens", d.cache_write_1h_tokens),
            ] {
                at_most_tokens(field, tokens)?;
            }
            within("data.cost_usd", d.cost_usd, MAX_EVENT_USD)?;
        }
        EventData::AgentExecution(d) => {
            require("data.agent", a.agent)?;
            check_text("data.error_category", d.error_category.as_deref())?;
            check_text("data.error_message", d.error_message.as_deref())?;
            if let Some(q) = d.quality_score
                && (q.is_sign_negative() && !q.is_zero() || q > Decimal::ONE_HUNDRED)
            {
                return Err(FieldError::new(
                    "data.quality_score",
                    format!("must be between 0 and 100, got {q}"),
                ));
            }
        }
        EventData::FeatureUsage(d) => {
            require("data.feature", a.feature)?;
            require("data.user", a.user)?;
            at_least_one("data.count", d.count)?;
        }
        EventData::Session(d) => {
            check_text("data.session_id", Some(&d.session_id))?;
            require("data.user", a.user)?;
            if d.phase == SessionPhase::End && d.duration_ms.is_none() {
                return Err(FieldError::new(
                    "data.duration_ms",
                    "is required when phase is \"end\"",
                ));
            }
        }
        EventData::BusinessOutcome(d) => {
            match (d.kind, &d.custom_kind) {
                (OutcomeKind::Custom, None) => {
                    return Err(FieldError::new(
                        "data.custom_kind",
                        "is required when kind is \"custom\"",
                    ));
                }
                (OutcomeKind::Custom, name) => check_text("data.custom_kind", name.as_deref())?,
                (_, Some(_)) => {
                    return Err(FieldError::new(
                        "data.custom_kind",
                        "is only for kind \"custom\"",
                    ));
                }
                (_, None) => {}
            }
            within("data.value_usd", d.value_usd, MAX_EVENT_USD)?;
            within("data.minutes_saved", d.minutes_saved, MAX_EVENT_MINUTES)?;
            at_least_one("data.count", d.count)?;
        }
        EventData::Audit(d) => {
            check_text("data.resource_type", d.resource_type.as_deref())?;
            check_text("data.resource_id", d.resource_id.as_deref())?;
        }
    }
    Ok(())
}

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
