//! The `compute-roi` handler run on each file of `events/compute-roi/`, against the embedded
//! store and against DynamoDB in moto.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod binary;

use std::sync::Arc;

use async_trait::async_trait;
use roi_adapters::outbox::OutboxMailer;
use roi_app::Store;
use roi_app::alerts::Notifier;
use roi_app::form_link::FormSigner;
use roi_app::ingest::ingest;
use roi_app::jobs::{Answer, JobError, Services, handle_invocation, handle_payload};
use roi_app::pricing::PriceTable;
use roi_domain::event::BodyFormat;
use roi_domain::ports::{Clock, FixedClock, WebhookDelivery, WebhookError, Webhooks};
use roi_e2e::samples;

const EVENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/compute-roi");

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::new("2026-11-21T12:00:00Z".parse().unwrap()))
}

struct NoWebhooks;

#[async_trait]
impl Webhooks for NoWebhooks {
    async fn deliver(&self, _: &WebhookDelivery) -> Result<(), WebhookError> {
        Err(WebhookError::Rejected(
            "no webhook is configured in this test".into(),
        ))
    }
}

fn payload(file: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(format!("{EVENTS}/{file}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn every_event_does_what_its_name_says(store: Store, outbox: &std::path::Path) {
    // GIVEN the sample project (deployed, go-live 2025-02-03) and a week of AI usage
    let project = samples::sample_project(&store).await;
    let client = "acme-logistics".parse().unwrap();
    let events: Vec<serde_json::Value> = (16..=20)
        .map(|day| {
            serde_json::json!({"specversion": "1.0", "id": format!("u{day}"), "source": "s", "type": "ai.usage",
                "time": format!("2026-11-{day}T15:00:00Z"),
                "data": {"model": "claude-haiku-4-5", "input_tokens": 100000, "output_tokens": 1000, "project": project.to_string()}})
        })
        .collect();
    let body = serde_json::Value::from(events).to_string();
    ingest(
        &store,
        PriceTable::shipped(),
        &client,
        body.as_bytes(),
        BodyFormat::Batch,
    )
    .await
    .unwrap();
    let services = Services {
        store: store.clone(),
        notifier: Notifier {
            mailer: Arc::new(OutboxMailer::new(outbox, clock())),
            webhooks: Arc::new(NoWebhooks),
            secrets: Arc::new(roi_adapters::dir_secrets::DirSecrets::new(
                outbox.with_file_name("secrets"),
            )),
            mail_from: "roi@consultancy.example".into(),
        },
        signer: FormSigner::new(b"local-development-secret-not-for-production").unwrap(),
        base_url: "http://127.0.0.1:8080".into(),
        queue: None,
        admin_api: None,
        blobs: None,
    };

    // backfill: five days rolled up, then every period as of the 20th
    let r = handle_payload(&services, payload("backfill.json"))
        .await
        .unwrap();
    assert_eq!(r.failures, Vec::<String>::new());
    assert_eq!(
        (r.clients, r.days_rolled_up, r.roi_calculations),
        (1, 5, 5),
        "{r:?}"
    );
    let day = store
        .rollup(&client, "2026-11-18".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(day.usage.events, 1);
    let periods: Vec<String> = store
        .roi_calculations(&project)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.calculation_date.to_string() == "2026-11-20")
        .map(|c| c.period_analyzed)
        .collect();
    assert_eq!(
        periods,
        [
            "month to date",
            "last 3 months",
            "last 6 months",
            "last 12 months",
            "since go-live"
        ]
    );

    // daily: yesterday (the client's 20th) again, idempotently
    let r = handle_payload(&services, payload("daily.json"))
        .await
        .unwrap();
    assert_eq!(
        (r.clients, r.days_rolled_up, r.roi_calculations),
        (1, 1, 5),
        "{r:?}"
    );

    // the alert check reads what the daily run stored
    let r = handle_payload(&services, payload("alert-check.json"))
        .await
        .unwrap();
    assert_eq!(r.clients, 1);
    assert_eq!(r.failures, Vec::<String>::new());

    // an SQS event of two units: the known client's runs, the unknown one's is named failed
    let r = handle_invocation(&services, payload("units.json"))
        .await
        .unwrap();
    let Answer::Units(batch) = r else {
        panic!("{r:?}")
    };
    let failed: Vec<&str> = batch
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["7d1e9f20-3b4c-4a5d-8e6f-2a3b4c5d6e02"]);
    assert_eq!(
        serde_json::to_value(&batch).unwrap()["batchItemFailures"][0]["itemIdentifier"],
        "7d1e9f20-3b4c-4a5d-8e6f-2a3b4c5d6e02",
        "the shape Lambda's event source reads"
    );

    // anything else is refused with a reason
    let bad = handle_payload(&services, serde_json::json!({"job": "weekly"})).await;
    assert!(
        matches!(bad, Err(JobError::NotAJob(ref why)) if why.contains("weekly")),
        "{bad:?}"
    );
}

roi_e2e::on_both_stores!(every_event_does_what_its_name_says, clock());
