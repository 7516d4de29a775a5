//! The raw-event archive (issue 20): a day whose table events expired is rolled up again
//! from its archive, to the same roll-up, on the embedded store with a directory archive
//! and on DynamoDB with an S3 archive (moto).

use std::io::Read;
use std::sync::Arc;

use chrono::NaiveDate;
use roi_adapters::dir_blobs::DirBlobStore;
use roi_app::Store;
use roi_app::pricing::PriceTable;
use roi_app::rollup::rollup_days;
use roi_app::setup::add_client;
use roi_domain::client::ClientDraft;
use roi_domain::event;
use roi_domain::ports::{BlobStore, Clock, FixedClock, Table};
use roi_e2e::moto;

const DAY: &str = "2025-05-01";

/// Sessions of three users and AI usage of two, on [`DAY`].
fn events(now: chrono::DateTime<chrono::Utc>) -> Vec<Result<event::Event, event::Rejection>> {
    let mut out = Vec::new();
    for (n, user) in ["ana@acme.example", "ben@acme.example", "carla@acme.example"]
        .iter()
        .enumerate()
    {
        let session = serde_json::json!({"specversion": "1.0", "id": format!("s-{n}"), "source": "app",
            "type": "session", "time": format!("{DAY}T0{n}:00:00Z"),
            "data": {"session_id": format!("s{n}"), "phase": "start", "user": user}});
        out.push(event::validate(&session.to_string(), now));
        if n < 2 {
            let usage = serde_json::json!({"specversion": "1.0", "id": format!("u-{n}"), "source": "app",
                "type": "ai.usage", "time": format!("{DAY}T1{n}:00:00Z"),
                "data": {"model": "claude-haiku-4-5", "input_tokens": 1000 * (n + 1), "output_tokens": 50, "user": user}});
            out.push(event::validate(&usage.to_string(), now));
        }
    }
    out
}

/// Rolls up [`DAY`], lets its table events expire, and rolls it up again: the same
/// roll-up, from the archive. Returns the archived file's bytes.
async fn expire_and_recompute(
    table: Arc<dyn Table>,
    clock: Arc<FixedClock>,
    archive: Arc<dyn BlobStore>,
) -> Vec<u8> {
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let store =
        Store::new(Arc::clone(&table), Arc::clone(&dyn_clock)).with_archive(archive.clone());
    let draft = ClientDraft {
        company_name: "Acme Logistics".into(),
        time_zone: Some("UTC".into()),
        ..ClientDraft::default()
    };
    let (client, _) = add_client(&store, draft, "test").await.unwrap();
    let day: NaiveDate = DAY.parse().unwrap();
    let now = clock.now();
    let stored =
        roi_app::ingest::store_events(&store, PriceTable::shipped(), &client.id, events(now))
            .await
            .unwrap();
    assert_eq!(stored.accepted, 5);
    let first = rollup_days(&store, &client.id, day, day).await.unwrap();
    assert_eq!(first.len(), 1);
    let before = store.rollup(&client.id, day).await.unwrap().unwrap();
    assert_eq!((before.events, before.users.len()), (5, 3));

    // WHEN a hundred days pass: the table's raw events have expired
    clock.advance(chrono::Duration::days(100));
    assert!(
        store
            .events_of_day(&client.id, day)
            .await
            .unwrap()
            .is_empty()
    );
    // THEN a store without the archive keeps the final day as it is
    let plain = Store::new(Arc::clone(&table), Arc::clone(&dyn_clock));
    assert!(
        rollup_days(&plain, &client.id, day, day)
            .await
            .unwrap()
            .is_empty()
    );
    // AND with it, the day is rolled up again from the archive, to the same roll-up
    let again = rollup_days(&store, &client.id, day, day).await.unwrap();
    assert_eq!(again.len(), 1, "rolled up from the archive");
    let after = store.rollup(&client.id, day).await.unwrap().unwrap();
    assert_eq!(after, before);
    let key = roi_app::store::keys::archived_events(&client.id, day);
    archive.get(&key).await.unwrap().unwrap().bytes
}

/// The archived file read without the store: gzip, one event per line.
fn lines(gz: &[u8]) -> Vec<serde_json::Value> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new("2025-05-02T12:00:00Z".parse().unwrap()))
}

#[tokio::test]
async fn on_the_embedded_store_a_day_is_rolled_up_again_from_its_archive() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let table = roi_adapters::redb_table::RedbTable::open(
        &dir.path().join("roi.redb"),
        clock.clone() as Arc<dyn Clock>,
    )
    .unwrap();
    let archive = Arc::new(DirBlobStore::new(
        dir.path().join("archive"),
        "http://127.0.0.1",
        b"0123456789abcdef0123456789abcdef",
        clock.clone() as Arc<dyn Clock>,
    ));
    let gz = expire_and_recompute(Arc::new(table), clock, archive).await;
    let events = lines(&gz);
    assert_eq!(events.len(), 5);
    // users are stored as pseudonyms, in the archive too
    assert!(!String::from_utf8_lossy(&serde_json::to_vec(&events).unwrap()).contains("@acme"));
}

#[tokio::test]
async fn on_dynamodb_and_s3_a_day_is_rolled_up_again_from_its_archive() {
    let config = moto::sdk_config().await;
    let clock = clock();
    let table = moto::table(moto::unique("archive"), clock.clone() as Arc<dyn Clock>).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let archive = roi_adapters::s3::S3BlobStore::new(s3, moto::unique("archive"));
    archive.create_if_missing().await.unwrap();
    let gz = expire_and_recompute(Arc::new(table), clock, Arc::new(archive)).await;
    let events = lines(&gz);
    assert_eq!(events.len(), 5);
    // each event once (the order is the table's: shard by shard, each by time and id)
    let mut ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["s-0", "s-1", "s-2", "u-0", "u-1"]);
}

/// On S3 with Object Lock (moto): sealed batches are locked in compliance mode for the
/// configured years, a locked version cannot be deleted, and the chain checks out. moto
/// keeps the lock and refuses to delete a locked version, and reports the lock on
/// `HeadObject`; it answers `GetObjectRetention` (path-style) with the object itself, so
/// that call is not used here.
#[tokio::test]
async fn audit_batches_on_s3_are_locked_for_the_retention_and_chained() {
    let config = moto::sdk_config().await;
    let clock = clock();
    let table = moto::table(moto::unique("audit"), clock.clone() as Arc<dyn Clock>).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let bucket = moto::unique("audit");
    let blobs = roi_adapters::s3::S3BlobStore::new(s3.clone(), bucket.clone());
    blobs.create_locked_if_missing().await.unwrap();
    let archive = roi_app::store::AuditArchive::new(Arc::new(blobs), Some("7")).unwrap();
    let store =
        Store::new(Arc::new(table), clock.clone() as Arc<dyn Clock>).with_audit_archive(archive);
    let draft = ClientDraft {
        company_name: "Acme Logistics".into(),
        time_zone: Some("UTC".into()),
        ..ClientDraft::default()
    };
    let (client, _) = add_client(&store, draft, "test").await.unwrap();
    // the client was added on 2025-05-02; a day later, that day is sealed
    clock.advance(chrono::Duration::days(1));
    let sealed = store
        .seal_audit(&client.id, "2025-05-02".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(sealed, 1);
    let check = store.verify_audit(&client.id).await.unwrap();
    assert_eq!((check.batches, check.problems.len()), (1, 0), "{check:?}");

    let key = roi_app::store::keys::audit_batch(&client.id, "2025-05-02".parse().unwrap());
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.object_lock_mode,
        Some(aws_sdk_s3::types::ObjectLockMode::Compliance)
    );
    let until = head.object_lock_retain_until_date.unwrap().secs();
    let seven_years = "2032-05-03T12:00:00Z"
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap()
        .timestamp();
    assert!(
        (until - seven_years).abs() < 86_400 * 2,
        "{until} vs {seven_years}"
    );
    let version = head.version_id.unwrap();
    let deleted = s3
        .delete_object()
        .bucket(&bucket)
        .key(&key)
        .version_id(version)
        .send()
        .await;
    let refused = format!("{:?}", deleted.expect_err("a locked version was deleted"));
    assert!(refused.contains("AccessDenied"), "{refused}");
    assert!(
        store
            .verify_audit(&client.id)
            .await
            .unwrap()
            .problems
            .is_empty()
    );
}
