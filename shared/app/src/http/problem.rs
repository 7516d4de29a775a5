//! The one RFC 9457 `application/problem+json` builder of every JSON answer that refuses a
//! request.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use roi_domain::FieldError;
use serde_json::{Map, Value, json};

/// A problem document without extension members: `type` (`kind`, a relative URI such as
/// `/problems/rate-limited`, or `about:blank`), `title`, `status` and `detail`.
pub fn problem(status: StatusCode, kind: &str, title: &str, detail: &str) -> Response {
    problem_with(status, kind, title, detail, Map::new())
}

/// A problem document with extension members (e.g. `errors`, `results`) beside the four
/// standard ones.
pub fn problem_with(
    status: StatusCode,
    kind: &str,
    title: &str,
    detail: &str,
    extensions: Map<String, Value>,
) -> Response {
    let mut body = json!({
        "type": kind,
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    if let Some(map) = body.as_object_mut() {
        map.extend(extensions);
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// The `errors` extension member: `[{"field": …, "reason": …}]`, one per field error.
pub fn field_errors(errors: &[FieldError]) -> Map<String, Value> {
    let list = errors
        .iter()
        .map(|e| json!({"field": e.field, "reason": e.reason}))
        .collect();
    Map::from_iter([("errors".to_owned(), Value::Array(list))])
}
