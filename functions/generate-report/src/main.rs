//! `generate-report`: the report jobs of `roi_app::reports::run` behind EventBridge
//! Scheduler (`{"job": "reports", "kind": "weekly"}`, …; see `events/generate-report/`),
//! or one report by hand (`"project"` and `"period"` added). It returns the run's counts.
//!
//! Configuration: `ROI_TABLE`, `ROI_REPORTS_BUCKET` (where PDFs and exports go),
//! `ROI_MAIL_FROM` (a verified SES identity), `ROI_FORM_SECRET` (report links are signed
//! with a key derived from it; `submit-form` redeems them at `GET /r/{token}`),
//! `ROI_BASE_URL` (where `/r/{token}` is served), plus the AWS SDK's standard variables.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use roi_adapters::dynamodb::DynamoTable;
use roi_adapters::s3::S3BlobStore;
use roi_adapters::ses::SesMailer;
use roi_adapters::webhook::HttpWebhooks;
use roi_app::Store;
use roi_app::alerts::Notifier;
use roi_app::form_link::FormSigner;
use roi_app::reports::{ReportLinks, ReportServices, run};
use roi_domain::ports::{Clock, SystemClock};
use roi_reports::TypstRenderer;

fn var(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let table = DynamoTable::new(
        aws_sdk_dynamodb::Client::new(&config),
        var("ROI_TABLE")?,
        Arc::clone(&clock),
    );
    let signer = FormSigner::new(var("ROI_FORM_SECRET")?.as_bytes())?;
    let services = ReportServices {
        store: Store::new(Arc::new(table), clock),
        blobs: Arc::new(S3BlobStore::new(
            aws_sdk_s3::Client::new(&config),
            var("ROI_REPORTS_BUCKET")?,
        )),
        notifier: Notifier {
            mailer: Arc::new(SesMailer::new(aws_sdk_sesv2::Client::new(&config))),
            webhooks: Arc::new(HttpWebhooks::default()),
            mail_from: var("ROI_MAIL_FROM")?,
        },
        links: ReportLinks::new(&signer, &var("ROI_BASE_URL")?),
    };
    let services = &services;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let report = run(services, &TypstRenderer, event.payload).await?;
            Ok::<_, Error>(serde_json::to_value(report)?)
        },
    ))
    .await
}
