//! The AWS [`BlobStore`]: one S3 bucket; links are S3 presigned GET URLs.
//!
//! A presigned URL made with a Lambda role's temporary credentials dies with those
//! credentials (hours), whatever expiry it asks for; links that must live for days are
//! our own signed endpoint, which presigns anew for minutes on each visit.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use roi_domain::ports::{Blob, BlobError, BlobStore, PresignedUrl, check_blob_key};

/// A [`BlobStore`] on S3.
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
}

fn unavailable<E, R>(e: SdkError<E, R>) -> BlobError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    tracing::warn!(error = %DisplayErrorContext(&e), "S3 call failed");
    BlobError::Unavailable("S3 call failed after retries".into())
}

impl S3BlobStore {
    /// The bucket `bucket` through `client`.
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// Creates the bucket if it does not exist (local emulators, first set-up).
    ///
    /// # Errors
    /// [`BlobError::Unavailable`] when it can be neither created nor found.
    pub async fn create_if_missing(&self) -> Result<(), BlobError> {
        self.create(false).await
    }

    /// Creates the bucket with Object Lock enabled (for retained blobs) when it does not
    /// exist (for local emulators and first set-up; the stack makes its own).
    ///
    /// # Errors
    /// [`BlobError::Unavailable`].
    pub async fn create_locked_if_missing(&self) -> Result<(), BlobError> {
        self.create(true).await
    }

    async fn create(&self, object_lock: bool) -> Result<(), BlobError> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        self.client
            .create_bucket()
            .bucket(&self.bucket)
            .object_lock_enabled_for_bucket(object_lock)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        check_blob_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn put_retained(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
        retain_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), BlobError> {
        check_blob_key(key)?;
        if let Some(stored) = self.get(key).await? {
            return if stored.bytes == bytes {
                Ok(())
            } else {
                Err(BlobError::Taken(key.to_owned()))
            };
        }
        // Object Lock needs a checksum of the body: the SDK sends its CRC32
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc32)
            .object_lock_mode(aws_sdk_s3::types::ObjectLockMode::Compliance)
            .object_lock_retain_until_date(aws_sdk_s3::primitives::DateTime::from_secs(
                retain_until.timestamp(),
            ))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        check_blob_key(key)?;
        // S3 answers a missing key with success too
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Blob>, BlobError> {
        check_blob_key(key)?;
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        let content_type = out
            .content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into());
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| BlobError::Unavailable(format!("S3 body: {e}")))?
            .into_bytes()
            .to_vec();
        Ok(Some(Blob {
            bytes,
            content_type,
        }))
    }

    async fn presigned_get(
        &self,
        key: &str,
        valid_for: Duration,
    ) -> Result<PresignedUrl, BlobError> {
        check_blob_key(key)?;
        let config = PresigningConfig::expires_in(valid_for)
            .map_err(|e| BlobError::InvalidKey(format!("{key}: {e}")))?;
        let presigned = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(unavailable)?;
        let ttl = chrono::Duration::from_std(valid_for).unwrap_or(chrono::Duration::MAX);
        Ok(PresignedUrl {
            url: presigned.uri().to_owned(),
            expires_at: chrono::Utc::now() + ttl,
        })
    }
}
