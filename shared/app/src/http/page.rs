//! What every HTML page shares: rendering through [`crate::templates`], the security
//! headers, and answering a browser in HTML or an integration in problem+json.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::problem::problem;

/// The Content Security Policy of every page: nothing loads but the page itself and its
/// inline style; no script, no framing, forms post only back here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// axum middleware: every answer carries [`CONTENT_SECURITY_POLICY`],
/// `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer` (a form link's
/// token is in the URL, and must not leave in a `Referer`).
pub async fn page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// Template `template` rendered as a `text/html` answer; a rendering failure is logged
/// and answered 500 "internal error".
pub(crate) fn html(status: StatusCode, template: &str, ctx: minijinja::Value) -> Response {
    match crate::templates::render(template, ctx) {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(template, error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A short page with a title and one sentence (`message.html`).
pub(crate) fn message(status: StatusCode, title: &str, text: &str) -> Response {
    html(status, "message.html", context! { title, text })
}

/// An error that is logged whole and answered "internal error" only.
pub(crate) fn internal(e: &dyn std::error::Error) -> Response {
    tracing::error!(error = %e, "request failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

/// How the caller wants to be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// A browser: HTML pages.
    Html,
    /// An integration: JSON, errors as problem+json.
    Json,
}

/// JSON when the body is JSON, or when `Accept` asks for JSON and not for HTML.
pub(crate) fn dialect(headers: &HeaderMap) -> Dialect {
    let get = |h| {
        headers
            .get(h)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    if get(header::CONTENT_TYPE).starts_with("application/json") {
        return Dialect::Json;
    }
    let accept = get(header::ACCEPT);
    if (accept.contains("application/json") || accept.contains("application/problem+json"))
        && !accept.contains("text/html")
    {
        Dialect::Json
    } else {
        Dialect::Html
    }
}

/// A refusal in the caller's dialect: a message page, or a problem document.
pub(crate) fn refuse(dialect: Dialect, status: StatusCode, title: &str, text: &str) -> Response {
    match dialect {
        Dialect::Html => message(status, title, text),
        Dialect::Json => problem(status, "about:blank", title, text),
    }
}
