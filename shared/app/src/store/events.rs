//! Raw events, their identity claims, and the markers of changed client-days.

use chrono::{DateTime, Utc};
use roi_domain::ClientId;
use roi_domain::event::EventClaim;
use roi_domain::ports::{Condition, Item, Key, Query, TableError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::keys;
use super::{Store, StoreError};

/// Raw events read per query page by [`Store::each_event_of_day`] (about 0.3–1 MB, within
/// DynamoDB's 1 MB page).
pub const EVENT_PAGE: u32 = 1_000;

impl Store {
    /// The identity claims stored under these keys ([`keys::event_claim`]), by key.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn event_claims(
        &self,
        keys: Vec<Key>,
    ) -> Result<std::collections::HashMap<Key, EventClaim>, StoreError> {
        if keys.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        self.table
            .batch_get(keys)
            .await?
            .iter()
            .map(|i| Ok((i.key(), i.to_record()?)))
            .collect()
    }

    /// Claims many events' identities at once ([`Table::put_each_absent`](roi_domain::ports::Table::put_each_absent):
    /// one commit on the embedded store), each with a conditional put of its item (built
    /// from an [`EventClaim`]): in order, `Ok(None)` for a claim this call took,
    /// `Ok(Some(theirs))` for one stored before, or the error of that claim alone.
    pub async fn claim_events(
        &self,
        claims: Vec<Item>,
    ) -> Vec<Result<Option<EventClaim>, StoreError>> {
        let keys: Vec<Key> = claims.iter().map(Item::key).collect();
        let written = self.table.put_each_absent(claims).await;
        let lost: Vec<Key> = keys
            .iter()
            .zip(&written)
            .filter(|(_, w)| matches!(w, Ok(false)))
            .map(|(k, _)| k.clone())
            .collect();
        let theirs = self.event_claims(lost).await;
        keys.into_iter()
            .zip(written)
            .map(|(key, w)| match w {
                Ok(true) => Ok(None),
                Ok(false) => match &theirs {
                    Ok(found) => match found.get(&key) {
                        Some(c) => Ok(Some(c.clone())),
                        // claimed, then expired in between: the identity is free again
                        None => Err(StoreError::Conflict(format!(
                            "the claim {} changed while being read; send the event again",
                            key.pk
                        ))),
                    },
                    Err(e) => Err(StoreError::Conflict(format!(
                        "the claim {} could not be read back: {e}",
                        key.pk
                    ))),
                },
                Err(e) => Err(e.into()),
            })
            .collect()
    }

    /// Which of these keys hold an item already (events already stored).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn existing_keys(&self, keys: Vec<Key>) -> Result<Vec<Key>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let found = self.table.batch_get(keys).await?;
        Ok(found.iter().map(Item::key).collect())
    }

    /// Writes prepared items with BatchWriteItem (raw events). On
    /// [`TableError::Incomplete`] the unlisted items are written.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_batch(&self, items: Vec<Item>) -> Result<(), StoreError> {
        Ok(self.table.batch_put(items).await?)
    }

    /// Every stored raw event of a client's day, all shards, in no particular order. For a
    /// whole day of a busy client use [`Store::each_event_of_day`], which holds one page.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn events_of_day(
        &self,
        client: &ClientId,
        day: chrono::NaiveDate,
    ) -> Result<Vec<roi_domain::stored_event::StoredEvent>, StoreError> {
        let mut events = Vec::new();
        self.each_event_of_day(client, day, |e| {
            events.push(e);
            Ok(())
        })
        .await?;
        Ok(events)
    }

    /// Hands every stored raw event of a client's day to `each`, page by page
    /// ([`EVENT_PAGE`] items at most in memory): shard by shard, each in key order (time,
    /// then event id), so the same stored events come in the same order. Returns how many
    /// there were.
    ///
    /// # Errors
    /// [`StoreError::Table`], or the first error `each` returns (reading stops there).
    pub async fn each_event_of_day(
        &self,
        client: &ClientId,
        day: chrono::NaiveDate,
        mut each: impl FnMut(roi_domain::stored_event::StoredEvent) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let mut count = 0;
        for shard in 0..roi_domain::event::EVENT_SHARDS {
            let mut q = Query::partition(keys::raw_events(client, day, shard));
            q.limit = Some(EVENT_PAGE);
            loop {
                let page = self.table.query(q.clone()).await?;
                for item in page.items {
                    each(item.into_record()?)?;
                    count += 1;
                }
                match page.next {
                    Some(cursor) => q.cursor = Some(cursor),
                    None => break,
                }
            }
        }
        Ok(count)
    }

    /// Rewrites the raw events of a client-day that `change` changes (it returns whether it
    /// did), each at its own key and with its own expiry; returns how many were rewritten.
    /// The caller marks the day changed first, so its roll-up is restated.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn rewrite_events_of_day(
        &self,
        client: &ClientId,
        day: chrono::NaiveDate,
        mut change: impl FnMut(&mut roi_domain::stored_event::StoredEvent) -> bool,
    ) -> Result<usize, StoreError> {
        let mut rewritten = 0;
        for shard in 0..roi_domain::event::EVENT_SHARDS {
            let q = Query::partition(keys::raw_events(client, day, shard));
            for item in roi_domain::ports::query_all(self.table.as_ref(), q).await? {
                let mut event: roi_domain::stored_event::StoredEvent = item.to_record()?;
                if change(&mut event) {
                    let mut new = Item::packed(item.pk.clone(), item.sk.clone(), &event)?;
                    new.expires_at = item.expires_at;
                    self.table.put(new, Condition::Always).await?;
                    rewritten += 1;
                }
            }
        }
        Ok(rewritten)
    }

    /// Marks client-days as changed (an event or an import was written for them), so the
    /// next scheduled run rolls them up again; each marker stamps `changed_at` (now).
    /// Written before the events they announce, so a write cut short after them is still
    /// followed by a roll-up.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn mark_days_changed(
        &self,
        client: &ClientId,
        days: &std::collections::BTreeSet<chrono::NaiveDate>,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        for day in days {
            let marker = ChangedDay {
                day: *day,
                changed_at: now,
                rolled_up: false,
            };
            let mut item =
                Item::from_record(keys::client(client), keys::changed_day(*day), &marker)?;
            item.expires_at =
                Some((now + chrono::Duration::days(roi_domain::event::EVENT_TTL_DAYS)).timestamp());
            self.table.put(item, Condition::Always).await?;
        }
        Ok(())
    }

    /// A client's days changed since they were last rolled up, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn changed_days(&self, client: &ClientId) -> Result<Vec<ChangedDay>, StoreError> {
        let all: Vec<ChangedDay> = self
            .records(Query::prefix(keys::client(client), keys::prefix::CHANGED))
            .await?;
        Ok(all.into_iter().filter(|m| !m.rolled_up).collect())
    }

    /// Records that `marker`'s day was rolled up, unless it changed again meanwhile (then
    /// it stays for the next run).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn day_rolled_up(
        &self,
        client: &ClientId,
        marker: &ChangedDay,
    ) -> Result<(), StoreError> {
        let done = ChangedDay {
            rolled_up: true,
            ..marker.clone()
        };
        let mut item =
            Item::from_record(keys::client(client), keys::changed_day(marker.day), &done)?;
        item.expires_at = Some(
            (marker.changed_at + chrono::Duration::days(roi_domain::event::EVENT_TTL_DAYS))
                .timestamp(),
        );
        let unchanged = Condition::AttributeEquals {
            name: "changed_at".into(),
            value: serde_json::to_value(marker.changed_at).unwrap_or(Value::Null),
        };
        match self.table.put(item, unchanged).await {
            Ok(()) | Err(TableError::ConditionFailed) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// A client-day whose raw events changed after it was rolled up (pk `CLIENT#{client}`, sk
/// `CHANGED#{day}`, TTL 90 days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedDay {
    /// The client's day.
    pub day: chrono::NaiveDate,
    /// When an event for it was last written, UTC.
    pub changed_at: DateTime<Utc>,
    /// Whether the roll-up has caught up with `changed_at`.
    pub rolled_up: bool,
}
