//! Pulling usage and cost reports from the providers' admin APIs (issue 17) over real
//! HTTP, against a loopback server that serves the documented shapes (the samples of
//! `events/usage-reports/`) one bucket per page, answers the first request of each report
//! with a 429 (Anthropic) or a 503 (OpenAI), and refuses a wrong key.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use roi_adapters::admin_api::HttpAdminApi;
use roi_adapters::redb_table::RedbTable;
use roi_app::Store;
use roi_app::pricing::PriceTable;
use roi_app::provider_api::{self, Pull, PullError, Pulled, ReportKind, Retry};
use roi_app::usage_import::ReportFormat;
use roi_domain::ports::{Clock, FixedClock};

const KEY: &str = "sk-ant-admin01-loopback-test-key";

fn sample(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events/usage-reports")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The sample's buckets, one per page, the pages chained by `next_page`.
fn pages(sample: &serde_json::Value) -> Vec<serde_json::Value> {
    let data = sample["data"].as_array().unwrap();
    data.iter()
        .enumerate()
        .map(|(i, bucket)| {
            let more = i + 1 < data.len();
            serde_json::json!({
                "data": [bucket],
                "has_more": more,
                "next_page": if more { serde_json::json!(format!("page_{}", i + 2)) } else { serde_json::Value::Null },
            })
        })
        .collect()
}

#[derive(Default)]
struct Served {
    /// Requests per path, with their `page`.
    seen: Vec<(String, Option<String>)>,
    /// Paths already refused once (the retried 429 / 503).
    busy_done: Vec<String>,
}

struct Api {
    pages: HashMap<&'static str, Vec<serde_json::Value>>,
    served: Mutex<Served>,
}

async fn serve(
    State(api): State<Arc<Api>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let path = uri.path().to_owned();
    let openai = path.starts_with("/v1/organization/");
    let authorised = if openai {
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {KEY}"))
    } else {
        headers.get("x-api-key").and_then(|v| v.to_str().ok()) == Some(KEY)
            && headers.get("anthropic-version").is_some()
    };
    if !authorised {
        return (
            StatusCode::UNAUTHORIZED,
            r#"{"error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
        )
            .into_response();
    }
    let page = q.get("page").cloned();
    let mut served = api.served.lock().unwrap();
    served.seen.push((path.clone(), page.clone()));
    if !served.busy_done.contains(&path) {
        served.busy_done.push(path.clone());
        return if openai {
            (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response()
        } else {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "0")],
                r#"{"error":{"message":"rate limited"}}"#,
            )
                .into_response()
        };
    }
    let Some(all) = api.pages.get(path.as_str()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let n = page
        .and_then(|p| {
            p.strip_prefix("page_")
                .and_then(|n| n.parse::<usize>().ok())
        })
        .unwrap_or(1);
    match all.get(n - 1) {
        Some(p) => axum::Json(p.clone()).into_response(),
        None => StatusCode::BAD_REQUEST.into_response(),
    }
}

async fn loopback() -> (String, Arc<Api>) {
    let api = Arc::new(Api {
        pages: HashMap::from([
            (
                "/v1/organizations/usage_report/messages",
                pages(&sample("anthropic-messages-usage-report.json")),
            ),
            (
                "/v1/organizations/cost_report",
                pages(&sample("anthropic-cost-report.json")),
            ),
            (
                "/v1/organization/usage/completions",
                pages(&sample("openai-usage-completions.json")),
            ),
            (
                "/v1/organization/costs",
                pages(&sample("openai-costs.json")),
            ),
        ]),
        served: Mutex::default(),
    });
    let app = axum::Router::new().fallback(serve).with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, api)
}

fn quick() -> Retry {
    Retry {
        attempts: 3,
        base: Duration::from_millis(5),
        cap: Duration::from_millis(20),
    }
}

#[tokio::test]
async fn reports_are_pulled_page_by_page_through_a_429_and_pulled_again_unchanged() {
    let (base, api) = loopback().await;
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::new("2026-11-25T12:00:00Z".parse().unwrap()));
    let store = Store::new(
        Arc::new(RedbTable::open(&dir.path().join("roi.redb"), clock.clone()).unwrap()),
        clock,
    );
    let project = roi_e2e::samples::sample_project(&store).await;
    let client: roi_domain::ClientId = "acme-logistics".parse().unwrap();
    let http = HttpAdminApi::default();
    let pull = |provider, report| Pull {
        provider,
        report,
        from: "2026-11-17".parse().unwrap(),
        to: "2026-11-21".parse().unwrap(),
        base_url: base.clone(),
        key: KEY.into(),
    };
    let run = |request: Pull| {
        let (store, http, client, project) =
            (store.clone(), http.clone(), client.clone(), project.clone());
        async move {
            provider_api::pull(
                &store,
                &http,
                PriceTable::shipped(),
                &client,
                Some(&project),
                &request,
                quick(),
                "test",
            )
            .await
        }
    };

    // usage: the file import of the same sample is the oracle
    let oracle_dir = tempfile::tempdir().unwrap();
    let oracle_clock: Arc<dyn Clock> =
        Arc::new(FixedClock::new("2026-11-25T12:00:00Z".parse().unwrap()));
    let oracle = Store::new(
        Arc::new(
            RedbTable::open(&oracle_dir.path().join("roi.redb"), oracle_clock.clone()).unwrap(),
        ),
        oracle_clock,
    );
    let oracle_project = roi_e2e::samples::sample_project(&oracle).await;
    for (provider, file) in [
        (
            ReportFormat::Anthropic,
            "anthropic-messages-usage-report.json",
        ),
        (ReportFormat::OpenAi, "openai-usage-completions.json"),
    ] {
        let expected = roi_app::usage_import::import_usage(
            &oracle,
            PriceTable::shipped(),
            &client,
            &sample(file).to_string(),
            provider,
            Some(&oracle_project),
            "test",
        )
        .await
        .unwrap();
        let (pulled, pages_read) = run(pull(provider, ReportKind::Usage)).await.unwrap();
        let Pulled::Usage(report) = pulled else {
            panic!("usage")
        };
        assert_eq!(
            pages_read as usize,
            sample(file)["data"].as_array().unwrap().len()
        );
        assert_eq!(report.accepted, expected.accepted, "{provider:?}");
        assert!(report.accepted > 0);
        // pulled again: nothing new
        let (again, _) = run(pull(provider, ReportKind::Usage)).await.unwrap();
        let Pulled::Usage(again) = again else {
            panic!("usage")
        };
        assert_eq!(
            (again.accepted, again.duplicate),
            (0, report.accepted),
            "{provider:?}"
        );
    }

    // cost lines: the same lines as the file import
    for (provider, file) in [
        (ReportFormat::Anthropic, "anthropic-cost-report.json"),
        (ReportFormat::OpenAi, "openai-costs.json"),
    ] {
        let expected =
            roi_app::cost_import::cost_lines(&sample(file).to_string(), provider).unwrap();
        let (pulled, _) = run(pull(provider, ReportKind::Cost)).await.unwrap();
        let Pulled::Cost(c) = pulled else {
            panic!("cost")
        };
        assert_eq!(c.lines, expected.len(), "{provider:?}");
    }

    // every report was asked once more after its 429 / 503, and pages were followed
    let usage: Vec<_> = api
        .served
        .lock()
        .unwrap()
        .seen
        .iter()
        .filter(|(p, _)| p == "/v1/organizations/usage_report/messages")
        .map(|(_, page)| page.clone())
        .collect();
    assert_eq!(
        usage,
        [
            None,
            None,
            Some("page_2".into()),
            None,
            Some("page_2".into())
        ],
        "refused once, then both pages; then both pages again"
    );

    // a wrong key is refused with the API's message, and no key is in the error
    let mut wrong = pull(ReportFormat::Anthropic, ReportKind::Usage);
    wrong.key = "sk-wrong".into();
    let e = provider_api::fetch(&http, &wrong, quick())
        .await
        .unwrap_err();
    assert!(matches!(e, PullError::Refused { status: 401, .. }), "{e}");
    assert!(
        e.to_string().contains("invalid x-api-key") && !e.to_string().contains("sk-"),
        "{e}"
    );
    // a range over 92 days is refused before any request
    let mut long = pull(ReportFormat::OpenAi, ReportKind::Cost);
    long.to = "2027-03-01".parse().unwrap();
    assert!(matches!(
        provider_api::fetch(&http, &long, quick()).await,
        Err(PullError::BadRange { .. })
    ));
}

/// The daily job pulls a client's reports with the admin key its settings name (the key in
/// the secret store), yesterday and the day before, and a second run stores nothing new.
#[tokio::test]
async fn the_daily_job_pulls_with_the_clients_admin_key() {
    use roi_domain::ports::SecretStore;
    let (base, api) = loopback().await;
    let dir = tempfile::tempdir().unwrap();
    // the client's yesterday is 2026-11-18 (the sample's first day)
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::new("2026-11-19T15:00:00Z".parse().unwrap()));
    let store = Store::new(
        Arc::new(RedbTable::open(&dir.path().join("roi.redb"), clock.clone()).unwrap()),
        clock,
    );
    roi_e2e::samples::sample_project(&store).await;
    let client: roi_domain::ClientId = "acme-logistics".parse().unwrap();
    let secrets = Arc::new(roi_adapters::dir_secrets::DirSecrets::new(
        dir.path().join("secrets"),
    ));
    let name = "roi-tracker/admin-keys/acme-logistics/anthropic";
    secrets.put(name, KEY).await.unwrap();
    let mut settings = store.settings(&client).await.unwrap();
    settings.admin_keys = vec![roi_app::store::AdminKey {
        provider: "anthropic".into(),
        secret_name: name.into(),
        base_url: Some(base.clone()),
    }];
    store.put_settings(&client, &settings).await.unwrap();
    let services = roi_app::jobs::Services {
        store: store.clone(),
        notifier: roi_app::alerts::Notifier {
            mailer: Arc::new(roi_adapters::outbox::OutboxMailer::new(
                dir.path().join("outbox"),
                Arc::clone(store.clock()),
            )),
            webhooks: Arc::new(roi_adapters::webhook::HttpWebhooks::default()),
            secrets,
            mail_from: "roi@consultancy.example".into(),
        },
        signer: roi_app::form_link::FormSigner::new(b"pull-test-secret-0123456789abcdef").unwrap(),
        base_url: "http://127.0.0.1".into(),
        queue: None,
        admin_api: Some(Arc::new(HttpAdminApi::default())),
        blobs: None,
    };
    let job = roi_app::jobs::Job::Daily {
        date: None,
        client: None,
    };
    let first = roi_app::jobs::run(&services, &job).await.unwrap();
    assert!(first.failures.is_empty(), "{:?}", first.failures);
    assert!(first.pages_pulled >= 2, "usage and cost pages: {first:?}");
    let day = |d: &str| d.parse::<chrono::NaiveDate>().unwrap();
    let events = store
        .events_of_day(&client, day("2026-11-18"))
        .await
        .unwrap()
        .len()
        + store
            .events_of_day(&client, day("2026-11-17"))
            .await
            .unwrap()
            .len();
    assert!(events > 0, "the pulled usage is stored as events");
    assert!(
        !store
            .invoiced(&client, day("2026-11-17"), day("2026-11-18"))
            .await
            .unwrap()
            .is_empty()
    );
    // the API saw the client's range: 2026-11-17 to the end of 2026-11-18
    assert!(
        api.served
            .lock()
            .unwrap()
            .seen
            .iter()
            .any(|(p, _)| p.ends_with("usage_report/messages"))
    );
    let second = roi_app::jobs::run(&services, &job).await.unwrap();
    assert!(second.failures.is_empty(), "{:?}", second.failures);
    let again = store
        .events_of_day(&client, day("2026-11-18"))
        .await
        .unwrap()
        .len()
        + store
            .events_of_day(&client, day("2026-11-17"))
            .await
            .unwrap()
            .len();
    assert_eq!(again, events, "the second pull stores nothing new");
}
