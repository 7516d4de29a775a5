//! The ports: what the application needs from storage, blob storage, mail and time.
//! Each trait's rustdoc is the contract the conformance suite (crate `roi-adapters`,
//! `tests/it/conformance`) checks for every adapter.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Attribute names a [`Table`] keeps for itself; an item's attributes may not use them.
pub const RESERVED_ATTRIBUTES: [&str; 3] = ["pk", "sk", "expires_at"];

/// The most puts one [`Table::transact_put`] takes (DynamoDB's TransactWriteItems: 100).
pub const TRANSACT_MAX: usize = 100;

/// The most items DynamoDB's BatchWriteItem takes in one call; adapters chunk by it.
pub const BATCH_WRITE_MAX: usize = 25;

/// The most keys DynamoDB's BatchGetItem takes in one call; adapters chunk by it.
pub const BATCH_GET_MAX: usize = 100;

/// A record in the single table: a partition key, a sort key, an optional expiry and a
/// JSON object of attributes (strings, numbers, booleans, null, lists, maps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Partition key, e.g. `PROJECT#acme-bot`.
    pub pk: String,
    /// Sort key, e.g. `SNAPSHOT#2025-01-15#baseline#…`; items of a partition are ordered
    /// by it, byte-wise.
    pub sk: String,
    /// When the item expires, Unix seconds (DynamoDB's TTL attribute `expires_at`).
    /// An expired item is never returned by a read, even before the engine deletes it.
    pub expires_at: Option<i64>,
    /// The attributes, without the reserved names.
    pub attrs: Map<String, Value>,
}

impl Item {
    /// An item from a serializable record (must serialize to a JSON object).
    ///
    /// # Errors
    /// [`TableError::InvalidItem`] when the record is not an object or uses a reserved name.
    pub fn from_record<T: Serialize>(
        pk: impl Into<String>,
        sk: impl Into<String>,
        record: &T,
    ) -> Result<Self, TableError> {
        let attrs = match serde_json::to_value(record) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                return Err(TableError::InvalidItem(
                    "a record must be a JSON object".into(),
                ));
            }
            Err(e) => return Err(TableError::InvalidItem(e.to_string())),
        };
        let item = Self {
            pk: pk.into(),
            sk: sk.into(),
            expires_at: None,
            attrs,
        };
        item.check()?;
        Ok(item)
    }

    /// The attributes read back as a record.
    ///
    /// # Errors
    /// [`TableError::InvalidItem`] when they do not match `T`.
    pub fn to_record<T: for<'de> Deserialize<'de>>(&self) -> Result<T, TableError> {
        serde_json::from_value(Value::Object(self.attrs.clone()))
            .map_err(|e| TableError::InvalidItem(format!("{} / {}: {e}", self.pk, self.sk)))
    }

    /// Checks the keys are non-empty and no attribute uses a reserved name.
    ///
    /// # Errors
    /// [`TableError::InvalidItem`] naming the problem.
    pub fn check(&self) -> Result<(), TableError> {
        if self.pk.is_empty() || self.sk.is_empty() {
            return Err(TableError::InvalidItem(
                "pk and sk must not be empty".into(),
            ));
        }
        if let Some(name) = RESERVED_ATTRIBUTES
            .iter()
            .find(|n| self.attrs.contains_key(**n))
        {
            return Err(TableError::InvalidItem(format!(
                "attribute '{name}' is reserved"
            )));
        }
        Ok(())
    }

    /// Whether the item has expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|t| t <= now.timestamp())
    }

    /// Its key.
    pub fn key(&self) -> Key {
        Key {
            pk: self.pk.clone(),
            sk: self.sk.clone(),
        }
    }
}

/// An item's primary key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    /// Partition key.
    pub pk: String,
    /// Sort key.
    pub sk: String,
}

/// A write's precondition on the item already stored under the same key.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Write whatever is there.
    Always,
    /// Write only if no item has the key (an expired item still counts as present until
    /// the engine deletes it, as in DynamoDB).
    NotExists,
    /// Write only if the stored item has attribute `name` equal to `value`.
    AttributeEquals {
        /// Attribute name.
        name: String,
        /// The value it must hold.
        value: Value,
    },
}

/// Which sort keys of a partition a query returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    /// Every item of the partition.
    All,
    /// Sort keys starting with the prefix.
    Prefix(String),
    /// Sort keys from the first to the second, both inclusive.
    Between(String, String),
}

/// Where a page ends; pass it back to read the next one. Opaque to callers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor(pub String);

/// One query of a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The partition key.
    pub pk: String,
    /// Which sort keys.
    pub sort: SortKey,
    /// Newest (greatest sort key) first when true.
    pub descending: bool,
    /// At most this many items per page (before expired items are dropped).
    pub limit: Option<u32>,
    /// Continue after this cursor.
    pub cursor: Option<Cursor>,
}

impl Query {
    /// Every item of `pk`, in ascending order.
    pub fn partition(pk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sort: SortKey::All,
            descending: false,
            limit: None,
            cursor: None,
        }
    }

    /// Every item of `pk` whose sort key starts with `prefix` (not empty: DynamoDB refuses
    /// an empty key value; use [`Query::partition`]), in ascending order.
    pub fn prefix(pk: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sort: SortKey::Prefix(prefix.into()),
            descending: false,
            limit: None,
            cursor: None,
        }
    }
}

/// One page of a query. A page may hold fewer than `limit` items while more follow
/// (expired items are dropped after the limit applies, as DynamoDB filters do); read until
/// `next` is `None`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    /// The items, in sort-key order.
    pub items: Vec<Item>,
    /// Where to continue; `None` at the end.
    pub next: Option<Cursor>,
}

/// What went wrong in a [`Table`] call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TableError {
    /// A [`Condition`] did not hold; nothing was written.
    #[error("the condition on the stored item did not hold")]
    ConditionFailed,
    /// A batch was only partly written after retries; `unwritten` lists what was not.
    /// Everything else of the batch is durably written.
    #[error("{} item(s) of the batch were not written after retries", unwritten.len())]
    Incomplete {
        /// The keys not written.
        unwritten: Vec<Key>,
    },
    /// The item cannot be stored as given.
    #[error("invalid item: {0}")]
    InvalidItem(String),
    /// The engine could not be reached or refused after retries; nothing was written.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// Stores records under a partition key and an ordered sort key: the subset of DynamoDB
/// that the key design (ARCHITECTURE.md) needs.
///
/// Every adapter must:
/// - `put` an item under its key, replacing what is there, when the [`Condition`] holds;
/// - `get` the item under a key, or `None`; never an expired item;
/// - `query` a partition by [`SortKey`] in sort-key order (or reversed), in pages of at most
///   `limit` items, continuing from a [`Cursor`], never returning expired items;
/// - `batch_get` the items under any number of keys (chunks of [`BATCH_GET_MAX`]), retrying
///   the keys the engine leaves unprocessed, returning each item found once (never an
///   expired one), in no particular order;
/// - `batch_put` any number of items (chunks of [`BATCH_WRITE_MAX`]), retrying the items the
///   engine leaves unprocessed with backoff, so that on `Ok` every item is durably written;
/// - `delete` the item under a key (no error if absent);
/// - `transact_put` up to [`TRANSACT_MAX`] items of distinct keys, each only if its
///   [`Condition`] holds, all or none.
///
/// # Errors
/// - [`TableError::ConditionFailed`] when a `put`'s condition does not hold, or any of a
///   `transact_put`'s (then nothing of it is written).
/// - [`TableError::Incomplete`] when `batch_put` ran out of retries; the listed keys are not
///   written, the rest are.
/// - [`TableError::InvalidItem`] for empty keys or reserved attribute names, and for a
///   `transact_put` that is empty, over [`TRANSACT_MAX`], or names a key twice.
/// - [`TableError::Unavailable`] when the engine is unreachable after retries.
#[async_trait]
pub trait Table: Send + Sync {
    /// Writes `item` if `condition` holds on what is stored under its key.
    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError>;
    /// Reads the item under `(pk, sk)`.
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, TableError>;
    /// Reads one page of a query.
    async fn query(&self, query: Query) -> Result<Page, TableError>;
    /// Reads the items under many keys; absent keys are left out of the result.
    async fn batch_get(&self, keys: Vec<Key>) -> Result<Vec<Item>, TableError>;
    /// Writes many items, unconditionally, each a safe retry.
    async fn batch_put(&self, items: Vec<Item>) -> Result<(), TableError>;
    /// Deletes the item under `(pk, sk)`.
    async fn delete(&self, pk: &str, sk: &str) -> Result<(), TableError>;
    /// Writes every item, each only if its condition holds, all or none.
    async fn transact_put(&self, puts: Vec<(Item, Condition)>) -> Result<(), TableError>;
}

/// Checks a transaction's shape: 1 to [`TRANSACT_MAX`] puts of distinct, valid keys.
///
/// # Errors
/// [`TableError::InvalidItem`] naming the problem.
pub fn check_transaction(puts: &[(Item, Condition)]) -> Result<(), TableError> {
    if puts.is_empty() || puts.len() > TRANSACT_MAX {
        return Err(TableError::InvalidItem(format!(
            "a transaction writes 1 to {TRANSACT_MAX} items, not {}",
            puts.len()
        )));
    }
    let mut keys = std::collections::HashSet::new();
    for (item, _) in puts {
        item.check()?;
        if !keys.insert(item.key()) {
            return Err(TableError::InvalidItem(format!(
                "a transaction names {} / {} twice",
                item.pk, item.sk
            )));
        }
    }
    Ok(())
}

/// Reads every page of `query`.
///
/// # Errors
/// The first [`TableError`] of any page.
pub async fn query_all(table: &dyn Table, mut query: Query) -> Result<Vec<Item>, TableError> {
    let mut items = Vec::new();
    loop {
        let page = table.query(query.clone()).await?;
        items.extend(page.items);
        match page.next {
            Some(c) => query.cursor = Some(c),
            None => return Ok(items),
        }
    }
}

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
/// `get` them back byte for byte with the same media type, or `None`; and make a
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
    /// A link to download `key` for `valid_for`.
    async fn presigned_get(
        &self,
        key: &str,
        valid_for: Duration,
    ) -> Result<PresignedUrl, BlobError>;
}

/// One e-mail with a text and an HTML body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// Sender address (a verified SES identity on AWS).
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

/// What went wrong in a [`Mailer`] call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The message cannot be sent as given (no recipient, bad address, unverified sender).
    #[error("message rejected: {0}")]
    Rejected(String),
    /// The mail service could not be reached after retries; nothing was sent.
    #[error("mail service unavailable: {0}")]
    Unavailable(String),
}

/// Sends e-mail. Every adapter must deliver the subject, both bodies and every recipient
/// (the conformance suite reads each message back) and return the message id.
///
/// # Errors
/// [`MailError::Rejected`] for a message that cannot be sent, [`MailError::Unavailable`]
/// when the service cannot be reached.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `email`; returns the service's message id.
    async fn send(&self, email: &Email) -> Result<String, MailError>;
}

/// One webhook call: a JSON body for a subscriber's URL, signed with its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// The subscriber's URL (https; http only on loopback).
    pub url: String,
    /// The subscriber's signing secret.
    pub secret: String,
    /// The event name, e.g. `alert_triggered` (seed 003 webhook events).
    pub event: String,
    /// A deterministic id: the same delivery retried keeps it, so the receiver can drop
    /// repeats.
    pub delivery_id: String,
    /// The JSON body.
    pub body: Vec<u8>,
}

/// Whether webhooks may be sent to `url`: `https://`, or plain `http://` to a loopback host
/// (local runs and tests) only.
pub fn webhook_url_allowed(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// What went wrong delivering a webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The receiver refused it (a 4xx other than 408 and 429), or the URL is not allowed;
    /// retrying will not help.
    #[error("webhook refused: {0}")]
    Rejected(String),
    /// The receiver could not be reached or failed after retries.
    #[error("webhook undeliverable: {0}")]
    Unavailable(String),
}

/// Sends webhooks. Every adapter must POST the body with `Content-Type: application/json`,
/// the headers `X-Roi-Event`, `X-Roi-Delivery`, `X-Roi-Timestamp` (Unix seconds) and
/// `X-Roi-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}" under the secret>`,
/// and retry with backoff on connection errors, timeouts, 408, 429 and 5xx.
///
/// # Errors
/// [`WebhookError`].
#[async_trait]
pub trait Webhooks: Send + Sync {
    /// Delivers one webhook.
    async fn deliver(&self, delivery: &WebhookDelivery) -> Result<(), WebhookError>;
}

/// What went wrong in a [`SecretStore`] call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The name or value cannot be stored as given (a name outside `[A-Za-z0-9/_+=.@-]`,
    /// over 512 bytes, with an empty or `..` segment; an empty value).
    #[error("secret refused: {0}")]
    Rejected(String),
    /// The secret store could not be reached after retries, or refused access.
    #[error("secret store unavailable: {0}")]
    Unavailable(String),
}

/// Whether `name` is a secret name every [`SecretStore`] takes: 1 to 512 bytes of
/// `A-Z a-z 0-9 / _ + = . @ -` (Secrets Manager's alphabet), no empty segment between
/// slashes, no `.` or `..` segment.
pub fn secret_name_allowed(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 512
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b))
        && name
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

/// Keeps secrets (the clients' webhook signing secrets) out of the table. Every adapter
/// must read back the latest value put under a name, answer `None` for a name never put,
/// and refuse a name [`secret_name_allowed`] refuses or an empty value. A put replaces the
/// value.
///
/// # Errors
/// [`SecretError`].
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// Stores `value` under `name`, creating or replacing it.
    async fn put(&self, name: &str, value: &str) -> Result<(), SecretError>;
    /// The value under `name`, or `None` when there is none.
    async fn get(&self, name: &str) -> Result<Option<String>, SecretError>;
}

/// What went wrong handing work to a [`WorkQueue`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// A message cannot be queued as given (too large, malformed); retrying will not help.
    #[error("message refused by the queue: {0}")]
    Rejected(String),
    /// The queue could not be reached, or refused some messages of a batch after the SDK's
    /// retries; the caller should fail so its own retry queues everything again.
    #[error("queue unavailable: {0}")]
    Unavailable(String),
}

/// A queue of units of work (one client's part of a scheduled job), delivered at least
/// once to a consumer. Every adapter must queue each body whole or fail the call: a
/// returned `Ok` means every message is queued. A body is UTF-8 JSON of at most 256 KiB
/// (SQS's limit). Delivery order is not promised, and a message may come twice: work
/// sent through a queue must be idempotent.
///
/// # Errors
/// [`QueueError`].
#[async_trait]
pub trait WorkQueue: Send + Sync {
    /// Queues `bodies`, one message each.
    async fn send(&self, bodies: &[String]) -> Result<(), QueueError>;
}

/// The time, injected so tests can fix it.
pub trait Clock: Send + Sync {
    /// Now, UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that reads what it was set to; for tests.
#[derive(Debug)]
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    /// A clock stopped at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }

    /// Sets the clock to `at` (forward or back: a test loading a history day by day).
    pub fn set(&self, at: DateTime<Utc>) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = at;
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        let mut t = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *t += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
