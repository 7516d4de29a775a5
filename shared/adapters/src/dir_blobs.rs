//! The embedded [`BlobStore`]: files under a directory, with signed links that the local
//! server (`roi serve`) redeems, standing in for S3 presigned URLs.
//!
//! Layout: the blob `a/b.pdf` is `{root}/a/b.pdf`; its media type is in
//! `{root}/.meta/a/b.pdf.json`. Writes go to a temporary file first and are renamed into
//! place, so a reader never sees half a blob.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use roi_domain::ports::{Blob, BlobError, BlobStore, Clock, PresignedUrl, check_blob_key};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Blobs in a directory; links signed with HMAC-SHA256.
#[derive(Clone)]
pub struct DirBlobStore {
    root: PathBuf,
    base_url: String,
    signing_key: Arc<[u8]>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DirBlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirBlobStore")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct Meta {
    content_type: String,
}

/// Why a link was refused by [`DirBlobStore::verify_link`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The signature does not match the key and expiry.
    #[error("the link's signature is not valid")]
    BadSignature,
    /// The link's time is up.
    #[error("the link has expired")]
    Expired,
}

fn io(e: std::io::Error) -> BlobError {
    BlobError::Unavailable(format!("blob directory: {e}"))
}

impl DirBlobStore {
    /// A store under `root`, whose links start with `base_url` (e.g.
    /// `http://127.0.0.1:8080`) and are signed with `signing_key`.
    pub fn new(
        root: impl Into<PathBuf>,
        base_url: &str,
        signing_key: &[u8],
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            root: root.into(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            signing_key: Arc::from(signing_key),
            clock,
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn meta_path(&self, key: &str) -> PathBuf {
        self.root.join(".meta").join(format!("{key}.json"))
    }

    /// The MAC over a link's key and expiry.
    fn mac(&self, key: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.signing_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(format!("{key}\n{expires}").as_bytes());
        mac
    }

    /// Checks a link's `expires` (Unix seconds) and hex `signature` for `key`, in constant
    /// time.
    ///
    /// # Errors
    /// [`LinkError::BadSignature`] or [`LinkError::Expired`].
    pub fn verify_link(
        &self,
        key: &str,
        expires: i64,
        signature_hex: &str,
    ) -> Result<(), LinkError> {
        let given = hex::decode(signature_hex).map_err(|_| LinkError::BadSignature)?;
        self.mac(key, expires)
            .verify_slice(&given)
            .map_err(|_| LinkError::BadSignature)?;
        if self.clock.now().timestamp() >= expires {
            return Err(LinkError::Expired);
        }
        Ok(())
    }
}

async fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), BlobError> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await.map_err(io)?;
    }
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
    ));
    tokio::fs::write(&tmp, bytes).await.map_err(io)?;
    tokio::fs::rename(&tmp, path).await.map_err(io)
}

#[async_trait]
impl BlobStore for DirBlobStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), BlobError> {
        check_blob_key(key)?;
        if key.starts_with(".meta/") || key == ".meta" {
            return Err(BlobError::InvalidKey(key.to_owned()));
        }
        let meta = serde_json::to_vec(&Meta {
            content_type: content_type.to_owned(),
        })
        .map_err(|e| BlobError::Unavailable(e.to_string()))?;
        write_atomically(&self.meta_path(key), &meta).await?;
        write_atomically(&self.path(key), &bytes).await
    }

    async fn put_retained(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
        _retain_until: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), BlobError> {
        if let Some(stored) = self.get(key).await? {
            return if stored.bytes == bytes {
                Ok(())
            } else {
                Err(BlobError::Taken(key.to_owned()))
            };
        }
        self.put(key, bytes, content_type).await?;
        // read-only, against a slip; a local directory cannot lock anything
        let path = self.path(key);
        let mut permissions = tokio::fs::metadata(&path).await.map_err(io)?.permissions();
        permissions.set_readonly(true);
        tokio::fs::set_permissions(&path, permissions)
            .await
            .map_err(io)
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        check_blob_key(key)?;
        for path in [self.path(key), self.meta_path(key)] {
            match tokio::fs::remove_file(path).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(e)),
            }
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Blob>, BlobError> {
        check_blob_key(key)?;
        let bytes = match tokio::fs::read(self.path(key)).await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let content_type = match tokio::fs::read(self.meta_path(key)).await {
            Ok(m) => serde_json::from_slice::<Meta>(&m)
                .map(|m| m.content_type)
                .unwrap_or_else(|_| "application/octet-stream".to_owned()),
            Err(_) => "application/octet-stream".to_owned(),
        };
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
        if !tokio::fs::try_exists(self.path(key)).await.map_err(io)? {
            return Err(BlobError::NotFound(key.to_owned()));
        }
        let ttl = chrono::Duration::from_std(valid_for).unwrap_or(chrono::Duration::MAX);
        let expires_at = self.clock.now() + ttl;
        let expires = expires_at.timestamp();
        let sig = hex::encode(self.mac(key, expires).finalize().into_bytes());
        let path: String = key.split('/').map(urlencode).collect::<Vec<_>>().join("/");
        Ok(PresignedUrl {
            url: format!(
                "{}/blobs/{path}?expires={expires}&signature={sig}",
                self.base_url
            ),
            expires_at,
        })
    }
}

fn urlencode(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
