//! The `console` handler run on each file of `events/console/`, as API Gateway delivers
//! them, against the embedded store and against DynamoDB in moto.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;

use http_body_util::BodyExt;
use lambda_http::http::{HeaderMap, StatusCode, header};
use roi_adapters::dir_blobs::DirBlobStore;
use roi_adapters::outbox::OutboxMailer;
use roi_app::Store;
use roi_app::console::auth::{ConsoleAuth, Operators};
use roi_app::console::dashboard::DashboardLinks;
use roi_app::form_link::FormSigner;
use roi_app::http::Router;
use roi_app::http::console::{ConsoleState, router};
use roi_app::reports::{ReportLinks, ReportServices};
use roi_domain::ports::{Clock, FixedClock};
use roi_e2e::samples;
use tower::ServiceExt;

const EVENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/console");
const DEV_SECRET: &[u8] = b"local-development-secret-not-for-production";
const BASE: &str = "https://console.example.execute-api.us-east-1.amazonaws.com";

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::new("2026-11-21T10:00:00Z".parse().unwrap()))
}

async fn handle(app: &Router, file: &str) -> (StatusCode, HeaderMap, String) {
    let text = std::fs::read_to_string(format!("{EVENTS}/{file}")).unwrap();
    let request = lambda_http::request::from_str(&text)
        .unwrap_or_else(|e| panic!("{file} is not an API Gateway event: {e}"));
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

/// Every event file, in the order an operator would meet them.
async fn every_event_does_what_its_name_says(store: Store, scratch: &std::path::Path) {
    samples::sample_project(&store).await;
    let signer = FormSigner::new(DEV_SECRET).unwrap();
    let state = ConsoleState {
        store: store.clone(),
        auth: ConsoleAuth::new(
            &signer,
            Operators::parse("operator@consultancy.example").unwrap(),
            BASE,
        ),
        forms: signer.clone(),
        dashboards: DashboardLinks::new(&signer, BASE),
        reports: ReportServices {
            store: store.clone(),
            blobs: Arc::new(DirBlobStore::new(
                scratch.join("blobs"),
                BASE,
                DEV_SECRET,
                Arc::clone(store.clock()),
            )),
            mailer: Arc::new(OutboxMailer::new(
                scratch.join("outbox"),
                Arc::clone(store.clock()),
            )),
            mail_from: "roi@consultancy.example".into(),
            links: ReportLinks::new(&signer, BASE),
        },
    };
    let app = router(Arc::new(state));

    let (s, h, _) = handle(&app, "get-console-signed-out.json").await;
    assert_eq!(
        (s, &h[header::LOCATION]),
        (StatusCode::SEE_OTHER, &"/console/sign-in".parse().unwrap())
    );
    let (s, h, _) = handle(&app, "get-console-json-signed-out.json").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(h[header::CONTENT_TYPE], "application/problem+json");
    let (s, h, page) = handle(&app, "get-sign-in.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("E-mail me a sign-in link"));
    assert!(
        h[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );

    let (s, _, page) = handle(&app, "post-sign-in.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("on its way"));
    let mails: Vec<String> = std::fs::read_dir(scratch.join("outbox"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("To: operator@consultancy.example"));
    assert!(
        mails[0]
            .replace("=\r\n", "")
            .contains(&format!("{BASE}/console/sign-in/"))
    );

    let (s, _, page) = handle(&app, "get-sign-in-link.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Sign in as operator@consultancy.example"));
    let (s, h, _) = handle(&app, "post-sign-in-link.json").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(
        h[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("roi_session=")
    );
    let (s, _, _) = handle(&app, "post-sign-in-link.json").await;
    assert_eq!(s, StatusCode::GONE, "a sign-in link works once");
    let (s, _, _) = handle(&app, "post-sign-in-link-tampered.json").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (s, h, _) = handle(&app, "post-status-forged-session.json").await;
    assert_eq!(
        (s, &h[header::LOCATION]),
        (StatusCode::SEE_OTHER, &"/console/sign-in".parse().unwrap())
    );
    let (s, _, _) = handle(&app, "get-dashboard-tampered.json").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

roi_e2e::on_both_stores!(every_event_does_what_its_name_says, clock());
