//! The sample client of `roi demo` (cli/samples/acme-logistics), loaded through the use
//! cases into any store: baseline approved, three monthly measurements.

use roi_app::Store;
use roi_app::measurements::{approve_baseline, import_baseline, import_tracking};
use roi_app::setup::{add_client, add_project};
use roi_domain::ProjectId;
use roi_domain::client::{ClientDraft, ProjectDraft};

/// The sample baseline file.
pub const BASELINE: &[u8] = include_bytes!("../cli/samples/acme-logistics/baseline-snapshot.csv");
/// The sample tracking file.
pub const TRACKING: &[u8] = include_bytes!("../cli/samples/acme-logistics/monthly-tracking.csv");

/// Where the sample client's reports go.
pub const REPORT_RECIPIENT: &str = "coo@acme-logistics.example";

/// Adds Acme Logistics and its Support Assistant project (go-live 2025-02-03, $45,000
/// invested, 40 % gross margin), imports and approves the baseline, imports the tracking
/// file, and returns the project id (`acme-logistics-support-assistant`).
///
/// # Panics
/// When any step fails: this is test set-up.
pub async fn sample_project(store: &Store) -> ProjectId {
    client_like_the_sample(store, "Acme Logistics", REPORT_RECIPIENT).await
}

/// Adds a client named `company` (time zone America/Chicago, reports to `recipient`) with
/// the sample project and measurements of [`sample_project`], and returns the project id
/// (`{client id}-support-assistant`).
///
/// # Panics
/// When any step fails: this is test set-up.
pub async fn client_like_the_sample(store: &Store, company: &str, recipient: &str) -> ProjectId {
    let client = ClientDraft {
        company_name: company.into(),
        time_zone: Some("America/Chicago".into()),
        report_recipients: vec![recipient.into()],
        ..ClientDraft::default()
    };
    let (client, _) = add_client(store, client, "test")
        .await
        .expect("sample client");
    let draft = ProjectDraft {
        client_id: client.id,
        project_name: "Support Assistant".into(),
        id: None,
        solution_type: Some("chatbot".into()),
        status: Some("deployed".into()),
        go_live_date: "2025-02-03".into(),
        one_time_investment: 45_000.into(),
        gross_margin: Some(40.into()),
    };
    let (project, _) = add_project(store, draft, "test")
        .await
        .expect("sample project");
    import_baseline(store, &project.id, BASELINE, "test")
        .await
        .expect("sample baseline");
    approve_baseline(store, &project.id, "test")
        .await
        .expect("approval");
    import_tracking(store, &project.id, TRACKING, "test")
        .await
        .expect("sample tracking");
    project.id
}

/// Adds the sample client's second project, Invoice Reader (go-live 2025-03-01, $20,000
/// invested), after [`sample_project`], and returns its id.
///
/// # Panics
/// When it cannot be stored: this is test set-up.
pub async fn second_project(store: &Store) -> ProjectId {
    let draft = ProjectDraft {
        client_id: "acme-logistics".parse().expect("sample client id"),
        project_name: "Invoice Reader".into(),
        id: None,
        solution_type: None,
        status: None,
        go_live_date: "2025-03-01".into(),
        one_time_investment: 20_000.into(),
        gross_margin: None,
    };
    add_project(store, draft, "test")
        .await
        .expect("second sample project")
        .0
        .id
}

/// The development API key of `events/ingest-events/` (client `acme-logistics`). Never
/// registered outside tests and local runs.
pub const DEV_API_KEY: &str = "roi_0000de5e_local-development-key-not-for-production";

/// Registers [`DEV_API_KEY`] for the sample client (after [`sample_project`]).
///
/// # Panics
/// When the key cannot be stored: this is test set-up.
pub async fn register_dev_api_key(store: &Store) {
    let client = "acme-logistics".parse().expect("sample client id");
    roi_app::api_keys::register(store, &client, "development", DEV_API_KEY, "test")
        .await
        .expect("development API key");
}

/// Sends the sample client's AI usage for every day of `from..=to` through ingestion, and
/// rolls the days up, as they would have arrived: 30 days at a time, with `clock` (the
/// store's and its table's) set to noon UTC of the day after them, and back to where it was
/// at the end (raw events of days past [`roi_domain::event::RECOMPUTE_WINDOW_DAYS`] could
/// no longer be taken or rolled up later). Each day 12 to 20 `ai.usage` events (four departments, two models,
/// eight users; fewer at weekends and slowly growing), 8 agent runs (one in eight fails)
/// and 6 resolved tickets saving 6.5 minutes each. Deterministic: the same days give the
/// same events and ids, so a second call stores nothing new.
///
/// # Panics
/// When ingestion or the roll-up fails: this is test set-up.
pub async fn sample_usage(
    store: &Store,
    clock: &roi_domain::ports::FixedClock,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) {
    use chrono::Datelike;
    use roi_domain::ports::Clock;
    let was = clock.now();
    let client: roi_domain::ClientId = "acme-logistics".parse().expect("sample client id");
    let project = "acme-logistics-support-assistant";
    let departments = [
        "customer-service",
        "customer-service",
        "billing",
        "operations",
        "sales",
    ];
    let mut lines = Vec::new();
    let mut first_of_batch = from;
    for (n, day) in from.iter_days().take_while(|d| *d <= to).enumerate() {
        let weekend = day.weekday().num_days_from_monday() >= 5;
        let usage = if weekend { 6 } else { 12 + (n / 15).min(8) };
        for i in 0..usage {
            let (model, input, output) = if i % 3 == 0 {
                ("claude-sonnet-4-5-20250929", 9_000 + 300 * i, 1_400)
            } else {
                ("gpt-4.1-mini", 4_000 + 150 * i, 600)
            };
            lines.push(serde_json::json!({
                "specversion": "1.0",
                "id": format!("usage-{day}-{i}"),
                "source": "https://crm.acme-logistics.example/assistant",
                "type": "ai.usage",
                "time": format!("{day}T15:{:02}:00Z", i % 60),
                "data": {
                    "model": model,
                    "input_tokens": input,
                    "output_tokens": output,
                    "requests": 1,
                    "user": format!("agent-{:04}", i % 8),
                    "department": departments[i % departments.len()],
                    "agent": if i % 2 == 0 { "reply-drafter" } else { "ticket-triage" },
                    "project": project,
                }
            }));
        }
        for i in 0..8 {
            lines.push(serde_json::json!({
                "specversion": "1.0",
                "id": format!("run-{day}-{i}"),
                "source": "https://crm.acme-logistics.example/assistant",
                "type": "agent.execution",
                "time": format!("{day}T16:{:02}:00Z", i),
                "data": {
                    "agent": "ticket-triage",
                    "outcome": if i == 7 { "failure" } else { "success" },
                    "duration_ms": 1_800 + 120 * i,
                    "project": project,
                }
            }));
        }
        for i in 0..6 {
            lines.push(serde_json::json!({
                "specversion": "1.0",
                "id": format!("outcome-{day}-{i}"),
                "source": "https://crm.acme-logistics.example/assistant",
                "type": "business.outcome",
                "time": format!("{day}T17:{:02}:00Z", i),
                "data": {
                    "kind": "ticket_resolved",
                    "minutes_saved": "6.5",
                    "ai_assisted": true,
                    "project": project,
                }
            }));
        }
        if day < to && (n + 1) % 30 != 0 {
            continue;
        }
        let next_noon = (day + chrono::Days::new(1))
            .and_hms_opt(12, 0, 0)
            .expect("noon exists")
            .and_utc();
        clock.set(next_noon);
        for chunk in lines.chunks(1_000) {
            let body: Vec<u8> = chunk
                .iter()
                .flat_map(|e| {
                    let mut line = serde_json::to_vec(e).expect("event JSON");
                    line.push(b'\n');
                    line
                })
                .collect();
            let report = roi_app::ingest::ingest(
                store,
                roi_app::pricing::PriceTable::shipped(),
                &client,
                &body,
                roi_domain::event::BodyFormat::NdJson,
            )
            .await
            .expect("sample usage ingested");
            assert_eq!(
                (report.rejected, report.not_written),
                (0, 0),
                "sample events are valid: {report:?}"
            );
        }
        roi_app::rollup::rollup_days(store, &client, first_of_batch, day)
            .await
            .expect("sample days rolled up");
        lines.clear();
        first_of_batch = day + chrono::Days::new(1);
    }
    clock.set(was);
}
