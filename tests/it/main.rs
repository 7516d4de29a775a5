//! End to end: the same use cases on the embedded store and on DynamoDB (moto) give the
//! same records and the same ROI.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;

use roi_adapters::dynamodb::DynamoTable;
use roi_adapters::redb_table::RedbTable;
use roi_app::Store;
use roi_app::compute::{ComputeRequest, compute_roi};
use roi_app::measurements::{approve_baseline, import_baseline, import_tracking};
use roi_app::setup::{add_client, add_project};
use roi_domain::client::{ClientDraft, ProjectDraft};
use roi_domain::ports::{Clock, FixedClock, Table};
use roi_domain::{ProjectId, RoiCalculation};
use roi_e2e::moto;
use rust_decimal_macros::dec;

const BASELINE: &[u8] = include_bytes!("../../cli/samples/acme-logistics/baseline-snapshot.csv");
const TRACKING: &[u8] = include_bytes!("../../cli/samples/acme-logistics/monthly-tracking.csv");

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::new("2025-05-02T12:00:00Z".parse().unwrap()))
}

/// Runs the whole flow on `table` and returns the 12-month ROI and the project id.
async fn pipeline(table: Arc<dyn Table>) -> (RoiCalculation, ProjectId, Store) {
    let store = Store::new(table, clock());
    let (client, _) = add_client(
        &store,
        ClientDraft {
            company_name: "Acme Logistics".into(),
            ..ClientDraft::default()
        },
        "e2e",
    )
    .await
    .unwrap();
    let draft = ProjectDraft {
        client_id: client.id,
        project_name: "Support Assistant".into(),
        id: None,
        solution_type: Some("chatbot".into()),
        status: Some("deployed".into()),
        go_live_date: "2025-02-03".into(),
        one_time_investment: dec!(45000),
        gross_margin: Some(dec!(40)),
    };
    let (project, _) = add_project(&store, draft, "e2e").await.unwrap();
    import_baseline(&store, &project.id, BASELINE, "e2e")
        .await
        .unwrap();
    approve_baseline(&store, &project.id, "e2e").await.unwrap();
    import_tracking(&store, &project.id, TRACKING, "e2e")
        .await
        .unwrap();
    // A second import of everything is a no-op on either engine.
    import_tracking(&store, &project.id, TRACKING, "e2e")
        .await
        .unwrap();
    let roi = compute_roi(
        &store,
        &project.id,
        ComputeRequest {
            as_of: Some("2025-04-30".parse().unwrap()),
            months: Some(12),
            ..ComputeRequest::default()
        },
    )
    .await
    .unwrap();
    (roi, project.id, store)
}

#[tokio::test]
async fn the_pipeline_gives_the_same_roi_on_redb_and_on_dynamodb() {
    // GIVEN an embedded store and a DynamoDB table in moto
    let dir = tempfile::tempdir().unwrap();
    let redb: Arc<dyn Table> =
        Arc::new(RedbTable::open(&dir.path().join("roi.redb"), clock()).unwrap());
    let config = moto::sdk_config().await;
    let dynamo = DynamoTable::new(
        aws_sdk_dynamodb::Client::new(&config),
        moto::unique("e2e"),
        clock(),
    );
    dynamo.create_if_missing().await.unwrap();
    let dynamo: Arc<dyn Table> = Arc::new(dynamo);

    // WHEN the whole flow runs on each
    let (on_redb, project, redb_store) = pipeline(redb).await;
    let (on_dynamo, _, dynamo_store) = pipeline(dynamo).await;

    // THEN the calculations are identical, figure for figure
    assert_eq!(on_redb, on_dynamo);
    assert_eq!(on_redb.roi_percentage, dec!(74.81));
    // AND both stores hold the same snapshots, once each
    let a = redb_store.snapshots(&project).await.unwrap();
    let b = dynamo_store.snapshots(&project).await.unwrap();
    assert_eq!(a.len(), 4);
    assert_eq!(a, b);
}
