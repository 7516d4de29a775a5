//! Writing prepared events: each identity claimed once, the raw records of new ones
//! written after their days are marked changed, and one result per event.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use roi_domain::ClientId;
use roi_domain::ProjectId;
use roi_domain::event::{Event, EventClaim, EventData, Rejection};
use roi_domain::ports::{Item, Key, TableError};
use roi_domain::project_kpi::KpiSet;

use super::{
    ClientContext, EventResult, EventStatus, IngestError, IngestReport, PreparedEvent, prepare,
};
use crate::pricing::PriceTable;
use crate::store::{KpiValueRecord, Store, StoreError};

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
    /// Its raw record was sent to storage, at `key`.
    Sent { key: Key },
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
    let kpis = kpi_sets(store, &ctx, &checked).await?;
    let prepared: Vec<Result<PreparedEvent, Rejection>> = checked
        .into_iter()
        .map(|c| c.and_then(|e| prepare(&ctx, e)))
        .map(|p| p.and_then(|p| check_kpi(&kpis, p)))
        .collect();
    let mut fates = repeats(&prepared);
    let firsts: Vec<(usize, &PreparedEvent)> = prepared
        .iter()
        .enumerate()
        .filter(|(i, _)| !fates.contains_key(i))
        .filter_map(|(i, p)| Some((i, p.as_ref().ok()?)))
        .collect();
    fates.extend(identities(store, &firsts).await?);
    let unwritten = write(store, client, &mut fates).await?;
    let values = kpi_values(&prepared);
    let report = explain(prepared, &fates, &unwritten);
    record_kpi_values(store, &report, values).await;
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

/// The KPI definitions of the projects the request's `kpi.measurement` events name (none
/// read when it has none).
async fn kpi_sets(
    store: &Store,
    ctx: &ClientContext,
    checked: &[Result<Event, Rejection>],
) -> Result<HashMap<String, KpiSet>, StoreError> {
    let named: HashSet<&str> = checked
        .iter()
        .filter_map(|c| match &c.as_ref().ok()?.data {
            EventData::KpiMeasurement(k) => k.project.as_deref(),
            _ => None,
        })
        .filter(|p| ctx.projects.contains(*p))
        .collect();
    let mut sets = HashMap::new();
    for project in named {
        let Ok(id) = project.parse::<ProjectId>() else {
            continue;
        };
        sets.insert(
            project.to_owned(),
            crate::project_kpis::definitions(store, &id).await?,
        );
    }
    Ok(sets)
}

/// Refuses a `kpi.measurement` event whose KPI the project does not define as measured,
/// or whose value does not fit it.
fn check_kpi(kpis: &HashMap<String, KpiSet>, p: PreparedEvent) -> Result<PreparedEvent, Rejection> {
    let EventData::KpiMeasurement(k) = &p.stored.data else {
        return Ok(p);
    };
    let (Some(project), Some(set)) = (
        k.project.as_deref(),
        k.project.as_deref().and_then(|p| kpis.get(p)),
    ) else {
        return Ok(p);
    };
    let Ok(id) = project.parse::<ProjectId>() else {
        return Ok(p);
    };
    match crate::project_kpis::check_value(set, &id, &k.kpi, k.value) {
        Ok(()) => Ok(p),
        Err(e) => {
            let field = match e {
                crate::project_kpis::KpiError::OutOfRange { .. } => "data.value",
                _ => "data.kpi",
            };
            Err(Rejection {
                named: p.named.clone(),
                error: roi_domain::FieldError::new(field, e.to_string()),
            })
        }
    }
}

/// The KPI values the request's `kpi.measurement` events carry, by request position.
fn kpi_values(
    prepared: &[Result<PreparedEvent, Rejection>],
) -> Vec<(usize, ProjectId, KpiValueRecord)> {
    prepared
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let p = p.as_ref().ok()?;
            let EventData::KpiMeasurement(k) = &p.stored.data else {
                return None;
            };
            let project = k.project.as_deref()?.parse().ok()?;
            Some((
                i,
                project,
                KpiValueRecord {
                    kpi: k.kpi.clone(),
                    on: p.stored.day,
                    value: k.value.normalize(),
                    source: "event".into(),
                    recorded_at: p.stored.received_at,
                },
            ))
        })
        .collect()
}

/// Stores the KPI values of the events written now or before (a resend completes a value
/// whose write failed). A failure is logged: the event itself is stored, and its resend
/// writes the value again.
async fn record_kpi_values(
    store: &Store,
    report: &IngestReport,
    values: Vec<(usize, ProjectId, KpiValueRecord)>,
) {
    for (i, project, value) in values {
        let stored = report
            .results
            .get(i)
            .is_some_and(|r| matches!(r.status, EventStatus::Accepted | EventStatus::Duplicate));
        if !stored {
            continue;
        }
        if let Err(e) = store.put_kpi_value(&project, &value).await {
            tracing::warn!(error = %e, project = %project, kpi = %value.kpi, "KPI value not stored; a resend stores it");
        }
    }
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
    let (indices, items): (Vec<usize>, Vec<Item>) = unclaimed.into_iter().unzip();
    let claimed: Vec<(usize, Result<Option<EventClaim>, StoreError>)> = indices
        .into_iter()
        .zip(store.claim_events(items).await)
        .collect();
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
/// (so a late event is always rolled up), and makes each of those fates [`Fate::Sent`];
/// returns the keys storage did not take.
async fn write(
    store: &Store,
    client: &ClientId,
    fates: &mut HashMap<usize, Fate>,
) -> Result<HashSet<Key>, StoreError> {
    let days: std::collections::BTreeSet<NaiveDate> = fates
        .values()
        .filter_map(|f| match f {
            Fate::Write { day, .. } => Some(*day),
            _ => None,
        })
        .collect();
    store.mark_days_changed(client, &days).await?;
    let mut items = Vec::new();
    for fate in fates.values_mut() {
        if let Fate::Write { item, .. } = fate {
            let key = item.key();
            if let Fate::Write { item, .. } = std::mem::replace(fate, Fate::Sent { key }) {
                items.push(item);
            }
        }
    }
    match store.put_batch(items).await {
        Ok(()) => Ok(HashSet::new()),
        Err(StoreError::Table(TableError::Incomplete { unwritten })) => {
            Ok(unwritten.into_iter().collect())
        }
        Err(StoreError::Table(TableError::Unavailable(reason))) => {
            tracing::warn!(%reason, "no event of the request was written");
            Ok(fates
                .values()
                .filter_map(|f| match f {
                    Fate::Sent { key } => Some(key.clone()),
                    _ => None,
                })
                .collect())
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
            Some(Fate::Sent { key }) if !unwritten.contains(key) => {
                report.accepted += 1;
                (EventStatus::Accepted, None)
            }
            Some(Fate::Write { .. } | Fate::Sent { .. } | Fate::NotWritten) | None => {
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
