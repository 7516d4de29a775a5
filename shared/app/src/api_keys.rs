//! Per-client API keys for `POST /v1/events` (ARCHITECTURE.md, Security: "API keys per
//! client, hashed at rest").
//!
//! A key reads `roi_{key_id}_{secret}`: `key_id` is 8 hex digits, public, for listing and
//! revoking; `secret` is 32 random bytes in unpadded base64url. Only the SHA-256 of the
//! whole key is stored, so the key is shown once, when created. A request is authenticated
//! by looking the hash up: the secret is never compared byte by byte, so there is no timing
//! to leak. The client comes from the key, never from a request's payload.

use base64::Engine;
use roi_domain::ClientId;
use sha2::{Digest, Sha256};

pub use crate::store::ApiKeyRecord;
use crate::store::{AuditEntry, Store, StoreError};

/// The prefix every key starts with (secret scanners can match it).
pub const KEY_PREFIX: &str = "roi_";

/// A key just created: the record, and the key itself, which is not stored anywhere.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// What was stored.
    pub record: ApiKeyRecord,
    /// The key, `roi_{key_id}_{secret}`; show it once.
    pub key: String,
}

/// Why an API key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    /// The client is not registered.
    #[error("client '{0}' does not exist; add it with `roi client add` first")]
    UnknownClient(String),
    /// The client has no key with this id.
    #[error(
        "client '{client}' has no API key '{key_id}'; `roi apikey list --client {client}` shows its keys"
    )]
    UnknownKey {
        /// The client.
        client: String,
        /// The key id asked for.
        key_id: String,
    },
    /// The key is not of the form `roi_{8 hex}_{secret}`.
    #[error(
        "an API key reads roi_, 8 lowercase hex digits, _, and at least 32 base64url characters"
    )]
    Malformed,
    /// The name is empty or too long.
    #[error("the key name must be 1 to 64 printable characters")]
    BadName,
    /// The system's random source failed.
    #[error("no randomness available: {0}")]
    Random(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a request is not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer …` header (→ 401).
    #[error("an API key is required: send `Authorization: Bearer <key>`")]
    Missing,
    /// The header is not a key of ours, or no such key exists (→ 401).
    #[error("the API key is not valid")]
    Invalid,
    /// The key was revoked (→ 403).
    #[error("the API key was revoked")]
    Revoked,
    /// Storage failed (→ 503).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who a valid key speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The client; every event of the request is written under it.
    pub client_id: ClientId,
    /// The key used (for logs).
    pub key_id: String,
}

fn hash_of(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Creates a key for `client`, stores its hash, and returns the key once.
///
/// # Errors
/// [`ApiKeyError::UnknownClient`], [`ApiKeyError::BadName`], [`ApiKeyError::Random`],
/// [`ApiKeyError::Store`]. A random key that should collide with a stored one is reported
/// as [`ApiKeyError::Store`] with a conflict.
pub async fn create(
    store: &Store,
    client: &ClientId,
    name: &str,
    actor: &str,
) -> Result<NewApiKey, ApiKeyError> {
    let mut id = [0u8; 4];
    let mut secret = [0u8; 32];
    getrandom::fill(&mut id).map_err(|e| ApiKeyError::Random(e.to_string()))?;
    getrandom::fill(&mut secret).map_err(|e| ApiKeyError::Random(e.to_string()))?;
    let key = format!(
        "{KEY_PREFIX}{}_{}",
        hex::encode(id),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    register(store, client, name, &key, actor).await
}

/// The key id of a well-formed key: `roi_` + 8 hex digits + `_` + a secret of at least 32
/// base64url characters.
fn key_id_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let well_formed = id.len() == 8
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && secret.len() >= 32
        && key.len() <= 128
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then_some(id)
}

/// Stores a key made elsewhere (a secret manager, or the development key of `events/`),
/// as [`create`] stores a new one.
///
/// # Errors
/// [`ApiKeyError::Malformed`], [`ApiKeyError::UnknownClient`], [`ApiKeyError::BadName`],
/// [`ApiKeyError::Store`].
pub async fn register(
    store: &Store,
    client: &ClientId,
    name: &str,
    key: &str,
    actor: &str,
) -> Result<NewApiKey, ApiKeyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ApiKeyError::BadName);
    }
    let key_id = key_id_of(key).ok_or(ApiKeyError::Malformed)?.to_owned();
    if store.client(client).await?.is_none() {
        return Err(ApiKeyError::UnknownClient(client.to_string()));
    }
    let key = key.to_owned();
    let now = store.clock().now();
    let record = ApiKeyRecord {
        key_id: key_id.clone(),
        client_id: client.clone(),
        name: name.to_owned(),
        hash: hash_of(&key),
        created_at: now,
        revoked_at: None,
    };
    store.add_api_key(&record).await?;
    let entry = AuditEntry {
        at: now,
        action: "api_key_created".into(),
        actor: actor.into(),
        project_id: None,
        detail: format!("key {key_id} ({name})"),
    };
    store.audit(client, &entry).await?;
    Ok(NewApiKey { record, key })
}

/// Revokes a key of `client` by its id; revoking it again changes nothing.
///
/// # Errors
/// [`ApiKeyError::UnknownKey`], [`ApiKeyError::Store`].
pub async fn revoke(
    store: &Store,
    client: &ClientId,
    key_id: &str,
    actor: &str,
) -> Result<ApiKeyRecord, ApiKeyError> {
    let Some(mut record) = store
        .api_keys_of(client)
        .await?
        .into_iter()
        .find(|k| k.key_id == key_id)
    else {
        return Err(ApiKeyError::UnknownKey {
            client: client.to_string(),
            key_id: key_id.to_owned(),
        });
    };
    if record.revoked_at.is_some() {
        return Ok(record);
    }
    let now = store.clock().now();
    record.revoked_at = Some(now);
    store.update_api_key(&record).await?;
    let entry = AuditEntry {
        at: now,
        action: "api_key_revoked".into(),
        actor: actor.into(),
        project_id: None,
        detail: format!("key {key_id}"),
    };
    store.audit(client, &entry).await?;
    Ok(record)
}

/// Authenticates an `Authorization` header value.
///
/// # Errors
/// [`AuthError`].
pub async fn authenticate(
    store: &Store,
    authorization: Option<&str>,
) -> Result<Authenticated, AuthError> {
    let header = authorization.ok_or(AuthError::Missing)?.trim();
    let (scheme, key) = header.split_once(' ').ok_or(AuthError::Invalid)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Missing);
    }
    let key = key.trim();
    if key_id_of(key).is_none() {
        return Err(AuthError::Invalid);
    }
    let record = store
        .api_key_by_hash(&hash_of(key))
        .await?
        .ok_or(AuthError::Invalid)?;
    if record.revoked_at.is_some() {
        return Err(AuthError::Revoked);
    }
    Ok(Authenticated {
        client_id: record.client_id,
        key_id: record.key_id,
    })
}
