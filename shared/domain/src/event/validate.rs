//! The checks of an event: its envelope (CloudEvents context attributes) and its `data`.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::error::FieldError;

use super::data::{EventData, EventType, OutcomeKind, SessionPhase};
use super::{
    MAX_CLOCK_SKEW_SECONDS, MAX_EVENT_MINUTES, MAX_EVENT_USD, MAX_TEXT_CHARS, MAX_TOKENS_PER_EVENT,
    SPEC_VERSION,
};

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
        // Typed data serializes its fields in declaration order: the same data, the same
        // bytes. Written to a buffer and hashed in one update: the serializer's many small
        // writes, each an update of its own, cost more than the hashing (issue 19's profile).
        let mut bytes = Vec::with_capacity(512);
        match serde_json::to_writer(&mut bytes, &self.data) {
            Ok(()) => h.update(&bytes),
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
    // The names are copied only for a rejection (the `Cow`s borrow `raw` unless escaped).
    let (id, source) = (envelope.id.clone(), envelope.source.clone());
    check(envelope, now).map_err(|error| {
        let name = |s: Option<Cow<'_, str>>| s.as_deref().filter(|s| !s.is_empty()).map(truncated);
        Rejection {
            named: Named {
                id: name(id),
                source: name(source),
            },
            error,
        }
    })
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
            EventType::KpiMeasurement => EventData::KpiMeasurement(parse(raw)?),
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
            EventType::KpiMeasurement => {
                EventData::KpiMeasurement(serde_json::from_value(value).map_err(bad)?)
            }
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

/// The most web searches one `ai.usage` event may carry: 10⁹.
pub const MAX_SEARCHES_PER_EVENT: u64 = 1_000_000_000;

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
            if d.web_search_requests > MAX_SEARCHES_PER_EVENT {
                return Err(FieldError::new(
                    "data.web_search_requests",
                    format!(
                        "must be at most {MAX_SEARCHES_PER_EVENT}, got {}",
                        d.web_search_requests
                    ),
                ));
            }
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
        EventData::KpiMeasurement(d) => {
            require("data.project", a.project)?;
            check_text("data.kpi", Some(&d.kpi))?;
            if d.value.abs() > crate::units::MAX_MEASURED_VALUE {
                return Err(FieldError::new(
                    "data.value",
                    "must be at most 10^12 in size",
                ));
            }
        }
    }
    Ok(())
}
