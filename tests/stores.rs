//! Fresh stores for tests, and [`on_both_stores!`](crate::on_both_stores), which runs one
//! scenario on both: the embedded store (redb in a temporary directory) and DynamoDB in
//! moto.

use std::sync::Arc;

use roi_adapters::redb_table::RedbTable;
use roi_app::Store;
use roi_domain::ports::Clock;
use tempfile::TempDir;

/// A store on a fresh embedded table, in a temporary directory that lives as long as the
/// returned [`TempDir`] (a scenario may keep other files there, e.g. an outbox).
pub fn embedded(clock: Arc<dyn Clock>) -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let table = RedbTable::open(&dir.path().join("roi.redb"), Arc::clone(&clock))
        .expect("a fresh redb file opens");
    (dir, Store::new(Arc::new(table), clock))
}

/// A store on a fresh DynamoDB table in moto named after `prefix`, and an empty temporary
/// directory.
pub async fn dynamodb(prefix: &str, clock: Arc<dyn Clock>) -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let table = crate::moto::table(crate::moto::unique(prefix), Arc::clone(&clock)).await;
    (dir, Store::new(Arc::new(table), clock))
}

/// Two tests of one scenario, `async fn scenario(store: roi_app::Store, scratch: &Path)`:
/// `on_the_embedded_store` and `on_dynamodb`. `scratch` is an empty directory for the
/// scenario's files; `$clock` is evaluated once per test.
#[macro_export]
macro_rules! on_both_stores {
    ($scenario:ident, $clock:expr) => {
        #[tokio::test]
        async fn on_the_embedded_store() {
            let (dir, store) = $crate::stores::embedded($clock);
            $scenario(store, dir.path()).await;
        }

        #[tokio::test]
        async fn on_dynamodb() {
            let (dir, store) = $crate::stores::dynamodb(stringify!($scenario), $clock).await;
            $scenario(store, dir.path()).await;
        }
    };
}
