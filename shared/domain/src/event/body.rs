//! Request bodies: one event, a batch, or NDJSON, split into the events' JSON texts.

use serde_json::value::RawValue;

use crate::error::FieldError;

use super::MAX_EVENTS_PER_REQUEST;

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
