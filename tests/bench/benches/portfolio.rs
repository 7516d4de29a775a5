//! The console's landing page: the portfolio of 200 clients × 2 projects on the embedded
//! store, served through the console's router with an operator's session (session check,
//! one query of the 400 summaries, 400 sparklines drawn, the page rendered), against the
//! time to read those 400 records alone. Aim (issue 15): median ≤ 50 ms.
//!
//! `cargo bench -p roi-bench --bench portfolio`

#![allow(clippy::unwrap_used, missing_docs)] // a measuring program, not library code

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::NaiveDate;
use http_body_util::BodyExt;
use roi_adapters::dir_blobs::DirBlobStore;
use roi_adapters::outbox::OutboxMailer;
use roi_adapters::redb_table::RedbTable;
use roi_app::Store;
use roi_app::console::auth::{ConsoleAuth, Operators};
use roi_app::console::dashboard::DashboardLinks;
use roi_app::form_link::FormSigner;
use roi_app::http::console::{ConsoleState, router};
use roi_app::reports::{ReportLinks, ReportServices};
use roi_app::store::{AlertCounts, LatestReport, ProjectSummary};
use roi_domain::ports::{Clock, SystemClock};
use roi_domain::report::Point;
use rust_decimal::Decimal;
use tower::ServiceExt;

const CLIENTS: usize = 200;
const RUNS: usize = 31;
const SECRET: &[u8] = b"portfolio-benchmark-secret-32-bytes!";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary(c: usize, p: usize, now: chrono::DateTime<chrono::Utc>) -> ProjectSummary {
    let start: NaiveDate = "2025-12-31".parse().unwrap();
    ProjectSummary {
        client_id: format!("client-{c:03}").parse().unwrap(),
        client_name: format!("Client {c:03} Holdings"),
        project_id: format!("client-{c:03}-project-{p}").parse().unwrap(),
        project_name: format!("Project {p}"),
        status: "deployed".into(),
        go_live: "2025-02-03".parse().unwrap(),
        account_manager: Some(format!("am-{}@consultancy.example", c % 7)),
        roi_percentage: Some(Decimal::new(1234 + (c * 17 + p) as i64, 1)),
        payback_period_months: Some(Decimal::new(57, 1)),
        as_of: Some("2026-11-29".parse().unwrap()),
        roi_history: (0..12)
            .map(|m| Point {
                day: start + chrono::Months::new(m),
                value: Decimal::new(-400 + (m as i64) * 130 + (c as i64 % 50), 1),
            })
            .collect(),
        ai_cost_mtd_usd: Decimal::new(123_456 + c as i64, 2),
        ai_budget_usd: Some(Decimal::from(5000)),
        alerts: AlertCounts {
            critical: u32::from(c.is_multiple_of(11)),
            warning: u32::from(c.is_multiple_of(5)),
        },
        completeness_percentage: Some(Decimal::new(875, 1)),
        next_due: Some("2026-12-03".parse().unwrap()),
        measurements_to_review: u32::from(c.is_multiple_of(13)),
        drafts: u32::from(p == 0 && c.is_multiple_of(3)),
        latest_report: Some(LatestReport {
            kind: "monthly".into(),
            period: "2026-10".into(),
            version: 1,
            review: "approved".into(),
            sent: true,
            opened_at: None,
        }),
        kpi_status: (p == 0).then(|| "1 of 3 targets met, 2 at risk".into()),
        updated_at: now,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let table = RedbTable::open(&dir.path().join("roi.redb"), Arc::clone(&clock)).unwrap();
    let store = Store::new(Arc::new(table), Arc::clone(&clock));
    let now = clock.now();
    for c in 0..CLIENTS {
        for p in 0..2 {
            store.put_summary(&summary(c, p, now)).await.unwrap();
        }
    }
    let signer = FormSigner::new(SECRET).unwrap();
    let auth = ConsoleAuth::new(
        &signer,
        Operators::parse("am@consultancy.example:admin").unwrap(),
        "http://127.0.0.1",
    );
    let link = auth
        .sign_in_link("am@consultancy.example", now)
        .unwrap()
        .unwrap();
    let token = link.rsplit('/').next().unwrap();
    let (_, cookie) = auth.redeem(&store, token).await.unwrap();
    let state = ConsoleState {
        store: store.clone(),
        auth,
        forms: signer.clone(),
        dashboards: DashboardLinks::new(&signer, "http://127.0.0.1"),
        reports: ReportServices {
            store: store.clone(),
            blobs: Arc::new(DirBlobStore::new(
                dir.path().join("blobs"),
                "http://127.0.0.1",
                SECRET,
                Arc::clone(&clock),
            )),
            mailer: Arc::new(OutboxMailer::new(dir.path().join("outbox"), clock)),
            mail_from: "roi@consultancy.example".into(),
            links: ReportLinks::new(&signer, "http://127.0.0.1"),
        },
    };
    let app = router(Arc::new(state));

    let mut read = Vec::new();
    let mut page = Vec::new();
    let mut bytes = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let n = store.summaries().await.unwrap().len();
        read.push(started.elapsed());
        assert_eq!(n, CLIENTS * 2);

        let started = Instant::now();
        let response = app
            .clone()
            .oneshot(
                Request::get("/console")
                    .header(header::COOKIE, format!("roi_session={cookie}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        page.push(started.elapsed());
        bytes = body.len();
    }
    let (read, page) = (median(read), median(page));
    println!(
        "portfolio of {CLIENTS} clients × 2 projects on the embedded store, median of {RUNS}:"
    );
    println!(
        "  page (session, query, {} sparklines, render)  {:>7.2} ms   aim ≤ 50 ms   ({} KiB of HTML)",
        CLIENTS * 2,
        ms(page),
        bytes / 1024
    );
    println!(
        "  the {} summary records read alone             {:>7.2} ms   ratio {:.2}",
        CLIENTS * 2,
        ms(read),
        ms(page) / ms(read)
    );
}
