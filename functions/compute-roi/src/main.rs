//! `compute-roi`: the scheduled work (`roi_app::jobs`) behind EventBridge Scheduler
//! (`{"job": "daily"}`, `{"job": "alert_check"}`, `{"job": "backfill", …}`) and the
//! units of work (one client each) that a scheduled job queues on SQS. It returns the job's report, or for an SQS batch the
//! failed messages (`batchItemFailures`).
//!
//! Configuration: `ROI_TABLE`, `ROI_JOB_QUEUE_URL` (where a job for every client queues
//! its units; unset, they run in this invocation), `ROI_MAIL_FROM` (a verified SES identity),
//! `ROI_FORM_SECRET_ARN` or `ROI_FORM_SECRET` (signs reminder links, the same key as
//! `submit-form`'s), `ROI_BASE_URL` (where forms are served), plus the AWS SDK's standard
//! variables. Webhook signing secrets are read from Secrets Manager under the names the
//! client settings keep (`roi_app::settings::save`). The SDK clients and the key are set up
//! on the first invocation (`roi_lambda`).

use std::sync::Arc;

use roi_adapters::webhook::HttpWebhooks;
use roi_app::alerts::Notifier;
use roi_app::jobs::{Services, handle_invocation};
use roi_lambda::{Aws, Error, SdkConfig, var};

async fn services(config: SdkConfig) -> Result<Services, Error> {
    let aws = Aws::new(&config);
    Ok(Services {
        store: aws.store()?,
        notifier: Notifier {
            mailer: aws.mailer(),
            webhooks: Arc::new(HttpWebhooks::default()),
            secrets: aws.secrets(),
            mail_from: var("ROI_MAIL_FROM")?,
        },
        signer: aws.signer().await?,
        // the reports bucket, whose files an anonymisation deletes; optional
        blobs: match std::env::var("ROI_REPORTS_BUCKET") {
            Ok(_) => Some(aws.blobs()?),
            Err(_) => None,
        },
        base_url: var("ROI_BASE_URL")?,
        queue: aws.job_queue(),
        admin_api: Some(std::sync::Arc::new(
            roi_adapters::admin_api::HttpAdminApi::default(),
        )),
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    roi_lambda::serve_jobs("compute-roi", services, |services, payload| async move {
        Ok(serde_json::to_value(
            handle_invocation(&services, payload).await?,
        )?)
    })
    .await
}
