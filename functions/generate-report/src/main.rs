//! `generate-report`: the report jobs of `roi_app::reports::run` behind EventBridge
//! Scheduler (`{"job": "reports", "kind": "weekly"}`, …; see `events/generate-report/`),
//! or one report by hand (`"project"` and `"period"` added). It returns the run's counts.
//!
//! Configuration: `ROI_TABLE`, `ROI_REPORTS_BUCKET` (where PDFs and exports go),
//! `ROI_MAIL_FROM` (a verified SES identity), `ROI_FORM_SECRET_ARN` or `ROI_FORM_SECRET`
//! (report links are signed with a key derived from it; `submit-form` redeems them at
//! `GET /r/{token}`), `ROI_BASE_URL` (where `/r/{token}` is served), plus the AWS SDK's
//! standard variables. The SDK clients and the key are set up on the first invocation.

use roi_app::reports::{ReportLinks, ReportServices, run};
use roi_lambda::{Aws, Error, SdkConfig, var};
use roi_reports::TypstRenderer;

async fn services(config: SdkConfig) -> Result<ReportServices, Error> {
    let aws = Aws::new(&config);
    Ok(ReportServices {
        store: aws.store()?,
        blobs: aws.blobs()?,
        mailer: aws.mailer(),
        mail_from: var("ROI_MAIL_FROM")?,
        links: ReportLinks::new(&aws.signer().await?, &var("ROI_BASE_URL")?),
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
