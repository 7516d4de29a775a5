//! The [`BlobStore`] port: reports and exports by key, read through presigned URLs.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A stored blob with its media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The media type, e.g. `application/pdf`.
    pub content_type: String,
}

/// A link that reads one blob without credentials until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedUrl {
    /// The URL.
    pub url: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// What went wrong in a [`BlobStore`] call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    /// The key is empty, absolute, or climbs out with `..`.
    #[error("invalid blob key '{0}'")]
    InvalidKey(String),
    /// No blob under the key.
    #[error("no blob under '{0}'")]
    NotFound(String),
    /// The store could not be reached after retries.
    #[error("blob store unavailable: {0}")]
    Unavailable(String),
    /// A retained blob is stored under the key with other bytes; it cannot be replaced.
    #[error("'{0}' holds a retained blob with other bytes")]
    Taken(String),
}

/// Checks a blob key: relative, `/`-separated, no empty, `.` or `..` segment.
///
/// # Errors
/// [`BlobError::InvalidKey`].
pub fn check_blob_key(key: &str) -> Result<(), BlobError> {
    let bad = key.is_empty()
        || key.len() > 1024
        || key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        || key.contains('\\');
    if bad {
        Err(BlobError::InvalidKey(key.to_owned()))
    } else {
        Ok(())
    }
}

/// Stores blobs (report PDFs, exports) under `/`-separated keys.
///
/// Every adapter must: `put` bytes with a media type, replacing any blob under the key;
/// `get` them back byte for byte with the same media type, or `None`; `delete` a key so
/// that `get` finds nothing (a missing key too); and make a
/// `presigned_get` link that downloads the same bytes without credentials and names its
/// expiry.
///
/// # Errors
/// [`BlobError::InvalidKey`] for a bad key ([`check_blob_key`]), [`BlobError::NotFound`]
/// from `presigned_get` of a missing key where the engine can tell,
/// [`BlobError::Unavailable`] when the store cannot be reached.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `bytes` under `key`.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError>;
    /// Reads the blob under `key`.
    async fn get(&self, key: &str) -> Result<Option<Blob>, BlobError>;
    /// Removes the blob under `key`; removing a missing one succeeds (a retry is safe).
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
    /// Stores `bytes` under `key` for good: locked against change and deletion until
    /// `retain_until` (S3 Object Lock in compliance mode; locally a read-only file, which
    /// is no lock). Storing the same bytes again succeeds (a retry is safe); other bytes
    /// under a key already taken are refused with [`BlobError::Taken`].
    async fn put_retained(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
        retain_until: DateTime<Utc>,
    ) -> Result<(), BlobError>;
    /// A link to download `key` for `valid_for`.
    async fn presigned_get(
        &self,
        key: &str,
        valid_for: Duration,
    ) -> Result<PresignedUrl, BlobError>;
}
