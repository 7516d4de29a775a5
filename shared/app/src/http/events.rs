//! `POST /v1/events`: usage and cost events from a client's systems (issue 4), hosted by
//! the `ingest-events` function and `roi serve`. Described for machines in
//! `infra/openapi.yaml`.
//!
//! The same router serves the read endpoints (`read.rs`).
//!
//! | answer | when |
//! |---|---|
//! | 200 | every event accepted; one result per event |
//! | 207 | some duplicate, conflicting, rejected or not written; one result per event |
//! | 422 | every event rejected; one result per event, each with its reason |
//! | 400 | the body cannot be read as events, or a date outside 2000-01-01..=2099-12-31 (problem+json) |
//! | 401 | no API key, or not a valid one (`WWW-Authenticate: Bearer`) |
//! | 403 | a revoked key |
//! | 413 | over 1 MiB or 1,000 events |
//! | 415 | a media type other than CloudEvents JSON, batch, or NDJSON |
//! | 429 | the key's requests or events of this minute are spent (`Retry-After`); nothing was read |
//! | 503 | storage unavailable (`Retry-After`); results say which events were written |
//!
//! Internal errors are logged and answered "internal error"; no storage detail reaches the
//! caller.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Timelike;
use roi_domain::event::{BodyFormat, DecodeError, MAX_EVENTS_PER_REQUEST, MAX_REQUEST_BYTES};
use serde_json::{Map, Value};

use super::problem::{problem, problem_with};
use crate::api_keys::{self, AuthError, Authenticated};
use crate::ingest::{self, IngestError, IngestReport};
use crate::pricing::PriceTable;
use crate::store::Store;

/// Seconds a client is asked to wait before resending after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// What the events handler needs.
pub struct EventsState {
    /// Records.
    pub store: Store,
    /// The price table (negotiated prices are applied per client on top).
    pub prices: PriceTable,
}

/// The router with `POST /v1/events` and the read endpoints.
pub fn router(state: Arc<EventsState>) -> Router {
    Router::new()
        .route("/v1/events", post(post_events))
        .route("/v1/traces", post(post_traces))
        .merge(super::read::routes())
        .with_state(state)
        .layer(axum::middleware::from_fn(crate::correlation::middleware))
}

pub(super) fn authorization(headers: &HeaderMap) -> Option<String> {
    header_text(headers, header::AUTHORIZATION)
}

/// A header's value as text, owned (so no borrow of the request is held across an await).
fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn unauthorized(e: &AuthError) -> Response {
    let mut r = problem(
        StatusCode::UNAUTHORIZED,
        "/problems/unauthorized",
        "Unauthorized",
        &e.to_string(),
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"roi-tracker\""),
    );
    r
}

pub(super) fn unavailable(results: Option<&IngestReport>) -> Response {
    let mut extensions = Map::new();
    if let Some(report) = results {
        extensions.insert(
            "results".into(),
            serde_json::to_value(&report.results).unwrap_or(Value::Null),
        );
    }
    let mut r = problem_with(
        StatusCode::SERVICE_UNAVAILABLE,
        "/problems/storage-unavailable",
        "Storage unavailable",
        &format!(
            "Events were not all written. Send the events not reported accepted or duplicate again after {RETRY_AFTER_SECONDS} s; resending accepted ones is harmless."
        ),
        extensions,
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    r
}

fn malformed(e: &DecodeError) -> Response {
    problem(
        StatusCode::BAD_REQUEST,
        "/problems/malformed-body",
        "Malformed body",
        &e.to_string(),
    )
}

fn too_large(detail: &str) -> Response {
    problem(
        StatusCode::PAYLOAD_TOO_LARGE,
        "/problems/too-large",
        "Request too large",
        detail,
    )
}

/// The answer refusing a request over its key's budget of the minute (the client's
/// `requests_per_minute` and `events_per_minute`), `429` with `Retry-After` the seconds
/// to the next minute; `None` when the budget allows it (and is taken).
async fn rate_limited(
    state: &EventsState,
    caller: &Authenticated,
    events: usize,
) -> Option<Response> {
    let settings = match state.store.settings(&caller.client_id).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "settings unreadable; the request is not rate checked");
            return Some(unavailable(None));
        }
    };
    let now = state.store.clock().now();
    let window = now
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now);
    let limits = (
        u64::from(settings.requests_per_minute),
        u64::from(settings.events_per_minute),
    );
    let taken = state
        .store
        .take_rate(&caller.key_id, window, (1, events as u64), limits)
        .await;
    match taken {
        Ok(true) => None,
        Ok(false) => {
            let wait = 60 - i64::from(now.second());
            let mut r = problem(
                StatusCode::TOO_MANY_REQUESTS,
                "/problems/rate-limited",
                "Too many requests",
                &format!(
                    "This API key may send {} requests and {} events a minute; send again in {wait} s.",
                    settings.requests_per_minute, settings.events_per_minute
                ),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            Some(r)
        }
        Err(e) => {
            tracing::warn!(error = %e, "rate counter failed");
            Some(unavailable(None))
        }
    }
}

/// The client an `Authorization` header speaks for, or the answer refusing it.
pub(super) async fn caller(
    state: &EventsState,
    authorization: Option<&str>,
) -> Result<Authenticated, Response> {
    match api_keys::authenticate(&state.store, authorization).await {
        Ok(c) => Ok(c),
        Err(e @ (AuthError::Missing | AuthError::Invalid)) => Err(unauthorized(&e)),
        Err(e @ AuthError::Revoked) => Err(problem(
            StatusCode::FORBIDDEN,
            "/problems/forbidden",
            "Forbidden",
            &e.to_string(),
        )),
        Err(AuthError::Store(e)) => {
            tracing::warn!(error = %e, "API key lookup failed");
            Err(unavailable(None))
        }
    }
}

async fn post_events(State(state): State<Arc<EventsState>>, req: Request) -> Response {
    let headers = req.headers();
    let (authorization, content_type, declared) = (
        header_text(headers, header::AUTHORIZATION),
        header_text(headers, header::CONTENT_TYPE).unwrap_or_default(),
        header_text(headers, header::CONTENT_LENGTH).and_then(|v| v.parse::<usize>().ok()),
    );

    let caller = match caller(&state, authorization.as_deref()).await {
        Ok(c) => c,
        Err(refused) => return refused,
    };
    let limit_text = format!(
        "A request may carry at most {} MiB and {MAX_EVENTS_PER_REQUEST} events; split it.",
        MAX_REQUEST_BYTES / (1024 * 1024)
    );
    if declared.is_some_and(|n| n > MAX_REQUEST_BYTES) {
        return too_large(&limit_text);
    }
    let Ok(body) = axum::body::to_bytes(req.into_body(), MAX_REQUEST_BYTES).await else {
        return too_large(&limit_text);
    };
    let Some(format) = BodyFormat::from_content_type(&content_type, &body) else {
        return problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "/problems/unsupported-media-type",
            "Unsupported media type",
            "Send application/cloudevents+json (one event), application/cloudevents-batch+json (an array) or application/x-ndjson (one event per line).",
        );
    };
    let framed = match roi_domain::event::split(&body, format) {
        Ok(framed) => framed,
        Err(e @ DecodeError::TooManyEvents { .. }) => {
            return too_large(&format!("{e}. {limit_text}"));
        }
        Err(e) => return malformed(&e),
    };
    if let Some(refused) = rate_limited(&state, &caller, framed.len()).await {
        return refused;
    }
    match ingest::ingest_framed(&state.store, &state.prices, &caller.client_id, framed).await {
        Ok(report) if report.not_written > 0 => unavailable(Some(&report)),
        Ok(report) => {
            let status = if report.all_accepted() {
                StatusCode::OK
            } else if report.rejected == report.results.len() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::MULTI_STATUS
            };
            (status, axum::Json(report)).into_response()
        }
        // (the body was framed above; only `ingest` decodes)
        Err(IngestError::Decode(e)) => malformed(&e),
        Err(IngestError::UnknownClient(client)) => {
            tracing::error!(%client, key = %caller.key_id, "a valid key names a missing client");
            problem(
                StatusCode::FORBIDDEN,
                "/problems/forbidden",
                "Forbidden",
                "The API key's client is not registered.",
            )
        }
        Err(IngestError::Store(e)) => {
            tracing::warn!(error = %e, "event ingestion failed before writing");
            unavailable(None)
        }
    }
}

/// `POST /v1/traces`: an OTLP/HTTP trace export (protobuf or JSON) with the client's API
/// key; its GenAI spans are stored as priced `ai.usage` events (`crate::otlp`). Answers as
/// OTLP/HTTP does: 200 with an `ExportTraceServiceResponse` in the request's encoding,
/// naming the rejected spans in `partial_success`; 400 for an unreadable body, 415 for
/// another media type, 401/403/413/429/503 as `POST /v1/events`.
async fn post_traces(State(state): State<Arc<EventsState>>, req: Request) -> Response {
    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTracePartialSuccess, ExportTraceServiceResponse,
    };
    use prost::Message;
    let (authorization, content_type) = (
        header_text(req.headers(), header::AUTHORIZATION),
        header_text(req.headers(), header::CONTENT_TYPE).unwrap_or_default(),
    );
    let caller = match caller(&state, authorization.as_deref()).await {
        Ok(c) => c,
        Err(refused) => return refused,
    };
    let Some(encoding) = crate::otlp::Encoding::from_content_type(&content_type) else {
        return problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "/problems/unsupported-media-type",
            "Unsupported media type",
            "Send OTLP/HTTP: application/x-protobuf or application/json.",
        );
    };
    let Ok(body) = axum::body::to_bytes(req.into_body(), MAX_REQUEST_BYTES).await else {
        return too_large("An export may carry at most 1 MiB; export smaller batches.");
    };
    let export = match crate::otlp::decode(&body, encoding) {
        Ok(e) => e,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "/problems/malformed-body",
                "Malformed body",
                &e.to_string(),
            );
        }
    };
    let (events, ignored) = crate::otlp::events_of(&export);
    if events.len() > MAX_EVENTS_PER_REQUEST {
        return too_large(&format!(
            "An export may carry at most {MAX_EVENTS_PER_REQUEST} GenAI spans; export smaller batches."
        ));
    }
    if let Some(refused) = rate_limited(&state, &caller, events.len()).await {
        return refused;
    }
    let report =
        match ingest::store_events(&state.store, &state.prices, &caller.client_id, events).await {
            Ok(r) if r.not_written > 0 => return unavailable(Some(&r)),
            Ok(r) => r,
            Err(IngestError::Store(e)) => {
                tracing::warn!(error = %e, "span ingestion failed before writing");
                return unavailable(None);
            }
            Err(e) => {
                tracing::error!(error = %e, "span ingestion failed");
                return problem(
                    StatusCode::FORBIDDEN,
                    "/problems/forbidden",
                    "Forbidden",
                    "The API key's client is not registered.",
                );
            }
        };
    tracing::info!(
        client = %caller.client_id,
        accepted = report.accepted,
        duplicate = report.duplicate,
        rejected = report.rejected,
        ignored,
        "OTLP spans ingested"
    );
    let rejected = report.rejected
        + report
            .results
            .iter()
            .filter(|r| r.status == ingest::EventStatus::Conflict)
            .count();
    let partial = (rejected > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: i64::try_from(rejected).unwrap_or(i64::MAX),
        error_message: report
            .results
            .iter()
            .find_map(|r| {
                r.reason
                    .clone()
                    .map(|why| format!("{}: {why}", r.field.clone().unwrap_or_default()))
            })
            .unwrap_or_default(),
    });
    let answer = ExportTraceServiceResponse {
        partial_success: partial,
    };
    match encoding {
        crate::otlp::Encoding::Protobuf => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            answer.encode_to_vec(),
        )
            .into_response(),
        // OTLP/JSON leaves out fields at their defaults: `{}` when nothing was rejected
        crate::otlp::Encoding::Json => match answer.partial_success {
            None => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "{}",
            )
                .into_response(),
            Some(_) => (StatusCode::OK, axum::Json(answer)).into_response(),
        },
    }
}
