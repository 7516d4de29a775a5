//! The AWS [`Table`]: one DynamoDB table with string keys `pk` (HASH) and `sk` (RANGE) and
//! the TTL attribute `expires_at` (Unix seconds). Attributes are stored as native DynamoDB
//! types through `serde_dynamo`, so the table reads well in the console.
//!
//! Reads are strongly consistent. Expired items are filtered out of reads because DynamoDB
//! deletes them up to a couple of days late. BatchWriteItem's `UnprocessedItems` and
//! BatchGetItem's `UnprocessedKeys` are resent with [`Backoff`]; throttled calls are retried by the SDK itself.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, DeleteRequest, KeySchemaElement, KeyType,
    KeysAndAttributes, PutRequest, ScalarAttributeType, TimeToLiveSpecification, WriteRequest,
};
use roi_domain::ports::{
    BATCH_GET_MAX, BATCH_WRITE_MAX, Clock, Condition, Cursor, Item, Key, Page, Query, SortKey,
    Table, TableError,
};
use serde_json::{Map, Value};

use crate::backoff::Backoff;

/// A [`Table`] on DynamoDB.
#[derive(Clone)]
pub struct DynamoTable {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
    backoff: Backoff,
}

impl std::fmt::Debug for DynamoTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoTable")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

fn unavailable<E, R>(e: SdkError<E, R>) -> TableError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let text = DisplayErrorContext(&e).to_string();
    tracing::warn!(error = %text, "DynamoDB call failed");
    TableError::Unavailable("DynamoDB call failed after retries".into())
}

/// An item as the DynamoDB attribute map this adapter writes: the attributes as native
/// DynamoDB types (object → M, array → L, string → S, number → N, bool → BOOL,
/// null → NULL, as `serde_dynamo` reads them back), plus `pk`, `sk` and `expires_at`.
///
/// The item is taken by value and its strings are moved, not copied: this is the hot path
/// of event ingestion (`cargo bench -p roi-bench --bench ingest` measured `serde_dynamo::to_item`
/// over the borrowed map at about twice the time).
///
/// # Errors
/// [`TableError::InvalidItem`] for reserved names or empty keys.
pub fn to_attributes(item: Item) -> Result<HashMap<String, AttributeValue>, TableError> {
    item.check()?;
    let mut map: HashMap<String, AttributeValue> = HashMap::with_capacity(item.attrs.len() + 3);
    for (name, value) in item.attrs {
        map.insert(name, attribute(value));
    }
    map.insert("pk".into(), AttributeValue::S(item.pk));
    map.insert("sk".into(), AttributeValue::S(item.sk));
    if let Some(t) = item.expires_at {
        map.insert("expires_at".into(), AttributeValue::N(t.to_string()));
    }
    Ok(map)
}

fn attribute(value: Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s),
        Value::Array(list) => AttributeValue::L(list.into_iter().map(attribute).collect()),
        Value::Object(map) => {
            AttributeValue::M(map.into_iter().map(|(k, v)| (k, attribute(v))).collect())
        }
    }
}

/// The size DynamoDB bills an item at, bytes: attribute names and values by the rules of
/// "Item sizes" in the DynamoDB Developer Guide (strings and binaries by length, a number
/// one byte per two significant digits plus one, 1 byte for a boolean or null, 3 bytes per
/// list or map plus 1 per element). A write consumes one WCU per started KiB.
pub fn item_size_bytes(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => {
            let digits = n.trim_start_matches('-').replace('.', "");
            let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
            significant.div_ceil(2) + 1
        }
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(list) => 3 + list.iter().map(|e| 1 + value_size(e)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, e)| 1 + k.len() + value_size(e))
                .sum::<usize>()
        }
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Ns(set) => set
            .iter()
            .map(|n| value_size(&AttributeValue::N(n.clone())))
            .sum(),
        AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len()).sum(),
        _ => 0,
    }
}

/// Write capacity units one put of an item of `bytes` consumes: one per started KiB.
pub fn write_units(bytes: usize) -> usize {
    bytes.div_ceil(1024).max(1)
}

fn from_attributes(mut map: HashMap<String, AttributeValue>) -> Result<Item, TableError> {
    let bad = |what: &str| TableError::Unavailable(format!("DynamoDB item without {what}"));
    let pk = match map.remove("pk") {
        Some(AttributeValue::S(s)) => s,
        _ => return Err(bad("a string pk")),
    };
    let sk = match map.remove("sk") {
        Some(AttributeValue::S(s)) => s,
        _ => return Err(bad("a string sk")),
    };
    let expires_at = match map.remove("expires_at") {
        Some(AttributeValue::N(n)) => {
            Some(n.parse::<i64>().map_err(|_| bad("a whole expires_at"))?)
        }
        _ => None,
    };
    let attrs: Map<String, Value> = serde_dynamo::aws_sdk_dynamodb_1::from_item(map)
        .map_err(|e| TableError::InvalidItem(format!("{pk} / {sk}: {e}")))?;
    Ok(Item {
        pk,
        sk,
        expires_at,
        attrs,
    })
}

fn key_of(map: &HashMap<String, AttributeValue>) -> Key {
    let s = |name: &str| match map.get(name) {
        Some(AttributeValue::S(s)) => s.clone(),
        _ => String::new(),
    };
    Key {
        pk: s("pk"),
        sk: s("sk"),
    }
}

impl DynamoTable {
    /// The table `table` through `client`.
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
            backoff: Backoff::default(),
        }
    }

    /// The same table with another retry schedule for unprocessed items.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sends `queue`'s puts or deletes through BatchWriteItem, 25 a call, resending what
    /// DynamoDB leaves unprocessed with backoff.
    ///
    /// # Errors
    /// [`TableError::Incomplete`] with the keys not written when retries ran out or a call
    /// failed after the SDK's own retries.
    async fn batch_write(&self, mut queue: VecDeque<WriteRequest>) -> Result<(), TableError> {
        let total = queue.len();
        // Each call takes up to 25 requests, the unprocessed ones of the last call first,
        // so resends share calls with new ones and calls stay full. `attempt` counts calls
        // in a row that left items over (it sets the wait); `stalled` counts calls in a row
        // that wrote nothing (it decides when to give up), so a slow but moving batch goes on.
        let mut attempt = 0;
        let mut stalled = 0;
        let mut failed: Vec<WriteRequest> = Vec::new();
        while !queue.is_empty() {
            let take = queue.len().min(BATCH_WRITE_MAX);
            let batch: Vec<WriteRequest> = queue.drain(..take).collect();
            let sent = self
                .client
                .batch_write_item()
                .request_items(&self.table, batch.clone())
                .send()
                .await;
            let unprocessed = match sent {
                Ok(out) => out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default(),
                Err(e) => {
                    // The SDK has retried the call already: this call's items and every
                    // later one stay unwritten.
                    tracing::warn!(error = %DisplayErrorContext(&e), "BatchWriteItem failed after retries");
                    failed = batch;
                    break;
                }
            };
            if unprocessed.is_empty() {
                attempt = 0;
                stalled = 0;
                continue;
            }
            if unprocessed.len() < batch.len() {
                stalled = 0;
            } else if stalled >= self.backoff.max_retries {
                failed = unprocessed;
                break;
            } else {
                stalled += 1;
            }
            for request in unprocessed.into_iter().rev() {
                queue.push_front(request);
            }
            tokio::time::sleep(self.backoff.delay(attempt)).await;
            attempt += 1;
        }
        let unwritten: Vec<Key> = failed
            .iter()
            .chain(queue.iter())
            .filter_map(|w| match (w.put_request(), w.delete_request()) {
                (Some(put), _) => Some(key_of(put.item())),
                (None, Some(delete)) => Some(key_of(delete.key())),
                (None, None) => None,
            })
            .collect();
        if unwritten.is_empty() {
            Ok(())
        } else {
            tracing::warn!(unwritten = unwritten.len(), total, "batch write incomplete");
            Err(TableError::Incomplete { unwritten })
        }
    }

    /// Creates the table as the SAM template declares it (on-demand, `pk`/`sk` strings) and
    /// turns on TTL for `expires_at`. For local emulators and first-time set-up; an existing
    /// table is left as it is.
    ///
    /// # Errors
    /// [`TableError::Unavailable`] when the table can be neither created nor found.
    pub async fn create_if_missing(&self) -> Result<(), TableError> {
        if self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| TableError::InvalidItem(e.to_string()))
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| TableError::InvalidItem(e.to_string()))
        };
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .send()
            .await
            .map_err(unavailable)?;
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name("expires_at")
            .enabled(true)
            .build()
            .map_err(|e| TableError::InvalidItem(e.to_string()))?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    fn now_value(&self) -> AttributeValue {
        AttributeValue::N(self.clock.now().timestamp().to_string())
    }
}

const NOT_EXPIRED: &str = "attribute_not_exists(expires_at) OR expires_at > :now";

/// A [`Condition`] as the parts of a DynamoDB condition expression (all `None` for
/// [`Condition::Always`]).
struct Expression {
    text: Option<String>,
    names: Option<HashMap<String, String>>,
    values: Option<HashMap<String, AttributeValue>>,
}

impl Expression {
    fn of(condition: Condition) -> Result<Self, TableError> {
        Ok(match condition {
            Condition::Always => Self {
                text: None,
                names: None,
                values: None,
            },
            Condition::NotExists => Self {
                text: Some("attribute_not_exists(pk)".into()),
                names: None,
                values: None,
            },
            Condition::AttributeEquals { name, value } => {
                let v = serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(&value)
                    .map_err(|e| TableError::InvalidItem(e.to_string()))?;
                Self {
                    text: Some("#c = :c".into()),
                    names: Some(HashMap::from([("#c".to_owned(), name)])),
                    values: Some(HashMap::from([(":c".to_owned(), v)])),
                }
            }
        })
    }
}

/// Conditional puts in flight at once in [`Table::put_each_absent`].
const PUTS_IN_FLIGHT: usize = 32;

#[async_trait]
impl Table for DynamoTable {
    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
        let expression = Expression::of(condition)?;
        let req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attributes(item)?))
            .set_condition_expression(expression.text)
            .set_expression_attribute_names(expression.names)
            .set_expression_attribute_values(expression.values);
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err(TableError::ConditionFailed)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn add_within(
        &self,
        pk: &str,
        sk: &str,
        adds: &[(&str, u64, u64)],
        expires_at: Option<i64>,
    ) -> Result<bool, TableError> {
        // one UpdateItem: the additions and their limits in one conditional write
        let mut sets = Vec::new();
        let mut conditions = Vec::new();
        let mut names = HashMap::new();
        let mut values = HashMap::from([(":zero".to_owned(), AttributeValue::N("0".into()))]);
        for (n, (name, amount, limit)) in adds.iter().enumerate() {
            let Some(room) = limit.checked_sub(*amount) else {
                return Ok(false);
            };
            names.insert(format!("#a{n}"), (*name).to_owned());
            values.insert(format!(":v{n}"), AttributeValue::N(amount.to_string()));
            values.insert(format!(":m{n}"), AttributeValue::N(room.to_string()));
            sets.push(format!("#a{n} = if_not_exists(#a{n}, :zero) + :v{n}"));
            conditions.push(format!("(attribute_not_exists(#a{n}) OR #a{n} <= :m{n})"));
        }
        if let Some(t) = expires_at {
            sets.push("expires_at = if_not_exists(expires_at, :exp)".into());
            values.insert(":exp".into(), AttributeValue::N(t.to_string()));
        }
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .update_expression(format!("SET {}", sets.join(", ")))
            .set_expression_attribute_values(Some(values));
        if !names.is_empty() {
            update = update.set_expression_attribute_names(Some(names));
        }
        if !conditions.is_empty() {
            update = update.condition_expression(conditions.join(" AND "));
        }
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn put_each_absent(&self, items: Vec<Item>) -> Vec<Result<bool, TableError>> {
        use futures_util::StreamExt;
        // DynamoDB has no conditional batch write: conditional puts, 32 in flight, in order
        futures_util::stream::iter(items)
            .map(|item| async move {
                roi_domain::ports::written(self.put(item, Condition::NotExists).await)
            })
            .buffered(PUTS_IN_FLIGHT)
            .collect()
            .await
    }

    async fn transact_put(&self, puts: Vec<(Item, Condition)>) -> Result<(), TableError> {
        use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
        roi_domain::ports::check_transaction(&puts)?;
        let mut items = Vec::with_capacity(puts.len());
        for (item, condition) in puts {
            let expression = Expression::of(condition)?;
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(to_attributes(item)?))
                .set_condition_expression(expression.text)
                .set_expression_attribute_names(expression.names)
                .set_expression_attribute_values(expression.values)
                .build()
                .map_err(|e| TableError::InvalidItem(e.to_string()))?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) => {
                // A cancelled transaction says why per item; a failed condition is ours to
                // report as such, anything else (a conflict with another transaction, a
                // throttle) leaves nothing written and may be retried.
                let condition_failed = e.as_service_error().is_some_and(|s| match s {
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => c
                        .cancellation_reasons()
                        .iter()
                        .any(|r| r.code() == Some("ConditionalCheckFailed")),
                    _ => false,
                });
                if condition_failed {
                    Err(TableError::ConditionFailed)
                } else {
                    Err(unavailable(e))
                }
            }
        }
    }

    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, TableError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        match out.item {
            Some(map) => {
                let item = from_attributes(map)?;
                Ok((!item.is_expired(self.clock.now())).then_some(item))
            }
            None => Ok(None),
        }
    }

    async fn query(&self, query: Query) -> Result<Page, TableError> {
        let mut req = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .scan_index_forward(!query.descending)
            .filter_expression(NOT_EXPIRED)
            .expression_attribute_values(":now", self.now_value())
            .expression_attribute_values(":pk", AttributeValue::S(query.pk.clone()))
            .set_limit(
                query
                    .limit
                    .map(|l| i32::try_from(l.max(1)).unwrap_or(i32::MAX)),
            );
        req = match &query.sort {
            SortKey::All => req.key_condition_expression("pk = :pk"),
            SortKey::Prefix(p) => req
                .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
                .expression_attribute_values(":p", AttributeValue::S(p.clone())),
            SortKey::Between(a, b) => req
                .key_condition_expression("pk = :pk AND sk BETWEEN :a AND :b")
                .expression_attribute_values(":a", AttributeValue::S(a.clone()))
                .expression_attribute_values(":b", AttributeValue::S(b.clone())),
        };
        if let Some(Cursor(sk)) = &query.cursor {
            req = req
                .exclusive_start_key("pk", AttributeValue::S(query.pk.clone()))
                .exclusive_start_key("sk", AttributeValue::S(sk.clone()));
        }
        let out = req.send().await.map_err(unavailable)?;
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_attributes)
            .collect::<Result<_, _>>()?;
        let next = out.last_evaluated_key.map(|k| Cursor(key_of(&k).sk));
        Ok(Page { items, next })
    }

    async fn batch_get(&self, keys: Vec<Key>) -> Result<Vec<Item>, TableError> {
        // BatchGetItem refuses a call that names a key twice.
        let unique: std::collections::BTreeSet<Key> = keys.into_iter().collect();
        let mut queue: VecDeque<HashMap<String, AttributeValue>> = unique
            .into_iter()
            .map(|k| {
                HashMap::from([
                    ("pk".to_owned(), AttributeValue::S(k.pk)),
                    ("sk".to_owned(), AttributeValue::S(k.sk)),
                ])
            })
            .collect();
        let now = self.clock.now();
        let mut found = Vec::new();
        // As in `batch_put`: `attempt` sets the wait, `stalled` (calls in a row that read
        // nothing) decides when to give up.
        let mut attempt = 0;
        let mut stalled = 0;
        while !queue.is_empty() {
            let take = queue.len().min(BATCH_GET_MAX);
            let asked = take;
            let batch: Vec<_> = queue.drain(..take).collect();
            let request = KeysAndAttributes::builder()
                .set_keys(Some(batch))
                .consistent_read(true)
                .build()
                .map_err(|e| TableError::InvalidItem(e.to_string()))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(unavailable)?;
            for map in out
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default()
            {
                let item = from_attributes(map)?;
                if !item.is_expired(now) {
                    found.push(item);
                }
            }
            let unprocessed = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if unprocessed.is_empty() {
                attempt = 0;
                stalled = 0;
                continue;
            }
            if unprocessed.len() < asked {
                stalled = 0;
            } else if stalled >= self.backoff.max_retries {
                tracing::warn!(
                    unprocessed = unprocessed.len(),
                    "BatchGetItem left keys unprocessed after retries"
                );
                return Err(TableError::Unavailable(
                    "DynamoDB left keys unread after retries".into(),
                ));
            } else {
                stalled += 1;
            }
            for key in unprocessed.into_iter().rev() {
                queue.push_front(key);
            }
            tokio::time::sleep(self.backoff.delay(attempt)).await;
            attempt += 1;
        }
        Ok(found)
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<(), TableError> {
        let mut queue = VecDeque::with_capacity(items.len());
        for item in items {
            let put = PutRequest::builder()
                .set_item(Some(to_attributes(item)?))
                .build()
                .map_err(|e| TableError::InvalidItem(e.to_string()))?;
            queue.push_back(WriteRequest::builder().put_request(put).build());
        }
        self.batch_write(queue).await
    }

    async fn batch_delete(&self, keys: Vec<Key>) -> Result<(), TableError> {
        let mut queue = VecDeque::with_capacity(keys.len());
        for key in keys {
            let delete = DeleteRequest::builder()
                .key("pk", AttributeValue::S(key.pk))
                .key("sk", AttributeValue::S(key.sk))
                .build()
                .map_err(|e| TableError::InvalidItem(e.to_string()))?;
            queue.push_back(WriteRequest::builder().delete_request(delete).build());
        }
        self.batch_write(queue).await
    }

    async fn delete(&self, pk: &str, sk: &str) -> Result<(), TableError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_sizes_follow_the_developer_guide() {
        let item = HashMap::from([
            ("pk".to_owned(), AttributeValue::S("EVENTS#a".into())), // 2 + 8
            ("n".to_owned(), AttributeValue::N("12345".into())),     // 1 + 3 + 1
            ("z".to_owned(), AttributeValue::N("0.0100".into())),    // 1 + 1 + 1
            ("ok".to_owned(), AttributeValue::Bool(true)),           // 2 + 1
            (
                "m".to_owned(),
                AttributeValue::M(HashMap::from([(
                    "k".to_owned(),
                    AttributeValue::S("vv".into()),
                )])), // 1 + 3 + (1 + 1 + 2)
            ),
        ]);
        assert_eq!(item_size_bytes(&item), 10 + 5 + 3 + 3 + 8);
        assert_eq!(write_units(1024), 1);
        assert_eq!(write_units(1025), 2);
        assert_eq!(write_units(0), 1);
    }
}
