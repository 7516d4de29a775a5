//! The [`BlobStore`] contract.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use roi_domain::ports::{BlobError, BlobStore};

/// Follows a presigned link as an anonymous client would; returns the bytes.
pub type Fetch = Box<dyn Fn(String) -> Pin<Box<dyn Future<Output = Vec<u8>> + Send>> + Send + Sync>;

/// What a blob case needs.
pub struct Fixture {
    pub store: Arc<dyn BlobStore>,
    pub prefix: String,
    pub fetch: Fetch,
}

pub async fn blobs_round_trip_with_their_media_type(f: &Fixture) {
    let key = format!("{}/reports/acme/monthly/2025-04/v1.pdf", f.prefix);
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    f.store
        .put(&key, bytes.clone(), "application/pdf")
        .await
        .unwrap();
    let back = f.store.get(&key).await.unwrap().unwrap();
    assert_eq!(back.bytes, bytes);
    assert_eq!(back.content_type, "application/pdf");
    // Overwrite replaces.
    f.store
        .put(&key, b"v2".to_vec(), "text/plain")
        .await
        .unwrap();
    let back = f.store.get(&key).await.unwrap().unwrap();
    assert_eq!(
        (back.bytes.as_slice(), back.content_type.as_str()),
        (&b"v2"[..], "text/plain")
    );
}

pub async fn a_deleted_blob_is_gone_and_deleting_again_succeeds(f: &Fixture) {
    let key = format!("{}/reports/acme/monthly/2025-05/v1.csv", f.prefix);
    let other = format!("{}/reports/acme/monthly/2025-05/v2.csv", f.prefix);
    f.store.put(&key, b"a".to_vec(), "text/csv").await.unwrap();
    f.store
        .put(&other, b"b".to_vec(), "text/csv")
        .await
        .unwrap();
    f.store.delete(&key).await.unwrap();
    assert_eq!(f.store.get(&key).await.unwrap(), None);
    f.store.delete(&key).await.unwrap();
    assert_eq!(f.store.get(&other).await.unwrap().unwrap().bytes, b"b");
    assert!(matches!(
        f.store.delete("a/../b").await,
        Err(BlobError::InvalidKey(_))
    ));
}

pub async fn a_missing_blob_reads_as_none_and_bad_keys_are_refused(f: &Fixture) {
    assert_eq!(
        f.store
            .get(&format!("{}/nothing-here", f.prefix))
            .await
            .unwrap(),
        None
    );
    for bad in ["", "/abs", "a/../b", "a//b", "a/./b"] {
        assert!(
            matches!(
                f.store.put(bad, vec![], "x/y").await,
                Err(BlobError::InvalidKey(_))
            ),
            "{bad:?}"
        );
    }
}

pub async fn a_presigned_link_downloads_the_same_bytes_and_names_its_expiry(f: &Fixture) {
    let key = format!("{}/exports/figures.csv", f.prefix);
    let bytes = b"metric,value\nroi_percentage,74.81\n".to_vec();
    f.store.put(&key, bytes.clone(), "text/csv").await.unwrap();
    let before = chrono::Utc::now();
    let link = f
        .store
        .presigned_get(&key, Duration::from_secs(300))
        .await
        .unwrap();
    let ttl = (link.expires_at - before).num_seconds();
    assert!(
        (295..=305).contains(&ttl),
        "expires in {ttl} s, asked for 300"
    );
    assert_eq!((f.fetch)(link.url).await, bytes);
}
