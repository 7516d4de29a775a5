//! The release shape of the function: its binary run as Lambda runs it (against a stand-in
//! Runtime API, on DynamoDB in moto), taking a scheduled job, and showing in its JSON logs
//! which event batches (correlation ids) the day's roll-up read.

use std::sync::Arc;

use chrono::{Days, TimeZone};
use roi_app::Store;
use roi_app::correlation::{CorrelationId, scope};
use roi_app::ingest::ingest;
use roi_app::pricing::PriceTable;
use roi_domain::event::BodyFormat;
use roi_domain::ports::{Clock, SystemClock};
use roi_e2e::runtime_api::{Answer, BinaryRun, run_binary};
use roi_e2e::{moto, samples};
use serde_json::json;

#[tokio::test]
async fn a_daily_job_logs_the_batches_it_rolled_up_and_emits_metrics() {
    // GIVEN yesterday's events of the sample client, delivered in batch "batch-c0ffee"
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let name = moto::unique("binary");
    let table = moto::table(name.clone(), Arc::clone(&clock)).await;
    let store = Store::new(Arc::new(table), clock);
    let project = samples::sample_project(&store).await;
    let client_id = "acme-logistics".parse().unwrap();
    let client = store.client(&client_id).await.unwrap().unwrap();
    let yesterday = store.client_today(Some(&client)) - Days::new(1);
    let noon = client
        .time_zone
        .from_local_datetime(&yesterday.and_hms_opt(12, 0, 0).unwrap())
        .unwrap()
        .to_utc();
    let batch = json!([{"specversion": "1.0", "id": "d-1", "source": "crm", "type": "ai.usage",
        "time": noon.to_rfc3339(),
        "data": {"model": "claude-haiku-4-5", "input_tokens": 5000, "output_tokens": 800,
                 "project": project.to_string()}}])
    .to_string();
    let id = CorrelationId::try_from("batch-c0ffee".to_owned()).unwrap();
    let report = scope("test", id, async {
        ingest(
            &store,
            PriceTable::shipped(),
            &client_id,
            batch.as_bytes(),
            BodyFormat::Batch,
        )
        .await
    })
    .await
    .unwrap();
    assert_eq!(report.accepted, 1);

    // WHEN the daily schedule fires
    let run = run_binary(
        env!("CARGO_BIN_EXE_compute-roi"),
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
            ("ROI_MAIL_FROM", "roi@consultancy.example"),
            (
                "ROI_FORM_SECRET",
                "local-development-secret-not-for-production",
            ),
            ("ROI_BASE_URL", "https://forms.example.com"),
            ("RUST_LOG", "info"),
        ],
        vec![(
            "req-daily-1".into(),
            json!({"job": "daily", "client": "acme-logistics", "correlation_id": "sched-daily-1"}),
        )],
    )
    .await;

    // THEN the job succeeded
    let Answer::Response(answer) = &run.answers[0] else {
        panic!("the function failed: {:?}\n{}", run.answers[0], run.stderr);
    };
    assert_eq!(answer["clients"], 1, "{answer}");

    // and the roll-up's log line names the batch, under the job's and Lambda's ids
    let logs = BinaryRun::json_lines(&run.stderr);
    let rolled = logs
        .iter()
        .find(|l| l["fields"]["message"] == "day rolled up")
        .unwrap_or_else(|| panic!("no roll-up log line in:\n{}", run.stderr));
    assert!(
        rolled["fields"]["correlation_ids"]
            .as_str()
            .unwrap()
            .contains("batch-c0ffee"),
        "{rolled}"
    );
    let spans = rolled["spans"].as_array().unwrap();
    assert!(
        spans.iter().any(|s| s["requestId"] == "req-daily-1"),
        "{rolled}"
    );
    assert!(
        spans.iter().any(|s| s["correlation_id"] == "sched-daily-1"),
        "{rolled}"
    );

    // and the EMF document counts the ROI periods computed and the cold start
    let docs = BinaryRun::json_lines(&run.stdout);
    let emf = docs
        .iter()
        .find(|d| d.get("roi_computed").is_some())
        .unwrap_or_else(|| panic!("no EMF document with roi_computed in:\n{}", run.stdout));
    assert!(emf["roi_computed"].as_f64().unwrap() >= 1.0, "{emf}");
    assert_eq!(emf["function"], "compute-roi");
    assert!(
        docs.iter().any(|d| d["cold_start"] == 1.0),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains('@') && !run.stderr.contains("@acme"),
        "an address was printed"
    );
}
