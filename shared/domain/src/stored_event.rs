//! A raw event as stored: the validated event, its client-day, price and correlation id.
//! Written at ingestion, read by every roll-up of its day.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::correlation::CorrelationId;
use crate::event::{EventData, EventType};

/// A raw event as stored under its key (`roi_app::store::keys::raw_event`; TTL
/// [`EVENT_TTL_DAYS`](crate::event::EVENT_TTL_DAYS) days).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    /// CloudEvents `type`.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// CloudEvents `id`.
    pub id: String,
    /// CloudEvents `source`.
    pub source: String,
    /// CloudEvents `time`, UTC.
    pub time: DateTime<Utc>,
    /// The client's day of `time`, in its time zone.
    pub day: NaiveDate,
    /// CloudEvents `subject`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// When it was written, UTC.
    pub received_at: DateTime<Utc>,
    /// The typed data; `user` holds the salted hash of the sender's user id.
    pub data: EventData,
    /// `ai.usage` only: the cost computed from the price table, USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<Decimal>,
    /// `ai.usage` only: the price-table version of `cost_usd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_version: Option<String>,
    /// `ai.usage` only: the table row used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priced_as: Option<String>,
    /// `ai.usage` only: the reported cost differs from ours by over 1 %.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cost_mismatch: bool,
    /// The correlation id of the request that delivered it (`crate::correlation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<CorrelationId>,
}

/// Reads a stored event in one pass: `data` is typed by the `type` read before it (the
/// order [`StoredEvent`] is written in), and only buffered when `type` comes later. Roll-ups
/// read every event of a day, so this is their hot path.
impl<'de> Deserialize<'de> for StoredEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(StoredEventVisitor)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    Type,
    Id,
    Source,
    Time,
    Day,
    Subject,
    ReceivedAt,
    Data,
    CostUsd,
    PriceVersion,
    PricedAs,
    CostMismatch,
    CorrelationId,
    #[serde(other)]
    Other,
}

struct StoredEventVisitor;

/// A stored instant, read with chrono's RFC 3339 parser: the form stored events are written
/// in, and about 4× faster than the `FromStr` that chrono's serde support uses (issue 19's
/// roll-up benchmark: 242 against 65 ns). Text it refuses is read by `FromStr`, which takes
/// more forms, so nothing stored before reads differently.
struct Instant(DateTime<Utc>);

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(InstantVisitor)
    }
}

struct InstantVisitor;

impl serde::de::Visitor<'_> for InstantVisitor {
    type Value = Instant;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an RFC 3339 date and time")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Instant, E> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .or_else(|_| text.parse::<DateTime<Utc>>())
            .map(Instant)
            .map_err(E::custom)
    }
}

/// A stored client-day. The form every event is written in, `YYYY-MM-DD`, is read by
/// `NaiveDate::from_ymd_opt` from its digits; any other text (or a date that does not exist)
/// goes to chrono's `FromStr`, so every text reads as chrono reads it. chrono's parser took
/// about 5 % of the roll-up benchmark's profile (issue 19).
struct Day(NaiveDate);

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(DayVisitor)
    }
}

struct DayVisitor;

impl serde::de::Visitor<'_> for DayVisitor {
    type Value = Day;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a date, YYYY-MM-DD")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Day, E> {
        canonical_day(text)
            .map_or_else(|| text.parse::<NaiveDate>(), Ok)
            .map(Day)
            .map_err(E::custom)
    }
}

/// `YYYY-MM-DD` in ASCII digits, when that date exists.
fn canonical_day(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(number(&b[..4])?).ok()?;
    NaiveDate::from_ymd_opt(year, number(&b[5..7])?, number(&b[8..])?)
}

/// `data` of a known type, deserialized straight into its struct.
struct TypedData(EventType);

impl<'de> serde::de::DeserializeSeed<'de> for TypedData {
    type Value = EventData;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<EventData, D::Error> {
        Ok(match self.0 {
            EventType::AiUsage => EventData::AiUsage(Deserialize::deserialize(d)?),
            EventType::AgentExecution => EventData::AgentExecution(Deserialize::deserialize(d)?),
            EventType::FeatureUsage => EventData::FeatureUsage(Deserialize::deserialize(d)?),
            EventType::Session => EventData::Session(Deserialize::deserialize(d)?),
            EventType::BusinessOutcome => EventData::BusinessOutcome(Deserialize::deserialize(d)?),
            EventType::Audit => EventData::Audit(Deserialize::deserialize(d)?),
            EventType::KpiMeasurement => EventData::KpiMeasurement(Deserialize::deserialize(d)?),
        })
    }
}

impl<'de> serde::de::Visitor<'de> for StoredEventVisitor {
    type Value = StoredEvent;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a stored event")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<StoredEvent, A::Error> {
        use serde::de::Error;
        let mut event_type: Option<EventType> = None;
        let (mut data, mut pending): (Option<EventData>, Option<serde_json::Value>) = (None, None);
        let (mut id, mut source, mut time, mut day, mut received_at) =
            (None, None, None, None, None);
        let (mut subject, mut cost_usd, mut price_version, mut priced_as) =
            (None, None, None, None);
        let mut cost_mismatch = false;
        let mut correlation_id = None;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Type => event_type = Some(map.next_value()?),
                Field::Data => match event_type {
                    Some(t) => data = Some(map.next_value_seed(TypedData(t))?),
                    None => pending = Some(map.next_value()?),
                },
                Field::Id => id = Some(map.next_value()?),
                Field::Source => source = Some(map.next_value()?),
                Field::Time => time = Some(map.next_value::<Instant>()?.0),
                Field::Day => day = Some(map.next_value::<Day>()?.0),
                Field::Subject => subject = map.next_value()?,
                Field::ReceivedAt => received_at = Some(map.next_value::<Instant>()?.0),
                Field::CostUsd => cost_usd = map.next_value()?,
                Field::PriceVersion => price_version = map.next_value()?,
                Field::PricedAs => priced_as = map.next_value()?,
                Field::CostMismatch => cost_mismatch = map.next_value()?,
                Field::CorrelationId => correlation_id = map.next_value()?,
                Field::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        let event_type = event_type.ok_or_else(|| A::Error::missing_field("type"))?;
        let data = match (data, pending) {
            (Some(d), _) => d,
            (None, Some(v)) => EventData::from_value(event_type, v).map_err(A::Error::custom)?,
            (None, None) => return Err(A::Error::missing_field("data")),
        };
        Ok(StoredEvent {
            event_type,
            id: id.ok_or_else(|| A::Error::missing_field("id"))?,
            source: source.ok_or_else(|| A::Error::missing_field("source"))?,
            time: time.ok_or_else(|| A::Error::missing_field("time"))?,
            day: day.ok_or_else(|| A::Error::missing_field("day"))?,
            subject,
            received_at: received_at.ok_or_else(|| A::Error::missing_field("received_at"))?,
            data,
            cost_usd,
            price_version,
            priced_as,
            cost_mismatch,
            correlation_id,
        })
    }
}
