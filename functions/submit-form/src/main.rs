//! `submit-form`: the self-reporting forms (`GET`/`POST /forms/{token}`) behind API
//! Gateway's HTTP API. It reads its configuration once, builds the DynamoDB adapter once,
//! and hands the router of `roi_app::web` to `lambda_http`.
//!
//! Configuration: `ROI_TABLE` (the DynamoDB table, see `DynamoTable::from_env`) and
//! `ROI_FORM_SECRET` (the form-link key, at least 32 bytes), plus the AWS SDK's standard
//! variables.

use std::sync::Arc;

use roi_adapters::dynamodb::DynamoTable;
use roi_app::Store;
use roi_app::form_link::FormSigner;
use roi_app::forms::RecomputeNow;
use roi_app::web::{AppState, router};
use roi_domain::ports::{Clock, SystemClock};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let secret = std::env::var("ROI_FORM_SECRET").map_err(|_| "ROI_FORM_SECRET is not set")?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let table = DynamoTable::from_env(Arc::clone(&clock)).await?;
    let store = Store::new(Arc::new(table), clock);
    let state = AppState {
        store: store.clone(),
        signer: FormSigner::new(secret.as_bytes())?,
        on_change: Arc::new(RecomputeNow(store)),
    };
    lambda_http::run(router(Arc::new(state))).await
}
