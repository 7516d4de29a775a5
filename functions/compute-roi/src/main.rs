//! `compute-roi`: the scheduled work (`roi_app::jobs`) behind EventBridge Scheduler
//! (`{"job": "daily"}`, `{"job": "alert_check"}`, `{"job": "backfill", …}`) and the
//! `project.changed` events of form submissions. It returns the job's report.
//!
//! Configuration: `ROI_TABLE`, `ROI_MAIL_FROM` (a verified SES identity), `ROI_FORM_SECRET`
//! (signs reminder links, the same as `submit-form`'s), `ROI_BASE_URL` (where forms are
//! served), plus the AWS SDK's standard variables.

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use roi_adapters::dynamodb::DynamoTable;
use roi_adapters::ses::SesMailer;
use roi_adapters::webhook::HttpWebhooks;
use roi_app::Store;
use roi_app::alerts::Notifier;
use roi_app::form_link::FormSigner;
use roi_app::jobs::{Services, handle_payload};
use roi_domain::ports::{Clock, SystemClock};

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
    let services = Services {
        store: Store::new(Arc::new(table), clock),
        notifier: Notifier {
            mailer: Arc::new(SesMailer::new(aws_sdk_sesv2::Client::new(&config))),
            webhooks: Arc::new(HttpWebhooks::default()),
            mail_from: var("ROI_MAIL_FROM")?,
        },
        signer: FormSigner::new(var("ROI_FORM_SECRET")?.as_bytes())?,
        base_url: var("ROI_BASE_URL")?,
    };
    let services = &services;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let report = handle_payload(services, event.payload).await?;
            Ok::<_, Error>(serde_json::to_value(report)?)
        },
    ))
    .await
}
