//! The release shape of the function: its binary run as Lambda runs it (against a stand-in
//! Runtime API, on DynamoDB in moto), answering an API Gateway request, logging JSON with
//! the Lambda request id and the caller's correlation id, and emitting EMF metrics.

use std::sync::Arc;

use chrono::{Duration, Utc};
use roi_app::Store;
use roi_domain::ports::{Clock, SystemClock};
use roi_e2e::runtime_api::{Answer, BinaryRun, run_binary};
use roi_e2e::{moto, samples};
use serde_json::{Value, json};

const EVENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/ingest-events");

#[tokio::test]
async fn the_binary_logs_both_ids_stores_the_batch_id_and_emits_metrics() {
    // GIVEN the sample client and its development key in a fresh table
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let name = moto::unique("binary");
    let table = moto::table(name.clone(), Arc::clone(&clock)).await;
    let store = Store::new(Arc::new(table), clock);
    samples::sample_project(&store).await;
    samples::register_dev_api_key(&store).await;

    // WHEN a batch of two events, sent by a named user, arrives with a correlation id
    let time = (Utc::now() - Duration::hours(2)).to_rfc3339();
    let batch = json!([
        {"specversion": "1.0", "id": "bin-1", "source": "crm", "type": "ai.usage", "time": time,
         "data": {"model": "claude-haiku-4-5", "input_tokens": 1200, "output_tokens": 300,
                  "user": "dana.cho@acme-logistics.example"}},
        {"specversion": "1.0", "id": "bin-2", "source": "crm", "type": "business.outcome", "time": time,
         "data": {"kind": "error_avoided", "value_usd": "240.00", "ai_assisted": true,
                  "user": "dana.cho@acme-logistics.example"}}
    ])
    .to_string();
    let mut request: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{EVENTS}/valid-batch.json")).unwrap(),
    )
    .unwrap();
    request["headers"]["x-correlation-id"] = json!("batch-7f3a");
    request["headers"]["content-length"] = json!(batch.len().to_string());
    request["body"] = json!(batch);
    request["isBase64Encoded"] = json!(false);
    let run: BinaryRun = run_binary(
        env!("CARGO_BIN_EXE_ingest-events"),
        &[
            ("AWS_ENDPOINT_URL", moto::endpoint()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("ROI_TABLE", &name),
            (
                "ROI_PSEUDONYM_KEY",
                "local-development-pseudonym-key-not-for-production",
            ),
            ("RUST_LOG", "info"),
        ],
        vec![("req-ingest-1".into(), request)],
    )
    .await;

    // THEN the answer is API Gateway's shape, with the correlation id echoed
    let Answer::Response(answer) = &run.answers[0] else {
        panic!("the function failed: {:?}\n{}", run.answers[0], run.stderr);
    };
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(answer["headers"]["x-correlation-id"], "batch-7f3a");

    // and the log line of the batch carries the request id and the correlation id
    let logs = BinaryRun::json_lines(&run.stderr);
    let ingested = logs
        .iter()
        .find(|l| l["fields"]["message"] == "events ingested")
        .unwrap_or_else(|| panic!("no ingestion log line in:\n{}", run.stderr));
    let spans = ingested["spans"].as_array().unwrap();
    assert!(
        spans.iter().any(|s| s["requestId"] == "req-ingest-1"),
        "{ingested}"
    );
    assert!(
        spans.iter().any(|s| s["correlation_id"] == "batch-7f3a"),
        "{ingested}"
    );
    assert_eq!(ingested["fields"]["accepted"], 2);

    // and one EMF document counts the events and the cold start
    let docs = BinaryRun::json_lines(&run.stdout);
    let emf = docs
        .iter()
        .find(|d| d.get("events_accepted").is_some())
        .unwrap_or_else(|| panic!("no EMF document with events_accepted in:\n{}", run.stdout));
    assert_eq!(emf["events_accepted"], 2.0);
    assert_eq!(emf["function"], "ingest-events");
    assert_eq!(emf["request_id"], "req-ingest-1");
    let declared = &emf["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(declared["Namespace"], "roi-tracker");
    assert!(
        docs.iter().any(|d| d["cold_start"] == 1.0),
        "{}",
        run.stdout
    );

    // and no personal data reached either stream
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains("dana.cho"), "a user id was printed:\n{text}");
    }

    // and the stored events keep the batch's correlation id, for the roll-up to report
    let client = "acme-logistics".parse().unwrap();
    let day = store.client_today(store.client(&client).await.unwrap().as_ref());
    let mut stored = store.events_of_day(&client, day).await.unwrap();
    stored.extend(
        store
            .events_of_day(&client, day.pred_opt().unwrap())
            .await
            .unwrap(),
    );
    let ours: Vec<_> = stored.iter().filter(|e| e.id.starts_with("bin-")).collect();
    assert_eq!(ours.len(), 2);
    for e in ours {
        assert_eq!(e.correlation_id.as_ref().unwrap().as_str(), "batch-7f3a");
    }
}
