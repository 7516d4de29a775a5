//! The embedded [`Table`]: one redb file, one redb table keyed by `pk \0 sk`.
//!
//! Keys are compared byte-wise, which orders `(pk, sk)` exactly as DynamoDB orders a
//! partition's sort keys (keys may not hold a NUL byte). A sort-key prefix `p` is the byte
//! range `pk\0p ..= pk\0p\xFF` (no UTF-8 text holds a 0xFF byte). Calls run on tokio's
//! blocking pool. A read is one read transaction. Writes are committed in groups: each
//! call's writes are applied whole or not at all, and the calls waiting while a commit is
//! under way are applied together in the next write transaction, committed (one `fsync`)
//! before any of them returns (see [`RedbTable::write`]).

use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use roi_domain::ports::{
    Clock, Condition, Cursor, Item, Key, Page, Query, SortKey, Table, TableError,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

const ITEMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("items");

/// The stored form of an item's non-key part.
#[derive(Deserialize)]
struct Stored {
    expires_at: Option<i64>,
    attrs: Map<String, Value>,
}

/// [`Stored`] as written, borrowing the item's attributes (no copy of them per write).
#[derive(Serialize)]
struct StoredRef<'a> {
    expires_at: Option<i64>,
    attrs: &'a Map<String, Value>,
}

/// A [`Table`] in a redb file.
#[derive(Clone)]
pub struct RedbTable {
    db: Arc<Database>,
    writes: Arc<Writes>,
    clock: Arc<dyn Clock>,
}

/// The open items table inside a write transaction.
type Items<'t> = redb::Table<'t, &'static [u8], &'static [u8]>;

/// One call's writes, run on the open table of a group's transaction (or given the error
/// that kept it from opening). It checks its conditions before it writes anything, so any
/// error but [`TableError::Unavailable`] leaves the table as it was; it returns whether it
/// failed that way (the group is then not committed) and what hands the call its result
/// once the commit's outcome is known.
type WriteOp = Box<dyn FnOnce(Result<&mut Items<'_>, &TableError>) -> (bool, Reply) + Send>;

/// Hands a call its result, given the group's commit outcome.
type Reply = Box<dyn FnOnce(&Result<(), TableError>) + Send>;

/// Group commit: the writes waiting to be committed, and the lock its leader holds.
#[derive(Default)]
struct Writes {
    waiting: Mutex<Vec<WriteOp>>,
    leader: Mutex<()>,
}

impl std::fmt::Debug for RedbTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbTable").finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> TableError {
    TableError::Unavailable(format!("embedded store: {e}"))
}

fn key_bytes(pk: &str, sk: &str) -> Result<Vec<u8>, TableError> {
    if pk.contains('\0') || sk.contains('\0') {
        return Err(TableError::InvalidItem(
            "keys may not contain a NUL character".into(),
        ));
    }
    let mut k = Vec::with_capacity(pk.len() + sk.len() + 1);
    k.extend_from_slice(pk.as_bytes());
    k.push(0);
    k.extend_from_slice(sk.as_bytes());
    Ok(k)
}

fn split_key(key: &[u8]) -> Option<(String, String)> {
    let at = key.iter().position(|b| *b == 0)?;
    let pk = std::str::from_utf8(&key[..at]).ok()?;
    let sk = std::str::from_utf8(&key[at + 1..]).ok()?;
    Some((pk.to_owned(), sk.to_owned()))
}

fn decode(key: &[u8], value: &[u8]) -> Result<Item, TableError> {
    let (pk, sk) = split_key(key).ok_or_else(|| unavailable("corrupt key"))?;
    let stored: Stored = serde_json::from_slice(value).map_err(unavailable)?;
    Ok(Item {
        pk,
        sk,
        expires_at: stored.expires_at,
        attrs: stored.attrs,
    })
}

fn encode(item: &Item) -> Result<(Vec<u8>, Vec<u8>), TableError> {
    item.check()?;
    let key = key_bytes(&item.pk, &item.sk)?;
    let value = serde_json::to_vec(&StoredRef {
        expires_at: item.expires_at,
        attrs: &item.attrs,
    })
    .map_err(|e| TableError::InvalidItem(e.to_string()))?;
    Ok((key, value))
}

/// The memory redb may use to cache the file's pages: 64 MiB (its default, 1 GiB, made a
/// day's roll-up of 1,000,000 events peak at 2.1 GiB; issue 19's memory benchmark).
pub const CACHE_BYTES: usize = 64 * 1024 * 1024;

impl RedbTable {
    /// Opens (or creates) the store at `path`, creating its parent folder.
    ///
    /// # Errors
    /// [`TableError::Unavailable`] when the file cannot be created or is not a redb file,
    /// or another process holds it open.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, TableError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(unavailable)?;
        }
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|e| unavailable(format!("{}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(unavailable)?;
        txn.open_table(ITEMS).map_err(unavailable)?;
        txn.commit().map_err(unavailable)?;
        Ok(Self {
            db: Arc::new(db),
            writes: Arc::default(),
            clock,
        })
    }

    /// Runs `f`'s writes in a group commit and returns its result once they are committed.
    ///
    /// The call queues `f`, then waits to lead: the leader takes every write queued so far,
    /// runs them one after another in one write transaction and commits it. Writes queued
    /// while a commit is under way wait for it and go into the next one together, so under
    /// concurrent calls one `fsync` serves many (issue 19's load benchmark: a request's
    /// four commits, each a transaction of its own, capped `roi serve`'s events/s). When
    /// the call leads, its queue may be empty: a leader before it took its write and
    /// committed it. Each write checks its conditions before writing, so one that fails
    /// (e.g. [`TableError::ConditionFailed`]) leaves the others' writes to commit; a
    /// storage error in any aborts the whole group, and every call in it gets the error
    /// (nothing was written; a retry is safe).
    async fn write<T, F>(&self, f: F) -> Result<T, TableError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Items<'_>) -> Result<T, TableError> + Send + 'static,
    {
        let (db, writes) = (Arc::clone(&self.db), Arc::clone(&self.writes));
        tokio::task::spawn_blocking(move || {
            let (reply, result) = std::sync::mpsc::sync_channel(1);
            let op: WriteOp = Box::new(move |table| {
                let outcome = table.map_err(Clone::clone).and_then(f);
                let aborts = matches!(outcome, Err(TableError::Unavailable(_)));
                let reply: Reply = Box::new(move |committed: &Result<(), TableError>| {
                    // its own error first (a failed condition wrote nothing either way)
                    let _ = reply.send(outcome.and_then(|v| committed.clone().map(|()| v)));
                });
                (aborts, reply)
            });
            lock(&writes.waiting).push(op);
            {
                let _leading = lock(&writes.leader);
                let group = std::mem::take(&mut *lock(&writes.waiting));
                if !group.is_empty() {
                    commit_group(&db, group);
                }
            }
            // Whoever took this write committed it before this call could lead.
            result.recv().map_err(unavailable)?
        })
        .await
        .map_err(unavailable)?
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T, TableError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, TableError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(unavailable)?
    }
}

/// A lock, taken even if a holder panicked (what it guards stays consistent: a queue of
/// writes, or nothing).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `group`'s writes in one write transaction and commits it, unless one of them met
/// a storage error; then hands each its result.
fn commit_group(db: &Database, group: Vec<WriteOp>) {
    let (replies, committed) = match db.begin_write() {
        Ok(txn) => run_group(txn, group),
        Err(e) => fail_all(group, unavailable(e)),
    };
    for reply in replies {
        reply(&committed);
    }
}

/// Runs `group`'s writes in `txn`; returns their replies and the commit's outcome.
fn run_group(
    txn: redb::WriteTransaction,
    group: Vec<WriteOp>,
) -> (Vec<Reply>, Result<(), TableError>) {
    let mut table = match txn.open_table(ITEMS) {
        Ok(table) => table,
        Err(e) => return fail_all(group, unavailable(e)),
    };
    let mut aborted = false;
    let replies: Vec<Reply> = group
        .into_iter()
        .map(|op| {
            let (aborts, reply) = op(Ok(&mut table));
            aborted |= aborts;
            reply
        })
        .collect();
    drop(table);
    let committed = if aborted {
        txn.abort().map_err(unavailable).and(Err(unavailable(
            "another write in the same commit failed; nothing was written",
        )))
    } else {
        txn.commit().map_err(unavailable)
    };
    (replies, committed)
}

/// Every write of `group` told `e`, which kept the group from running.
fn fail_all(group: Vec<WriteOp>, e: TableError) -> (Vec<Reply>, Result<(), TableError>) {
    let replies = group.into_iter().map(|op| op(Err(&e)).1).collect();
    (replies, Err(e))
}

fn condition_holds(existing: Option<&[u8]>, condition: &Condition) -> Result<bool, TableError> {
    Ok(match condition {
        Condition::Always => true,
        Condition::NotExists => existing.is_none(),
        Condition::AttributeEquals { name, value } => match existing {
            None => false,
            Some(bytes) => {
                let stored: Stored = serde_json::from_slice(bytes).map_err(unavailable)?;
                stored.attrs.get(name) == Some(value)
            }
        },
    })
}

#[async_trait]
impl Table for RedbTable {
    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
        let (key, value) = encode(&item)?;
        self.write(move |table| {
            let existing = table.get(key.as_slice()).map_err(unavailable)?;
            let holds = condition_holds(existing.as_ref().map(|g| g.value()), &condition)?;
            drop(existing);
            if !holds {
                return Err(TableError::ConditionFailed);
            }
            table
                .insert(key.as_slice(), value.as_slice())
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn add_within(
        &self,
        pk: &str,
        sk: &str,
        adds: &[(&str, u64, u64)],
        expires_at: Option<i64>,
    ) -> Result<bool, TableError> {
        let key = key_bytes(pk, sk)?;
        let adds: Vec<(String, u64, u64)> = adds
            .iter()
            .map(|(n, a, l)| ((*n).to_owned(), *a, *l))
            .collect();
        let now = self.clock.now().timestamp();
        let (pk, sk) = (pk.to_owned(), sk.to_owned());
        self.write(move |table| {
            // inside one write transaction: redb runs one at a time, so the read and the
            // write are one step
            {
                let existing = table.get(key.as_slice()).map_err(unavailable)?;
                let mut item = match existing.as_ref().map(|g| decode(key.as_slice(), g.value())) {
                    Some(Ok(i)) if i.expires_at.is_none_or(|t| t > now) => i,
                    Some(Err(e)) => return Err(e),
                    _ => Item {
                        pk,
                        sk,
                        expires_at,
                        attrs: serde_json::Map::new(),
                    },
                };
                drop(existing);
                for (name, amount, limit) in &adds {
                    let used = item
                        .attrs
                        .get(name)
                        .and_then(serde_json::Value::as_u64)
                        .unwrap_or(0);
                    let sum = used.saturating_add(*amount);
                    if sum > *limit {
                        return Ok(false);
                    }
                    item.attrs.insert(name.clone(), sum.into());
                }
                let (_, value) = encode(&item)?;
                table
                    .insert(key.as_slice(), value.as_slice())
                    .map_err(unavailable)?;
            }
            Ok(true)
        })
        .await
    }

    async fn put_each_absent(&self, items: Vec<Item>) -> Vec<Result<bool, TableError>> {
        let encoded: Vec<Result<(Vec<u8>, Vec<u8>), TableError>> =
            items.iter().map(encode).collect();
        let count = encoded.len();
        let written = self
            .write(move |table| {
                // each item on its own condition, all in one commit
                let mut out = Vec::with_capacity(encoded.len());
                {
                    for e in encoded {
                        let Ok((key, value)) = e else {
                            out.push(e.map(|_| false));
                            continue;
                        };
                        let existing = table.get(key.as_slice()).map_err(unavailable)?;
                        let holds = condition_holds(
                            existing.as_ref().map(|g| g.value()),
                            &Condition::NotExists,
                        )?;
                        drop(existing);
                        if holds {
                            table
                                .insert(key.as_slice(), value.as_slice())
                                .map_err(unavailable)?;
                        }
                        out.push(Ok(holds));
                    }
                }
                Ok(out)
            })
            .await;
        match written {
            Ok(out) => out,
            Err(e) => (0..count).map(|_| Err(e.clone())).collect(),
        }
    }

    async fn transact_put(&self, puts: Vec<(Item, Condition)>) -> Result<(), TableError> {
        roi_domain::ports::check_transaction(&puts)?;
        let encoded: Vec<(Vec<u8>, Vec<u8>, Condition)> = puts
            .into_iter()
            .map(|(item, condition)| encode(&item).map(|(k, v)| (k, v, condition)))
            .collect::<Result<_, _>>()?;
        self.write(move |table| {
            // Every condition is checked before anything is written, and nothing is
            // written unless all hold.
            for (key, _, condition) in &encoded {
                let existing = table.get(key.as_slice()).map_err(unavailable)?;
                let holds = condition_holds(existing.as_ref().map(|g| g.value()), condition)?;
                if !holds {
                    return Err(TableError::ConditionFailed);
                }
            }
            for (key, value, _) in &encoded {
                table
                    .insert(key.as_slice(), value.as_slice())
                    .map_err(unavailable)?;
            }
            Ok(())
        })
        .await
    }

    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, TableError> {
        let key = key_bytes(pk, sk)?;
        let now = self.clock.now();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(ITEMS).map_err(unavailable)?;
            let Some(guard) = table.get(key.as_slice()).map_err(unavailable)? else {
                return Ok(None);
            };
            let item = decode(&key, guard.value())?;
            Ok((!item.is_expired(now)).then_some(item))
        })
        .await
    }

    async fn query(&self, query: Query) -> Result<Page, TableError> {
        let now = self.clock.now();
        let (lo_sk, hi_sk): (String, Vec<u8>) = match &query.sort {
            SortKey::All => (String::new(), vec![0xFF]),
            SortKey::Prefix(p) => (p.clone(), [p.as_bytes(), &[0xFF]].concat()),
            SortKey::Between(a, b) => (a.clone(), b.as_bytes().to_vec()),
        };
        let lower = key_bytes(&query.pk, &lo_sk)?;
        let mut upper = key_bytes(&query.pk, "")?;
        upper.extend_from_slice(&hi_sk);
        let cursor = match &query.cursor {
            Some(Cursor(sk)) => Some(key_bytes(&query.pk, sk)?),
            None => None,
        };
        let limit = query.limit.map_or(usize::MAX, |l| l.max(1) as usize);
        let descending = query.descending;
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(ITEMS).map_err(unavailable)?;
            let (lo, hi) = match (&cursor, descending) {
                (Some(c), false) => (Bound::Excluded(c.as_slice()), Bound::Included(upper.as_slice())),
                (Some(c), true) => (Bound::Included(lower.as_slice()), Bound::Excluded(c.as_slice())),
                (None, _) => (Bound::Included(lower.as_slice()), Bound::Included(upper.as_slice())),
            };
            if matches!((lo, hi), (Bound::Excluded(a) | Bound::Included(a), Bound::Excluded(b) | Bound::Included(b)) if a > b)
            {
                return Ok(Page::default());
            }
            let range = table.range::<&[u8]>((lo, hi)).map_err(unavailable)?;
            let iter: Box<dyn Iterator<Item = _>> =
                if descending { Box::new(range.rev()) } else { Box::new(range) };
            // `limit` counts the items read, before expired ones are dropped, as DynamoDB
            // applies Limit before a filter.
            let (mut read, mut items, mut last_sk, mut more) = (0usize, Vec::new(), None, false);
            for entry in iter {
                if read == limit {
                    more = true;
                    break;
                }
                let (k, v) = entry.map_err(unavailable)?;
                let item = decode(k.value(), v.value())?;
                read += 1;
                last_sk = Some(item.sk.clone());
                if !item.is_expired(now) {
                    items.push(item);
                }
            }
            Ok(Page { items, next: if more { last_sk.map(Cursor) } else { None } })
        })
        .await
    }

    async fn batch_get(&self, keys: Vec<Key>) -> Result<Vec<Item>, TableError> {
        let unique: std::collections::BTreeSet<Key> = keys.into_iter().collect();
        let keys = unique
            .iter()
            .map(|k| key_bytes(&k.pk, &k.sk))
            .collect::<Result<Vec<_>, _>>()?;
        let now = self.clock.now();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(ITEMS).map_err(unavailable)?;
            let mut found = Vec::new();
            for key in &keys {
                if let Some(guard) = table.get(key.as_slice()).map_err(unavailable)? {
                    let item = decode(key, guard.value())?;
                    if !item.is_expired(now) {
                        found.push(item);
                    }
                }
            }
            Ok(found)
        })
        .await
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<(), TableError> {
        let encoded = items.iter().map(encode).collect::<Result<Vec<_>, _>>()?;
        self.write(move |table| {
            for (k, v) in &encoded {
                table
                    .insert(k.as_slice(), v.as_slice())
                    .map_err(unavailable)?;
            }
            Ok(())
        })
        .await
    }

    async fn delete(&self, pk: &str, sk: &str) -> Result<(), TableError> {
        let key = key_bytes(pk, sk)?;
        self.write(move |table| {
            table.remove(key.as_slice()).map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn batch_delete(&self, keys: Vec<Key>) -> Result<(), TableError> {
        let keys = keys
            .iter()
            .map(|k| key_bytes(&k.pk, &k.sk))
            .collect::<Result<Vec<_>, _>>()?;
        self.write(move |table| {
            for key in &keys {
                table.remove(key.as_slice()).map_err(unavailable)?;
            }
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    //! The group commit, made deterministic by holding the leader's lock while writes queue.
    #![allow(clippy::unwrap_used)]

    use super::*;
    use roi_domain::ports::FixedClock;

    fn item(sk: &str) -> Item {
        let mut attrs = Map::new();
        attrs.insert("v".into(), sk.into());
        Item {
            pk: "P".into(),
            sk: sk.into(),
            expires_at: None,
            attrs,
        }
    }

    fn open(dir: &Path) -> RedbTable {
        let clock = Arc::new(FixedClock::new("2026-11-20T12:00:00Z".parse().unwrap()));
        RedbTable::open(&dir.join("t.redb"), clock).unwrap()
    }

    /// Holds the leader's lock until `n` writes wait, then lets them commit as one group.
    fn release_when_waiting(table: &RedbTable, leading: std::sync::MutexGuard<'_, ()>, n: usize) {
        while lock(&table.writes.waiting).len() < n {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        drop(leading);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_waiting_together_commit_together_and_a_failed_condition_spoils_none() {
        // GIVEN an item "taken", and the leader's lock held while 9 writes queue: 8 new
        // items and a put of "taken" only if absent
        let dir = tempfile::tempdir().unwrap();
        let table = open(dir.path());
        table.put(item("taken"), Condition::Always).await.unwrap();
        let leading = lock(&table.writes.leader);
        let mut calls = Vec::new();
        for n in 0..8 {
            let t = table.clone();
            calls.push(tokio::spawn(async move {
                t.put(item(&format!("new-{n}")), Condition::NotExists).await
            }));
        }
        let t = table.clone();
        calls.push(tokio::spawn(async move {
            t.put(item("taken"), Condition::NotExists).await
        }));
        release_when_waiting(&table, leading, 9);

        // WHEN they commit
        let mut results = Vec::new();
        for call in calls {
            results.push(call.await.unwrap());
        }

        // THEN the 8 are written, and the one whose condition failed is told so
        assert!(results[..8].iter().all(Result::is_ok), "{results:?}");
        assert!(matches!(results[8], Err(TableError::ConditionFailed)));
        for n in 0..8 {
            assert!(table.get("P", &format!("new-{n}")).await.unwrap().is_some());
        }
        assert!(lock(&table.writes.waiting).is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_storage_error_in_a_group_writes_nothing_of_the_group() {
        // GIVEN a put and a write that fails with a storage error after writing, queued
        // into one group
        let dir = tempfile::tempdir().unwrap();
        let table = open(dir.path());
        let leading = lock(&table.writes.leader);
        let t = table.clone();
        let put = tokio::spawn(async move { t.put(item("a"), Condition::Always).await });
        let t = table.clone();
        let failing = tokio::spawn(async move {
            t.write(|items| {
                let (key, value) = encode(&item("b"))?;
                items
                    .insert(key.as_slice(), value.as_slice())
                    .map_err(unavailable)?;
                Err::<(), _>(unavailable("disk full"))
            })
            .await
        });
        release_when_waiting(&table, leading, 2);

        // WHEN the group runs
        let (put, failing) = (put.await.unwrap(), failing.await.unwrap());

        // THEN neither is written, each call is told the store was unavailable, and a retry
        // of the put succeeds
        assert!(matches!(&failing, Err(TableError::Unavailable(m)) if m.contains("disk full")));
        assert!(matches!(&put, Err(TableError::Unavailable(_))), "{put:?}");
        assert!(table.get("P", "a").await.unwrap().is_none());
        assert!(table.get("P", "b").await.unwrap().is_none());
        table.put(item("a"), Condition::Always).await.unwrap();
        assert!(table.get("P", "a").await.unwrap().is_some());
    }
}
