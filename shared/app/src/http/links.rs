//! `GET /r/{token}`: a report link from an e-mail, redeemed for a fresh presigned URL
//! (303); 403 for an invalid link, 410 for an expired or revoked one, 503 when storage
//! fails. Errors are a short HTML page (the link is opened in a browser).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use roi_domain::ports::BlobStore;

use super::page::{message, page_headers};
use crate::reports::{OpenError, ReportLinks, open};
use crate::store::Store;

/// What the `/r/{token}` route needs.
#[derive(Clone)]
pub struct LinkState {
    /// Records.
    pub store: Store,
    /// Where the PDFs are.
    pub blobs: Arc<dyn BlobStore>,
    /// Verifies tokens.
    pub links: ReportLinks,
}

/// The router of `GET /r/{token}`.
pub fn router(state: Arc<LinkState>) -> Router {
    Router::new()
        .route("/r/{token}", get(redeem))
        .with_state(state)
        .layer(axum::middleware::map_response(page_headers))
        .layer(axum::middleware::from_fn(crate::correlation::middleware))
}

async fn redeem(State(state): State<Arc<LinkState>>, Path(token): Path<String>) -> Response {
    let mut r = match open(&state.store, state.blobs.as_ref(), &state.links, &token).await {
        Ok(url) => {
            let mut r = StatusCode::SEE_OTHER.into_response();
            if let Ok(v) = HeaderValue::from_str(&url.url) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        Err(e) => {
            let status = match e {
                OpenError::Invalid => StatusCode::FORBIDDEN,
                OpenError::Expired | OpenError::Revoked => StatusCode::GONE,
                OpenError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            };
            message(
                status,
                &e.to_string(),
                "Your account manager can send a new link.",
            )
        }
    };
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
