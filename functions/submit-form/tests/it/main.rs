//! The `submit-form` handler run on each file of `events/submit-form/`, as API Gateway
//! delivers them, against the embedded store and against DynamoDB in moto.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;

use http_body_util::BodyExt;
use lambda_http::http::StatusCode;
use roi_app::Store;
use roi_app::form_link::FormSigner;
use roi_app::http::Router;
use roi_app::http::forms::{FormsState, router};
use roi_domain::ports::{Clock, FixedClock};
use roi_domain::{Metric, SnapshotKind};
use roi_e2e::samples;
use tower::ServiceExt;

const EVENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/submit-form");
const DEV_SECRET: &[u8] = b"local-development-secret-not-for-production";

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::new("2025-06-01T12:00:00Z".parse().unwrap()))
}

async fn handle(app: &Router, file: &str) -> (StatusCode, String, Option<String>) {
    let text = std::fs::read_to_string(format!("{EVENTS}/{file}")).unwrap();
    let request = lambda_http::request::from_str(&text)
        .unwrap_or_else(|e| panic!("{file} is not an API Gateway event: {e}"));
    let response = app.clone().oneshot(request).await.unwrap();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap().to_owned());
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        String::from_utf8_lossy(&body).into_owned(),
        replayed,
    )
}

/// Every event file, in the order a person would meet them.
async fn every_event_does_what_its_name_says(store: Store, _scratch: &std::path::Path) {
    // GIVEN the sample project with its baseline and three measurements
    let project = samples::sample_project(&store).await;
    let state = FormsState {
        store: store.clone(),
        signer: FormSigner::new(DEV_SECRET).unwrap(),
    };
    let app = router(Arc::new(state));
    let ongoing = || async {
        store
            .snapshots(&project)
            .await
            .unwrap()
            .into_iter()
            .filter(|s| s.kind() == SnapshotKind::Ongoing)
            .collect::<Vec<_>>()
    };

    let (s, page, _) = handle(&app, "get-form.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("Progress measurement") && page.contains("Acme Logistics"),
        "{page}"
    );

    assert_eq!(
        handle(&app, "tampered-token.json").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(handle(&app, "expired-token.json").await.0, StatusCode::GONE);

    let (s, page, _) = handle(&app, "post-invalid.json").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("error_rate_percentage-error") && page.contains("nps_score-error"),
        "{page}"
    );
    assert_eq!(ongoing().await.len(), 3, "an invalid post stores nothing");

    let (s, body, replayed) = handle(&app, "post-json-valid.json").await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(replayed, None);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["measured_on"], "2025-05-31");
    assert_eq!(json["status"], "recorded");
    let stored = ongoing().await;
    assert_eq!(stored.len(), 4);
    let may = stored
        .iter()
        .find(|s| s.measured_on().to_string() == "2025-05-31")
        .unwrap();
    assert_eq!(
        may.value(Metric::AvgTaskCompletionTime),
        Some(rust_decimal::Decimal::new(105, 1))
    );

    let (s, again, replayed) = handle(&app, "post-json-valid.json").await;
    assert_eq!(
        (s, again.as_str(), replayed.as_deref()),
        (StatusCode::CREATED, body.as_str(), Some("true")),
        "a resend is answered the same"
    );

    let (s, page, _) = handle(&app, "post-urlencoded-valid.json").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("has been recorded"), "{page}");
    assert_eq!(
        ongoing().await.len(),
        4,
        "the same measurement through the browser is still one record"
    );

    let audit = store
        .audit_entries(&"acme-logistics".parse().unwrap(), "2025-06")
        .await
        .unwrap();
    let from_forms: Vec<&str> = audit
        .iter()
        .filter(|e| e.actor == "form")
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        from_forms,
        ["ongoing_recorded"],
        "one submission audited; resends change nothing"
    );
    assert!(
        !store.roi_calculations(&project).await.unwrap().is_empty(),
        "ROI recomputed"
    );
}

roi_e2e::on_both_stores!(every_event_does_what_its_name_says, clock());
