//! The [`Table`] port: one key-value table with conditional writes, transactions, batches
//! and paged queries (DynamoDB on AWS, redb locally).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Attribute names a [`Table`] keeps for itself; an item's attributes may not use them.
pub const RESERVED_ATTRIBUTES: [&str; 3] = ["pk", "sk", "expires_at"];

/// The attribute a packed item ([`Item::packed`]) keeps its whole record in, as JSON text.
pub const PACKED_RECORD: &str = "record_json";

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
        Self::checked(pk.into(), sk.into(), attrs)
    }

    /// An item without expiry, once [`Item::check`] passes.
    fn checked(pk: String, sk: String, attrs: Map<String, Value>) -> Result<Self, TableError> {
        let item = Self {
            pk,
            sk,
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
        match self.packed_text() {
            Some(text) => serde_json::from_str(text),
            None => serde_json::from_value(Value::Object(self.attrs.clone())),
        }
        .map_err(|e| self.invalid(e))
    }

    /// The attributes read back as a record, without copying them first (each string
    /// moves into the record): what queries over many items use.
    ///
    /// # Errors
    /// [`TableError::InvalidItem`] when they do not match `T`.
    pub fn into_record<T: for<'de> Deserialize<'de>>(self) -> Result<T, TableError> {
        if let Some(text) = self.packed_text() {
            return serde_json::from_str(text).map_err(|e| self.invalid(e));
        }
        let (pk, sk) = (self.pk, self.sk);
        serde_json::from_value(Value::Object(self.attrs))
            .map_err(|e| TableError::InvalidItem(format!("{pk} / {sk}: {e}")))
    }

    /// An item holding `record` whole, as one attribute of JSON text ([`PACKED_RECORD`]),
    /// rather than one attribute per field: for records written many to a request and only
    /// ever read whole (raw events and their identity claims). Serializing straight to text
    /// skips building a JSON map and, in DynamoDB, the attribute map built from it: issue
    /// 19's profile put the two at 1,814 and ~2,300 ns of an event's ~10,500. The text's
    /// size is the attribute's size, so write units stay as they were (≤ 1 KiB per event).
    /// [`Item::to_record`] and [`Item::into_record`] read either form.
    ///
    /// # Errors
    /// [`TableError::InvalidItem`] when the record does not serialize to a JSON object.
    pub fn packed<T: Serialize>(
        pk: impl Into<String>,
        sk: impl Into<String>,
        record: &T,
    ) -> Result<Self, TableError> {
        let text =
            serde_json::to_string(record).map_err(|e| TableError::InvalidItem(e.to_string()))?;
        if !text.starts_with('{') {
            return Err(TableError::InvalidItem(
                "a record must be a JSON object".into(),
            ));
        }
        let mut attrs = Map::new();
        attrs.insert(PACKED_RECORD.to_owned(), Value::String(text));
        Self::checked(pk.into(), sk.into(), attrs)
    }

    /// The attributes as fields, whichever form the item is in: a packed item's record is
    /// read out of its text (what an export shows a person).
    ///
    /// # Errors
    /// [`TableError::InvalidItem`] when a packed item's text is not a JSON object.
    pub fn fields(&self) -> Result<std::borrow::Cow<'_, Map<String, Value>>, TableError> {
        match self.packed_text() {
            Some(text) => serde_json::from_str(text)
                .map(std::borrow::Cow::Owned)
                .map_err(|e| self.invalid(e)),
            None => Ok(std::borrow::Cow::Borrowed(&self.attrs)),
        }
    }

    /// A packed item's JSON text: its only attribute is [`PACKED_RECORD`], a string.
    fn packed_text(&self) -> Option<&str> {
        match self.attrs.get(PACKED_RECORD) {
            Some(Value::String(text)) if self.attrs.len() == 1 => Some(text),
            _ => None,
        }
    }

    fn invalid(&self, e: serde_json::Error) -> TableError {
        TableError::InvalidItem(format!("{} / {}: {e}", self.pk, self.sk))
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
    /// A batch was only partly written (or deleted) after retries; `unwritten` lists what
    /// was not. Everything else of the batch is durably written (or deleted).
    #[error("{} item(s) of the batch were not written or deleted after retries", unwritten.len())]
    Incomplete {
        /// The keys not written (or not deleted).
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
/// - `delete` the item under a key (no error if absent), and `batch_delete` the items under
///   any number of distinct keys (chunks of [`BATCH_WRITE_MAX`]), retrying as `batch_put` does;
/// - `transact_put` up to [`TRANSACT_MAX`] items of distinct keys, each only if its
///   [`Condition`] holds, all or none.
///
/// # Errors
/// - [`TableError::ConditionFailed`] when a `put`'s condition does not hold, or any of a
///   `transact_put`'s (then nothing of it is written).
/// - [`TableError::Incomplete`] when `batch_put` (or `batch_delete`) ran out of retries; the
///   listed keys are not written (not deleted), the rest are.
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
    /// Deletes the items under `keys` (distinct; absent ones are no error). An engine with
    /// batches or local transactions does it in a few calls (a roll-up's superseded
    /// generation is ~40,000 items); the default deletes them one by one.
    async fn batch_delete(&self, keys: Vec<Key>) -> Result<(), TableError> {
        for key in keys {
            self.delete(&key.pk, &key.sk).await?;
        }
        Ok(())
    }
    /// Writes every item, each only if its condition holds, all or none.
    async fn transact_put(&self, puts: Vec<(Item, Condition)>) -> Result<(), TableError>;
    /// Adds to whole-number attributes of the item under `(pk, sk)` atomically, each
    /// `(name, amount, limit)` only if the sum stays at or under its limit, all or none:
    /// `Ok(true)` when added, `Ok(false)` when a limit would be passed (nothing changes).
    /// An absent item (or attribute) counts from 0 and is created with `expires_at`.
    /// Concurrent calls never both take the last of a limit, and none fails for another
    /// having got in between (a rate counter under concurrent requests).
    async fn add_within(
        &self,
        pk: &str,
        sk: &str,
        adds: &[(&str, u64, u64)],
        expires_at: Option<i64>,
    ) -> Result<bool, TableError>;
    /// Writes each item only if no item holds its key (a `put` with
    /// [`Condition::NotExists`]), each on its own, and says for each, in order, whether it
    /// was written: `Ok(false)` when an item was there. An engine with local transactions
    /// writes them all in one (ingestion's identity claims: one commit per request, not
    /// one per event); the default puts them one by one.
    async fn put_each_absent(&self, items: Vec<Item>) -> Vec<Result<bool, TableError>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(written(self.put(item, Condition::NotExists).await));
        }
        out
    }
}

/// What a `put` with [`Condition::NotExists`] did, as [`Table::put_each_absent`] says it:
/// `Ok(true)` written, `Ok(false)` an item was there.
///
/// # Errors
/// Any other error of the put.
pub fn written(put: Result<(), TableError>) -> Result<bool, TableError> {
    match put {
        Ok(()) => Ok(true),
        Err(TableError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Record {
        name: String,
        tokens: u64,
        note: Option<String>,
    }

    fn record() -> Record {
        Record {
            name: "ticket \"triage\"".into(),
            tokens: 1200,
            note: None,
        }
    }

    #[test]
    fn a_packed_item_keeps_its_record_as_one_attribute_of_json_text_and_reads_back_whole() {
        let item = Item::packed("CLIENT#acme", "EVENT#1", &record()).unwrap();
        assert_eq!(item.attrs.len(), 1);
        let text = item.attrs[PACKED_RECORD].as_str().unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(text).unwrap(),
            json!({"name": "ticket \"triage\"", "tokens": 1200, "note": null})
        );
        assert_eq!(item.to_record::<Record>().unwrap(), record());
        assert_eq!(
            item.fields().unwrap().as_ref(),
            &Item::from_record("p", "s", &record()).unwrap().attrs
        );
        assert_eq!(item.into_record::<Record>().unwrap(), record());
    }

    #[test]
    fn an_item_of_one_attribute_per_field_reads_as_before() {
        let item = Item::from_record("CLIENT#acme", "EVENT#1", &record()).unwrap();
        assert_eq!(item.attrs.len(), 3);
        assert_eq!(item.fields().unwrap().as_ref(), &item.attrs);
        assert_eq!(item.to_record::<Record>().unwrap(), record());
        assert_eq!(item.into_record::<Record>().unwrap(), record());
    }

    #[test]
    fn a_record_that_is_not_an_object_is_not_packed_and_a_bad_text_is_named_on_read() {
        assert!(matches!(
            Item::packed("p", "s", &[1, 2]),
            Err(TableError::InvalidItem(m)) if m.contains("JSON object")
        ));
        let mut attrs = Map::new();
        attrs.insert(PACKED_RECORD.into(), Value::from("{\"name\": 7}"));
        let item = Item {
            pk: "CLIENT#acme".into(),
            sk: "EVENT#2".into(),
            expires_at: None,
            attrs,
        };
        assert!(matches!(
            item.to_record::<Record>(),
            Err(TableError::InvalidItem(m)) if m.starts_with("CLIENT#acme / EVENT#2: invalid type")
        ));
    }
}
