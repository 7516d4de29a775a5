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

/// Adds Acme Logistics and its Support Assistant project (go-live 2025-02-03, $45,000
/// invested, 40 % gross margin), imports and approves the baseline, imports the tracking
/// file, and returns the project id (`acme-logistics-support-assistant`).
///
/// # Panics
/// When any step fails: this is test set-up.
pub async fn sample_project(store: &Store) -> ProjectId {
    let client = ClientDraft {
        company_name: "Acme Logistics".into(),
        time_zone: Some("America/Chicago".into()),
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
