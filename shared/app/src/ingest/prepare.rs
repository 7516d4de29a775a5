//! One valid event made ready to write: the tenant check, its price, the user's hash, its
//! key, and the identity claim it will make.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use roi_domain::event::{
    self, EVENT_TTL_DAYS, Event, EventClaim, EventData, EventKey, Named, Rejection,
};
use roi_domain::ports::{Item, TableError};
use roi_domain::{ClientId, FieldError};

use super::{IngestError, StoredEvent};
use crate::pricing::{PriceTable, cost_mismatch};
use crate::store::{Store, keys};

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
    /// The deployment's pseudonym key.
    pub pseudonyms: crate::pseudonym::PseudonymKey,
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
            pseudonyms: store.pseudonym_key().await?,
        })
    }
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
    let refuse = |field: &str, reason: String| Rejection {
        named: named.clone(),
        error: FieldError::new(field, reason),
    };
    if let Some(project) = event.data.attribution().project
        && !ctx.projects.contains(project)
    {
        return Err(refuse(
            "data.project",
            format!("'{project}' is not a project of this client"),
        ));
    }
    let priced = Priced::of(ctx, &event.data);
    let key = EventKey::new(ctx.time_zone, &event.source, &event.id, event.time);
    let today = ctx.now.with_timezone(&ctx.time_zone).date_naive();
    if key.day < event::first_open_day(today) {
        return Err(refuse(
            "time",
            format!(
                "its day, {}, is more than {} days ago: that day's roll-up is final (raw events are kept {EVENT_TTL_DAYS} days), so the event could never be counted",
                key.day,
                event::RECOMPUTE_WINDOW_DAYS
            ),
        ));
    }
    let digest = event.payload_digest();
    let mut data = event.data;
    if let Some(user) = data.user_mut() {
        *user = ctx.pseudonyms.pseudonym(&ctx.client, user);
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
        cost_usd: priced.cost_usd,
        price_version: priced.price_version,
        priced_as: priced.priced_as,
        cost_mismatch: priced.mismatch,
        correlation_id: crate::correlation::current(),
    };
    match items(ctx, &key, digest, &stored) {
        Ok((item, claim, claim_item)) => Ok(PreparedEvent {
            event_id: key.event_id,
            item,
            claim,
            claim_item,
            stored,
            named,
            warnings: priced.warnings,
        }),
        Err(e) => Err(refuse("event", format!("cannot be stored: {e}"))),
    }
}

/// An `ai.usage` event's cost from the price table, and what the sender should know.
#[derive(Default)]
struct Priced {
    cost_usd: Option<rust_decimal::Decimal>,
    price_version: Option<String>,
    priced_as: Option<String>,
    mismatch: bool,
    warnings: Vec<String>,
}

impl Priced {
    fn of(ctx: &ClientContext, data: &EventData) -> Self {
        let EventData::AiUsage(usage) = data else {
            return Priced::default();
        };
        let Some(cost) = ctx.prices.price(usage) else {
            return Priced {
                warnings: vec![format!(
                    "model '{}' is not in price table {}; cost not computed (add it with `roi prices --client … --set`)",
                    usage.model, ctx.prices.version
                )],
                ..Priced::default()
            };
        };
        let mut warnings = Vec::new();
        let mismatch = usage
            .cost_usd
            .is_some_and(|reported| cost_mismatch(reported, cost.cost_usd));
        if let (true, Some(reported)) = (mismatch, usage.cost_usd) {
            warnings.push(format!(
                "reported cost_usd {reported} differs from {} computed with price table {} by over 1 %",
                cost.cost_usd, cost.price_version
            ));
        }
        Priced {
            cost_usd: Some(cost.cost_usd),
            price_version: Some(cost.price_version),
            priced_as: Some(cost.priced_as),
            mismatch,
            warnings,
        }
    }
}

/// The raw record of `stored`, its identity claim, and the claim as an item, both items
/// expiring with raw events.
fn items(
    ctx: &ClientContext,
    key: &EventKey,
    digest: String,
    stored: &StoredEvent,
) -> Result<(Item, EventClaim, Item), TableError> {
    let expires_at = Some((ctx.now + chrono::Duration::days(EVENT_TTL_DAYS)).timestamp());
    let (raw_pk, raw_sk) = keys::raw_event(&ctx.client, key);
    let mut item = Item::packed(raw_pk.clone(), raw_sk.clone(), stored)?;
    item.expires_at = expires_at;
    let claim = EventClaim {
        digest,
        raw_pk,
        raw_sk,
        time: stored.time,
        day: stored.day,
    };
    let (claim_pk, claim_sk) = keys::event_claim(&ctx.client, key);
    let mut claim_item = Item::packed(claim_pk, claim_sk, &claim)?;
    claim_item.expires_at = expires_at;
    Ok((item, claim, claim_item))
}

impl PreparedEvent {
    /// The raw record as the claim placed it: this event's content, at the claim's key,
    /// `time` and day (the same as [`PreparedEvent::item`] unless `time` was re-stamped).
    pub(super) fn item_at(&self, claim: &EventClaim) -> Result<Item, TableError> {
        if claim.raw_pk == self.item.pk && claim.raw_sk == self.item.sk {
            return Ok(self.item.clone());
        }
        let mut stored = self.stored.clone();
        stored.time = claim.time;
        stored.day = claim.day;
        let mut item = Item::packed(claim.raw_pk.clone(), claim.raw_sk.clone(), &stored)?;
        item.expires_at = self.item.expires_at;
        Ok(item)
    }
}

/// An event ready to write.
#[derive(Debug, Clone)]
pub struct PreparedEvent {
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
