//! Ingesting usage and cost events (issue 4): decode, validate, price, deduplicate and
//! write them, and say per event what happened.
//!
//! An event is reported `accepted` only once it is durably written (BatchWriteItem with its
//! unprocessed items resent, ARCHITECTURE.md). Its identity is its CloudEvents `source` and
//! `id`, as the spec defines it, never its `time`: before its raw record is written, the
//! event *claims* its identity with a conditional put of an [`EventClaim`] (pk
//! `EVENTID#{client}#{event_id}`), which holds the digest of its payload and where its raw
//! record goes. A resend of a claimed identity is `duplicate` when the payload is the same
//! (even with another `time`), and `conflict` when it differs; either way nothing is stored
//! twice. A claim whose raw record is missing (a write that failed or was cut short after the
//! claim) is completed by the resend, at the claimed key. Claims live as long as raw events
//! ([`EVENT_TTL_DAYS`] days). The client always comes from the caller's API key: every key
//! written names it.

use std::collections::{HashMap, HashSet};

use futures_util::StreamExt;

use chrono::{DateTime, NaiveDate, Utc};
use roi_domain::event::{
    self, BodyFormat, DecodeError, EVENT_TTL_DAYS, Event, EventClaim, EventData, EventKey, Named,
    Rejection,
};
use roi_domain::ports::{Item, Key, TableError};
use roi_domain::{ClientId, FieldError};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::pricing::{PriceTable, cost_mismatch};
pub use crate::store::StoredEvent;
use crate::store::{Store, StoreError, keys};

/// What happened to one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    /// Written now.
    Accepted,
    /// Stored already (same `source` and `id`), by an earlier request or earlier in this
    /// one; not written again.
    Duplicate,
    /// Its identity (`source` and `id`) is stored already with another payload; nothing
    /// was written. Give a new event a new `id`.
    Conflict,
    /// Invalid; `field` and `reason` say why. Sending it again as is will not help.
    Rejected,
    /// Valid, but storage did not take it after retries; send it again later.
    NotWritten,
}

/// One event's result, in request order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventResult {
    /// Position in the request (0-based; for NDJSON, the n-th non-blank line).
    pub index: usize,
    /// CloudEvents `id` and `source`, where readable.
    #[serde(flatten)]
    pub named: Named,
    /// What happened.
    pub status: EventStatus,
    /// The field at fault, for `rejected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why, for `rejected` and `not_written`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Notes on an accepted event: a model missing from the price table, a reported cost
    /// over 1 % from ours.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The outcome of one request: counts and one result per event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IngestReport {
    /// Events written now.
    pub accepted: usize,
    /// Events stored already.
    pub duplicate: usize,
    /// Events whose identity is stored already with another payload.
    pub conflict: usize,
    /// Invalid events.
    pub rejected: usize,
    /// Valid events storage did not take; retry them.
    pub not_written: usize,
    /// One result per event, in request order.
    pub results: Vec<EventResult>,
}

impl IngestReport {
    /// Whether every event was accepted.
    pub fn all_accepted(&self) -> bool {
        self.accepted == self.results.len()
    }
}

/// Why a request as a whole was refused.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The body cannot be read as events (→ 400, or 413 for too many).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The key's client is not registered (→ 403).
    #[error("client '{0}' does not exist")]
    UnknownClient(String),
    /// Storage failed before anything was written (→ 503).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Decodes, validates and stores the events of one request body for `client`.
///
/// # Errors
/// [`IngestError`] for request-level problems; per-event problems are in the report.
pub async fn ingest(
    store: &Store,
    prices: &PriceTable,
    client: &ClientId,
    body: &[u8],
    format: BodyFormat,
) -> Result<IngestReport, IngestError> {
    ingest_framed(store, prices, client, event::split(body, format)?).await
}

/// Validates and stores events already framed by [`event::split`] (the events API splits
/// once, to count them against the key's rate budget, then hands them here).
///
/// # Errors
/// As [`ingest`], but for decoding.
pub async fn ingest_framed(
    store: &Store,
    prices: &PriceTable,
    client: &ClientId,
    framed: Vec<event::RawEvent<'_>>,
) -> Result<IngestReport, IngestError> {
    let now = store.clock().now();
    let checked = framed
        .into_iter()
        .map(|raw| match raw {
            Ok(text) => event::validate(text, now),
            Err(error) => Err(Rejection {
                named: Named::default(),
                error,
            }),
        })
        .collect();
    store_events(store, prices, client, checked).await
}

/// Everything [`prepare`] needs about the client, read once per request.
pub struct ClientContext {
    /// The client.
    pub client: ClientId,
    /// Its time zone (its days).
    pub time_zone: chrono_tz::Tz,
    /// Its projects' ids.
    pub projects: HashSet<String>,
    /// The price table with its negotiated prices applied.
    pub prices: PriceTable,
    /// When the request is handled.
    pub now: DateTime<Utc>,
}

impl ClientContext {
    /// Reads the client, its projects and negotiated prices.
    ///
    /// # Errors
    /// [`IngestError::UnknownClient`], [`IngestError::Store`].
    pub async fn load(
        store: &Store,
        prices: &PriceTable,
        client: &ClientId,
    ) -> Result<Self, IngestError> {
        let profile = store
            .client(client)
            .await?
            .ok_or_else(|| IngestError::UnknownClient(client.to_string()))?;
        let projects = store
            .projects_of(client)
            .await?
            .into_iter()
            .map(|p| p.id.to_string())
            .collect();
        let overrides = store.price_overrides(client).await?;
        Ok(Self {
            client: client.clone(),
            time_zone: profile.time_zone,
            projects,
            prices: prices.with_overrides(client.as_str(), &overrides),
            now: store.clock().now(),
        })
    }
}

/// The salted hash stored instead of a user id: 16 hex digits of SHA-256(client NUL user).
/// Distinct users stay distinct (DAU/WAU/MAU), names do not leave the client's systems.
pub fn user_hash(client: &ClientId, user: &str) -> String {
    let mut h = Sha256::new();
    h.update(client.as_str().as_bytes());
    h.update([0u8]);
    h.update(user.as_bytes());
    hex::encode(&h.finalize()[..8])
}

/// Turns one valid event into the item to write: tenant check, price, user hash, key.
///
/// # Errors
/// A [`Rejection`] when the event names a project that is not the client's.
pub fn prepare(ctx: &ClientContext, event: Event) -> Result<PreparedEvent, Rejection> {
    let named = Named {
        id: Some(event.id.clone()),
        source: Some(event.source.clone()),
    };
    if let Some(project) = event.data.attribution().project
        && !ctx.projects.contains(project)
    {
        return Err(Rejection {
            named,
            error: FieldError::new(
                "data.project",
                format!("'{project}' is not a project of this client"),
            ),
        });
    }
    let mut warnings = Vec::new();
    let (mut cost_usd, mut price_version, mut priced_as, mut mismatch) = (None, None, None, false);
    if let EventData::AiUsage(usage) = &event.data {
        match ctx.prices.price(usage) {
            Some(cost) => {
                if let Some(reported) = usage.cost_usd
                    && cost_mismatch(reported, cost.cost_usd)
                {
                    mismatch = true;
                    warnings.push(format!(
                        "reported cost_usd {reported} differs from {} computed with price table {} by over 1 %",
                        cost.cost_usd, cost.price_version
                    ));
                }
                cost_usd = Some(cost.cost_usd);
                price_version = Some(cost.price_version);
                priced_as = Some(cost.priced_as);
            }
            None => warnings.push(format!(
                "model '{}' is not in price table {}; cost not computed (add it with `roi prices --client … --set`)",
                usage.model, ctx.prices.version
            )),
        }
    }
    let key = EventKey::new(ctx.time_zone, &event.source, &event.id, event.time);
    let today = ctx.now.with_timezone(&ctx.time_zone).date_naive();
    if key.day < event::first_open_day(today) {
        return Err(Rejection {
            named,
            error: FieldError::new(
                "time",
                format!(
                    "its day, {}, is more than {} days ago: that day's roll-up is final (raw events are kept {EVENT_TTL_DAYS} days), so the event could never be counted",
                    key.day,
                    event::RECOMPUTE_WINDOW_DAYS
                ),
            ),
        });
    }
    let digest = event.payload_digest();
    let mut data = event.data;
    if let Some(user) = data.user_mut() {
        *user = user_hash(&ctx.client, user);
    }
    let stored = StoredEvent {
        event_type: data.event_type(),
        id: event.id,
        source: event.source,
        time: event.time,
        day: key.day,
        subject: event.subject,
        received_at: ctx.now,
        data,
        cost_usd,
        price_version,
        priced_as,
        cost_mismatch: mismatch,
        correlation_id: crate::correlation::current(),
    };
    let expires_at = Some((ctx.now + chrono::Duration::days(EVENT_TTL_DAYS)).timestamp());
    let cannot = |e: TableError| Rejection {
        named: named.clone(),
        error: FieldError::new("event", format!("cannot be stored: {e}")),
    };
    let (raw_pk, raw_sk) = keys::raw_event(&ctx.client, &key);
    let mut item = Item::from_record(raw_pk.clone(), raw_sk.clone(), &stored).map_err(cannot)?;
    item.expires_at = expires_at;
    let claim = EventClaim {
        digest,
        raw_pk: raw_pk.clone(),
        raw_sk: raw_sk.clone(),
        time: stored.time,
        day: stored.day,
    };
    let (claim_pk, claim_sk) = keys::event_claim(&ctx.client, &key);
    let mut claim_item = Item::from_record(claim_pk, claim_sk, &claim).map_err(cannot)?;
    claim_item.expires_at = expires_at;
    Ok(PreparedEvent {
        key: Key {
            pk: raw_pk,
            sk: raw_sk,
        },
        event_id: key.event_id,
        item,
        claim,
        claim_item,
        stored,
        named,
        warnings,
    })
}

impl PreparedEvent {
    /// The raw record as the claim placed it: this event's content, at the claim's key,
    /// `time` and day (the same as [`PreparedEvent::item`] unless `time` was re-stamped).
    fn item_at(&self, claim: &EventClaim) -> Result<Item, TableError> {
        if claim.raw_pk == self.key.pk && claim.raw_sk == self.key.sk {
            return Ok(self.item.clone());
        }
        let mut stored = self.stored.clone();
        stored.time = claim.time;
        stored.day = claim.day;
        let mut item = Item::from_record(claim.raw_pk.clone(), claim.raw_sk.clone(), &stored)?;
        item.expires_at = self.item.expires_at;
        Ok(item)
    }
}

/// An event ready to write.
#[derive(Debug, Clone)]
pub struct PreparedEvent {
    /// Where it goes.
    pub key: Key,
    /// Its 32-hex-digit id (from `source` and `id`).
    pub event_id: String,
    /// The item.
    pub item: Item,
    /// The identity claim it makes.
    pub claim: EventClaim,
    /// The claim as an item.
    pub claim_item: Item,
    /// The record in `item`.
    pub stored: StoredEvent,
    /// Its CloudEvents names.
    pub named: Named,
    /// Notes for the sender.
    pub warnings: Vec<String>,
}

/// How many identity claims are written at once (conditional puts, one call each).
const CLAIMS_IN_FLIGHT: usize = 32;

/// What became of one valid event before the raw write.
enum Fate {
    /// An earlier copy in the same request stands for it; `conflicting` when its payload
    /// differs from that copy's.
    Repeat { conflicting: bool },
    /// Its identity is stored with another payload.
    Conflict,
    /// Its raw record is stored already.
    Duplicate,
    /// Its raw record is to be written, as `item`, on its client's `day`.
    Write { item: Item, day: NaiveDate },
    /// Its claim could not be read or written; retry later.
    NotWritten,
}

/// Stores checked events for `client`: prices them, claims each identity, writes the raw
/// records of the new ones (and of claims whose record is missing), and reports each.
///
/// # Errors
/// [`IngestError::UnknownClient`]; [`IngestError::Store`] when storage fails before any
/// raw record is written (claims taken are completed by the resend).
pub async fn store_events(
    store: &Store,
    prices: &PriceTable,
    client: &ClientId,
    checked: Vec<Result<Event, Rejection>>,
) -> Result<IngestReport, IngestError> {
    let ctx = ClientContext::load(store, prices, client).await?;
    let prepared: Vec<Result<PreparedEvent, Rejection>> = checked
        .into_iter()
        .map(|c| c.and_then(|e| prepare(&ctx, e)))
        .collect();
    let mut fates = repeats(&prepared);
    let firsts: Vec<(usize, &PreparedEvent)> = prepared
        .iter()
        .enumerate()
        .filter(|(i, _)| !fates.contains_key(i))
        .filter_map(|(i, p)| Some((i, p.as_ref().ok()?)))
        .collect();
    fates.extend(identities(store, &firsts).await?);
    let unwritten = write(store, client, &fates).await?;
    let report = explain(prepared, &fates, &unwritten);
    tracing::info!(
        client = %client,
        accepted = report.accepted,
        duplicate = report.duplicate,
        conflict = report.conflict,
        rejected = report.rejected,
        not_written = report.not_written,
        "events ingested"
    );
    metrics::counter!("events_accepted").increment(report.accepted as u64);
    metrics::counter!("events_duplicate").increment(report.duplicate as u64);
    metrics::counter!("events_conflict").increment(report.conflict as u64);
    metrics::counter!("events_rejected").increment(report.rejected as u64);
    metrics::counter!("events_not_written").increment(report.not_written as u64);
    Ok(report)
}

/// Repeats within one request: the first copy of an identity stands for the others.
fn repeats(prepared: &[Result<PreparedEvent, Rejection>]) -> HashMap<usize, Fate> {
    let mut first_of: HashMap<&str, usize> = HashMap::new();
    let mut fates = HashMap::new();
    for (i, p) in prepared.iter().enumerate() {
        let Ok(p) = p else { continue };
        match first_of.get(p.event_id.as_str()) {
            Some(&first) => {
                let conflicting =
                    matches!(&prepared[first], Ok(f) if f.claim.digest != p.claim.digest);
                fates.insert(i, Fate::Repeat { conflicting });
            }
            None => {
                first_of.insert(p.event_id.as_str(), i);
            }
        }
    }
    fates
}

/// The fate of each first copy: the claims stored are read, the others claimed with a
/// conditional put each; a claim of the same payload is a duplicate when its raw record is
/// stored, and is completed (its record written at the claimed key) when it is not.
async fn identities(
    store: &Store,
    firsts: &[(usize, &PreparedEvent)],
) -> Result<HashMap<usize, Fate>, StoreError> {
    let mut claims = store
        .event_claims(firsts.iter().map(|(_, p)| p.claim_item.key()).collect())
        .await?;
    let unclaimed: Vec<(usize, Item)> = firsts
        .iter()
        .filter(|(_, p)| !claims.contains_key(&p.claim_item.key()))
        .map(|(i, p)| (*i, p.claim_item.clone()))
        .collect();
    let claimed: Vec<(usize, Result<Option<EventClaim>, StoreError>)> =
        futures_util::stream::iter(unclaimed)
            .map(|(i, item)| async move { (i, store.claim_event(item).await) })
            .buffer_unordered(CLAIMS_IN_FLIGHT)
            .collect()
            .await;
    let by_index: HashMap<usize, &PreparedEvent> = firsts.iter().copied().collect();
    let mut fates = HashMap::new();
    for (i, result) in claimed {
        let Some(p) = by_index.get(&i) else {
            continue;
        };
        match result {
            Ok(None) => {
                let (item, day) = (p.item.clone(), p.claim.day);
                fates.insert(i, Fate::Write { item, day });
            }
            Ok(Some(theirs)) => {
                claims.insert(p.claim_item.key(), theirs);
            }
            Err(e) => {
                tracing::warn!(error = %e, "an event's identity could not be claimed");
                fates.insert(i, Fate::NotWritten);
            }
        }
    }
    let raw_key = |c: &EventClaim| Key {
        pk: c.raw_pk.clone(),
        sk: c.raw_sk.clone(),
    };
    let same_payload = |p: &PreparedEvent| {
        claims
            .get(&p.claim_item.key())
            .filter(|c| c.digest == p.claim.digest)
    };
    let to_check: Vec<Key> = firsts
        .iter()
        .filter(|(i, _)| !fates.contains_key(i))
        .filter_map(|(_, p)| same_payload(p).map(raw_key))
        .collect();
    let raw_stored: HashSet<Key> = store.existing_keys(to_check).await?.into_iter().collect();
    for (i, p) in firsts
        .iter()
        .filter(|(i, _)| !fates.contains_key(i))
        .collect::<Vec<_>>()
    {
        let fate = match claims.get(&p.claim_item.key()) {
            None => Fate::NotWritten,
            Some(c) if c.digest != p.claim.digest => Fate::Conflict,
            Some(c) if raw_stored.contains(&raw_key(c)) => Fate::Duplicate,
            Some(c) => match p.item_at(c) {
                Ok(item) => Fate::Write { item, day: c.day },
                Err(e) => {
                    tracing::error!(error = %e, "a claimed event cannot be rebuilt");
                    Fate::NotWritten
                }
            },
        };
        fates.insert(*i, fate);
    }
    Ok(fates)
}

/// Writes the raw records the fates call for, after marking the client-days they change
/// (so a late event is always rolled up); returns the keys storage did not take.
async fn write(
    store: &Store,
    client: &ClientId,
    fates: &HashMap<usize, Fate>,
) -> Result<HashSet<Key>, StoreError> {
    let writes: Vec<(&Item, NaiveDate)> = fates
        .values()
        .filter_map(|f| match f {
            Fate::Write { item, day } => Some((item, *day)),
            _ => None,
        })
        .collect();
    let days: std::collections::BTreeSet<NaiveDate> = writes.iter().map(|(_, d)| *d).collect();
    store.mark_days_changed(client, &days).await?;
    let items: Vec<Item> = writes.iter().map(|(item, _)| (*item).clone()).collect();
    match store.put_batch(items).await {
        Ok(()) => Ok(HashSet::new()),
        Err(StoreError::Table(TableError::Incomplete { unwritten })) => {
            Ok(unwritten.into_iter().collect())
        }
        Err(StoreError::Table(TableError::Unavailable(reason))) => {
            tracing::warn!(%reason, "no event of the request was written");
            Ok(writes.iter().map(|(item, _)| item.key()).collect())
        }
        Err(e) => Err(e),
    }
}

/// One result per event, in request order, with the counts.
fn explain(
    prepared: Vec<Result<PreparedEvent, Rejection>>,
    fates: &HashMap<usize, Fate>,
    unwritten: &HashSet<Key>,
) -> IngestReport {
    const RESEND: &str = "storage did not take the event; send it again later";
    const CONFLICT: &str = "an event with this source and id is stored already with other content; it was not stored again (give a new event a new id)";
    let mut report = IngestReport {
        accepted: 0,
        duplicate: 0,
        conflict: 0,
        rejected: 0,
        not_written: 0,
        results: Vec::with_capacity(prepared.len()),
    };
    for (index, p) in prepared.into_iter().enumerate() {
        let p = match p {
            Ok(p) => p,
            Err(r) => {
                report.rejected += 1;
                report.results.push(EventResult {
                    index,
                    named: r.named,
                    status: EventStatus::Rejected,
                    field: Some(r.error.field),
                    reason: Some(r.error.reason),
                    warnings: Vec::new(),
                });
                continue;
            }
        };
        let (status, reason) = match fates.get(&index) {
            Some(Fate::Repeat { conflicting: false } | Fate::Duplicate) => {
                report.duplicate += 1;
                (EventStatus::Duplicate, None)
            }
            Some(Fate::Repeat { conflicting: true } | Fate::Conflict) => {
                report.conflict += 1;
                (EventStatus::Conflict, Some(CONFLICT.to_owned()))
            }
            Some(Fate::Write { item, .. }) if !unwritten.contains(&item.key()) => {
                report.accepted += 1;
                (EventStatus::Accepted, None)
            }
            Some(Fate::Write { .. } | Fate::NotWritten) | None => {
                report.not_written += 1;
                (EventStatus::NotWritten, Some(RESEND.to_owned()))
            }
        };
        report.results.push(EventResult {
            index,
            named: p.named,
            status,
            field: None,
            reason,
            warnings: p.warnings,
        });
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_event_reads_back_whatever_the_field_order() {
        let typed_first = r#"{"type":"agent.execution","id":"e1","source":"s","time":"2026-11-20T10:00:00Z","day":"2026-11-20","received_at":"2026-11-21T00:00:00Z","data":{"outcome":"timeout","duration_ms":30000,"agent":"triage"},"extra":1}"#;
        let event: StoredEvent = serde_json::from_str(typed_first).unwrap();
        let EventData::AgentExecution(x) = &event.data else {
            panic!("{event:?}")
        };
        assert_eq!((x.duration_ms, x.agent.as_deref()), (30000, Some("triage")));
        // a JSON map with sorted keys puts data before type
        let value: serde_json::Value = serde_json::from_str(typed_first).unwrap();
        assert_eq!(serde_json::from_value::<StoredEvent>(value).unwrap(), event);
        // and what is written reads back equal
        let text = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<StoredEvent>(&text).unwrap(), event);
        let missing = serde_json::from_str::<StoredEvent>(r#"{"type":"audit","id":"e"}"#);
        assert!(missing.unwrap_err().to_string().contains("missing field"));
    }
}
