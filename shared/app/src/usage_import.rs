//! Importing the providers' own usage reports as `ai.usage` events (issue 4):
//!
//! - Anthropic Admin API, `GET /v1/organizations/usage_report/messages`: buckets
//!   (`starting_at`, `ending_at`) of results with `uncached_input_tokens`,
//!   `cache_creation.ephemeral_5m_input_tokens`, `cache_creation.ephemeral_1h_input_tokens`,
//!   `cache_read_input_tokens`, `output_tokens`, `server_tool_use.web_search_requests`
//!   (priced per 1,000 searches), and the grouping fields `model`,
//!   `workspace_id`, `api_key_id`, `service_tier`, `context_window`.
//! - OpenAI, `GET /v1/organization/usage/completions`: buckets (`start_time`, `end_time`,
//!   Unix seconds) of results with `input_tokens` (cached included), `input_cached_tokens`,
//!   `output_tokens`, `num_model_requests`, and `model`, `project_id`, `user_id`,
//!   `api_key_id`, `batch`.
//!
//! One event per result. OpenAI's cached tokens are subtracted from its input count, so no
//! token is priced twice. The event id hashes the bucket start and every grouping field, so
//! importing the same report again reports every event `duplicate`. A page of either API is
//! accepted as is (`{"data": [...], "has_more": …}`), or a JSON array of such pages.

use chrono::{DateTime, Utc};
use roi_domain::event::{AiUsage, Event, EventData, Named, Rejection};
use roi_domain::{ClientId, FieldError, ProjectId};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::ingest::{IngestError, IngestReport, store_events};
use crate::pricing::PriceTable;
use crate::store::{AuditEntry, Store};

/// Whose report a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// Anthropic Admin API messages usage report.
    Anthropic,
    /// OpenAI organization usage, completions.
    OpenAi,
}

impl ReportFormat {
    /// The provider's name as the price table writes it: `anthropic` or `openai`.
    pub fn provider(self) -> &'static str {
        match self {
            Self::Anthropic => "anthropic",
            Self::OpenAi => "openai",
        }
    }

    /// The CloudEvents `source` of imported events.
    pub fn source(self) -> &'static str {
        match self {
            Self::Anthropic => "https://api.anthropic.com/v1/organizations/usage_report/messages",
            Self::OpenAi => "https://api.openai.com/v1/organization/usage/completions",
        }
    }
}

/// Why a report cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum UsageImportError {
    /// The file is not a report of the named format.
    #[error("not {format} usage report: {reason}")]
    Malformed {
        /// "an Anthropic" or "an OpenAI".
        format: &'static str,
        /// The parser's words.
        reason: String,
    },
    /// The events could not be stored.
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Pages<T> {
    One(Page<T>),
    Many(Vec<Page<T>>),
}

#[derive(Deserialize)]
struct Page<T> {
    data: Vec<T>,
}

/// The `data` items of one page of a provider's admin API (`{"data": [...], "has_more": …}`)
/// or of a JSON array of such pages, in order.
///
/// # Errors
/// The parser's error when `text` is neither.
pub(crate) fn read_pages<T: for<'de> Deserialize<'de>>(
    text: &str,
) -> Result<Vec<T>, serde_json::Error> {
    Ok(match serde_json::from_str::<Pages<T>>(text)? {
        Pages::One(p) => p.data,
        Pages::Many(ps) => ps.into_iter().flat_map(|p| p.data).collect(),
    })
}

#[derive(Deserialize)]
struct AnthropicBucket {
    starting_at: DateTime<Utc>,
    results: Vec<AnthropicResult>,
}

#[derive(Deserialize, Default)]
struct CacheCreation {
    #[serde(default)]
    ephemeral_5m_input_tokens: u64,
    #[serde(default)]
    ephemeral_1h_input_tokens: u64,
}

#[derive(Deserialize, Default)]
struct ServerToolUse {
    #[serde(default)]
    web_search_requests: u64,
}

#[derive(Deserialize)]
struct AnthropicResult {
    #[serde(default)]
    server_tool_use: Option<ServerToolUse>,
    #[serde(default)]
    uncached_input_tokens: u64,
    #[serde(default)]
    cache_creation: Option<CacheCreation>,
    #[serde(default)]
    cache_read_input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    workspace_id: Option<String>,
    #[serde(default)]
    api_key_id: Option<String>,
    #[serde(default)]
    service_tier: Option<String>,
    #[serde(default)]
    context_window: Option<String>,
}

#[derive(Deserialize)]
struct OpenAiBucket {
    #[serde(with = "chrono::serde::ts_seconds")]
    start_time: DateTime<Utc>,
    results: Vec<OpenAiResult>,
}

#[derive(Deserialize)]
struct OpenAiResult {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    input_cached_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    num_model_requests: u32,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    api_key_id: Option<String>,
    #[serde(default)]
    batch: Option<bool>,
}

fn pages<T: for<'de> Deserialize<'de>>(
    text: &str,
    format: &'static str,
) -> Result<Vec<T>, UsageImportError> {
    read_pages(text).map_err(|e| UsageImportError::Malformed {
        format,
        reason: e.to_string(),
    })
}

/// A deterministic event id from the bucket start and the grouping fields.
fn bucket_id(start: DateTime<Utc>, parts: &[Option<&str>]) -> String {
    let mut h = Sha256::new();
    h.update(start.to_rfc3339().as_bytes());
    for p in parts {
        h.update([0u8]);
        h.update(p.unwrap_or("-").as_bytes());
    }
    hex::encode(&h.finalize()[..16])
}

fn usage_event(
    format: ReportFormat,
    id: String,
    time: DateTime<Utc>,
    subject: Option<String>,
    usage: AiUsage,
) -> Event {
    Event {
        id,
        source: format.source().to_owned(),
        time,
        subject,
        data: EventData::AiUsage(usage),
    }
}

fn blank_usage(model: Option<String>, project: Option<&ProjectId>) -> AiUsage {
    AiUsage {
        model: model.unwrap_or_else(|| "unknown".into()),
        input_tokens: 0,
        output_tokens: 0,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        cache_write_1h_tokens: 0,
        web_search_requests: 0,
        requests: None,
        cost_usd: None,
        prompt_type: None,
        project: project.map(ToString::to_string),
        user: None,
        team: None,
        department: None,
        agent: None,
        feature: None,
    }
}

/// Reads a report into events, one per result; results without any token are skipped.
///
/// # Errors
/// [`UsageImportError::Malformed`].
pub fn events_of(
    text: &str,
    format: ReportFormat,
    project: Option<&ProjectId>,
) -> Result<Vec<Result<Event, Rejection>>, UsageImportError> {
    match format {
        ReportFormat::Anthropic => anthropic_events(text, project),
        ReportFormat::OpenAi => openai_events(text, project),
    }
}

/// The events of an Anthropic messages usage report: one per bucket and row with tokens.
fn anthropic_events(
    text: &str,
    project: Option<&ProjectId>,
) -> Result<Vec<Result<Event, Rejection>>, UsageImportError> {
    let format = ReportFormat::Anthropic;
    let mut events = Vec::new();
    for bucket in pages::<AnthropicBucket>(text, "an Anthropic")? {
        for r in bucket.results {
            let cache = r.cache_creation.unwrap_or_default();
            let id = bucket_id(
                bucket.starting_at,
                &[
                    r.model.as_deref(),
                    r.workspace_id.as_deref(),
                    r.api_key_id.as_deref(),
                    r.service_tier.as_deref(),
                    r.context_window.as_deref(),
                ],
            );
            let usage = AiUsage {
                input_tokens: r.uncached_input_tokens,
                output_tokens: r.output_tokens,
                cache_read_tokens: r.cache_read_input_tokens,
                cache_write_tokens: cache.ephemeral_5m_input_tokens,
                cache_write_1h_tokens: cache.ephemeral_1h_input_tokens,
                web_search_requests: r.server_tool_use.unwrap_or_default().web_search_requests,
                ..blank_usage(r.model, project)
            };
            if total_tokens(&usage) == 0 && usage.web_search_requests == 0 {
                continue;
            }
            let subject = r.workspace_id.map(|w| format!("workspace:{w}"));
            let event = usage_event(format, id, bucket.starting_at, subject, usage);
            events.push(Ok(event));
        }
    }
    Ok(events)
}

/// The events of an OpenAI completions usage report: one per bucket and row with tokens;
/// a row with more cached than input tokens is rejected.
fn openai_events(
    text: &str,
    project: Option<&ProjectId>,
) -> Result<Vec<Result<Event, Rejection>>, UsageImportError> {
    let format = ReportFormat::OpenAi;
    let mut events = Vec::new();
    for bucket in pages::<OpenAiBucket>(text, "an OpenAI")? {
        let start = bucket.start_time;
        for r in bucket.results {
            let batch = r.batch.map(|b| if b { "batch" } else { "standard" });
            let id = bucket_id(
                start,
                &[
                    r.model.as_deref(),
                    r.project_id.as_deref(),
                    r.user_id.as_deref(),
                    r.api_key_id.as_deref(),
                    batch,
                ],
            );
            if r.input_cached_tokens > r.input_tokens {
                let named = Named {
                    id: Some(id),
                    source: Some(format.source().to_owned()),
                };
                let reason = format!(
                    "{} exceeds input_tokens {}",
                    r.input_cached_tokens, r.input_tokens
                );
                events.push(Err(Rejection {
                    named,
                    error: FieldError::new("input_cached_tokens", reason),
                }));
                continue;
            }
            let usage = AiUsage {
                input_tokens: r.input_tokens - r.input_cached_tokens,
                output_tokens: r.output_tokens,
                cache_read_tokens: r.input_cached_tokens,
                requests: (r.num_model_requests > 0).then_some(r.num_model_requests),
                user: r.user_id,
                ..blank_usage(r.model, project)
            };
            if total_tokens(&usage) == 0 {
                continue;
            }
            let subject = r.project_id.map(|p| format!("project:{p}"));
            events.push(Ok(usage_event(format, id, start, subject, usage)));
        }
    }
    Ok(events)
}

fn total_tokens(u: &AiUsage) -> u64 {
    u.input_tokens
        + u.output_tokens
        + u.cache_read_tokens
        + u.cache_write_tokens
        + u.cache_write_1h_tokens
}

/// Imports a provider's usage report for `client` (optionally counting every event
/// towards `project`), and records an audit entry.
///
/// # Errors
/// [`UsageImportError`].
pub async fn import_usage(
    store: &Store,
    prices: &PriceTable,
    client: &ClientId,
    text: &str,
    format: ReportFormat,
    project: Option<&ProjectId>,
    actor: &str,
) -> Result<IngestReport, UsageImportError> {
    let events = events_of(text, format, project)?;
    let count = events.len();
    let report = store_events(store, prices, client, events).await?;
    let entry = AuditEntry {
        at: store.clock().now(),
        action: "usage_imported".into(),
        actor: actor.into(),
        project_id: project.cloned(),
        detail: format!(
            "{count} {} usage buckets: {} accepted, {} duplicate, {} rejected, {} not written",
            match format {
                ReportFormat::Anthropic => "Anthropic",
                ReportFormat::OpenAi => "OpenAI",
            },
            report.accepted,
            report.duplicate,
            report.rejected,
            report.not_written
        ),
    };
    store
        .audit(client, &entry)
        .await
        .map_err(IngestError::from)?;
    Ok(report)
}
