//! `ingest-events`: `POST /v1/events` behind API Gateway's HTTP API. It reads its
//! configuration once, builds the DynamoDB adapter once, and hands the router of
//! `roi_app::events_api` to `lambda_http`.
//!
//! Configuration: `ROI_TABLE` (the DynamoDB table), plus the AWS SDK's standard variables.
//! Events are priced with the table shipped in this build (`roi prices` shows it).

use std::sync::Arc;

use roi_adapters::dynamodb::DynamoTable;
use roi_app::Store;
use roi_app::events_api::{EventsState, router};
use roi_app::pricing::PriceTable;
use roi_domain::ports::{Clock, SystemClock};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let table = DynamoTable::from_env(Arc::clone(&clock)).await?;
    let state = EventsState {
        store: Store::new(Arc::new(table), clock),
        prices: PriceTable::shipped().clone(),
    };
    lambda_http::run(router(Arc::new(state))).await
}
