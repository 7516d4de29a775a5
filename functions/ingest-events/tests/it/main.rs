//! The `ingest-events` handler run on each file of `events/ingest-events/`, as API Gateway
//! delivers them, against the embedded store and against DynamoDB in moto.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod binary;

use std::sync::Arc;

use http_body_util::BodyExt;
use lambda_http::http::StatusCode;
use roi_app::Store;
use roi_app::http::Router;
use roi_app::http::events::{EventsState, router};
use roi_app::pricing::PriceTable;
use roi_domain::ports::{Clock, FixedClock};
use roi_e2e::samples;
use serde_json::Value;
use tower::ServiceExt;

const EVENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/ingest-events");

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::new("2026-11-21T12:00:00Z".parse().unwrap()))
}

struct Answer {
    status: StatusCode,
    content_type: String,
    www_authenticate: Option<String>,
    body: Value,
}

async fn handle(app: &Router, file: &str) -> Answer {
    let text = std::fs::read_to_string(format!("{EVENTS}/{file}")).unwrap();
    let request = lambda_http::request::from_str(&text)
        .unwrap_or_else(|e| panic!("{file} is not an API Gateway event: {e}"));
    let response = app.clone().oneshot(request).await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let content_type = header("content-type").unwrap_or_default();
    let www_authenticate = header("www-authenticate");
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{file}: not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    Answer {
        status,
        content_type,
        www_authenticate,
        body,
    }
}

fn statuses(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect()
}

/// Every event file, in the order a client's integration would meet them.
async fn every_event_does_what_its_name_says(store: Store, _scratch: &std::path::Path) {
    // GIVEN the sample client with the development API key
    samples::sample_project(&store).await;
    samples::register_dev_api_key(&store).await;
    let app = router(Arc::new(EventsState {
        store: store.clone(),
        prices: PriceTable::shipped().clone(),
    }));
    let client = "acme-logistics".parse().unwrap();
    let day = "2026-11-20".parse().unwrap();
    let stored = || async { store.events_of_day(&client, day).await.unwrap() };

    let a = handle(&app, "bad-key.json").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.content_type, "application/problem+json");
    assert!(a.www_authenticate.unwrap().starts_with("Bearer"));
    assert!(stored().await.is_empty(), "nothing written with a bad key");

    let a = handle(&app, "valid-batch.json").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["accepted"], 5);
    assert_eq!(statuses(&a.body), ["accepted"; 5]);
    let events = stored().await;
    assert_eq!(events.len(), 5);
    let usage = events.iter().find(|e| e.id == "evt-0001").unwrap();
    // 1,840 × $3 + 412 × $15 + 12,000 × $0.30, per million tokens
    assert_eq!(usage.cost_usd, Some("0.0153".parse().unwrap()));
    assert_eq!(usage.price_version.as_deref(), Some("2026-11-30"));
    let mini = events.iter().find(|e| e.id == "evt-0002").unwrap();
    assert!(
        mini.cost_mismatch,
        "0.0015 reported against 0.0015904 computed"
    );
    assert!(
        a.body["results"][1]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("differs"),
        "{}",
        a.body
    );
    let raw = serde_json::to_string(&events.iter().map(|e| &e.data).collect::<Vec<_>>()).unwrap();
    assert!(!raw.contains("agent-0042"), "user ids are stored hashed");

    for _ in 0..2 {
        let a = handle(&app, "duplicate-resend.json").await;
        assert_eq!(a.status, StatusCode::MULTI_STATUS);
        assert_eq!(statuses(&a.body), ["duplicate"; 5]);
        assert_eq!(stored().await.len(), 5, "a resend stores nothing new");
    }

    let a = handle(&app, "ndjson.json").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["accepted"], 3);

    let a = handle(&app, "single-event.json").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["accepted"], 1);

    let a = handle(&app, "partly-invalid-batch.json").await;
    assert_eq!(a.status, StatusCode::MULTI_STATUS, "{}", a.body);
    assert_eq!(
        statuses(&a.body),
        ["accepted", "rejected", "rejected", "accepted"]
    );
    assert_eq!(a.body["results"][1]["field"], "type");
    assert_eq!(a.body["results"][2]["field"], "data.input_tokens");
    assert_eq!(a.body["results"][2]["id"], "evt-0023");

    let a = handle(&app, "oversize.json").await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(a.content_type, "application/problem+json");
    assert!(
        a.body["detail"].as_str().unwrap().contains("1000"),
        "{}",
        a.body
    );

    assert_eq!(stored().await.len(), 5 + 3 + 1 + 2);
}

roi_e2e::on_both_stores!(every_event_does_what_its_name_says, clock());
