//! `generate-report`: the report jobs of `roi_app::reports::run` behind EventBridge
//! Scheduler (`{"job": "reports", "kind": "weekly"}`, …; see `events/generate-report/`),
//! or one report by hand (`"project"` and `"period"` added). It returns the run's counts.
//!
//! Configuration: `ROI_TABLE`, `ROI_REPORTS_BUCKET` (where PDFs and exports go),
//! `ROI_MAIL_FROM` (a verified SES identity), `ROI_FORM_SECRET_ARN` or `ROI_FORM_SECRET`
//! (report links are signed with a key derived from it; `submit-form` redeems them at
//! `GET /r/{token}`), `ROI_BASE_URL` (where `/r/{token}` is served), plus the AWS SDK's
//! standard variables. The SDK clients and the key are set up on the first invocation.

use std::sync::Arc;

use roi_adapters::dynamodb::DynamoTable;
use roi_adapters::s3::S3BlobStore;
use roi_adapters::ses::SesMailer;
use roi_app::Store;
use roi_app::form_link::FormSigner;
use roi_app::reports::{ReportLinks, ReportServices, run};
use roi_domain::ports::{Clock, SystemClock};
use roi_lambda::{Error, SdkConfig, form_secret, var};
use roi_reports::TypstRenderer;

async fn services(config: SdkConfig) -> Result<ReportServices, Error> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let table = DynamoTable::new(
        aws_sdk_dynamodb::Client::new(&config),
        var("ROI_TABLE")?,
        Arc::clone(&clock),
    );
    let signer = FormSigner::new(form_secret(&config).await?.as_bytes())?;
    Ok(ReportServices {
        store: Store::new(Arc::new(table), clock),
        blobs: Arc::new(S3BlobStore::new(
            aws_sdk_s3::Client::new(&config),
            var("ROI_REPORTS_BUCKET")?,
        )),
        mailer: Arc::new(SesMailer::new(aws_sdk_sesv2::Client::new(&config))),
        mail_from: var("ROI_MAIL_FROM")?,
        links: ReportLinks::new(&signer, &var("ROI_BASE_URL")?),
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    roi_lambda::serve_jobs(
        "generate-report",
        services,
        |services, payload| async move {
            Ok(serde_json::to_value(
                run(&services, &TypstRenderer, payload).await?,
            )?)
        },
    )
    .await
}
