//! Reconciliation (issue 17): per UTC day and provider, the cost metered from a client's
//! `ai.usage` events against what the provider's cost report bills.
//!
//! - *metered* = Σ `cost_usd` of the day's priced `ai.usage` events whose model the client's
//!   price table lists under the provider (events are read by their UTC time, so a client's
//!   time zone does not shift a day);
//! - *invoiced* = Σ the provider's cost lines of that day ([`crate::cost_import`]);
//! - *variance* = metered − invoiced, USD, and ÷ invoiced × 100, percent; a day whose
//!   |variance| is over the warning limit of the client's `cost_variance` threshold
//!   (default 1 %) is flagged, and the alert check raises it (internal by default).
//!
//! Code execution (Anthropic's `cost_type` `code_execution`, billed per container-hour)
//! is in no usage report and no `ai.usage` event, so it cannot be metered: its cost lines
//! are kept out of *invoiced* and shown beside it as [`ReconciledDay::unmetered_usd`], and
//! never raise a variance.
//!
//! A day with events but no cost report yet is listed without a variance; one with a cost
//! report and no events has a variance of −100 %. Raw events are kept 90 days, so only days
//! of the last 90 can be reconciled.

use std::collections::{BTreeMap, HashMap};

use chrono::{Days, NaiveDate};
use roi_domain::event::EventData;
use roi_domain::stored_event::StoredEvent;
use roi_domain::{ClientId, units::round_ratio};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::pricing::PriceTable;
use crate::store::{Store, StoreError};

/// Cost types a provider bills that no usage report or event meters: code execution.
pub const UNMETERED_COST_TYPES: [&str; 1] = ["code_execution"];

/// The longest span one reconciliation reads: 92 days.
pub const MAX_DAYS: i64 = 92;

/// Why a reconciliation could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The client is not registered.
    #[error("client '{0}' does not exist")]
    UnknownClient(ClientId),
    /// The span is empty or too long.
    #[error("the span {from} to {to} must run forwards and cover at most {MAX_DAYS} days")]
    BadSpan {
        /// First day.
        from: NaiveDate,
        /// Last day.
        to: NaiveDate,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One day and provider of a reconciliation. USD at full precision; percent rounded to
/// hundredths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciledDay {
    /// The UTC day.
    pub day: NaiveDate,
    /// `anthropic`, `openai`, or another provider of the price table.
    pub provider: String,
    /// Σ the day's priced usage events of the provider, USD.
    pub metered_usd: Decimal,
    /// Usage events of the day whose model the price table does not list (no provider,
    /// no cost): counted under the provider `unpriced`.
    pub unpriced_events: u64,
    /// Σ the provider's cost lines of the day, USD, but those of [`UNMETERED_COST_TYPES`];
    /// absent without a cost report.
    pub invoiced_usd: Option<Decimal>,
    /// Σ the day's cost lines of [`UNMETERED_COST_TYPES`] (code execution), USD: billed,
    /// not meterable, not in the variance.
    #[serde(default)]
    pub unmetered_usd: Decimal,
    /// metered − invoiced, USD.
    pub variance_usd: Option<Decimal>,
    /// (metered − invoiced) ÷ invoiced × 100; absent when nothing was invoiced.
    pub variance_percentage: Option<Decimal>,
    /// Whether |variance| is over the tolerance (or something was metered against a zero
    /// invoice).
    pub over_tolerance: bool,
}

/// Reconciles the UTC days `from..=to` of `client` (module docs).
///
/// # Errors
/// [`ReconcileError`].
pub async fn reconcile(
    store: &Store,
    client: &ClientId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<ReconciledDay>, ReconcileError> {
    if to < from || (to - from).num_days() >= MAX_DAYS {
        return Err(ReconcileError::BadSpan { from, to });
    }
    if store.client(client).await?.is_none() {
        return Err(ReconcileError::UnknownClient(client.clone()));
    }
    let settings = store.settings(client).await?;
    let prices = PriceTable::shipped()
        .with_overrides(client.as_str(), &store.price_overrides(client).await?);
    let mut metered: BTreeMap<(NaiveDate, String), (Decimal, u64)> = BTreeMap::new();
    for event in usage_of_utc_days(store, client, from, to).await? {
        add_metered(&mut metered, &event, &prices);
    }
    let mut invoiced: HashMap<(NaiveDate, String), (Decimal, Decimal)> = HashMap::new();
    for line in store.invoiced(client, from, to).await? {
        let slot = invoiced.entry((line.day, line.provider)).or_default();
        if UNMETERED_COST_TYPES.contains(&line.cost_type.as_str()) {
            slot.1 = slot.1.saturating_add(line.amount_usd);
        } else {
            slot.0 = slot.0.saturating_add(line.amount_usd);
        }
    }
    let mut keys: Vec<(NaiveDate, String)> =
        metered.keys().chain(invoiced.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    Ok(keys
        .into_iter()
        .map(|key| {
            let (m, unpriced) = metered.get(&key).copied().unwrap_or_default();
            let inv = invoiced.get(&key).copied();
            row(
                key,
                m,
                unpriced,
                inv,
                settings.thresholds.cost_variance.warning,
            )
        })
        .collect())
}

/// The client's `ai.usage` events whose UTC day is in `from..=to`, read from its days one
/// before to one after (a UTC day overlaps the client's days before, on and after it:
/// offsets up to ±14 h). The FOCUS export reads them the same way.
///
/// # Errors
/// [`StoreError::Table`].
pub(crate) async fn usage_of_utc_days(
    store: &Store,
    client: &ClientId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<StoredEvent>, StoreError> {
    let first = from.checked_sub_days(Days::new(1)).unwrap_or(from);
    let last = to.checked_add_days(Days::new(1)).unwrap_or(to);
    let mut out = Vec::new();
    for client_day in first.iter_days().take_while(|d| *d <= last) {
        store
            .each_event_of_day(client, client_day, |e| {
                if matches!(e.data, EventData::AiUsage(_))
                    && (from..=to).contains(&e.time.date_naive())
                {
                    out.push(e);
                }
                Ok(())
            })
            .await?;
    }
    Ok(out)
}

fn add_metered(
    metered: &mut BTreeMap<(NaiveDate, String), (Decimal, u64)>,
    event: &StoredEvent,
    prices: &PriceTable,
) {
    let EventData::AiUsage(usage) = &event.data else {
        return;
    };
    let day = event.time.date_naive();
    let provider = prices.find(&usage.model).map(|m| m.provider.clone());
    match (provider, event.cost_usd) {
        (Some(p), Some(cost)) => {
            let slot = metered.entry((day, p)).or_default();
            slot.0 = slot.0.saturating_add(cost);
        }
        _ => metered.entry((day, "unpriced".into())).or_default().1 += 1,
    }
}

fn row(
    (day, provider): (NaiveDate, String),
    metered: Decimal,
    unpriced: u64,
    invoiced: Option<(Decimal, Decimal)>,
    tolerance: Decimal,
) -> ReconciledDay {
    let unmetered = invoiced.map_or(Decimal::ZERO, |(_, u)| u);
    let invoiced = invoiced.map(|(i, _)| i);
    let variance = invoiced.map(|i| metered.saturating_sub(i));
    let percentage = invoiced
        .zip(variance)
        .and_then(|(i, v)| v.checked_div(i))
        .map(|r| round_ratio(r.saturating_mul(Decimal::ONE_HUNDRED)));
    let over_tolerance = match (invoiced, percentage) {
        (Some(_), Some(p)) => p.abs() > tolerance,
        (Some(i), None) => i.is_zero() && !metered.is_zero(),
        _ => false,
    };
    ReconciledDay {
        day,
        provider,
        metered_usd: metered,
        unpriced_events: unpriced,
        invoiced_usd: invoiced,
        unmetered_usd: unmetered,
        variance_usd: variance,
        variance_percentage: percentage,
        over_tolerance,
    }
}
