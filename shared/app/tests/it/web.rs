//! The form router, driven as the browser and the integrations drive it.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use roi_app::form_link::{FormClaims, FormSigner};
use roi_app::http::forms::{FormsState, router};
use roi_domain::{SnapshotKind, SnapshotStatus};
use tower::ServiceExt;

use crate::{World, world};

const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

struct Web {
    w: World,
    app: axum::Router,
    signer: FormSigner,
}

async fn web() -> Web {
    let w = world().await;
    w.measured().await;
    let signer = FormSigner::new(SECRET).unwrap();
    let state = Arc::new(FormsState {
        store: w.store.clone(),
        signer: signer.clone(),
    });
    Web {
        app: router(state),
        w,
        signer,
    }
}

impl Web {
    fn token(&self, kind: SnapshotKind, due: Option<&str>) -> String {
        let claims = FormSigner::claims(
            self.w.project.clone(),
            kind,
            due.map(|d| d.parse().unwrap()),
            self.w.store.clock().now() + chrono::Duration::days(14),
        )
        .unwrap();
        self.signer.sign(&claims)
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let (parts, body) = res.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    async fn get(&self, token: &str) -> (StatusCode, String) {
        let (s, _, b) = self
            .send(
                Request::get(format!("/forms/{token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        (s, b)
    }

    async fn post(
        &self,
        token: &str,
        content_type: &str,
        body: impl Into<Body>,
        key: Option<&str>,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let mut req = Request::post(format!("/forms/{token}"))
            .header(header::CONTENT_TYPE, content_type)
            .header(header::USER_AGENT, "test-agent");
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        self.send(req.body(body.into()).unwrap()).await
    }

    async fn ongoing_count(&self) -> usize {
        self.w
            .store
            .snapshots(&self.w.project)
            .await
            .unwrap()
            .iter()
            .filter(|s| s.kind() == SnapshotKind::Ongoing)
            .count()
    }
}

const GOOD_FORM: &str = "monthly_labor_cost=35000&monthly_software_cost=1800&monthly_overhead_cost=3300&monthly_error_cost=1400&avg_task_completion_time=10.5&error_rate_percentage=3.6&ai_solution_cost=3100&csat_score=82";
const GOOD_JSON: &str = r#"{"monthly_labor_cost": 35000, "monthly_software_cost": "1800", "monthly_overhead_cost": 3300, "monthly_error_cost": 1400, "avg_task_completion_time": 10.5, "error_rate_percentage": 3.6, "ai_solution_cost": 3100, "nps_score": null}"#;

#[tokio::test]
async fn the_ongoing_form_is_grouped_prefilled_and_shows_the_baseline() {
    let web = web().await;
    let (status, page) = web
        .get(&web.token(SnapshotKind::Ongoing, Some("2025-05-31")))
        .await;
    assert_eq!(status, StatusCode::OK);
    for heading in [
        "Cost",
        "Time",
        "Quality",
        "Customer satisfaction",
        "Sales and revenue",
        "AI solution operations",
    ] {
        assert!(
            page.contains(&format!("<legend>{heading}</legend>")),
            "{heading}"
        );
    }
    // labelled inputs with units and ranges
    assert!(
        page.contains(
            r#"<label for="error_rate_percentage">Error rate <span class="unit">(%)</span>"#
        ),
        "{page}"
    );
    assert!(
        page.contains(r#"name="error_rate_percentage" value="3.9""#),
        "pre-filled with the last value"
    );
    assert!(page.contains(r#"min="0" max="100""#));
    assert!(
        page.contains("Baseline: 6.5 %"),
        "baseline beside the field"
    );
    assert!(page.contains("Baseline: 42,000 USD"), "thousands grouped");
    assert!(page.contains("Baseline: 5,200<"), "counts without a unit");
    assert!(page.contains(r#"name="viewport""#));
    assert!(!page.contains("<script"), "works without JavaScript");
}

#[tokio::test]
async fn a_baseline_form_leaves_out_the_ongoing_only_fields() {
    let web = web().await;
    let token = web.token(SnapshotKind::Baseline, None);
    // every page forbids framing, sniffing and leaking its token in a Referer
    let (_, headers, _) = web
        .send(
            Request::get(format!("/forms/{token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        headers["content-security-policy"],
        roi_app::http::page::CONTENT_SECURITY_POLICY
    );
    assert!(roi_app::http::page::CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let (status, page) = web.get(&token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(r#"name="ai_solution_cost""#));
    assert!(
        page.contains(r#"type="date" id="measured_on""#),
        "a link without a due date asks for the date"
    );
}

#[tokio::test]
async fn a_browser_submission_is_stored_audited_and_recomputes_roi() {
    let web = web().await;
    let rois_before = web
        .w
        .store
        .roi_calculations(&web.w.project)
        .await
        .unwrap()
        .len();
    let (status, _, page) = web
        .post(
            &web.token(SnapshotKind::Ongoing, Some("2025-05-31")),
            "application/x-www-form-urlencoded",
            GOOD_FORM,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("has been recorded"), "{page}");
    let snaps = web.w.store.snapshots(&web.w.project).await.unwrap();
    let s = snaps
        .iter()
        .find(|s| s.measured_on().to_string() == "2025-05-31")
        .expect("stored");
    assert_eq!(s.status(), SnapshotStatus::Recorded);
    assert_eq!(s.value(roi_domain::Metric::CsatScore), Some(82.into()));
    let audit = web
        .w
        .store
        .audit_entries(&"acme-logistics".parse().unwrap(), "2025-05")
        .await
        .unwrap();
    let entry = audit.iter().find(|e| e.actor == "form").expect("audited");
    assert_eq!(entry.action, "ongoing_recorded");
    assert!(
        !entry.detail.contains("test-agent"),
        "only a hash of IP and user agent"
    );
    assert!(
        web.w
            .store
            .roi_calculations(&web.w.project)
            .await
            .unwrap()
            .len()
            > rois_before,
        "ROI recomputed"
    );
    // AND recomputed as the scheduled run does (issue 13): every period, each with its
    // label, not one calculation by a second formula
    let today = "2025-05-02".parse().unwrap();
    let labels: Vec<String> = web
        .w
        .store
        .roi_calculations(&web.w.project)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.calculation_date == today)
        .map(|c| c.period_analyzed)
        .collect();
    let expected: Vec<String> = roi_app::compute::periods("2025-02-03".parse().unwrap(), today)
        .into_iter()
        .map(|p| p.label)
        .collect();
    assert!(expected.len() > 1, "{expected:?}");
    assert_eq!(labels.len(), expected.len(), "{labels:?}");
    for label in expected {
        assert!(labels.contains(&label), "{label} in {labels:?}");
    }
}

#[tokio::test]
async fn invalid_values_come_back_beside_their_fields_with_the_values_kept() {
    let web = web().await;
    let token = web.token(SnapshotKind::Ongoing, Some("2025-05-31"));
    let body = "monthly_labor_cost=-5&avg_task_completion_time=ten&error_rate_percentage=120&nps_score=12.5&csat_score=";
    let (status, _, page) = web
        .post(&token, "application/x-www-form-urlencoded", body, None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains(r#"<span class="error" id="avg_task_completion_time-error">&#x27;ten&#x27; is not a number</span>"#), "{page}");
    assert!(
        page.contains(r#"name="avg_task_completion_time" value="ten""#),
        "the typed value is kept"
    );
    assert!(page.contains(r#"aria-invalid="true""#));
    assert_eq!(web.ongoing_count().await, 3, "nothing stored");
    // once the words are numbers, the range errors come next, all at once
    let body = "monthly_labor_cost=-5&avg_task_completion_time=10&error_rate_percentage=120&nps_score=12.5";
    let (status, _, page) = web
        .post(&token, "application/x-www-form-urlencoded", body, None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for id in [
        "monthly_labor_cost-error",
        "error_rate_percentage-error",
        "nps_score-error",
    ] {
        assert!(page.contains(id), "{id}");
    }
    assert!(page.contains("Please correct 3 fields"));
}

#[tokio::test]
async fn json_submissions_are_idempotent_and_a_reused_key_with_other_values_is_refused() {
    let web = web().await;
    let token = web.token(SnapshotKind::Ongoing, Some("2025-05-31"));
    let (s1, h1, b1) = web
        .post(&token, "application/json", GOOD_JSON, Some("sync-2025-05"))
        .await;
    assert_eq!(s1, StatusCode::CREATED, "{b1}");
    assert!(h1.get("idempotent-replayed").is_none());
    let (s2, h2, b2) = web
        .post(&token, "application/json", GOOD_JSON, Some("sync-2025-05"))
        .await;
    assert_eq!(
        (s2, b2.as_str()),
        (StatusCode::CREATED, b1.as_str()),
        "the same response"
    );
    assert_eq!(h2.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(web.ongoing_count().await, 4, "one record");

    // the same key with other values is refused (issue 13: it silently corrected before)
    let corrected = GOOD_JSON.replace("10.5", "10.8");
    let (s3, h3, b3) = web
        .post(
            &token,
            "application/json",
            corrected.clone(),
            Some("sync-2025-05"),
        )
        .await;
    assert_eq!(s3, StatusCode::UNPROCESSABLE_ENTITY, "{b3}");
    assert_eq!(h3["content-type"], "application/problem+json");
    assert!(b3.contains("Idempotency-Key"), "{b3}");
    // a correction comes with a new key
    let (s4, _, _) = web
        .post(
            &token,
            "application/json",
            corrected,
            Some("sync-2025-05-fix"),
        )
        .await;
    assert_eq!(s4, StatusCode::CREATED);
    assert_eq!(web.ongoing_count().await, 4, "still one record");
    let audit = web
        .w
        .store
        .audit_entries(&"acme-logistics".parse().unwrap(), "2025-05")
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "ongoing_corrected" && e.actor == "form")
    );
}

#[tokio::test]
async fn a_key_reused_for_another_date_is_a_conflict() {
    let web = web().await;
    let token = web.token(SnapshotKind::Ongoing, None);
    let with_date = |d: &str| GOOD_JSON.replacen('{', &format!(r#"{{"measured_on": "{d}", "#), 1);
    let (s1, _, _) = web
        .post(
            &token,
            "application/json",
            with_date("2025-05-20"),
            Some("k1"),
        )
        .await;
    assert_eq!(s1, StatusCode::CREATED);
    let (s2, _, body) = web
        .post(
            &token,
            "application/json",
            with_date("2025-05-21"),
            Some("k1"),
        )
        .await;
    assert_eq!(s2, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("application/problem+json") || body.contains("\"status\":409"));
    assert_eq!(web.ongoing_count().await, 4);
}

#[tokio::test]
async fn tampered_expired_and_cross_project_links_write_nothing() {
    let web = web().await;
    let token = web.token(SnapshotKind::Ongoing, Some("2025-05-31"));
    let mut tampered = token.clone().into_bytes();
    let i = tampered.len() - 3;
    tampered[i] = if tampered[i] == b'x' { b'y' } else { b'x' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_eq!(web.get(&tampered).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        web.post(&tampered, "application/json", GOOD_JSON, None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    let expired = web.signer.sign(&FormClaims {
        expires_at: web.w.store.clock().now().timestamp() - 1,
        ..web
            .signer
            .verify(&token, web.w.store.clock().now())
            .unwrap()
    });
    assert_eq!(web.get(&expired).await.0, StatusCode::GONE);
    assert_eq!(
        web.post(
            &expired,
            "application/x-www-form-urlencoded",
            GOOD_FORM,
            None
        )
        .await
        .0,
        StatusCode::GONE
    );

    // a link for another project names that project only; ours is untouched
    let other = web.signer.sign(
        &FormSigner::claims(
            "globex-other".parse().unwrap(),
            SnapshotKind::Ongoing,
            None,
            web.w.store.clock().now() + chrono::Duration::days(1),
        )
        .unwrap(),
    );
    assert_eq!(
        web.post(&other, "application/json", GOOD_JSON, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(web.ongoing_count().await, 3);
}

#[tokio::test]
async fn oversize_wrong_type_and_malformed_bodies_get_a_clear_4xx() {
    let web = web().await;
    let token = web.token(SnapshotKind::Ongoing, Some("2025-05-31"));
    let huge = format!("monthly_labor_cost=1&pad={}", "x".repeat(70 * 1024));
    assert_eq!(
        web.post(
            &token,
            "application/x-www-form-urlencoded",
            huge.clone(),
            None
        )
        .await
        .0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // without a Content-Length (a stream), the limit still holds
    let stream = Body::from_stream(futures_stream(huge));
    assert_eq!(
        web.post(&token, "application/x-www-form-urlencoded", stream, None)
            .await
            .0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let (s, _, b) = web
        .post(&token, "text/plain", "monthly_labor_cost=1", None)
        .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{b}");
    assert_eq!(
        web.post(&token, "application/x-www-form-urlencoded", "a=%zz", None)
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    let (s, h, b) = web
        .post(
            &token,
            "application/json",
            "{\"monthly_labor_cost\": ",
            None,
        )
        .await;
    assert_eq!(
        (s, h[header::CONTENT_TYPE].to_str().unwrap()),
        (StatusCode::BAD_REQUEST, "application/problem+json"),
        "{b}"
    );
    let (s, _, b) = web
        .post(
            &token,
            "application/json",
            r#"{"monthly_labor_cost": 1, "bonus_pool": 5}"#,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let problem: serde_json::Value = serde_json::from_str(&b).unwrap();
    assert_eq!(problem["errors"][0]["field"], "bonus_pool");
    assert_eq!(web.ongoing_count().await, 3);
}

fn futures_stream(
    text: String,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    struct Chunks(Vec<Vec<u8>>);
    impl futures_core::Stream for Chunks {
        type Item = Result<Vec<u8>, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.pop().map(Ok))
        }
    }
    Chunks(
        text.into_bytes()
            .chunks(8192)
            .rev()
            .map(<[u8]>::to_vec)
            .collect(),
    )
}

#[tokio::test]
async fn every_validation_rule_is_enforced_through_json() {
    let web = web().await;
    let token = web.token(SnapshotKind::Ongoing, Some("2025-05-31"));
    let cases: &[(&str, &str)] = &[
        (r#""monthly_labor_cost": -1"#, "monthly_labor_cost"),
        (r#""error_rate_percentage": 100.5"#, "error_rate_percentage"),
        (r#""churn_rate_percentage": -0.1"#, "churn_rate_percentage"),
        (r#""nps_score": 101"#, "nps_score"),
        (r#""nps_score": 5.5"#, "nps_score"),
        (r#""csat_score": 120"#, "csat_score"),
        (r#""complaints_per_month": 2.5"#, "complaints_per_month"),
        (r#""sales_cycle_days": 1.5"#, "sales_cycle_days"),
        (r#""volume_per_period": 10"#, "period_type"),
        (r#""total_monthly_cost": 1"#, "total_monthly_cost"),
    ];
    for (field, named) in cases {
        // appended, so it overrides the good value of the same name
        let body = format!("{}, {field}}}", GOOD_JSON.trim_end_matches('}'));
        let (s, _, b) = web.post(&token, "application/json", body, None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {b}");
        assert!(b.contains(&format!(r#""field":"{named}""#)), "{field}: {b}");
    }
    // required fields
    let (s, _, b) = web
        .post(&token, "application/json", r#"{"csat_score": 80}"#, None)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    for f in [
        "total_monthly_cost",
        "avg_task_completion_time",
        "error_rate_percentage",
    ] {
        assert!(b.contains(f), "{f} required: {b}");
    }
    // an ongoing measurement dated on or before the baseline
    let early = web.token(SnapshotKind::Ongoing, Some("2025-01-15"));
    let (s, _, b) = web.post(&early, "application/json", GOOD_JSON, None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(b.contains("measured_on"), "{b}");
    // a baseline form refuses ongoing-only metrics
    let base = web.token(SnapshotKind::Baseline, Some("2025-01-20"));
    let (s, _, b) = web.post(&base, "application/json", GOOD_JSON, None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(b.contains("ai_solution_cost"), "{b}");
    assert_eq!(
        web.ongoing_count().await,
        3,
        "nothing stored by any of them"
    );
}

#[tokio::test]
async fn an_approved_baseline_cannot_be_changed_through_a_form() {
    let web = web().await;
    let token = web.token(SnapshotKind::Baseline, Some("2025-01-15"));
    let body = "monthly_labor_cost=1000&avg_task_completion_time=10&error_rate_percentage=3";
    let (s, _, page) = web
        .post(&token, "application/x-www-form-urlencoded", body, None)
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("approved and locked"));
}
