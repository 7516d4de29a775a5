//! OpenTelemetry traces in (issue 17): `POST /v1/traces` bodies (OTLP/HTTP, protobuf or
//! JSON, decoded with the `opentelemetry-proto` crate's types) whose GenAI spans become
//! priced `ai.usage` events, keyed by trace and span id so a resent export is a duplicate.
//!
//! A span is a GenAI span when it carries token counts in any of the spellings teams use:
//!
//! | what | attributes, first found wins |
//! |---|---|
//! | input tokens | `gen_ai.usage.input_tokens` (OTel: cached tokens included), `gen_ai.usage.prompt_tokens`, `llm.token_count.prompt` (OpenInference) |
//! | output tokens | `gen_ai.usage.output_tokens`, `gen_ai.usage.completion_tokens`, `llm.token_count.completion` |
//! | cache reads | `gen_ai.usage.cache_read.input_tokens`, `gen_ai.usage.cache_read_input_tokens` |
//! | cache writes | `gen_ai.usage.cache_write.input_tokens`, `gen_ai.usage.cache_creation.input_tokens`, `gen_ai.usage.cache_creation_input_tokens` |
//! | model | `gen_ai.response.model`, `gen_ai.request.model`, `llm.model_name` |
//! | agent, user | `gen_ai.agent.name`; `user.id`, `enduser.id` |
//!
//! OTel's input tokens include the cached ones, which our events (as Anthropic's reports)
//! count apart: the event's `input_tokens` is input − cache reads − cache writes. Every
//! other span is counted and ignored.

use chrono::{DateTime, Utc};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message;
use roi_domain::event::{AiUsage, Event, EventData, Named, Rejection};

/// The `source` of events made from spans.
pub const SOURCE: &str = "otlp";

/// How a body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json` (OTLP/JSON: hex ids, lowerCamelCase).
    Json,
}

impl Encoding {
    /// The encoding of a `Content-Type`, if OTLP/HTTP defines it.
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let media = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/x-protobuf" => Some(Self::Protobuf),
            "application/json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// Why a body is not an OTLP trace export.
#[derive(Debug, thiserror::Error)]
#[error("not an OTLP trace export: {0}")]
pub struct DecodeError(String);

/// Decodes an `ExportTraceServiceRequest`.
///
/// # Errors
/// [`DecodeError`] naming the decoder's complaint.
pub fn decode(body: &[u8], encoding: Encoding) -> Result<ExportTraceServiceRequest, DecodeError> {
    match encoding {
        Encoding::Protobuf => {
            ExportTraceServiceRequest::decode(body).map_err(|e| DecodeError(e.to_string()))
        }
        // serde would also read a struct from a JSON array; OTLP/JSON is an object
        Encoding::Json if body.trim_ascii_start().first() != Some(&b'{') => {
            Err(DecodeError("an OTLP/JSON export is a JSON object".into()))
        }
        Encoding::Json => serde_json::from_slice::<JsonRequest>(body)
            .map(|r| ExportTraceServiceRequest {
                resource_spans: r.resource_spans,
            })
            .map_err(|e| DecodeError(e.to_string())),
    }
}

/// An OTLP/JSON export request. OTLP/JSON leaves fields at their defaults out, so `{}` is
/// an empty export; opentelemetry-proto's own type requires `resourceSpans` (the nested
/// types default every field).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonRequest {
    #[serde(default)]
    resource_spans: Vec<opentelemetry_proto::tonic::trace::v1::ResourceSpans>,
}

/// The events of an export: one per GenAI span, with the number of other spans.
pub fn events_of(request: &ExportTraceServiceRequest) -> (Vec<Result<Event, Rejection>>, usize) {
    let mut events = Vec::new();
    let mut ignored = 0usize;
    for resource in &request.resource_spans {
        let resource_attrs = resource
            .resource
            .as_ref()
            .map(|r| r.attributes.as_slice())
            .unwrap_or_default();
        for scope in &resource.scope_spans {
            for span in &scope.spans {
                let attrs = Attrs(&span.attributes, resource_attrs);
                let input = attrs.count(&[
                    "gen_ai.usage.input_tokens",
                    "gen_ai.usage.prompt_tokens",
                    "llm.token_count.prompt",
                ]);
                let output = attrs.count(&[
                    "gen_ai.usage.output_tokens",
                    "gen_ai.usage.completion_tokens",
                    "llm.token_count.completion",
                ]);
                if input.is_none() && output.is_none() {
                    ignored += 1;
                    continue;
                }
                let id = format!(
                    "{}-{}",
                    hex::encode(&span.trace_id),
                    hex::encode(&span.span_id)
                );
                let cache_read = attrs
                    .count(&[
                        "gen_ai.usage.cache_read.input_tokens",
                        "gen_ai.usage.cache_read_input_tokens",
                    ])
                    .unwrap_or(0);
                let cache_write = attrs
                    .count(&[
                        "gen_ai.usage.cache_write.input_tokens",
                        "gen_ai.usage.cache_creation.input_tokens",
                        "gen_ai.usage.cache_creation_input_tokens",
                    ])
                    .unwrap_or(0);
                let model = attrs.text(&[
                    "gen_ai.response.model",
                    "gen_ai.request.model",
                    "llm.model_name",
                ]);
                let nanos = if span.end_time_unix_nano > 0 {
                    span.end_time_unix_nano
                } else {
                    span.start_time_unix_nano
                };
                let time = i64::try_from(nanos)
                    .ok()
                    .map(DateTime::<Utc>::from_timestamp_nanos);
                let Some(time) = time.filter(|t| t.timestamp() > 0) else {
                    events.push(Err(Rejection {
                        named: Named {
                            id: Some(id),
                            source: Some(SOURCE.into()),
                        },
                        error: roi_domain::FieldError::new(
                            "time",
                            "the span has no end or start time",
                        ),
                    }));
                    continue;
                };
                let usage = AiUsage {
                    model: model.unwrap_or_else(|| "unknown".into()),
                    input_tokens: input
                        .unwrap_or(0)
                        .saturating_sub(cache_read)
                        .saturating_sub(cache_write),
                    output_tokens: output.unwrap_or(0),
                    cache_read_tokens: cache_read,
                    cache_write_tokens: cache_write,
                    cache_write_1h_tokens: 0,
                    web_search_requests: 0,
                    requests: Some(1),
                    cost_usd: None,
                    prompt_type: None,
                    project: attrs.text(&["roi.project"]),
                    user: attrs.text(&["user.id", "enduser.id"]),
                    team: None,
                    department: attrs.text(&["roi.department"]),
                    agent: attrs.text(&["gen_ai.agent.name"]),
                    feature: None,
                };
                events.push(Ok(Event {
                    id,
                    source: SOURCE.into(),
                    time,
                    subject: None,
                    data: EventData::AiUsage(usage),
                }));
            }
        }
    }
    (events, ignored)
}

/// A span's attributes, then its resource's.
struct Attrs<'a>(&'a [KeyValue], &'a [KeyValue]);

impl Attrs<'_> {
    fn value(&self, names: &[&str]) -> Option<&AnyValue> {
        names.iter().find_map(|n| {
            self.0
                .iter()
                .chain(self.1)
                .find(|kv| kv.key == *n)
                .and_then(|kv| kv.value.as_ref())
        })
    }

    /// A non-negative count, given as an int, a double or a string.
    fn count(&self, names: &[&str]) -> Option<u64> {
        match self.value(names)?.value.as_ref()? {
            any_value::Value::IntValue(i) => u64::try_from(*i).ok(),
            any_value::Value::DoubleValue(d) if *d >= 0.0 && d.fract() == 0.0 => Some(*d as u64),
            any_value::Value::StringValue(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    fn text(&self, names: &[&str]) -> Option<String> {
        match self.value(names)?.value.as_ref()? {
            any_value::Value::StringValue(s) if !s.trim().is_empty() => Some(s.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_json_object_is_an_empty_export_and_an_array_is_refused() {
        // OTLP/JSON leaves default fields out: `{}` exports nothing
        let empty = decode(b" {}", Encoding::Json).unwrap();
        assert!(empty.resource_spans.is_empty());
        // serde would read a struct from an array; OTLP/JSON is an object
        let refused = decode(b"[[]]", Encoding::Json).unwrap_err();
        assert!(refused.0.contains("JSON object"), "{}", refused.0);
    }
}
