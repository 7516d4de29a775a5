//! `submit-form`: the self-reporting forms (`GET`/`POST /forms/{token}`) and the e-mailed
//! report links (`GET /r/{token}`, redirecting to a presigned S3 URL) behind API Gateway's
//! HTTP API. It reads its configuration once, builds the adapters once, and hands the
//! routers of `roi_app::web` and `roi_app::reports` to `lambda_http`.
//!
//! Configuration: `ROI_TABLE` (the DynamoDB table), `ROI_FORM_SECRET` (the form-link key,
//! at least 32 bytes; report links use a key derived from it), `ROI_REPORTS_BUCKET` and
//! `ROI_BASE_URL`, plus the AWS SDK's standard variables.

use std::sync::Arc;

use roi_adapters::dynamodb::DynamoTable;
use roi_adapters::s3::S3BlobStore;
use roi_app::Store;
use roi_app::form_link::FormSigner;
use roi_app::forms::RecomputeNow;
use roi_app::reports::{LinkState, ReportLinks};
use roi_app::web::{AppState, router};
use roi_domain::ports::{Clock, SystemClock};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let signer = FormSigner::new(var("ROI_FORM_SECRET")?.as_bytes())?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let table = DynamoTable::new(
        aws_sdk_dynamodb::Client::new(&config),
        var("ROI_TABLE")?,
        Arc::clone(&clock),
    );
    let store = Store::new(Arc::new(table), clock);
    let links = LinkState {
        store: store.clone(),
        blobs: Arc::new(S3BlobStore::new(
            aws_sdk_s3::Client::new(&config),
            var("ROI_REPORTS_BUCKET")?,
        )),
        links: ReportLinks::new(&signer, &var("ROI_BASE_URL")?),
    };
    let state = AppState {
        store: store.clone(),
        signer,
        on_change: Arc::new(RecomputeNow(store)),
    };
    let app = router(Arc::new(state)).merge(roi_app::reports::router(Arc::new(links)));
    lambda_http::run(app).await
}
