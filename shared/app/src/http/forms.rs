//! `GET /forms/{token}`: the self-reporting form, server-rendered HTML.
//! `POST /forms/{token}`: a submission, `application/x-www-form-urlencoded` (browsers;
//! answered in HTML) or `application/json` (integrations; answered in JSON, errors as RFC
//! 9457 `application/problem+json`).
//!
//! Bodies over [`MAX_BODY_BYTES`] get 413, other media types 415, unreadable bodies 400,
//! a tampered link 403, an expired one 410. Internal errors are logged and answered with
//! "internal error" only.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::context;
use roi_domain::{FieldError, SnapshotKind, SnapshotStatus};
use serde_json::json;

use super::form_page::{form_page, plain};
use super::page::{Dialect, dialect, html, internal, page_headers, refuse};
use super::problem::{field_errors, problem, problem_with};
use crate::form_link::{FormClaims, FormSigner, LinkError};
use crate::forms::{self, FormInput, SubmissionKey, SubmitError};
use crate::store::{Store, Written};

/// The largest request body accepted: 64 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the form handlers share.
pub struct FormsState {
    /// Records.
    pub store: Store,
    /// Form-link signer.
    pub signer: FormSigner,
}

/// The router of the form routes.
pub fn router(state: Arc<FormsState>) -> Router {
    Router::new()
        .route("/forms/{token}", get(get_form).post(post_form))
        .with_state(state)
        .layer(axum::middleware::map_response(page_headers))
        .layer(axum::middleware::from_fn(crate::correlation::middleware))
}

fn link_refused(dialect: Dialect, e: LinkError) -> Response {
    match e {
        LinkError::Tampered => refuse(
            dialect,
            StatusCode::FORBIDDEN,
            "This link is not valid",
            "The form link is incomplete or has been altered. Open the link from your e-mail again, or ask your account manager for a new one.",
        ),
        LinkError::Expired => refuse(
            dialect,
            StatusCode::GONE,
            "This link has expired",
            "Form links work for a limited time. Ask your account manager for a fresh link.",
        ),
    }
}

/// A link made in the console and revoked there answers 410 (a link without a record, from
/// a reminder or `roi form-link`, runs to its expiry).
async fn withdrawn(store: &Store, d: Dialect, claims: &FormClaims) -> Option<Response> {
    match store.form_link(&claims.nonce).await {
        Ok(Some(link)) if link.revoked_at.is_some() => Some(refuse(
            d,
            StatusCode::GONE,
            "This link has been withdrawn",
            "Your account manager withdrew this form link. Ask them for a new one.",
        )),
        Ok(_) => None,
        Err(e) => Some(internal(&e)),
    }
}

async fn get_form(
    State(state): State<Arc<FormsState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let d = dialect(&headers);
    let claims = match state.signer.verify(&token, state.store.clock().now()) {
        Ok(c) => c,
        Err(e) => return link_refused(d, e),
    };
    if let Some(refused) = withdrawn(&state.store, d, &claims).await {
        return refused;
    }
    match form_page(&state.store, &token, &claims, None, &[]).await {
        Ok(r) | Err(r) => r,
    }
}

/// The caller's address: the peer of the connection (`roi serve`), or API Gateway's source
/// IP (set as `ConnectInfo` by the Lambda entry point). Never `X-Forwarded-For`, which the
/// caller writes.
fn client_ip(req: &Request) -> String {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default()
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// What a submission request says besides its fields.
struct Envelope {
    json: bool,
    key: SubmissionKey,
    fingerprint: String,
}

/// Why a submission's envelope is refused.
enum Refused {
    Media(String),
    TooLarge,
    BadKey,
}

impl Refused {
    fn answer(self, d: Dialect) -> Response {
        match self {
            Refused::Media(media) => refuse(
                d,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
                &format!(
                    "Send application/x-www-form-urlencoded or application/json, not '{media}'."
                ),
            ),
            Refused::TooLarge => too_large(d),
            Refused::BadKey => refuse(
                d,
                StatusCode::BAD_REQUEST,
                "Bad Idempotency-Key",
                "The Idempotency-Key header must be 1 to 255 visible characters.",
            ),
        }
    }
}

/// Checks the media type, the declared length and the `Idempotency-Key` of a submission.
fn envelope(claims: &FormClaims, req: &Request) -> Result<Envelope, Refused> {
    let content_type = header_text(req.headers(), header::CONTENT_TYPE).to_ascii_lowercase();
    let media = content_type.split(';').next().unwrap_or("").trim();
    if media != "application/x-www-form-urlencoded" && media != "application/json" {
        return Err(Refused::Media(media.to_owned()));
    }
    let declared = header_text(req.headers(), header::CONTENT_LENGTH)
        .parse::<usize>()
        .ok();
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(Refused::TooLarge);
    }
    let key = match req.headers().get("idempotency-key").map(|v| v.to_str()) {
        Some(Ok(k)) if !k.trim().is_empty() && k.len() <= 255 => {
            SubmissionKey::Header(k.trim().to_owned())
        }
        Some(_) => return Err(Refused::BadKey),
        None => SubmissionKey::Link(claims.nonce.to_string()),
    };
    let user_agent = header_text(req.headers(), header::USER_AGENT);
    Ok(Envelope {
        json: media == "application/json",
        key,
        fingerprint: forms::client_fingerprint(&client_ip(req), &user_agent),
    })
}

fn too_large(d: Dialect) -> Response {
    refuse(
        d,
        StatusCode::PAYLOAD_TOO_LARGE,
        "Body too large",
        &format!("A submission may be at most {} KiB.", MAX_BODY_BYTES / 1024),
    )
}

async fn post_form(
    State(state): State<Arc<FormsState>>,
    Path(token): Path<String>,
    req: Request,
) -> Response {
    let d = dialect(req.headers());
    let claims = match state.signer.verify(&token, state.store.clock().now()) {
        Ok(c) => c,
        Err(e) => return link_refused(d, e),
    };
    if let Some(refused) = withdrawn(&state.store, d, &claims).await {
        return refused;
    }
    let envelope = match envelope(&claims, &req) {
        Ok(e) => e,
        Err(refused) => return refused.answer(d),
    };
    let Ok(body) = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES).await else {
        return too_large(d);
    };
    let input = if envelope.json {
        match FormInput::from_json(&body) {
            Ok(i) => i,
            Err(Err(e)) => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "about:blank",
                    "Malformed body",
                    &e.0,
                );
            }
            Err(Ok(errors)) => {
                let input = FormInput::default();
                return invalid(&state, &token, &claims, d, &input, errors.errors()).await;
            }
        }
    } else {
        match FormInput::from_urlencoded(&body) {
            Ok(i) => i,
            Err(e) => return refuse(d, StatusCode::BAD_REQUEST, "Malformed form", &e.0),
        }
    };
    let submitted = forms::submit(
        &state.store,
        &claims,
        &input,
        &envelope.key,
        &envelope.fingerprint,
    )
    .await;
    match submitted {
        Ok(done) => accepted(d, &state, &done).await,
        Err(SubmitError::Invalid(errors)) => {
            invalid(&state, &token, &claims, d, &input, errors.errors()).await
        }
        Err(SubmitError::UnknownProject) => refuse(
            d,
            StatusCode::NOT_FOUND,
            "Project not found",
            "The project of this link no longer exists.",
        ),
        Err(SubmitError::Conflict(m)) => refuse(d, StatusCode::CONFLICT, "Conflict", &m),
        Err(e @ SubmitError::KeyReused) => refuse(
            d,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Idempotency-Key reused",
            &e.to_string(),
        ),
        Err(SubmitError::Store(e)) => internal(&e),
    }
}

async fn invalid(
    state: &FormsState,
    token: &str,
    claims: &FormClaims,
    d: Dialect,
    input: &FormInput,
    errors: &[FieldError],
) -> Response {
    match d {
        Dialect::Json => problem_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            "/problems/invalid-submission",
            "Invalid submission",
            &format!(
                "{} field(s) need correcting; nothing was stored.",
                errors.len()
            ),
            field_errors(errors),
        ),
        Dialect::Html => match form_page(&state.store, token, claims, Some(input), errors).await {
            Ok(r) | Err(r) => r,
        },
    }
}

/// The thank-you page, or the stored snapshot as JSON (201).
async fn accepted(d: Dialect, state: &FormsState, done: &forms::Submitted) -> Response {
    let s = &done.snapshot;
    let mut response = match d {
        Dialect::Json => {
            let body = json!({
                "snapshot_id": s.id().as_str(),
                "project_id": s.project_id().as_str(),
                "kind": s.kind(),
                "measured_on": s.measured_on(),
                "status": s.status(),
                "review": s.review(),
            });
            (
                StatusCode::CREATED,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        Dialect::Html => thank_you(state, done).await,
    };
    if done.written == Written::Unchanged {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

async fn thank_you(state: &FormsState, done: &forms::Submitted) -> Response {
    let s = &done.snapshot;
    let review: Vec<String> = s
        .review()
        .iter()
        .map(|f| {
            format!(
                "{}: {} → {} ({:+}%)",
                f.metric.label(),
                plain(f.previous),
                plain(f.current),
                f.change_percentage
            )
        })
        .collect();
    let project_name = state
        .store
        .project(s.project_id())
        .await
        .ok()
        .flatten()
        .map(|p| p.project_name)
        .unwrap_or_default();
    let (what, next) = match s.kind() {
        SnapshotKind::Baseline => (
            "Your baseline",
            "Your account manager will review it with you; once approved it is the reference for every later measurement.",
        ),
        SnapshotKind::Ongoing => (
            "Your measurement",
            "It is included in the project's ROI from now on.",
        ),
    };
    let outcome = match (s.status(), done.written) {
        (_, Written::Corrected) => "has been corrected",
        (SnapshotStatus::NeedsReview, _) => "has been recorded and will be reviewed",
        _ => "has been recorded",
    };
    html(
        StatusCode::OK,
        "done.html",
        context! { what, next, outcome, project_name, measured_on => s.measured_on().to_string(), snapshot_id => s.id().as_str(), review },
    )
}
