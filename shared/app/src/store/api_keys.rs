//! API keys and their rate counters.

use chrono::{DateTime, Utc};
use roi_domain::ClientId;
use roi_domain::ports::{Condition, Item, Query, TableError};
use serde::{Deserialize, Serialize};

use super::keys;
use super::{Store, StoreError};

/// An API key's two records: its listing under the client, and the hash record requests
/// are authenticated by.
fn api_key_items(key: &ApiKeyRecord) -> Result<[Item; 2], TableError> {
    Ok([
        Item::from_record(
            keys::client(&key.client_id),
            keys::api_key_listing(&key.key_id),
            key,
        )?,
        Item::from_record(keys::api_key(&key.hash), keys::API_KEY, key)?,
    ])
}

/// An API key as stored: no secret, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// Public id, 8 hex digits (part of the key).
    pub key_id: String,
    /// The client the key writes for.
    pub client_id: ClientId,
    /// A label, e.g. `crm-integration`.
    pub name: String,
    /// SHA-256 of the whole key, hex.
    pub hash: String,
    /// When it was created, UTC.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Stores a new API key: its hash record (the only way in) and its listing under the
    /// client, each written only if absent.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the hash or the key id is taken (never, for random keys);
    /// [`StoreError::Table`].
    pub async fn add_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        for item in api_key_items(key)? {
            match self.table.put(item, Condition::NotExists).await {
                Ok(()) => {}
                Err(TableError::ConditionFailed) => {
                    return Err(StoreError::Conflict("the API key exists already".into()));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Replaces both records of an API key (after a revocation).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn update_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        for item in api_key_items(key)? {
            self.table.put(item, Condition::Always).await?;
        }
        Ok(())
    }

    /// The API key whose SHA-256 (hex) is `hash`.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        self.get_record(&keys::api_key(hash), keys::API_KEY).await
    }

    /// A client's API keys, by key id.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn api_keys_of(&self, client: &ClientId) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.records(Query::prefix(keys::client(client), keys::prefix::API_KEY))
            .await
    }

    /// Takes `requests` and `events` from an API key's budget of the minute starting at
    /// `window` (a counter item per key and minute, pk `RATE#{key id}`, sk the minute,
    /// expiring two minutes after it), unless that would exceed `limits` (requests, events).
    /// One atomic conditional addition ([`Table::add_within`](roi_domain::ports::Table::add_within)),
    /// so concurrent requests never both take the last of a budget and none fails for
    /// another having got in between. Returns whether the budget allowed it.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn take_rate(
        &self,
        key_id: &str,
        window: DateTime<Utc>,
        (requests, events): (u64, u64),
        (max_requests, max_events): (u64, u64),
    ) -> Result<bool, StoreError> {
        let (pk, sk) = keys::rate(key_id, window);
        let adds = [
            ("requests", requests, max_requests),
            ("events", events, max_events),
        ];
        Ok(self
            .table
            .add_within(&pk, &sk, &adds, Some(window.timestamp() + 180))
            .await?)
    }
}
