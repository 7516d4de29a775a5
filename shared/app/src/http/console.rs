//! The operators' console (`/console/…`) and the client's dashboard (`/d/{token}`), issue
//! 15: server-rendered HTML with inline SVG charts, no script.
//!
//! - Without a session every console route answers 303 to `/console/sign-in` (401
//!   problem+json to a caller asking for JSON).
//! - Every POST of a session carries the session's CSRF token in the `csrf` field; one
//!   without it is refused 403 before its handler runs.
//! - Every page sends the CSP of [`super::page`] (`frame-ancestors 'none'`), `nosniff` and
//!   `Referrer-Policy: no-referrer`, and `Cache-Control: no-store`.
//! - Every operator action is audited by the use case it calls, with the operator's address.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::context;
use roi_domain::report::ReportKind;
use roi_domain::{ClientId, ProjectId, SnapshotKind, SnapshotStatus};
use rust_decimal::Decimal;
use serde::Serialize;

use super::page::{Dialect, dialect, html, internal, message, page_headers, refuse};
use crate::console::auth::{COOKIE, ConsoleAuth, Operator, SESSION_HOURS, SignInError};
use crate::console::dashboard::{DASHBOARD_DAYS, DashboardError, DashboardLinks};
use crate::console::summary;
use crate::reports::{ReportRef, ReportServices, ReviewError};
use crate::store::{ProjectSummary, Review, Store, StoreError};

/// The largest form body accepted: 16 KiB.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// What the console's handlers share.
#[derive(Clone)]
pub struct ConsoleState {
    /// Records.
    pub store: Store,
    /// Sign-in, sessions, CSRF.
    pub auth: ConsoleAuth,
    /// Report review and delivery (and the blob store previews are presigned from).
    pub reports: ReportServices,
    /// Client dashboard links.
    pub dashboards: DashboardLinks,
    /// Signs the self-reporting form links the console makes.
    pub forms: crate::form_link::FormSigner,
}

/// The fields of a posted form, parsed once by the CSRF check.
#[derive(Debug, Clone, Default)]
struct Fields(HashMap<String, String>);

impl Fields {
    fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }
}

/// The console and dashboard routes.
pub fn router(state: Arc<ConsoleState>) -> Router {
    let signed_in = Router::new()
        .route("/console", get(portfolio))
        .route("/console/sign-out", post(sign_out))
        .route("/console/projects/{project}", get(project_page))
        .route("/console/projects/{project}/status", post(set_status))
        .route("/console/projects/{project}/edit", post(edit_project))
        .route(
            "/console/projects/{project}/form-links",
            post(make_form_link),
        )
        .route(
            "/console/projects/{project}/form-links/{nonce}/revoke",
            post(revoke_form_link),
        )
        .route("/console/new-client", get(new_client_page).post(new_client))
        .route("/console/clients/{client}", get(client_page))
        .route("/console/clients/{client}/{form}", post(client_form_post))
        .route("/console/clients/{client}/api-keys", post(create_api_key))
        .route(
            "/console/clients/{client}/api-keys/{key}/revoke",
            post(revoke_api_key),
        )
        .route(
            "/console/projects/{project}/measurements/{snapshot}",
            post(review_measurement),
        )
        .route(
            "/console/projects/{project}/reports/{kind}/{period}/{version}/pdf",
            get(preview),
        )
        .route(
            "/console/projects/{project}/reports/{kind}/{period}/{version}/{action}",
            post(review_report),
        )
        .route(
            "/console/clients/{client}/dashboard-links",
            post(create_dashboard_link),
        )
        .route(
            "/console/clients/{client}/dashboard-links/{link}/revoke",
            post(revoke_dashboard_link),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_operator,
        ));
    Router::new()
        .route("/console/sign-in", get(sign_in_page).post(ask_for_link))
        .route(
            "/console/sign-in/{token}",
            get(confirm_page).post(redeem_link),
        )
        .route("/d/{token}", get(dashboard))
        .merge(signed_in)
        .with_state(state)
        .layer(axum::middleware::map_response(no_store))
        .layer(axum::middleware::map_response(page_headers))
        .layer(axum::middleware::from_fn(crate::correlation::middleware))
}

async fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Where the console's own actions (sign-ins) are audited: the audit partition of the
/// reserved id `console`.
fn console_log() -> ClientId {
    "console"
        .parse()
        .unwrap_or_else(|_| unreachable!("a valid id"))
}

fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

async fn read_fields(request: Request) -> Result<(axum::http::request::Parts, Fields), Response> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| {
            message(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too much",
                "The form is too large.",
            )
        })?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).map_err(|_| {
        message(
            StatusCode::BAD_REQUEST,
            "Unreadable form",
            "The form could not be read; go back and try again.",
        )
    })?;
    Ok((parts, Fields(pairs.into_iter().collect())))
}

/// The session check of every signed-in route, and the CSRF check of its POSTs.
async fn require_operator(
    State(state): State<Arc<ConsoleState>>,
    request: Request,
    next: Next,
) -> Response {
    let wants = dialect(request.headers());
    let operator = match cookie_value(request.headers(), COOKIE) {
        Some(c) => match state.auth.session(&state.store, &c).await {
            Ok(o) => o,
            Err(e) => return internal(&e),
        },
        None => None,
    };
    let Some(operator) = operator else {
        return match wants {
            Dialect::Json => refuse(
                wants,
                StatusCode::UNAUTHORIZED,
                "Sign in first",
                "The console needs an operator's session.",
            ),
            Dialect::Html => see_other("/console/sign-in"),
        };
    };
    let mut request = request;
    if request.method() == Method::POST {
        let (parts, fields) = match read_fields(request).await {
            Ok(x) => x,
            Err(r) => return r,
        };
        if !state.auth.csrf_ok(&operator, fields.get("csrf")) {
            return message(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "Reload the page and try again.",
            );
        }
        request = Request::from_parts(parts, axum::body::Body::empty());
        request.extensions_mut().insert(fields);
    }
    match in_scope(&state, &operator, request.uri().path()).await {
        Ok(true) => {}
        Ok(false) => return not_found(),
        Err(e) => return internal(&e),
    }
    request.extensions_mut().insert(operator);
    next.run(request).await
}

/// Whether the client a console path names (`/console/clients/{client}/…`, or the client
/// of `/console/projects/{project}/…`) is one `operator` may see; paths naming none are in
/// scope. Out of scope answers 404, as an unknown client does: an account manager learns
/// nothing of other clients (issue 20, operator roles).
async fn in_scope(
    state: &ConsoleState,
    operator: &Operator,
    path: &str,
) -> Result<bool, StoreError> {
    if operator.role == crate::console::auth::Role::Admin {
        return Ok(true);
    }
    let mut parts = path.trim_start_matches('/').split('/').skip(1);
    let client = match (parts.next(), parts.next()) {
        (Some("clients"), Some(id)) => id.parse::<ClientId>().ok(),
        (Some("projects"), Some(id)) => match id.parse::<ProjectId>() {
            Ok(p) => state.store.project(&p).await?.map(|p| p.client_id),
            Err(_) => None,
        },
        _ => return Ok(true),
    };
    match client {
        Some(c) => state.auth.may_see(&state.store, operator, &c).await,
        None => Ok(false),
    }
}

// ----- sign-in -------------------------------------------------------------------------

async fn sign_in_page() -> Response {
    html(StatusCode::OK, "console/sign_in.html", context! {})
}

async fn ask_for_link(State(state): State<Arc<ConsoleState>>, request: Request) -> Response {
    let (_, fields) = match read_fields(request).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let email = fields.get("email").trim().to_owned();
    let now = state.store.clock().now();
    // The same answer whether or not the address is an operator's: no address is
    // confirmed to a stranger.
    match state.auth.sign_in_link(&email, now) {
        Ok(Some(url)) => {
            let text = format!(
                "Sign in to the roi-tracker console:\n{url}\n\nThe link works once, for {} minutes. If you did not ask for it, ignore this e-mail.\n",
                crate::console::auth::SIGN_IN_MINUTES
            );
            let mail = roi_domain::ports::Email {
                from: state.reports.mail_from.clone(),
                to: vec![email.clone()],
                subject: "Your roi-tracker sign-in link".into(),
                html: crate::templates::notice_html(&text),
                text,
            };
            if let Err(e) = state.reports.mailer.send(&mail).await {
                tracing::warn!(error = %e, "the sign-in e-mail failed");
            }
            let _ = state
                .store
                .audit(
                    &console_log(),
                    &crate::store::AuditEntry {
                        at: now,
                        action: "sign_in_link_sent".into(),
                        actor: email,
                        project_id: None,
                        detail: String::new(),
                    },
                )
                .await;
        }
        Ok(None) => tracing::info!("a sign-in link was asked for by someone not an operator"),
        Err(e) => return internal(&e),
    }
    html(
        StatusCode::OK,
        "console/sign_in.html",
        context! { sent => true },
    )
}

fn sign_in_refused(e: &SignInError) -> Response {
    let status = match e {
        SignInError::Invalid => StatusCode::FORBIDDEN,
        SignInError::Expired | SignInError::Used => StatusCode::GONE,
        SignInError::Random(_) | SignInError::Store(_) => return internal(e),
    };
    html(
        status,
        "console/sign_in.html",
        context! { refused => e.to_string() },
    )
}

async fn confirm_page(
    State(state): State<Arc<ConsoleState>>,
    Path(token): Path<String>,
) -> Response {
    match state.auth.peek(&token, state.store.clock().now()) {
        Ok(operator) => html(
            StatusCode::OK,
            "console/confirm.html",
            context! { operator, token },
        ),
        Err(e) => sign_in_refused(&e),
    }
}

async fn redeem_link(
    State(state): State<Arc<ConsoleState>>,
    Path(token): Path<String>,
) -> Response {
    match state.auth.redeem(&state.store, &token).await {
        Ok((operator, cookie)) => {
            let _ = state
                .store
                .audit(
                    &console_log(),
                    &crate::store::AuditEntry {
                        at: state.store.clock().now(),
                        action: "signed_in".into(),
                        actor: operator.email,
                        project_id: None,
                        detail: String::new(),
                    },
                )
                .await;
            let mut r = see_other("/console");
            let value = format!(
                "{COOKIE}={cookie}; Path=/console; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
                SESSION_HOURS * 3600
            );
            if let Ok(v) = HeaderValue::from_str(&value) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => sign_in_refused(&e),
    }
}

async fn sign_out(
    State(state): State<Arc<ConsoleState>>,
    axum::Extension(operator): axum::Extension<Operator>,
) -> Response {
    if let Err(e) = state.store.end_session(&operator.session_id).await {
        return internal(&e);
    }
    let mut r = see_other("/console/sign-in");
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "roi_session=; Path=/console; HttpOnly; Secure; SameSite=Strict; Max-Age=0",
        ),
    );
    r
}

// ----- portfolio -----------------------------------------------------------------------

/// One row of the portfolio, as the template reads it.
#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    summary: ProjectSummary,
    attention: bool,
    case_study: bool,
    sparkline: Option<String>,
    ai_cost: String,
    ai_budget: Option<String>,
}

fn row(summary: ProjectSummary) -> Row {
    Row {
        attention: summary.needs_attention(),
        case_study: summary.case_study_candidate(),
        sparkline: roi_charts::sparkline(&summary.roi_history).map(|s| svg_img(&s, "")),
        ai_cost: roi_domain::units::usd(summary.ai_cost_mtd_usd),
        ai_budget: summary.ai_budget_usd.map(roi_domain::units::usd),
        summary,
    }
}

/// An SVG drawn by `roi_charts` as an accessible inline image: `role="img"` with a label.
fn svg_img(svg: &str, label: &str) -> String {
    let label = minijinja::HtmlEscape(label).to_string();
    let attrs = if label.is_empty() {
        " aria-hidden=\"true\" focusable=\"false\"".to_owned()
    } else {
        format!(" role=\"img\" aria-label=\"{label}\"")
    };
    svg.replacen("<svg", &format!("<svg{attrs}"), 1)
}

async fn portfolio(
    State(state): State<Arc<ConsoleState>>,
    axum::Extension(operator): axum::Extension<Operator>,
    axum::extract::Query(filter): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let started = std::time::Instant::now();
    let all = match state.store.summaries().await {
        Ok(s) => s,
        Err(e) => return internal(&e),
    };
    let status = filter.get("status").map(String::as_str).unwrap_or("");
    let manager = filter.get("manager").map(String::as_str).unwrap_or("");
    let attention = filter.get("attention").is_some_and(|v| v == "1");
    // an account manager sees the clients that name them
    let all: Vec<ProjectSummary> = all
        .into_iter()
        .filter(|s| {
            operator.role == crate::console::auth::Role::Admin
                || s.account_manager
                    .as_deref()
                    .is_some_and(|am| am.eq_ignore_ascii_case(&operator.email))
        })
        .collect();
    let managers: std::collections::BTreeSet<String> = all
        .iter()
        .filter_map(|s| s.account_manager.clone())
        .collect();
    let rows: Vec<Row> = all
        .into_iter()
        .filter(|s| status.is_empty() || s.status == status)
        .filter(|s| manager.is_empty() || s.account_manager.as_deref() == Some(manager))
        .map(row)
        .filter(|r| !attention || r.attention)
        .collect();
    let candidates: Vec<&Row> = rows.iter().filter(|r| r.case_study).collect();
    let r = html(
        StatusCode::OK,
        "console/portfolio.html",
        context! {
            operator => operator.email, csrf => operator.csrf,
            rows => &rows, candidates => candidates,
            statuses => roi_domain::ProjectStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            managers, status, manager, attention,
        },
    );
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "portfolio rendered"
    );
    r
}

// ----- project page --------------------------------------------------------------------

#[derive(Serialize)]
struct MeasurementView {
    id: String,
    date: String,
    kind: String,
    status: String,
    flags: Vec<String>,
    reviewed: Option<String>,
}

#[derive(Serialize)]
struct ReportView {
    kind: String,
    title: String,
    period: String,
    version: u32,
    review: String,
    delivered: bool,
    recipients: u32,
    issued: String,
    reason: Option<String>,
    latest: bool,
}

async fn project_page(
    State(state): State<Arc<ConsoleState>>,
    axum::Extension(operator): axum::Extension<Operator>,
    Path(project): Path<String>,
) -> Response {
    let Ok(project) = project.parse::<ProjectId>() else {
        return not_found();
    };
    match project_context(&state, &operator, &project, None).await {
        Ok(Some(ctx)) => html(StatusCode::OK, "console/project.html", ctx),
        Ok(None) => not_found(),
        Err(e) => internal(e.as_ref()),
    }
}

fn not_found() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such client or project.",
    )
}

async fn project_context(
    state: &ConsoleState,
    operator: &Operator,
    project: &ProjectId,
    project_form: Option<FormView>,
) -> Result<Option<minijinja::Value>, Box<dyn std::error::Error + Send + Sync>> {
    let store = &state.store;
    let Some(p) = store.project(project).await? else {
        return Ok(None);
    };
    let Some(client) = store.client(&p.client_id).await? else {
        return Ok(None);
    };
    // the summary as the daily job and every change keep it; computed here only for a
    // project stored before summaries existed (a page view writes nothing otherwise)
    let stored = store
        .summaries_of(&p.client_id)
        .await?
        .into_iter()
        .find(|s| &s.project_id == project);
    let summary = match stored {
        Some(s) => s,
        None => summary::refresh(store, project).await?,
    };
    let latest = store.latest_roi(project).await?;
    let snapshots = store.snapshots(project).await?;
    let measurements: Vec<MeasurementView> = snapshots
        .iter()
        .rev()
        .map(|s| MeasurementView {
            id: s.id().to_string(),
            date: s.measured_on().to_string(),
            kind: s.kind().to_string(),
            status: match s.status() {
                SnapshotStatus::Submitted => "awaiting approval",
                SnapshotStatus::Approved => "approved",
                SnapshotStatus::Recorded => "recorded",
                SnapshotStatus::NeedsReview => "needs review",
                SnapshotStatus::Rejected => "rejected",
            }
            .into(),
            flags: s
                .review()
                .iter()
                .map(|f| {
                    format!(
                        "{}: {} → {} ({:+} %)",
                        roi_domain::report::metric_label(f.metric.name()),
                        f.previous,
                        f.current,
                        f.change_percentage
                    )
                })
                .collect(),
            reviewed: s.reviewed().map(|n| {
                format!(
                    "{} by {} on {}{}",
                    if n.confirmed { "confirmed" } else { "rejected" },
                    n.by,
                    n.at.date_naive(),
                    if n.reason.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", n.reason)
                    }
                )
            }),
        })
        .collect();
    let baseline = crate::store::current_baseline(&snapshots);
    let current = snapshots
        .iter()
        .filter(|s| s.kind() == SnapshotKind::Ongoing && s.is_usable())
        .max_by_key(|s| s.measured_on());
    let compare: Vec<(String, String, String)> = match (baseline, current) {
        (Some(b), Some(c)) => b
            .values()
            .iter()
            .filter_map(|(m, bv)| {
                c.value(*m).map(|cv| {
                    (
                        roi_domain::report::metric_label(m.name()),
                        bv.normalize().to_string(),
                        cv.normalize().to_string(),
                    )
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    let all_reports = store.reports_of(project).await?;
    let mut reports: Vec<ReportView> = all_reports
        .iter()
        .map(|r| ReportView {
            kind: r.kind.name().into(),
            title: r.kind.title().into(),
            period: r.period.clone(),
            version: r.version,
            review: r.review.as_str().into(),
            delivered: r.delivered,
            recipients: r.recipients,
            issued: r.issued_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            reason: r.withdraw_reason.clone(),
            latest: !all_reports
                .iter()
                .any(|o| o.kind == r.kind && o.period == r.period && o.version > r.version),
        })
        .collect();
    reports.sort_by(|a, b| b.issued.cmp(&a.issued));
    let now = store.clock().now();
    let links: Vec<_> = store
        .dashboard_links_of(&client.id)
        .await?
        .into_iter()
        .filter(|l| l.revoked_at.is_none() && l.valid_until > now)
        .map(|l| {
            context! {
                id => l.link_id.clone(),
                until => l.valid_until.date_naive().to_string(),
                by => l.created_by.clone(),
            }
        })
        .collect();
    let month = last_month(store, &p, &client).await?;
    let form_links: Vec<_> = store
        .form_links_of(project)
        .await?
        .into_iter()
        .filter(|l| l.revoked_at.is_none() && l.valid_until > now)
        .map(|l| {
            context! {
                nonce => l.nonce.clone(), kind => l.kind.clone(),
                due => l.due.map(|d| d.to_string()),
                until => l.valid_until.date_naive().to_string(),
                by => l.created_by.clone(),
            }
        })
        .collect();
    let chart = roi_charts::roi_over_time(&summary.roi_history)
        .map(|s| svg_img(&s, "ROI since go-live at each month end, percent"));
    let kpis = crate::project_kpis::evaluate(store, &p, store.client_today(Some(&client))).await?;
    Ok(Some(context! {
        operator => operator.email.clone(), csrf => operator.csrf.clone(),
        client => context! {
            id => client.id.to_string(), name => client.company_name.clone(),
            industry => client.industry.clone(), time_zone => client.time_zone.name(),
            status => client.status.as_str(), recipients => client.report_recipients.clone(),
        },
        project => context! {
            id => p.id.to_string(), name => p.project_name.clone(),
            status => p.status.as_str(), go_live => p.go_live_date.to_string(),
            investment => roi_domain::units::usd(p.one_time_investment.amount()),
            solution => p.solution_type.clone(),
        },
        summary => &summary,
        attention => summary.needs_attention(),
        roi => latest.as_ref().map(|r| context! {
            roi_percentage => r.roi_percentage.round_dp(1).to_string(),
            payback => r.payback_period_months.map(|m| m.round_dp(1).to_string()),
            savings => roi_domain::units::usd(r.cost_savings_monthly),
            npv => roi_domain::units::usd(r.npv),
            as_of => r.calculation_date.to_string(),
            period => r.period_analyzed.clone(),
            range => r.range.as_ref().map(|g| context! {
                low => g.conservative.roi_percentage.round_dp(1).to_string(),
                high => g.optimistic.roi_percentage.round_dp(1).to_string(),
            }),
        }),
        chart,
        ai_cost => roi_domain::units::usd(summary.ai_cost_mtd_usd),
        budget => summary.ai_budget_usd.map(roi_domain::units::usd),
        compare, measurements, reports, links, month, form_links,
        kpis => kpis.rows, kpi_status => kpis.status_line,
        project_form => project_form.unwrap_or_else(|| FormView::stored(edit::project_values(&p))),
        statuses => roi_domain::ProjectStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    }))
}

/// The last complete month as its monthly report sees it: usage and cost by department and
/// model, agents with their success rate and p95, the daily cost with its forecast, the
/// metric trends; `None` before a month has ended since go-live.
async fn last_month(
    store: &Store,
    p: &roi_domain::Project,
    client: &roi_domain::Client,
) -> Result<Option<minijinja::Value>, Box<dyn std::error::Error + Send + Sync>> {
    let today = store.client_today(Some(client));
    let Some(period) =
        roi_domain::report::ReportPeriod::last_complete(ReportKind::Monthly, today, p.go_live_date)
    else {
        return Ok(None);
    };
    if period.to < p.go_live_date {
        return Ok(None);
    }
    let data = match crate::reports::assemble(store, &p.id, ReportKind::Monthly, &period).await {
        Ok(d) => d,
        // not live for a whole month yet
        Err(crate::reports::ReportError::NotReportable(_)) => return Ok(None),
        // the rest of the page stands without this section
        Err(e) => {
            tracing::warn!(project = %p.id, error = %e, "last month's figures not shown");
            return Ok(None);
        }
    };
    let days = crate::compute::stored_rollups(store, &client.id, period.from, period.to).await?;
    let merged = roi_domain::rollup::merge_days(days.values(), period.from, period.to)?;
    let agents: Vec<minijinja::Value> = merged
        .iter()
        .flat_map(|r| r.agents.iter())
        .map(|(name, a)| {
            let p = a.duration_ms.summary();
            context! {
                name, runs => a.executions,
                success => (a.executions > 0).then(|| {
                    (Decimal::from(a.success) * Decimal::ONE_HUNDRED / Decimal::from(a.executions))
                        .round_dp(1)
                        .to_string()
                }),
                p95 => p.map(|p| format!("{:.0}", p.p95)),
            }
        })
        .collect();
    let named = |rows: &[roi_domain::report::NamedAmount]| -> Vec<(String, String)> {
        rows.iter()
            .map(|r| (r.name.clone(), roi_domain::units::usd(r.usd)))
            .collect()
    };
    let usage = data.usage.as_ref().map(|u| {
        context! {
            scope => u.scope.clone(),
            cost => roi_domain::units::usd(u.cost_usd),
            tokens => roi_domain::units::grouped(Decimal::from(u.tokens)),
            users => roi_domain::units::grouped(Decimal::from(u.active_users)),
            unpriced => u.unpriced_events,
            agent_runs => u.agent_runs,
            success => u.agent_success_rate.map(|r| r.round_dp(1).to_string()),
            by_department => named(&u.by_department),
            by_model => named(&u.by_model),
        }
    });
    let trends: Vec<(String, String, String)> = data
        .trends
        .iter()
        .map(|t| {
            (
                roi_domain::report::metric_label(&t.metric),
                format!("{:?}", t.trend).to_lowercase(),
                format!("{:+} %", t.change_percentage.round_dp(1)),
            )
        })
        .collect();
    Ok(Some(context! {
        label => period.label.clone(),
        from => period.from.to_string(), to => period.to.to_string(),
        usage, agents, trends,
        forecast => data.forecast.as_ref().map(|f| context! {
            next_30 => roi_domain::units::usd(f.next_30_days_usd),
            next_90 => roi_domain::units::usd(f.next_90_days_usd),
        }),
        cost_chart => roi_charts::cost_trend(&data.daily_cost, &data.forecast_band)
            .map(|s| svg_img(&s, "Daily AI cost of the month, USD, with the next 30 days' forecast")),
        metrics_chart => roi_charts::metrics(&data.metrics)
            .map(|s| svg_img(&s, "Each metric against its baseline")),
    }))
}

async fn set_status(
    State(state): State<Arc<ConsoleState>>,
    axum::Extension(operator): axum::Extension<Operator>,
    axum::Extension(fields): axum::Extension<Fields>,
    Path(project): Path<String>,
) -> Response {
    let Ok(project) = project.parse::<ProjectId>() else {
        return not_found();
    };
    let status: roi_domain::ProjectStatus = match fields.get("status").parse() {
        Ok(s) => s,
        Err(e) => return message(StatusCode::BAD_REQUEST, "Not a status", &e),
    };
    match crate::setup::change_project(&state.store, &project, &operator.email, |p| {
        let before = p.status;
        p.status = status;
        Ok(format!("status {before} → {status}"))
    })
    .await
    {
        Ok(_) => done(&state, &project).await,
        Err(e) => message(StatusCode::BAD_REQUEST, "Not changed", &e.to_string()),
    }
}

/// After an action: the project's summary refreshed, and back to its page.
async fn done(state: &ConsoleState, project: &ProjectId) -> Response {
    if let Err(e) = summary::refresh(&state.store, project).await {
        tracing::warn!(%project, error = %e, "summary not refreshed");
    }
    see_other(&format!("/console/projects/{project}"))
}

async fn review_measurement(
    State(state): State<Arc<ConsoleState>>,
    axum::Extension(operator): axum::Extension<Operator>,
    axum::Extension(fields): axum::Extension<Fields>,
    Path((project, snapshot)): Path<(String, String)>,
) -> Response {
    let Ok(project) = project.parse::<ProjectId>() else {
        return not_found();
    };
    let confirmed = match fields.get("decision") {
        "confirm" => true,
        "reject" => false,
        _ => {
            return message(
                StatusCode::BAD_REQUEST,
                "Confirm or reject",
                "Choose whether the measurement's figures stand.",
            );
        }
    };
    match crate::measurements::review_measurement(
        &state.store,
        &project,
        &snapshot,
        confirmed,
        fields.get("reason"),
        &operator.email,
    )
    .await
    {
        Ok(_) => done(&state, &project).await,
        Err(crate::measurements::ReviewMeasurementError::Store(
            crate::store::StoreError::Table(e),
        )) => internal(&e),
        Err(e) => message(StatusCode::CONFLICT, "Not recorded", &e.to_string()),
    }
}

fn report_ref(project: &str, kind: &str, period: &str, version: &str) -> Option<ReportRef> {
    Some(ReportRef {
        project: project.parse().ok()?,
        kind: kind.parse::<ReportKind>().ok()?,
        period: period.to_owned(),
        version: Some(version.parse().ok()?),
    })
}

async fn review_report(
    State(state): State<Arc<ConsoleState>>,
    axum::Extension(operator): axum::Extension<Operator>,
    axum::Extension(fields): axum::Extension<Fields>,
    Path((project, kind, period, version, action)): Path<(String, String, String, String, String)>,
) -> Response {
    let Some(r) = report_ref(&project, &kind, &period, &version) else {
        return not_found();
    };
    let result = match action.as_str() {
        "approve" => crate::reports::approve(&state.reports, &r, &operator.email).await,
        "withdraw" => {
            crate::reports::withdraw(&state.reports, &r, &operator.email, fields.get("reason"))
                .await
        }
        _ => return not_found(),
    };
    match result {
        Ok(_) => done(&state, &r.project).await,
        Err(ReviewError::Report(e)) => internal(&e),
        Err(e) => message(StatusCode::CONFLICT, "Not done", &e.to_string()),
    }
}

async fn preview(
    State(state): State<Arc<ConsoleState>>,
    Path((project, kind, period, version)): Path<(String, String, String, String)>,
) -> Response {
    let Some(r) = report_ref(&project, &kind, &period, &version) else {
        return not_found();
    };
    let record = match state
        .store
        .report_versions(&r.project, r.kind, &r.period)
        .await
    {
        Ok(v) => v.into_iter().find(|x| Some(x.version) == r.version),
        Err(e) => return internal(&e),
    };
    let Some(record) = record else {
        return not_found();
    };
    match state
        .reports
        .blobs
        .presigned_get(&record.pdf_key, crate::reports::PRESIGNED_FOR)
        .await
    {
        Ok(url) => see_other(&url.url),
        Err(e) => internal(&e),
    }
}

async fn create_dashboard_link(
    State(state): State<Arc<ConsoleState>>,
    axum::Extension(operator): axum::Extension<Operator>,
    axum::Extension(fields): axum::Extension<Fields>,
    Path(client): Path<String>,
) -> Response {
    let Ok(client) = client.parse::<ClientId>() else {
        return not_found();
    };
    match state
        .dashboards
        .create(&state.store, &client, DASHBOARD_DAYS, &operator.email)
        .await
    {
        Ok((link, url)) => html(
            StatusCode::OK,
            "console/link.html",
            context! {
                operator => operator.email, csrf => operator.csrf, url,
                until => link.valid_until.date_naive().to_string(),
                back => fields.get("back").starts_with("/console/").then(|| fields.get("back").to_owned()),
            },
        ),
        Err(DashboardError::UnknownClient(_)) => not_found(),
        Err(e) => internal(&e),
    }
}

async fn revoke_dashboard_link(
    State(state): State<Arc<ConsoleState>>,
    axum::Extension(operator): axum::Extension<Operator>,
    axum::Extension(fields): axum::Extension<Fields>,
    Path((client, link)): Path<(String, String)>,
) -> Response {
    let Ok(client) = client.parse::<ClientId>() else {
        return not_found();
    };
    match crate::console::dashboard::revoke(&state.store, &client, &link, &operator.email).await {
        Ok(_) => {
            let back = fields.get("back");
            see_other(if back.starts_with("/console/") {
                back
            } else {
                "/console"
            })
        }
        Err(DashboardError::Revoked) => not_found(),
        Err(e) => internal(&e),
    }
}

// ----- clients, projects, keys, form links --------------------------------------------

use crate::console::edit::{self, EditError};

/// A form of a page: its values (as stored, or as posted when refused) and its errors.
#[derive(Serialize, Default)]
struct FormView {
    values: std::collections::BTreeMap<String, String>,
    errors: std::collections::BTreeMap<String, String>,
}

impl FormView {
    fn stored(values: std::collections::BTreeMap<String, String>) -> Self {
        Self {
            values,
            errors: Default::default(),
        }
    }
    fn refused(fields: &Fields, errors: std::collections::BTreeMap<String, String>) -> Self {
        Self {
            values: fields.0.clone().into_iter().collect(),
            errors,
        }
    }
}

/// Which form of a page was refused, with what.
struct Refused<'a> {
    form: &'static str,
    fields: &'a Fields,
    errors: std::collections::BTreeMap<String, String>,
}

fn time_zones() -> Vec<&'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect()
}

async fn new_client_page(axum::Extension(operator): axum::Extension<Operator>) -> Response {
    let defaults = FormView::stored(std::collections::BTreeMap::from([
        ("status".to_owned(), "active".to_owned()),
        ("time_zone".to_owned(), "UTC".to_owned()),
    ]));
    new_client_form(&operator, defaults, StatusCode::OK)
}

fn new_client_form(operator: &Operator, form: FormView, status: StatusCode) -> Response {
    html(
        status,
        "console/new_client.html",
        context! {
            operator => operator.email, csrf => operator.csrf, form,
            time_zones => time_zones(),
            statuses => roi_domain::client::ClientStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        },
    )
}

async fn new_client(
    State(state): State<Arc<ConsoleState>>,
    axum::Extension(operator): axum::Extension<Operator>,
    axum::Extension(fields): axum::Extension<Fields>,
) -> Response {
    match edit::new_client(&state.store, &fields.0, &operator.email).await {
        Ok(c) => {
            // an account manager's new client is theirs
            if operator.role == crate::console::auth::Role::AccountManager {
                let assigned = async {
                    let mut s = state.store.settings(&c.id).await?;
                    s.account_manager_email = Some(operator.email.clone());
                    state.store.put_settings(&c.id, &s).await
                }
                .await;
                if let Err(e) = assigned {
                    return internal(&e);
                }
            }
            see_other(&format!("/console/clients/{}", c.id))
        }
        Err(EditError::Fields(errors)) => new_client_form(
            &operator,
            FormView::refused(&fields, errors),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => edit_failed(&e),
    }
}

fn edit_failed(e: &EditError) -> Response {
    match e {
        EditError::Unknown(_) => not_found(),
        _ => internal(e),
    }
}

async fn client_page(
    State(state): State<Arc<ConsoleState>>,
    axum::Extension(operator): axum::Extension<Operator>,
    Path(client): Path<String>,
) -> Response {
    let Ok(client) = client.parse::<ClientId>() else {
        return not_found();
    };
    client_view(&state, &operator, &client, None, None).await
}

/// The client page; `refused` re-shows a refused form with its errors, `new_key` shows a
/// key just created (once).
async fn client_view(
    state: &ConsoleState,
    operator: &Operator,
    client: &ClientId,
    refused: Option<Refused<'_>>,
    new_key: Option<String>,
) -> Response {
    let store = &state.store;
    let result: Result<Option<minijinja::Value>, StoreError> = async {
        let Some(c) = store.client(client).await? else {
            return Ok(None);
        };
        let settings = store.settings(client).await?;
        let projects = store.summaries_of(client).await?;
        let keys = store.api_keys_of(client).await?;
        let now = store.clock().now();
        let links: Vec<_> = store
            .dashboard_links_of(client)
            .await?
            .into_iter()
            .filter(|l| l.revoked_at.is_none() && l.valid_until > now)
            .map(|l| {
                context! {
                    id => l.link_id.clone(),
                    until => l.valid_until.date_naive().to_string(),
                    by => l.created_by.clone(),
                }
            })
            .collect();
        // the last 31 UTC days reconciled (on each cost-report import), worst first
        let since = now.date_naive() - chrono::Days::new(31);
        let mut reconciled = store.reconciled_since(client, since).await?;
        reconciled.retain(|r| r.invoiced_usd.is_some());
        reconciled.sort_by(|a, b| {
            b.over_tolerance
                .cmp(&a.over_tolerance)
                .then(b.day.cmp(&a.day))
                .then(a.provider.cmp(&b.provider))
        });
        let reconciliation: Vec<_> = reconciled
            .iter()
            .map(|r| {
                context! {
                    day => r.day.to_string(), provider => r.provider.clone(),
                    metered => roi_domain::units::usd_cents(r.metered_usd),
                    invoiced => r.invoiced_usd.map(roi_domain::units::usd_cents),
                    variance => r.variance_percentage.map(|v| format!("{:+} %", v.round_dp(2))),
                    over => r.over_tolerance,
                }
            })
            .collect();
        let mut profile = FormView::stored(edit::client_values(&c));
        let mut settings_form = FormView::stored(edit::settings_values(&settings));
        let mut project_form = FormView::default();
        let mut thresholds = FormView::stored(edit::threshold_values(&settings));
        let status = if refused.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        if let Some(r) = refused {
            let view = FormView::refused(r.fields, r.errors);
            match r.form {
                "profile" => profile = view,
                "settings" => settings_form = view,
                "thresholds" => thresholds = view,
                _ => project_form = view,
            }
        }
        Ok(Some(context! {
            status => status.as_u16(),
            operator => operator.email.clone(), csrf => operator.csrf.clone(),
            client => context! {
                id => c.id.to_string(), name => c.company_name.clone(),
                time_zone => c.time_zone.name(),
            },
            profile, settings => settings_form, project_form, thresholds,
            kpis => edit::THRESHOLDS.iter().map(|(k, l)| (*k, *l)).collect::<Vec<_>>(),
            webhooks => settings.webhooks.iter().map(|w| w.url.clone()).collect::<Vec<_>>(),
            projects, links, new_key, reconciliation,
            tolerance => settings.thresholds.cost_variance.warning.normalize().to_string(),
            keys => keys.iter().map(|k| context! {
                id => k.key_id.clone(), name => k.name.clone(),
                created => k.created_at.date_naive().to_string(),
                revoked => k.revoked_at.map(|t| t.date_naive().to_string()),
            }).collect::<Vec<_>>(),
            client_statuses => roi_domain::client::ClientStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            statuses => roi_domain::ProjectStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        }))
    }
    .await;
    match result {
        Ok(Some(ctx)) => {
            let status = ctx
                .get_attr("status")
                .ok()
                .and_then(|v| u16::try_from(v).ok())
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::OK);
            html(status, "console/client.html", ctx)
        }
        Ok(None) => not_found(),
        Err(e) => internal(&e),
    }
}

async fn client_form(
    state: &ConsoleState,
    operator: &Operator,
    client: &str,
    fields: &Fields,
    form: &'static str,
) -> Response {
    let Ok(client) = client.parse::<ClientId>() else {
        return not_found();
    };
    let result = match form {
        "profile" => edit::edit_client(&state.store, &client, &fields.0, &operator.email)
            .await
            .map(|_| format!("/console/clients/{client}")),
        "settings" => edit::edit_settings(&state.store, &client, &fields.0, &operator.email)
            .await
            .map(|_| format!("/console/clients/{client}")),
        "thresholds" => edit::edit_thresholds(&state.store, &client, &fields.0, &operator.email)
            .await
            .map(|_| format!("/console/clients/{client}#thresholds")),
        _ => edit::new_project(&state.store, &client, &fields.0, &operator.email)
            .await
            .map(|p| format!("/console/projects/{}", p.id)),
    };
    match result {
        Ok(to) => {
            if form == "settings" {
                for p in state.store.projects_of(&client).await.unwrap_or_default() {
                    let _ = summary::refresh(&state.store, &p.id).await;
                }
            }
            see_other(&to)
        }
        Err(EditError::Fields(errors)) => {
            let refused = Refused {
                form,
                fields,
                errors,
            };
            client_view(state, operator, &client, Some(refused), None).await
        }
        Err(e) => edit_failed(&e),
    }
}

/// `POST /console/clients/{client}/{form}`: the profile, settings, thresholds and
/// new-project forms of the client page.
async fn client_form_post(
    State(state): State<Arc<ConsoleState>>,
    axum::Extension(operator): axum::Extension<Operator>,
    axum::Extension(fields): axum::Extension<Fields>,
    Path((client, form)): Path<(String, String)>,
) -> Response {
    let form = match form.as_str() {
        "profile" => "profile",
        "settings" => "settings",
        "thresholds" => "thresholds",
        "projects" => "project",
        _ => return not_found(),
    };
    client_form(&state, &operator, &client, &fields, form).await
}

async fn create_api_key(
    State(state): State<Arc<ConsoleState>>,
    axum::Extension(operator): axum::Extension<Operator>,
    axum::Extension(fields): axum::Extension<Fields>,
    Path(client): Path<String>,
) -> Response {
    let Ok(client) = client.parse::<ClientId>() else {
        return not_found();
    };
    match crate::api_keys::create(&state.store, &client, fields.get("name"), &operator.email).await
    {
        Ok(key) => client_view(&state, &operator, &client, None, Some(key.key)).await,
        Err(crate::api_keys::ApiKeyError::BadName) => {
            let refused = Refused {
                form: "key",
                fields: &fields,
                errors: std::collections::BTreeMap::from([(
                    "name".to_owned(),
                    "a name of 1 to 64 characters, e.g. crm-integration".to_owned(),
                )]),
            };
            client_view(&state, &operator, &client, Some(refused), None).await
        }
        Err(crate::api_keys::ApiKeyError::UnknownClient(_)) => not_found(),
        Err(e) => internal(&e),
    }
}

async fn revoke_api_key(
    State(state): State<Arc<ConsoleState>>,
    axum::Extension(operator): axum::Extension<Operator>,
    Path((client, key)): Path<(String, String)>,
) -> Response {
    let Ok(client) = client.parse::<ClientId>() else {
        return not_found();
    };
    match crate::api_keys::revoke(&state.store, &client, &key, &operator.email).await {
        Ok(_) => see_other(&format!("/console/clients/{client}#api-keys")),
        Err(crate::api_keys::ApiKeyError::UnknownKey { .. }) => not_found(),
        Err(e) => internal(&e),
    }
}

async fn edit_project(
    State(state): State<Arc<ConsoleState>>,
    axum::Extension(operator): axum::Extension<Operator>,
    axum::Extension(fields): axum::Extension<Fields>,
    Path(project): Path<String>,
) -> Response {
    let Ok(project) = project.parse::<ProjectId>() else {
        return not_found();
    };
    match edit::edit_project(&state.store, &project, &fields.0, &operator.email).await {
        Ok(_) => done(&state, &project).await,
        Err(EditError::Fields(errors)) => {
            let form = FormView::refused(&fields, errors);
            match project_context(&state, &operator, &project, Some(form)).await {
                Ok(Some(ctx)) => html(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "console/project.html",
                    ctx,
                ),
                Ok(None) => not_found(),
                Err(e) => internal(e.as_ref()),
            }
        }
        Err(e) => edit_failed(&e),
    }
}

/// The longest a console-made form link lives, days.
const FORM_LINK_MAX_DAYS: i64 = 90;

async fn make_form_link(
    State(state): State<Arc<ConsoleState>>,
    axum::Extension(operator): axum::Extension<Operator>,
    axum::Extension(fields): axum::Extension<Fields>,
    Path(project): Path<String>,
) -> Response {
    let Ok(project) = project.parse::<ProjectId>() else {
        return not_found();
    };
    match state.store.project(&project).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(),
        Err(e) => return internal(&e),
    }
    let kind = match fields.get("kind") {
        "baseline" => SnapshotKind::Baseline,
        _ => SnapshotKind::Ongoing,
    };
    let due = match fields.get("due").trim() {
        "" => None,
        d => match d.parse::<chrono::NaiveDate>() {
            Ok(d) => Some(d),
            Err(_) => {
                return message(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Not a date",
                    "The due date is YYYY-MM-DD, or empty.",
                );
            }
        },
    };
    let days = fields
        .get("days")
        .trim()
        .parse::<i64>()
        .unwrap_or(14)
        .clamp(1, FORM_LINK_MAX_DAYS);
    let now = state.store.clock().now();
    let claims = match crate::form_link::FormSigner::claims(
        project.clone(),
        kind,
        due,
        now + chrono::Duration::days(days),
    ) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no randomness for a form link");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    };
    let url = format!(
        "{}/forms/{}",
        state.auth.base_url,
        state.forms.sign(&claims)
    );
    let record = crate::store::FormLinkRecord {
        nonce: claims.nonce.clone(),
        project_id: project.clone(),
        kind: kind.to_string(),
        due,
        created_by: operator.email.clone(),
        created_at: now,
        valid_until: now + chrono::Duration::days(days),
        revoked_at: None,
    };
    if let Err(e) = state.store.put_form_link(&record).await {
        return internal(&e);
    }
    let _ = state
        .store
        .audit(
            &match state.store.project(&project).await {
                Ok(Some(p)) => p.client_id,
                _ => return not_found(),
            },
            &crate::store::AuditEntry {
                at: now,
                action: "form_link_created".into(),
                actor: operator.email.clone(),
                project_id: Some(project.clone()),
                detail: format!("{kind} form, {days} days"),
            },
        )
        .await;
    html(
        StatusCode::OK,
        "console/link.html",
        context! {
            operator => operator.email, csrf => operator.csrf, url,
            title => "A form link",
            lead => format!("Send it to whoever reports the figures. It opens the {kind} form of this project and works for {days} days."),
            back => format!("/console/projects/{project}"),
        },
    )
}

async fn revoke_form_link(
    State(state): State<Arc<ConsoleState>>,
    axum::Extension(operator): axum::Extension<Operator>,
    Path((project, nonce)): Path<(String, String)>,
) -> Response {
    let Ok(project) = project.parse::<ProjectId>() else {
        return not_found();
    };
    let (mut link, client) = match (
        state.store.form_link(&nonce).await,
        state.store.project(&project).await,
    ) {
        (Ok(Some(l)), Ok(Some(p))) if l.project_id == project => (l, p.client_id),
        (Err(e), _) | (_, Err(e)) => return internal(&e),
        _ => return not_found(),
    };
    if link.revoked_at.is_none() {
        let now = state.store.clock().now();
        link.revoked_at = Some(now);
        if let Err(e) = state.store.put_form_link(&link).await {
            return internal(&e);
        }
        let _ = state
            .store
            .audit(
                &client,
                &crate::store::AuditEntry {
                    at: now,
                    action: "form_link_revoked".into(),
                    actor: operator.email.clone(),
                    project_id: Some(project.clone()),
                    detail: format!(
                        "{} form link {}",
                        link.kind,
                        &link.nonce[..8.min(link.nonce.len())]
                    ),
                },
            )
            .await;
    }
    see_other(&format!("/console/projects/{project}#form-links"))
}

// ----- the client's dashboard ----------------------------------------------------------

async fn dashboard(State(state): State<Arc<ConsoleState>>, Path(token): Path<String>) -> Response {
    let now = state.store.clock().now();
    let link = match state.dashboards.open(&state.store, &token, now).await {
        Ok(l) => l,
        Err(e) => {
            let status = match e {
                DashboardError::Invalid => StatusCode::FORBIDDEN,
                DashboardError::Expired | DashboardError::Revoked => StatusCode::GONE,
                _ => return internal(&e),
            };
            return message(
                status,
                &e.to_string(),
                "Your account manager can send a new link.",
            );
        }
    };
    match dashboard_context(&state, &link.client_id).await {
        Ok(Some(ctx)) => html(StatusCode::OK, "dashboard.html", ctx),
        Ok(None) => not_found(),
        Err(e) => internal(e.as_ref()),
    }
}

async fn dashboard_context(
    state: &ConsoleState,
    client: &ClientId,
) -> Result<Option<minijinja::Value>, Box<dyn std::error::Error + Send + Sync>> {
    let store = &state.store;
    let Some(c) = store.client(client).await? else {
        return Ok(None);
    };
    let mut projects = Vec::new();
    let today = store.client_today(Some(&c));
    for s in store.summaries_of(client).await? {
        let latest = store.latest_roi(&s.project_id).await?;
        // the client's own success criteria: its headline KPIs (issue 18)
        let kpis = match store.project(&s.project_id).await? {
            Some(p) => crate::project_kpis::evaluate_current(store, &p, today).await?,
            None => crate::project_kpis::KpiReport::default(),
        };
        let headline: Vec<_> = kpis.rows.into_iter().filter(|k| k.headline).collect();
        let reports: Vec<_> = store
            .reports_of(&s.project_id)
            .await?
            .into_iter()
            .filter(|r| r.review == Review::Approved && r.delivered)
            .rev()
            .map(|r| {
                context! {
                    title => r.kind.title(), period => r.period,
                    version => r.version,
                    issued => r.issued_at.date_naive().to_string(),
                }
            })
            .collect();
        projects.push(context! {
            id => s.project_id.to_string(),
            name => s.project_name.clone(),
            go_live => s.go_live.to_string(),
            roi_percentage => s.roi_percentage.map(|v| v.to_string()),
            payback => s.payback_period_months.map(|v| v.to_string()),
            as_of => s.as_of.map(|d| d.to_string()),
            savings => latest.as_ref().map(|r| roi_domain::units::usd(r.cost_savings_monthly)),
            ai_cost => roi_domain::units::usd(s.ai_cost_mtd_usd),
            chart => roi_charts::roi_over_time(&s.roi_history)
                .map(|svg| svg_img(&svg, "ROI since go-live at each month end, percent")),
            metrics => latest.as_ref().map(metric_rows).unwrap_or_default(),
            kpis => headline, kpi_status => kpis.status_line,
            reports,
        });
    }
    Ok(Some(context! { client => c.company_name, projects }))
}

/// The headline improvements of a calculation, as label and value.
fn metric_rows(r: &roi_domain::RoiCalculation) -> Vec<(String, String)> {
    let pct = |v: Option<Decimal>| v.map(|v| format!("{} %", v.round_dp(1)));
    [
        ("Time saved per task", pct(r.time_savings_percentage)),
        ("Error reduction", pct(r.error_reduction_percentage)),
        ("Efficiency gain", pct(r.efficiency_gain_percentage)),
        (
            "Customer satisfaction",
            r.customer_satisfaction_improvement
                .map(|v| format!("{:+} points", v.round_dp(1))),
        ),
    ]
    .into_iter()
    .filter_map(|(l, v)| v.map(|v| (l.to_owned(), v)))
    .collect()
}
