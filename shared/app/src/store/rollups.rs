//! Daily roll-ups, written as generations.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use roi_domain::ClientId;
use roi_domain::ports::{Condition, Item, Key, Query, Table, TableError, query_all};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::keys;
use super::{Store, StoreError};

/// User hashes per roll-up item: 10,000 × 17 bytes stays well inside DynamoDB's 400 KB.
pub const ROLLUP_USERS_PER_ITEM: usize = 10_000;

/// One chunk of a roll-up's user set.
#[derive(Deserialize)]
struct Users {
    users: Vec<String>,
}

/// The attribute of a roll-up group item that holds the group's name.
const GROUP_NAME: &str = "group_name";

/// Items read a page when a roll-up's superseded generation is looked for and deleted, and
/// items of a new generation written a call: a bound on what is held at once (a day of
/// 50,000 users is ~40,000 items a generation; DynamoDB pages at 1 MB anyway, the embedded
/// store does not).
const PAGE: usize = 1_000;

/// A roll-up group's name: the one its item carries, else (items written before names were
/// kept) the one in its sort key.
fn group_name(item: &Item, from_key: &str) -> Result<String, StoreError> {
    #[derive(Deserialize)]
    struct Named {
        group_name: Option<String>,
    }
    Ok(item
        .to_record::<Named>()?
        .group_name
        .unwrap_or_else(|| from_key.to_owned()))
}

/// A roll-up group item: the record under [`keys::group`], with its name beside it.
fn group_item<T: Serialize>(
    pk: &str,
    prefix: &str,
    name: &str,
    record: &T,
) -> Result<Item, TableError> {
    let mut item = Item::from_record(pk, keys::group(prefix, name), record)?;
    item.attrs.insert(GROUP_NAME.into(), Value::from(name));
    Ok(item)
}

/// Items written a page at a time as they are added: one `batch_put` per [`PAGE`] items.
struct Pages<'a> {
    table: &'a dyn Table,
    items: Vec<Item>,
}

impl<'a> Pages<'a> {
    fn new(table: &'a dyn Table) -> Self {
        Self {
            table,
            items: Vec::with_capacity(PAGE),
        }
    }

    /// Adds `item`, writing the page once it is full.
    async fn add(&mut self, item: Item) -> Result<(), TableError> {
        self.items.push(item);
        if self.items.len() >= PAGE {
            let page = std::mem::replace(&mut self.items, Vec::with_capacity(PAGE));
            self.table.batch_put(page).await?;
        }
        Ok(())
    }

    /// Writes what is left.
    async fn finish(self) -> Result<(), TableError> {
        self.table.batch_put(self.items).await
    }
}

/// Which generation of a roll-up day is in force: a random id per write, so two runs
/// writing the same day at once never share (or delete) each other's items.
#[derive(Serialize, Deserialize)]
struct Generation {
    generation: String,
}

impl Generation {
    /// A new generation id: 16 random hex digits (the clock's nanoseconds if the system
    /// has no randomness to give).
    fn new(now: DateTime<Utc>) -> Self {
        let mut bytes = [0u8; 8];
        let generation = match getrandom::fill(&mut bytes) {
            Ok(()) => hex::encode(bytes),
            Err(_) => format!("{:016x}", now.timestamp_nanos_opt().unwrap_or_default()),
        };
        Self { generation }
    }
}

impl Store {
    /// Stores a client-day's roll-up, replacing the one stored, so that a reader sees the
    /// old roll-up or the new one, never a mixture: the new one is written as a new
    /// generation (sort keys `G{id}#…`, the id random: a summary item, the user set in chunks of
    /// [`ROLLUP_USERS_PER_ITEM`], one item per usage group, per agent and per project), then
    /// the `CURRENT` item is moved to it with a write conditioned on the generation read
    /// before, then the items of other generations are deleted. Items are written, and read
    /// and deleted, 1,000 at a time, so memory does not grow with a day's groups beyond the
    /// roll-up itself. A write cut short leaves the old generation
    /// in force (its stray items go with the next write). The open-ended maps inside the
    /// summary, agent and project items are capped first (`Rollup::cap_named_maps`).
    ///
    /// Group names come from event data (up to 256 characters, so up to 1 KiB of UTF-8):
    /// a name longer than [`keys::MAX_NAME_BYTES_IN_KEY`] bytes is replaced in the sort key by its
    /// hash ([`keys::group`]), and every group item carries its name, so DynamoDB's 1,024-byte
    /// sort-key limit is never reached.
    ///
    /// # Errors
    /// [`StoreError::Table`]; [`StoreError::Conflict`] when another write moved the day's
    /// generation meanwhile (its roll-up is in force; this one's items are removed).
    pub async fn put_rollup(&self, r: &roi_domain::rollup::Rollup) -> Result<(), StoreError> {
        self.put_rollup_at(keys::rollup(&r.client_id, r.from), r)
            .await
    }

    /// Stores a closed month's roll-up (its days merged; `r.from` the month's first day)
    /// as [`Store::put_rollup`] stores a day's, under [`keys::monthly_rollup`].
    ///
    /// # Errors
    /// As [`Store::put_rollup`].
    pub async fn put_monthly_rollup(
        &self,
        r: &roi_domain::rollup::Rollup,
    ) -> Result<(), StoreError> {
        self.put_rollup_at(keys::monthly_rollup(&r.client_id, r.from), r)
            .await
    }

    async fn put_rollup_at(
        &self,
        pk: String,
        r: &roi_domain::rollup::Rollup,
    ) -> Result<(), StoreError> {
        let current: Option<Generation> = self.get_record(&pk, keys::CURRENT).await?;
        let next = Generation::new(self.clock.now());
        let prefix = keys::generation(&next.generation);
        // Written a page at a time as they are built: no reader sees them before `CURRENT`
        // names their generation.
        let mut out = Pages::new(self.table.as_ref());
        // The figures without the user set and the usage groups, which are stored in items of
        // their own and written from `r` as borrowed: a copy of the whole roll-up would hold
        // the day's users and groups twice. The maps copied here are capped, then the agents
        // and projects taken out to their own items.
        let mut summary = roi_domain::rollup::Rollup {
            client_id: r.client_id.clone(),
            from: r.from,
            to: r.to,
            events: r.events,
            usage: r.usage.clone(),
            by: BTreeMap::new(),
            users: BTreeSet::new(),
            wau: r.wau,
            mau: r.mau,
            sessions: r.sessions.clone(),
            features: r.features.clone(),
            agents: r.agents.clone(),
            outcomes: r.outcomes.clone(),
            audit: r.audit.clone(),
            projects: r.projects.clone(),
        };
        summary.cap_named_maps();
        let agent_stats = std::mem::take(&mut summary.agents);
        let project_totals = std::mem::take(&mut summary.projects);
        let at = |kind| keys::in_generation(&prefix, kind);
        out.add(Item::from_record(
            pk.clone(),
            at(keys::prefix::SUMMARY),
            &summary,
        )?)
        .await?;
        let users: Vec<&String> = r.users.iter().collect();
        for (n, chunk) in users.chunks(ROLLUP_USERS_PER_ITEM).enumerate() {
            let record = serde_json::json!({ "users": chunk });
            out.add(Item::from_record(
                pk.clone(),
                keys::rollup_users(&prefix, n),
                &record,
            )?)
            .await?;
        }
        for (dim, groups) in &r.by {
            let dim = keys::usage_dimension(&prefix, dim);
            for (value, totals) in groups {
                out.add(group_item(&pk, &dim, value, totals)?).await?;
            }
        }
        let agents = at(keys::prefix::AGENT);
        for (agent, stats) in &agent_stats {
            out.add(group_item(&pk, &agents, agent, stats)?).await?;
        }
        let projects = at(keys::prefix::PROJECT_GROUP);
        for (project, totals) in &project_totals {
            out.add(group_item(&pk, &projects, project, totals)?)
                .await?;
        }
        out.finish().await?;
        let pointer = Item::from_record(pk.clone(), keys::CURRENT, &next)?;
        let condition = match &current {
            None => Condition::NotExists,
            Some(c) => Condition::AttributeEquals {
                name: "generation".into(),
                value: Value::from(c.generation.clone()),
            },
        };
        let moved = self.table.put(pointer, condition).await;
        // What no reader is pointed at any more (or, when another write won, ours), found and
        // deleted a page at a time (one `batch_delete` each): holding both generations whole
        // doubled the job's peak memory, and deleting one item a call took 98–188 s for a day
        // of 50,000 users (issue 19's memory benchmark, a day rolled up again). The cursor is
        // a sort key, so what lies behind it may go before the next page is read.
        let keep = |sk: &str| match &moved {
            Ok(()) => sk == keys::CURRENT || sk.starts_with(&prefix),
            Err(_) => !sk.starts_with(&prefix),
        };
        let mut q = Query::partition(pk.clone());
        q.limit = Some(PAGE as u32);
        loop {
            let page = self.table.query(q.clone()).await?;
            let gone: Vec<Key> = page
                .items
                .into_iter()
                .map(|i| i.key())
                .filter(|k| !keep(&k.sk))
                .collect();
            if !gone.is_empty() {
                self.table.batch_delete(gone).await?;
            }
            match page.next {
                Some(cursor) => q.cursor = Some(cursor),
                None => break,
            }
        }
        match moved {
            Ok(()) => Ok(()),
            Err(TableError::ConditionFailed) => Err(StoreError::Conflict(format!(
                "the roll-up of {} {} was replaced by another run meanwhile",
                r.client_id, r.from
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// A client-day's stored roll-up: the generation `CURRENT` names, or the items of a
    /// roll-up written before generations (no `CURRENT`).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn rollup(
        &self,
        client: &ClientId,
        day: chrono::NaiveDate,
    ) -> Result<Option<roi_domain::rollup::Rollup>, StoreError> {
        self.rollup_at(keys::rollup(client, day)).await
    }

    /// A closed month's stored roll-up (`month` its first day), or `None` when none is
    /// stored (an open month, or one closed before monthly roll-ups existed).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn monthly_rollup(
        &self,
        client: &ClientId,
        month: chrono::NaiveDate,
    ) -> Result<Option<roi_domain::rollup::Rollup>, StoreError> {
        self.rollup_at(keys::monthly_rollup(client, month)).await
    }

    async fn rollup_at(
        &self,
        pk: String,
    ) -> Result<Option<roi_domain::rollup::Rollup>, StoreError> {
        let items = query_all(self.table.as_ref(), Query::partition(pk)).await?;
        let prefix = match items.iter().find(|i| i.sk == keys::CURRENT) {
            Some(c) => keys::generation(&c.to_record::<Generation>()?.generation),
            None => String::new(),
        };
        let items: Vec<(&Item, &str)> = items
            .iter()
            .filter_map(|i| Some((i, i.sk.strip_prefix(prefix.as_str())?)))
            .collect();
        let Some((summary, _)) = items.iter().find(|(_, sk)| *sk == keys::prefix::SUMMARY) else {
            return Ok(None);
        };
        let mut r: roi_domain::rollup::Rollup = summary.to_record()?;
        for (item, sk) in &items {
            if sk.starts_with(keys::prefix::USERS) {
                r.users.extend(item.to_record::<Users>()?.users);
            } else if let Some(rest) = sk.strip_prefix(keys::prefix::USAGE) {
                let (dim, value) = rest.split_once('#').unwrap_or((rest, ""));
                r.by.entry(dim.to_owned())
                    .or_default()
                    .insert(group_name(item, value)?, item.to_record()?);
            } else if let Some(agent) = sk.strip_prefix(keys::prefix::AGENT) {
                r.agents.insert(group_name(item, agent)?, item.to_record()?);
            } else if let Some(project) = sk.strip_prefix(keys::prefix::PROJECT_GROUP) {
                r.projects
                    .insert(group_name(item, project)?, item.to_record()?);
            }
        }
        Ok(Some(r))
    }

    /// The distinct users of a stored client-day roll-up (empty when none is stored).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn rollup_users(
        &self,
        client: &ClientId,
        day: chrono::NaiveDate,
    ) -> Result<Vec<String>, StoreError> {
        let pk = keys::rollup(client, day);
        let current: Option<Generation> = self.get_record(&pk, keys::CURRENT).await?;
        let prefix = current.map_or_else(String::new, |c| keys::generation(&c.generation));
        let chunks: Vec<Users> = self
            .records(Query::prefix(
                pk,
                keys::in_generation(&prefix, keys::prefix::USERS),
            ))
            .await?;
        Ok(chunks.into_iter().flat_map(|c| c.users).collect())
    }
}
