//! `compute-roi`: the scheduled work (`roi_app::jobs`) behind EventBridge Scheduler
//! (`{"job": "daily"}`, `{"job": "alert_check"}`, `{"job": "backfill", …}`), the
//! `project.changed` events of form submissions, and the units of work (one client each)
//! that a scheduled job queues on SQS. It returns the job's report, or for an SQS batch the
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

use roi_adapters::dynamodb::DynamoTable;
use roi_adapters::secrets_manager::SecretsManagerStore;
use roi_adapters::ses::SesMailer;
use roi_adapters::sqs::SqsQueue;
use roi_adapters::webhook::HttpWebhooks;
use roi_app::Store;
use roi_app::alerts::Notifier;
use roi_app::form_link::FormSigner;
use roi_app::jobs::{Services, handle_invocation};
use roi_domain::ports::{Clock, SystemClock};
use roi_lambda::{Error, SdkConfig, form_secret, var};

async fn services(config: SdkConfig) -> Result<Services, Error> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let table = DynamoTable::new(
        aws_sdk_dynamodb::Client::new(&config),
        var("ROI_TABLE")?,
        Arc::clone(&clock),
    );
    Ok(Services {
        store: Store::new(Arc::new(table), clock),
        notifier: Notifier {
            mailer: Arc::new(SesMailer::new(aws_sdk_sesv2::Client::new(&config))),
            webhooks: Arc::new(HttpWebhooks::default()),
            secrets: Arc::new(SecretsManagerStore::new(
                aws_sdk_secretsmanager::Client::new(&config),
            )),
            mail_from: var("ROI_MAIL_FROM")?,
        },
        signer: FormSigner::new(form_secret(&config).await?.as_bytes())?,
        base_url: var("ROI_BASE_URL")?,
        queue: var("ROI_JOB_QUEUE_URL")
            .ok()
            .map(|url| Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(&config), url)) as Arc<_>),
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
