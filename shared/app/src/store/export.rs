//! Every stored item of one client, for the client's export (GDPR Art. 20) and for the
//! checks of its erasure.

use std::collections::BTreeSet;

use chrono::{Datelike, Days, NaiveDate};
use roi_domain::event::EVENT_SHARDS;
#[cfg(doc)]
use roi_domain::event::EVENT_TTL_DAYS;
use roi_domain::ports::{Item, Key, Query, query_all};
use roi_domain::{Client, ProjectId};

use super::keys;
use super::{Store, StoreError};

/// The longest history looked through for a client's records, days (about ten years;
/// nothing is rolled up before a client's earliest go-live).
pub const MAX_HISTORY_DAYS: u64 = 3_660;

/// How far a client's items are looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSpan {
    /// The first day whose raw events and daily roll-up are read (events may be sent for
    /// any past day, and are kept [`EVENT_TTL_DAYS`] from receipt).
    pub from: NaiveDate,
    /// The first month whose audit entries are read (through the month of the day after
    /// [`ClientSpan::to`], as entries are filed by UTC month).
    pub audit_from: NaiveDate,
    /// The last day of both (the client's today).
    pub to: NaiveDate,
}

impl ClientSpan {
    /// Every day from [`ClientSpan::from`] to the day after [`ClientSpan::to`] (an event's
    /// time may run a little ahead of the clock).
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> {
        let last = self.to.checked_add_days(Days::new(1)).unwrap_or(self.to);
        self.from.iter_days().take_while(move |d| *d <= last)
    }
}

impl Store {
    /// Hands `sink` every stored item of `client`, partition by partition: its record and
    /// listing, everything under `CLIENT#{client}` and each of its projects' partitions, the
    /// report, dashboard and form links those list, its API keys and their rate counters,
    /// its audit entries of `span`'s months, its raw events of `span`'s days still kept,
    /// with their identity claims, its invoiced costs, its project summaries, and its daily
    /// roll-ups of `span`'s days (every generation's items). Operators' sign-in claims and sessions
    /// belong to no client and are not handed over.
    ///
    /// # Errors
    /// [`StoreError::Table`], or what `sink` returns; the items handed over before it
    /// stay handed over.
    pub async fn each_client_item<E: From<StoreError>>(
        &self,
        client: &Client,
        span: ClientSpan,
        mut sink: impl FnMut(Item) -> Result<(), E>,
    ) -> Result<(), E> {
        let id = &client.id;
        let table = self.table.as_ref();
        let all = |pk: String| async move {
            query_all(table, Query::partition(pk))
                .await
                .map_err(StoreError::from)
        };
        let mut singles = vec![Key {
            pk: keys::CLIENTS.into(),
            sk: keys::client(id),
        }];
        let mut projects = Vec::new();
        let mut key_ids = Vec::new();
        for item in all(keys::client(id)).await? {
            match keys::record_kind(&item.pk, &item.sk) {
                Some("project listing") => {
                    if let Some(p) = item.sk.strip_prefix(keys::prefix::PROJECT) {
                        projects.push(p.parse::<ProjectId>().map_err(|e| {
                            StoreError::Conflict(format!("a project listing {}: {e}", item.sk))
                        })?);
                    }
                }
                Some("API key listing") => {
                    if let Some(hash) = item.attrs.get("hash").and_then(|h| h.as_str()) {
                        singles.push(Key {
                            pk: keys::api_key(hash),
                            sk: keys::API_KEY.into(),
                        });
                    }
                    if let Some(k) = item.sk.strip_prefix(keys::prefix::API_KEY) {
                        key_ids.push(k.to_owned());
                    }
                }
                Some("dashboard link listing") => singles.push(Key {
                    pk: item.sk.clone(),
                    sk: keys::LINK.into(),
                }),
                _ => {}
            }
            sink(item)?;
        }
        for p in &projects {
            for item in all(keys::project(p)).await? {
                if matches!(
                    keys::record_kind(&item.pk, &item.sk),
                    Some("report link listing" | "form link listing")
                ) {
                    singles.push(Key {
                        pk: item.sk.clone(),
                        sk: keys::LINK.into(),
                    });
                }
                sink(item)?;
            }
        }
        for k in &key_ids {
            for item in all(keys::rate_counters(k)).await? {
                sink(item)?;
            }
        }
        for item in self
            .table
            .batch_get(singles)
            .await
            .map_err(StoreError::from)?
        {
            sink(item)?;
        }
        // Audit entries are filed by UTC month, and UTC runs up to a day ahead of the
        // client's today: on the 1st, before the client's midnight, this month's entries
        // are already filed under it.
        let mut month = span.audit_from.with_day(1).unwrap_or(span.audit_from);
        let last = span.to.succ_opt().unwrap_or(span.to);
        while month <= last {
            let label = format!("{:04}-{:02}", month.year(), month.month());
            for item in all(keys::audit_month(id, &label)).await? {
                sink(item)?;
            }
            let Some(next) = month.checked_add_months(chrono::Months::new(1)) else {
                break;
            };
            month = next;
        }
        for day in span.days() {
            let mut claims = BTreeSet::new();
            for shard in 0..EVENT_SHARDS {
                for item in all(keys::raw_events(id, day, shard)).await? {
                    if let Some((_, event_id)) = item.sk.rsplit_once('#') {
                        let (pk, sk) = keys::event_claim_of(id, event_id);
                        claims.insert(Key { pk, sk: sk.into() });
                    }
                    sink(item)?;
                }
            }
            let claims = self.table.batch_get(claims.into_iter().collect()).await;
            for item in claims.map_err(StoreError::from)? {
                sink(item)?;
            }
        }
        for item in all(keys::invoiced_costs(id)).await? {
            sink(item)?;
        }
        let summaries = Query::prefix(keys::PORTFOLIO, keys::summaries_of(id));
        for item in query_all(table, summaries)
            .await
            .map_err(StoreError::from)?
        {
            sink(item)?;
        }
        for day in span.days() {
            for item in all(keys::rollup(id, day)).await? {
                sink(item)?;
            }
            if day.day() == 1 {
                for item in all(keys::monthly_rollup(id, day)).await? {
                    sink(item)?;
                }
            }
        }
        Ok(())
    }
}
