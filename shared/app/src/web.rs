//! The HTTP router, written once and hosted by the Lambda functions (`lambda_http`) and by
//! `roi serve` (ARCHITECTURE.md, "Interfaces people and systems use").
//!
//! - `GET /forms/{token}`: the self-reporting form, server-rendered HTML.
//! - `POST /forms/{token}`: a submission, `application/x-www-form-urlencoded` (browsers;
//!   answered in HTML) or `application/json` (integrations; answered in JSON, errors as RFC
//!   9457 `application/problem+json`).
//!
//! Bodies over [`MAX_BODY_BYTES`] get 413, other media types 415, unreadable bodies 400,
//! a tampered link 403, an expired one 410. Internal errors are logged and answered with
//! "internal error" only.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

pub use axum::Router;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::{Environment, context};
use roi_domain::metric::VolumePeriod;
use roi_domain::{
    Category, FieldError, Metric, MetricKind, MetricSnapshot, SnapshotKind, SnapshotStatus,
};
use serde::Serialize;
use serde_json::json;

use crate::form_link::{FormClaims, FormSigner, LinkError};
use crate::forms::{self, FormInput, MEASURED_ON, PERIOD_TYPE, ProjectChanged, SubmitError};
use crate::store::{Store, current_baseline};

/// The largest request body accepted: 64 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the handlers share.
pub struct AppState {
    /// Records.
    pub store: Store,
    /// Form-link signer.
    pub signer: FormSigner,
    /// Told when a submission changes a project.
    pub on_change: Arc<dyn ProjectChanged>,
}

/// The router with every route of this module.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/forms/{token}", get(get_form).post(post_form))
        .with_state(state)
        .layer(axum::middleware::map_response(page_headers))
        .layer(axum::middleware::from_fn(crate::correlation::middleware))
}

/// The Content Security Policy of every page: nothing loads but the page itself and its
/// inline style; no script, no framing, forms post only back here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// axum middleware: every answer carries [`CONTENT_SECURITY_POLICY`],
/// `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer` (a form link's
/// token is in the URL, and must not leave in a `Referer`).
pub async fn page_headers(mut response: axum::response::Response) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
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

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in [
            ("layout.html", include_str!("../templates/layout.html")),
            ("form.html", include_str!("../templates/form.html")),
            ("done.html", include_str!("../templates/done.html")),
            ("message.html", include_str!("../templates/message.html")),
        ] {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "template does not compile");
            }
        }
        env
    })
}

fn html(status: StatusCode, template: &str, ctx: minijinja::Value) -> Response {
    match templates()
        .get_template(template)
        .and_then(|t| t.render(ctx))
    {
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

fn message(status: StatusCode, title: &str, text: &str) -> Response {
    html(status, "message.html", context! { title, text })
}

/// An RFC 9457 problem document, with field errors when there are any.
fn problem(status: StatusCode, title: &str, detail: &str, errors: &[FieldError]) -> Response {
    let mut extensions = serde_json::Map::new();
    if !errors.is_empty() {
        extensions.insert(
            "errors".into(),
            json!(
                errors
                    .iter()
                    .map(|e| json!({"field": e.field, "reason": e.reason}))
                    .collect::<Vec<_>>()
            ),
        );
    }
    let kind = if errors.is_empty() {
        "about:blank"
    } else {
        "/problems/invalid-submission"
    };
    problem_document(status, kind, title, detail, extensions)
}

/// An RFC 9457 `application/problem+json` response: `type`, `title`, `status`, `detail`
/// and extension members.
pub(crate) fn problem_document(
    status: StatusCode,
    kind: &str,
    title: &str,
    detail: &str,
    extensions: serde_json::Map<String, serde_json::Value>,
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

/// How the caller wants to be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Html,
    Json,
}

fn dialect(headers: &HeaderMap) -> Dialect {
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

fn refuse(dialect: Dialect, status: StatusCode, title: &str, text: &str) -> Response {
    match dialect {
        Dialect::Html => message(status, title, text),
        Dialect::Json => problem(status, title, text, &[]),
    }
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

fn internal(e: &dyn std::error::Error) -> Response {
    tracing::error!(error = %e, "request failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

async fn get_form(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let d = dialect(&headers);
    let claims = match state.signer.verify(&token, state.store.clock().now()) {
        Ok(c) => c,
        Err(e) => return link_refused(d, e),
    };
    match form_page(&state, &token, &claims, None, &[]).await {
        Ok(r) => r,
        Err(e) => e,
    }
}

/// The labels people read: the seed's field names in words.
fn label(metric: Metric) -> String {
    match metric {
        Metric::NpsScore => "Net Promoter Score (NPS)".into(),
        Metric::CsatScore => "Customer satisfaction (CSAT)".into(),
        Metric::AvgTaskCompletionTime => "Average task completion time".into(),
        Metric::AvgResponseTimeHours => "Average response time".into(),
        Metric::AvgDealSize => "Average deal size".into(),
        Metric::AiSolutionCost => "AI solution cost per month".into(),
        m => {
            let name = m.name();
            let name = [
                "_percentage",
                "_hours_per_week",
                "_hours",
                "_days",
                "_per_month",
            ]
            .iter()
            .find_map(|s| name.strip_suffix(s).map(|n| (n, *s)))
            .map_or(name.replace('_', " "), |(n, suffix)| match suffix {
                "_hours_per_week" => format!("{} per week", n.replace('_', " ")),
                "_per_month" => format!("{} per month", n.replace('_', " ")),
                _ => n.replace('_', " "),
            });
            let mut chars = name.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_uppercase().collect::<String>() + chars.as_str()
            })
        }
    }
}

fn unit_label(kind: MetricKind) -> &'static str {
    match kind {
        MetricKind::Money => "USD",
        MetricKind::Percent => "%",
        MetricKind::Nps => "−100 to 100",
        MetricKind::Score => "0–100",
        MetricKind::Count => "count",
        MetricKind::Minutes => "minutes",
        MetricKind::Hours => "hours",
        MetricKind::Days => "days",
    }
}

#[derive(Serialize)]
struct FieldView {
    name: String,
    label: String,
    unit: &'static str,
    help: &'static str,
    step: &'static str,
    min: Option<String>,
    max: Option<String>,
    value: String,
    baseline: String,
    error: String,
    required: bool,
    choices: Vec<&'static str>,
}

#[derive(Serialize)]
struct GroupView {
    title: &'static str,
    note: &'static str,
    fields: Vec<FieldView>,
}

#[derive(Serialize)]
struct ErrorView {
    field: String,
    label: String,
    reason: String,
}

fn field_label(name: &str) -> String {
    match name {
        MEASURED_ON => "Date measured".into(),
        PERIOD_TYPE => "Period of the task volume".into(),
        n => Metric::from_name(n).map_or_else(|| n.to_owned(), label),
    }
}

fn plain(value: rust_decimal::Decimal) -> String {
    value.normalize().to_string()
}

/// A value for reading: thousands grouped, with its unit (`42,000 USD`, `6.5 %`, `5,200`).
fn shown(value: rust_decimal::Decimal, kind: MetricKind) -> String {
    let number = roi_domain::units::grouped(value.normalize());
    match kind {
        MetricKind::Count | MetricKind::Nps | MetricKind::Score => number,
        other => format!("{number} {}", unit_label(other)),
    }
}

/// Renders the form: empty or pre-filled on first view, or with the submitted values and
/// the errors beside their fields.
async fn form_page(
    state: &AppState,
    token: &str,
    claims: &FormClaims,
    submitted: Option<&FormInput>,
    errors: &[FieldError],
) -> Result<Response, Response> {
    let store = &state.store;
    let not_found = || {
        message(
            StatusCode::NOT_FOUND,
            "Project not found",
            "The project of this link no longer exists. Ask your account manager for a new link.",
        )
    };
    let project = store
        .project(&claims.project)
        .await
        .map_err(|e| internal(&e))?
        .ok_or_else(not_found)?;
    let client = store
        .client(&project.client_id)
        .await
        .map_err(|e| internal(&e))?;
    let snapshots = store
        .snapshots(&project.id)
        .await
        .map_err(|e| internal(&e))?;
    let baseline = current_baseline(&snapshots);
    let latest_ongoing = snapshots
        .iter()
        .filter(|s| s.kind() == SnapshotKind::Ongoing)
        .max_by_key(|s| s.measured_on());
    // Ongoing forms start from the last values; a baseline form from the submitted baseline.
    let prefill: Option<&MetricSnapshot> = match claims.kind {
        SnapshotKind::Ongoing => latest_ongoing.or(baseline),
        SnapshotKind::Baseline => baseline,
    };
    let error_of = |name: &str| {
        errors
            .iter()
            .filter(|e| e.field == name)
            .map(|e| e.reason.clone())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let value_of = |name: &str, metric: Option<Metric>| -> String {
        match submitted {
            Some(input) => input.0.get(name).cloned().unwrap_or_default(),
            None => match (metric, prefill) {
                (Some(m), Some(s)) => s.value(m).map(plain).unwrap_or_default(),
                (None, Some(s)) if name == PERIOD_TYPE => s
                    .volume_period()
                    .map(period_name)
                    .unwrap_or_default()
                    .to_owned(),
                _ => String::new(),
            },
        }
    };
    let mut groups = Vec::new();
    for category in Category::ALL {
        if claims.kind == SnapshotKind::Baseline && category == Category::Operations {
            continue;
        }
        let mut fields = Vec::new();
        for metric in Metric::ALL
            .iter()
            .copied()
            .filter(|m| m.category() == category)
        {
            let kind = metric.kind();
            let (min, max) = kind.range();
            fields.push(FieldView {
                name: metric.name().into(),
                label: label(metric),
                unit: unit_label(kind),
                help: metric.help(),
                step: if kind.is_integer() { "1" } else { "any" },
                min: Some(plain(min)),
                max: Some(plain(max)),
                value: value_of(metric.name(), Some(metric)),
                baseline: match (claims.kind, baseline.and_then(|b| b.value(metric))) {
                    (SnapshotKind::Ongoing, Some(v)) => shown(v, kind),
                    _ => String::new(),
                },
                error: error_of(metric.name()),
                required: matches!(
                    metric,
                    Metric::AvgTaskCompletionTime | Metric::ErrorRatePercentage
                ),
                choices: Vec::new(),
            });
            if metric == Metric::VolumePerPeriod {
                fields.push(FieldView {
                    name: PERIOD_TYPE.into(),
                    label: field_label(PERIOD_TYPE),
                    unit: "day, week or month",
                    help: "The period the task volume is counted over.",
                    step: "",
                    min: None,
                    max: None,
                    value: value_of(PERIOD_TYPE, None),
                    baseline: String::new(),
                    error: error_of(PERIOD_TYPE),
                    required: false,
                    choices: vec!["day", "week", "month"],
                });
            }
        }
        groups.push(GroupView {
            title: category.title(),
            note: if category == Category::Cost {
                "Give the total monthly cost, or its parts (labor, software, overhead, errors) and leave the total empty: at least one is required."
            } else {
                ""
            },
            fields,
        });
    }
    let heading = match claims.kind {
        SnapshotKind::Baseline => "Baseline measurement",
        SnapshotKind::Ongoing => "Progress measurement",
    };
    let intro = match claims.kind {
        SnapshotKind::Baseline => {
            "These figures describe the process before the AI solution went live; every later measurement is compared with them."
        }
        SnapshotKind::Ongoing => {
            "The figures are filled in from your last measurement; change what has changed. The baseline is shown under each field."
        }
    };
    let error_views: Vec<ErrorView> = errors
        .iter()
        .map(|e| ErrorView {
            field: e.field.clone(),
            label: field_label(&e.field),
            reason: e.reason.clone(),
        })
        .collect();
    let today = store.client_today(client.as_ref());
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(html(
        status,
        "form.html",
        context! {
            heading,
            intro,
            company_name => client.map(|c| c.company_name).unwrap_or_default(),
            project_name => project.project_name,
            due => claims.due.map(|d| d.to_string()),
            action => format!("/forms/{token}"),
            measured_on => submitted.map_or_else(|| today.to_string(), |i| i.0.get(MEASURED_ON).cloned().unwrap_or_default()),
            date_error => error_of(MEASURED_ON),
            groups,
            errors => error_views,
        },
    ))
}

fn period_name(p: VolumePeriod) -> &'static str {
    match p {
        VolumePeriod::Day => "day",
        VolumePeriod::Week => "week",
        VolumePeriod::Month => "month",
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

async fn post_form(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
    req: Request,
) -> Response {
    let d = dialect(req.headers());
    let claims = match state.signer.verify(&token, state.store.clock().now()) {
        Ok(c) => c,
        Err(e) => return link_refused(d, e),
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    if media != "application/x-www-form-urlencoded" && media != "application/json" {
        return refuse(
            d,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            &format!("Send application/x-www-form-urlencoded or application/json, not '{media}'."),
        );
    }
    let too_large = || {
        refuse(
            d,
            StatusCode::PAYLOAD_TOO_LARGE,
            "Body too large",
            &format!("A submission may be at most {} KiB.", MAX_BODY_BYTES / 1024),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return too_large();
    }
    let idempotency_key = match req.headers().get("idempotency-key").map(|v| v.to_str()) {
        Some(Ok(k)) if !k.trim().is_empty() && k.len() <= 255 => {
            forms::SubmissionKey::Header(k.trim().to_owned())
        }
        Some(_) => {
            return refuse(
                d,
                StatusCode::BAD_REQUEST,
                "Bad Idempotency-Key",
                "The Idempotency-Key header must be 1 to 255 visible characters.",
            );
        }
        None => forms::SubmissionKey::Link(claims.nonce.to_string()),
    };
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let fingerprint = forms::client_fingerprint(&client_ip(&req), &user_agent);
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => return too_large(),
    };
    let input = if media == "application/json" {
        match FormInput::from_json(&body) {
            Ok(i) => i,
            Err(Err(e)) => return problem(StatusCode::BAD_REQUEST, "Malformed body", &e.0, &[]),
            Err(Ok(errors)) => {
                return invalid(
                    &state,
                    &token,
                    &claims,
                    d,
                    &FormInput::default(),
                    errors.errors(),
                )
                .await;
            }
        }
    } else {
        match FormInput::from_urlencoded(&body) {
            Ok(i) => i,
            Err(e) => return refuse(d, StatusCode::BAD_REQUEST, "Malformed form", &e.0),
        }
    };
    match forms::submit(
        &state.store,
        &claims,
        &input,
        &idempotency_key,
        &fingerprint,
        state.on_change.as_ref(),
    )
    .await
    {
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
    state: &AppState,
    token: &str,
    claims: &FormClaims,
    d: Dialect,
    input: &FormInput,
    errors: &[FieldError],
) -> Response {
    match d {
        Dialect::Json => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid submission",
            &format!(
                "{} field(s) need correcting; nothing was stored.",
                errors.len()
            ),
            errors,
        ),
        Dialect::Html => match form_page(state, token, claims, Some(input), errors).await {
            Ok(r) | Err(r) => r,
        },
    }
}

async fn accepted(d: Dialect, state: &AppState, done: &forms::Submitted) -> Response {
    let s = &done.snapshot;
    let replayed = done.written == crate::store::Written::Unchanged;
    let review: Vec<String> = s
        .review()
        .iter()
        .map(|f| {
            format!(
                "{}: {} → {} ({:+}%)",
                label(f.metric),
                plain(f.previous),
                plain(f.current),
                f.change_percentage
            )
        })
        .collect();
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
        Dialect::Html => {
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
                (_, crate::store::Written::Corrected) => "has been corrected",
                (SnapshotStatus::NeedsReview, _) => "has been recorded and will be reviewed",
                _ => "has been recorded",
            };
            html(
                StatusCode::OK,
                "done.html",
                context! { what, next, outcome, project_name, measured_on => s.measured_on().to_string(), snapshot_id => s.id().as_str(), review },
            )
        }
    };
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}
