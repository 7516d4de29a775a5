//! `submit-form`: the self-reporting forms (`GET`/`POST /forms/{token}`) and the e-mailed
//! report links (`GET /r/{token}`, redirecting to a presigned S3 URL) behind API Gateway's
//! HTTP API: the routers of `roi_app::http::forms` and `roi_app::http::links` under `lambda_http`,
//! built on the first request (`roi_lambda::serve_http`).
//!
//! Configuration: `ROI_TABLE` (the DynamoDB table), `ROI_FORM_SECRET_ARN` or
//! `ROI_FORM_SECRET` (the form-link key, at least 32 bytes; report links use a key derived
//! from it) and `ROI_REPORTS_BUCKET`, plus the AWS SDK's standard variables.

use std::sync::Arc;

use roi_app::http::forms::{self, FormsState};
use roi_app::http::links::{self, LinkState};
use roi_app::reports::ReportLinks;
use roi_lambda::{Aws, Error, SdkConfig};

async fn app(config: SdkConfig) -> Result<axum::Router, Error> {
    let aws = Aws::new(&config);
    let signer = aws.signer().await?;
    let store = aws.store()?;
    let links = LinkState {
        store: store.clone(),
        blobs: aws.blobs()?,
        // Only redeems links here, so the base URL of new links is not needed.
        links: ReportLinks::new(&signer, ""),
    };
    let state = FormsState {
        store: store.clone(),
        signer,
    };
    Ok(forms::router(Arc::new(state)).merge(links::router(Arc::new(links))))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    roi_lambda::serve_http("submit-form", app).await
}
