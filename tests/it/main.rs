//! End to end: the same use cases on the embedded store and on DynamoDB (moto) give the
//! same records and the same ROI.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;

use roi_adapters::redb_table::RedbTable;
use roi_app::Store;
use roi_app::compute::{ComputeRequest, compute_roi};
use roi_app::measurements::{import_baseline, import_tracking};
use roi_domain::ports::{Clock, FixedClock, Table};
use roi_domain::{ProjectId, RoiCalculation};
use roi_e2e::{moto, samples};

mod archive;
mod finance;
mod ingest_faults;
mod integrity;
mod provider_pull;
mod reports;
mod template;
use rust_decimal_macros::dec;

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::new("2025-05-02T12:00:00Z".parse().unwrap()))
}

/// Runs the whole flow on `table` and returns the 12-month ROI and the project id.
async fn pipeline(table: Arc<dyn Table>) -> (RoiCalculation, ProjectId, Store) {
    let store = Store::new(table, clock());
    let project = samples::sample_project(&store).await;
    // A second import of everything is a no-op on either engine.
    import_baseline(&store, &project, samples::BASELINE, "e2e")
        .await
        .unwrap();
    import_tracking(&store, &project, samples::TRACKING, "e2e")
        .await
        .unwrap();
    let roi = compute_roi(
        &store,
        &project,
        ComputeRequest {
            as_of: Some("2025-04-30".parse().unwrap()),
            months: Some(12),
            ..ComputeRequest::default()
        },
    )
    .await
    .unwrap();
    (roi, project, store)
}

#[tokio::test]
async fn the_pipeline_gives_the_same_roi_on_redb_and_on_dynamodb() {
    // GIVEN an embedded store and a DynamoDB table in moto
    let dir = tempfile::tempdir().unwrap();
    let redb: Arc<dyn Table> =
        Arc::new(RedbTable::open(&dir.path().join("roi.redb"), clock()).unwrap());
    let dynamo = moto::table(moto::unique("e2e"), clock()).await;
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
