//! The read endpoints: the API key's client's own figures, as JSON (seed 003 `daily`,
//! `weekly`, `current`):
//!
//! - `GET /v1/rollups/daily/{date}`: one day's roll-up;
//! - `GET /v1/rollups/weekly/{date}`: the Monday-to-Sunday week holding `date`;
//! - `GET /v1/roi/current`: each project's latest ROI calculation.
//!
//! 401/403 as for `POST /v1/events`; 400 for a date outside 2000-01-01..=2099-12-31; 404
//! when no roll-up covers the date yet; 503 when storage fails.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Datelike, NaiveDate};

use super::events::{EventsState, authorization, caller, unavailable};
use super::problem::problem;
use crate::api_keys::Authenticated;
use crate::rollup::{self, Rollup, RollupError, RollupView};

/// The read routes, sharing the events endpoint's state.
pub(super) fn routes() -> Router<Arc<EventsState>> {
    Router::new()
        .route("/v1/rollups/daily/{date}", get(get_daily))
        .route("/v1/rollups/weekly/{date}", get(get_weekly))
        .route("/v1/roi/current", get(get_current_roi))
}

fn bad_date(text: &str, reason: &str) -> Response {
    problem(
        StatusCode::BAD_REQUEST,
        "/problems/bad-date",
        "Bad date",
        &format!("'{text}': {reason}"),
    )
}

fn rollup_answer(found: Result<Option<Rollup>, RollupError>, what: &str) -> Response {
    let found = found.and_then(|r| {
        r.map(|r| {
            RollupView::try_from(&r).map_err(|source| RollupError::Overflow {
                what: what.to_owned(),
                source,
            })
        })
        .transpose()
    });
    match found {
        Ok(Some(view)) => axum::Json(view).into_response(),
        Ok(None) => problem(
            StatusCode::NOT_FOUND,
            "/problems/not-found",
            "Not rolled up",
            &format!("No roll-up covers {what} yet; roll-ups are computed daily."),
        ),
        Err(RollupError::BadRange(reason)) => problem(
            StatusCode::BAD_REQUEST,
            "/problems/bad-date",
            "Bad range",
            &reason,
        ),
        Err(RollupError::Store(e)) => {
            tracing::warn!(error = %e, "roll-up read failed");
            unavailable(None)
        }
        Err(e @ RollupError::Overflow { .. }) => {
            tracing::error!(error = %e, "stored roll-ups cannot be summed");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "/problems/figures-unavailable",
                "Figures unavailable",
                &format!(
                    "The stored figures of {what} cannot be summed; the error is logged for the operators."
                ),
            )
        }
    }
}

/// The caller of a read endpoint and the date in its path, or the answer refusing them.
async fn caller_and_date(
    state: &EventsState,
    headers: &HeaderMap,
    date: &str,
) -> Result<(Authenticated, NaiveDate), Response> {
    let who = caller(state, authorization(headers).as_deref()).await?;
    let day = date
        .parse::<NaiveDate>()
        .map_err(|_| bad_date(date, "is not a date in YYYY-MM-DD form"))?;
    let day = roi_domain::dates::in_window(day).map_err(|reason| bad_date(date, &reason))?;
    Ok((who, day))
}

/// `GET /v1/rollups/daily/{date}`: the client's roll-up of one of its days (seed 003
/// `daily/{date}`).
async fn get_daily(
    State(state): State<Arc<EventsState>>,
    Path(date): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (who, day) = match caller_and_date(&state, &headers, &date).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let found = state
        .store
        .rollup(&who.client_id, day)
        .await
        .map_err(RollupError::from);
    rollup_answer(found, &day.to_string())
}

/// `GET /v1/rollups/weekly/{date}`: the Monday-to-Sunday week holding `date`, merged from
/// its daily roll-ups (seed 003 `weekly/{date}`).
async fn get_weekly(
    State(state): State<Arc<EventsState>>,
    Path(date): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (who, day) = match caller_and_date(&state, &headers, &date).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    // The week, within the accepted dates (the first and last weeks of the window are
    // shorter).
    let from_monday = u64::from(day.weekday().num_days_from_monday());
    let monday = day
        .checked_sub_days(chrono::Days::new(from_monday))
        .unwrap_or(day);
    let sunday = day
        .checked_add_days(chrono::Days::new(6 - from_monday))
        .unwrap_or(day)
        .min(roi_domain::dates::LAST_DATE);
    let monday = monday.max(roi_domain::dates::FIRST_DATE);
    let found = rollup::period(&state.store, &who.client_id, monday, sunday).await;
    rollup_answer(found, &format!("the week of {monday}"))
}

/// `GET /v1/roi/current`: each project's latest ROI calculation (seed 003 `current`).
async fn get_current_roi(State(state): State<Arc<EventsState>>, headers: HeaderMap) -> Response {
    let who = match caller(&state, authorization(&headers).as_deref()).await {
        Ok(c) => c,
        Err(refused) => return refused,
    };
    let latest = async {
        let mut out = Vec::new();
        for project in state.store.projects_of(&who.client_id).await? {
            let latest = state.store.latest_roi(&project.id).await?;
            out.push(serde_json::json!({
                "project_id": project.id,
                "project_name": project.project_name,
                "roi": latest,
            }));
        }
        Ok::<_, crate::store::StoreError>(out)
    };
    match latest.await {
        Ok(projects) => axum::Json(serde_json::json!({ "projects": projects })).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "ROI read failed");
            unavailable(None)
        }
    }
}
