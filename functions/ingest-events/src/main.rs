//! `ingest-events`: `POST /v1/events` and the read endpoints (`/v1/rollups/…`,
//! `/v1/roi/current`) behind API Gateway's HTTP API: the router of `roi_app::http::events`
//! under `lambda_http`, built on the first request (`roi_lambda::serve_http`).
//!
//! Configuration: `ROI_TABLE` (the DynamoDB table), plus the AWS SDK's standard variables.
//! Events are priced with the table shipped in this build (`roi prices` shows it).

use std::sync::Arc;

use roi_app::http::events::{EventsState, router};
use roi_app::pricing::PriceTable;
use roi_lambda::{Aws, Error, SdkConfig};

async fn app(config: SdkConfig) -> Result<axum::Router, Error> {
    let state = EventsState {
        store: Aws::new(&config).store()?,
        prices: PriceTable::shipped().clone(),
    };
    Ok(router(Arc::new(state)))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    roi_lambda::serve_http("ingest-events", app).await
}
