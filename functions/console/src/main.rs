//! `console`: the operators' console (`/console/…`: sign-in, portfolio, project pages,
//! report review, measurement review, dashboard links) and the clients' read-only
//! dashboards (`/d/{token}`) behind API Gateway's HTTP API: the router of
//! `roi_app::http::console` under `lambda_http`, built on the first request.
//!
//! Configuration: `ROI_TABLE`, `ROI_FORM_SECRET_ARN` or `ROI_FORM_SECRET` (sign-in links,
//! session cookies, CSRF tokens and dashboard links are signed with keys derived from it),
//! `ROI_REPORTS_BUCKET` (report previews and the approved figures), `ROI_MAIL_FROM` (sign-in
//! links and approved reports are e-mailed from it), `ROI_BASE_URL` (where the console is
//! served) and `ROI_OPERATORS` (the operators' e-mail addresses, comma-separated), plus
//! the AWS SDK's standard variables.

use std::sync::Arc;

use roi_app::console::auth::{ConsoleAuth, Operators};
use roi_app::console::dashboard::DashboardLinks;
use roi_app::http::console::{ConsoleState, router};
use roi_app::reports::{ReportLinks, ReportServices};
use roi_lambda::{Aws, Error, SdkConfig, var};

async fn app(config: SdkConfig) -> Result<axum::Router, Error> {
    let aws = Aws::new(&config);
    let signer = aws.signer().await?;
    let store = aws.store()?;
    let base_url = var("ROI_BASE_URL")?;
    let operators = Operators::parse(&var("ROI_OPERATORS")?)?;
    let state = ConsoleState {
        auth: ConsoleAuth::new(&signer, operators, &base_url),
        forms: signer.clone(),
        dashboards: DashboardLinks::new(&signer, &base_url),
        reports: ReportServices {
            store: store.clone(),
            blobs: aws.blobs()?,
            mailer: aws.mailer(),
            mail_from: var("ROI_MAIL_FROM")?,
            links: ReportLinks::new(&signer, &base_url),
        },
        store,
    };
    Ok(router(Arc::new(state)))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    roi_lambda::serve_http("console", app).await
}
