//! What the fold reads of one stored event ([`FoldEvent`]), borrowed from where it lies.
//!
//! A day's roll-up reads every one of its events (1,000,000 in issue 19's benchmark), and
//! needs few of their fields: not `id`, `source`, `time`, `day` or `received_at`, and of
//! the data only the figures and the names it groups by. Read as a whole [`StoredEvent`],
//! an event parses two instants, copies four or more names onto the heap and is moved
//! about as a struct of over 500 bytes; read as a [`FoldEvent`] from its JSON, it skips
//! what the fold does not read and borrows its names from the JSON text (a name with a
//! JSON escape in it is copied). The benchmark's parse went from 0.70 s to 0.41 s.
//!
//! `agent.execution`, `ai.usage` and `feature.usage`, the events a day has many of, are
//! read into borrowed views; the others (sessions, business outcomes, audit events, KPI
//! values) whole, as [`EventData`]. Folding a [`StoredEvent`] through
//! [`FoldEvent::from`] and folding its JSON read as a [`FoldEvent`] give the same roll-up
//! (tested below).

use std::borrow::Cow;

use rust_decimal::Decimal;
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::event::Outcome;
use crate::event::{AgentExecution, AiUsage, Attribution, EventData, EventType, FeatureUsage};
use crate::stored_event::StoredEvent;

/// Text borrowed from the input when it holds the text as is, copied when it does not
/// (a JSON string with an escape in it, or an owned value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Cow<'a, str>);

impl<'a> Text<'a> {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn borrowed(text: &'a str) -> Self {
        Self(Cow::Borrowed(text))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(TextVisitor(std::marker::PhantomData))
    }
}

/// Declares a borrowed view of an event's data with the attribution fields appended, as
/// `event_data!` declares the data itself.
macro_rules! data_view {
    ($(#[$meta:meta])* pub struct $name:ident<$a:lifetime> { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Deserialize)]
        pub struct $name<$a> {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// The project the event counts towards.
            #[serde(borrow, default)]
            pub project: Option<Text<$a>>,
            /// The user's pseudonym.
            #[serde(borrow, default)]
            pub user: Option<Text<$a>>,
            /// Team.
            #[serde(borrow, default)]
            pub team: Option<Text<$a>>,
            /// Department.
            #[serde(borrow, default)]
            pub department: Option<Text<$a>>,
            /// Agent identifier.
            #[serde(borrow, default)]
            pub agent: Option<Text<$a>>,
            /// Product feature.
            #[serde(borrow, default)]
            pub feature: Option<Text<$a>>,
        }

        impl $name<'_> {
            /// Who and where.
            pub fn attribution(&self) -> Attribution<'_> {
                Attribution {
                    project: self.project.as_ref().map(Text::as_str),
                    user: self.user.as_ref().map(Text::as_str),
                    team: self.team.as_ref().map(Text::as_str),
                    department: self.department.as_ref().map(Text::as_str),
                    agent: self.agent.as_ref().map(Text::as_str),
                    feature: self.feature.as_ref().map(Text::as_str),
                }
            }
        }
    };
}

/// Each attribution field of `$d` (data with `String` names) borrowed into a view.
macro_rules! borrow_view {
    ($view:ident { $($field:ident: $value:expr,)* } from $d:expr) => {
        $view {
            $($field: $value,)*
            project: $d.project.as_deref().map(Text::borrowed),
            user: $d.user.as_deref().map(Text::borrowed),
            team: $d.team.as_deref().map(Text::borrowed),
            department: $d.department.as_deref().map(Text::borrowed),
            agent: $d.agent.as_deref().map(Text::borrowed),
            feature: $d.feature.as_deref().map(Text::borrowed),
        }
    };
}

data_view! {
/// What the fold reads of `ai.usage` data ([`AiUsage`]): tokens, calls and names.
pub struct UsageView<'a> {
    /// Model identifier.
    #[serde(borrow)]
    pub model: Text<'a>,
    /// Uncached input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens read from the prompt cache.
    #[serde(default)]
    pub cache_read_tokens: u64,
    /// Input tokens written to the cache, 5-minute lifetime.
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Input tokens written to the cache, 1-hour lifetime.
    #[serde(default)]
    pub cache_write_1h_tokens: u64,
    /// Model calls, when the sender knows.
    #[serde(default)]
    pub requests: Option<u32>,
    /// Prompt type or template name.
    #[serde(borrow, default)]
    pub prompt_type: Option<Text<'a>>,
}
}

data_view! {
/// What the fold reads of `agent.execution` data ([`AgentExecution`]).
pub struct ExecutionView<'a> {
    /// How the run ended.
    pub outcome: Outcome,
    /// Wall-clock duration, ms.
    pub duration_ms: u64,
    /// Retries before the outcome.
    #[serde(default)]
    pub retries: u32,
    /// Error category.
    #[serde(borrow, default)]
    pub error_category: Option<Text<'a>>,
    /// A short error message.
    #[serde(borrow, default)]
    pub error_message: Option<Text<'a>>,
    /// Quality score, 0–100.
    #[serde(default)]
    pub quality_score: Option<Decimal>,
}
}

data_view! {
/// What the fold reads of `feature.usage` data ([`FeatureUsage`]).
pub struct FeatureView<'a> {
    /// Times used; default 1 as in [`FeatureUsage`].
    #[serde(default = "one")]
    pub count: u32,
}
}

fn one() -> u32 {
    1
}

/// One stored event as the fold reads it: built from a [`StoredEvent`] by borrowing
/// ([`FoldEvent::from`]), or read from a stored event's JSON (the written form, `type`
/// before `data`; `data` first is read too, through a buffer). Fields it does not read are
/// skipped unparsed.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldEvent<'a> {
    /// `ai.usage` only: the cost from the price table, USD.
    pub cost_usd: Option<Decimal>,
    /// The request's correlation id, if any.
    pub correlation_id: Option<Text<'a>>,
    /// The data.
    pub data: FoldData<'a>,
}

/// The data of a [`FoldEvent`], by type.
#[derive(Debug, Clone, PartialEq)]
pub enum FoldData<'a> {
    /// `ai.usage`.
    AiUsage(UsageView<'a>),
    /// `agent.execution`.
    AgentExecution(ExecutionView<'a>),
    /// `feature.usage`.
    FeatureUsage(FeatureView<'a>),
    /// Any other type (session, business outcome, audit, KPI value), whole.
    Other(Cow<'a, EventData>),
}

impl<'a> FoldData<'a> {
    /// `data` borrowed: a view for the types that have one, else the data itself.
    pub fn of(data: &'a EventData) -> Self {
        match data {
            EventData::AiUsage(u) => Self::AiUsage(usage_view(u)),
            EventData::AgentExecution(x) => Self::AgentExecution(execution_view(x)),
            EventData::FeatureUsage(f) => Self::FeatureUsage(feature_view(f)),
            other => Self::Other(Cow::Borrowed(other)),
        }
    }

    /// Who and where.
    pub fn attribution(&self) -> Attribution<'_> {
        match self {
            Self::AiUsage(u) => u.attribution(),
            Self::AgentExecution(x) => x.attribution(),
            Self::FeatureUsage(f) => f.attribution(),
            Self::Other(d) => d.attribution(),
        }
    }
}

fn usage_view(u: &AiUsage) -> UsageView<'_> {
    borrow_view!(UsageView {
        model: Text::borrowed(&u.model),
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        cache_read_tokens: u.cache_read_tokens,
        cache_write_tokens: u.cache_write_tokens,
        cache_write_1h_tokens: u.cache_write_1h_tokens,
        requests: u.requests,
        prompt_type: u.prompt_type.as_deref().map(Text::borrowed),
    } from u)
}

fn execution_view(x: &AgentExecution) -> ExecutionView<'_> {
    borrow_view!(ExecutionView {
        outcome: x.outcome,
        duration_ms: x.duration_ms,
        retries: x.retries,
        error_category: x.error_category.as_deref().map(Text::borrowed),
        error_message: x.error_message.as_deref().map(Text::borrowed),
        quality_score: x.quality_score,
    } from x)
}

fn feature_view(f: &FeatureUsage) -> FeatureView<'_> {
    borrow_view!(FeatureView { count: f.count, } from f)
}

impl<'a> From<&'a StoredEvent> for FoldEvent<'a> {
    fn from(e: &'a StoredEvent) -> Self {
        Self {
            cost_usd: e.cost_usd,
            correlation_id: e
                .correlation_id
                .as_ref()
                .map(|c| Text::borrowed(c.as_str())),
            data: FoldData::of(&e.data),
        }
    }
}

impl<'de> Deserialize<'de> for FoldEvent<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(FoldEventVisitor)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    Type,
    Data,
    CostUsd,
    CorrelationId,
    #[serde(other)]
    Other,
}

/// `data` of a known type, read into its view.
struct TypedView(EventType);

impl<'de> DeserializeSeed<'de> for TypedView {
    type Value = FoldData<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<FoldData<'de>, D::Error> {
        Ok(match self.0 {
            EventType::AiUsage => FoldData::AiUsage(Deserialize::deserialize(d)?),
            EventType::AgentExecution => FoldData::AgentExecution(Deserialize::deserialize(d)?),
            EventType::FeatureUsage => FoldData::FeatureUsage(Deserialize::deserialize(d)?),
            EventType::Session => {
                FoldData::Other(Cow::Owned(EventData::Session(Deserialize::deserialize(d)?)))
            }
            EventType::BusinessOutcome => FoldData::Other(Cow::Owned(EventData::BusinessOutcome(
                Deserialize::deserialize(d)?,
            ))),
            EventType::Audit => {
                FoldData::Other(Cow::Owned(EventData::Audit(Deserialize::deserialize(d)?)))
            }
            EventType::KpiMeasurement => FoldData::Other(Cow::Owned(EventData::KpiMeasurement(
                Deserialize::deserialize(d)?,
            ))),
        })
    }
}

struct FoldEventVisitor;

impl<'de> Visitor<'de> for FoldEventVisitor {
    type Value = FoldEvent<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a stored event")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FoldEvent<'de>, A::Error> {
        let mut event_type: Option<EventType> = None;
        let (mut data, mut pending): (Option<FoldData<'de>>, Option<serde_json::Value>) =
            (None, None);
        let (mut cost_usd, mut correlation_id) = (None, None);
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Type => event_type = Some(map.next_value()?),
                Field::Data => match event_type {
                    Some(t) => data = Some(map.next_value_seed(TypedView(t))?),
                    None => pending = Some(map.next_value()?),
                },
                Field::CostUsd => cost_usd = map.next_value()?,
                Field::CorrelationId => correlation_id = map.next_value()?,
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let event_type = event_type.ok_or_else(|| A::Error::missing_field("type"))?;
        let data = match (data, pending) {
            (Some(d), _) => d,
            (None, Some(v)) => TypedView(event_type)
                .deserialize(v)
                .map_err(A::Error::custom)?,
            (None, None) => return Err(A::Error::missing_field("data")),
        };
        Ok(FoldEvent {
            cost_usd,
            correlation_id,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollup::{DayFold, Rollup, roll_up};

    /// A day's stored events as written: every type, names with and without JSON escapes,
    /// priced and unpriced usage, correlation ids.
    const DAY: &[&str] = &[
        r#"{"type":"ai.usage","id":"e1","source":"s","time":"2026-11-20T08:00:00Z","day":"2026-11-20","received_at":"2026-11-20T08:00:01Z","data":{"model":"claude-sonnet-4-5","input_tokens":1200,"output_tokens":300,"cache_read_tokens":50,"cache_write_tokens":7,"cache_write_1h_tokens":3,"requests":2,"prompt_type":"summary","project":"p1","user":"u_0000000000000001","team":"ops","department":"finance","agent":"triage","feature":"inbox"},"cost_usd":"0.0123","price_version":"v1","priced_as":"claude-sonnet-4-5","correlation_id":"c-1"}"#,
        r#"{"type":"ai.usage","id":"e2","source":"s","time":"2026-11-20T09:00:00Z","day":"2026-11-20","received_at":"2026-11-20T09:00:01Z","data":{"model":"in-house \"v2\"","input_tokens":10,"output_tokens":5,"user":"u_0000000000000002","team":"caf\u00e9"}}"#,
        r#"{"type":"agent.execution","id":"e3","source":"s","time":"2026-11-20T10:00:00Z","day":"2026-11-20","received_at":"2026-11-20T10:00:01Z","data":{"outcome":"failure","duration_ms":2500,"retries":2,"error_category":"rate_limit","error_message":"429 from \"api\"","quality_score":"71.5","agent":"triage","user":"u_0000000000000001","project":"p1"},"correlation_id":"c-1"}"#,
        r#"{"type":"agent.execution","id":"e4","source":"s","time":"2026-11-20T10:05:00Z","day":"2026-11-20","received_at":"2026-11-20T10:05:01Z","data":{"outcome":"timeout","duration_ms":30000}}"#,
        r#"{"type":"agent.execution","id":"e5","source":"s","time":"2026-11-20T10:06:00Z","day":"2026-11-20","received_at":"2026-11-20T10:06:01Z","data":{"outcome":"success","duration_ms":800,"agent":"writer"},"correlation_id":"c-2"}"#,
        r#"{"type":"feature.usage","id":"e6","source":"s","time":"2026-11-20T11:00:00Z","day":"2026-11-20","received_at":"2026-11-20T11:00:01Z","data":{"count":3,"feature":"inbox","user":"u_0000000000000003"}}"#,
        r#"{"type":"feature.usage","id":"e7","source":"s","time":"2026-11-20T11:01:00Z","day":"2026-11-20","received_at":"2026-11-20T11:01:01Z","data":{"feature":"search"}}"#,
        r#"{"type":"session","id":"e8","source":"s","time":"2026-11-20T12:00:00Z","day":"2026-11-20","received_at":"2026-11-20T12:00:01Z","data":{"session_id":"s1","phase":"start","user":"u_0000000000000004"}}"#,
        r#"{"type":"session","id":"e9","source":"s","time":"2026-11-20T12:30:00Z","day":"2026-11-20","received_at":"2026-11-20T12:30:01Z","data":{"session_id":"s1","phase":"end","duration_ms":1800000,"user":"u_0000000000000004"}}"#,
        r#"{"type":"business.outcome","id":"e10","source":"s","time":"2026-11-20T13:00:00Z","day":"2026-11-20","received_at":"2026-11-20T13:00:01Z","data":{"kind":"deal_won","value_usd":"1500.00","minutes_saved":"30","ai_assisted":true,"count":2,"project":"p1"}}"#,
        r#"{"type":"audit","id":"e11","source":"s","time":"2026-11-20T14:00:00Z","day":"2026-11-20","received_at":"2026-11-20T14:00:01Z","data":{"action":"login_failed","outcome":"failure","user":"u_0000000000000005"}}"#,
        r#"{"type":"kpi.measurement","id":"e12","source":"s","time":"2026-11-20T15:00:00Z","day":"2026-11-20","received_at":"2026-11-20T15:00:01Z","data":{"kpi":"first_response_minutes","value":"12.5","project":"p1","user":"u_0000000000000006"}}"#,
    ];

    fn fold<'a>(events: impl IntoIterator<Item = FoldEvent<'a>>) -> Rollup {
        let mut fold = DayFold::new("alpha".parse().unwrap(), "2026-11-20".parse().unwrap());
        for e in events {
            fold.add(&e).unwrap();
        }
        fold.finish()
    }

    fn stored() -> Vec<StoredEvent> {
        DAY.iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn a_day_read_as_the_fold_reads_it_rolls_up_as_its_stored_events_do() {
        // GIVEN a day's stored events of every type, and their roll-up as stored events
        let stored = stored();
        let expected = roll_up(
            "alpha".parse().unwrap(),
            "2026-11-20".parse().unwrap(),
            &stored,
        )
        .unwrap();
        assert_eq!((expected.events, expected.users.len()), (12, 6));
        assert_eq!(expected.by["model"].len(), 2, "{:?}", expected.by);
        // WHEN the same lines are read as fold events, in the written order (`type` first)
        let read = fold(DAY.iter().map(|l| serde_json::from_str(l).unwrap()));
        // THEN the roll-up is the same
        assert_eq!(read, expected);
        // AND the same with `data` before `type` (read through a buffer)
        let reordered: Vec<String> = stored
            .iter()
            .map(|e| {
                // `data` inserted first: first whether the map keeps insertion order
                // (serde_json's `preserve_order`) or sorts its keys
                let whole = serde_json::to_value(e).unwrap();
                let mut first = serde_json::Map::new();
                first.insert("data".into(), whole["data"].clone());
                for (k, v) in whole.as_object().unwrap() {
                    first.entry(k.clone()).or_insert_with(|| v.clone());
                }
                serde_json::Value::Object(first).to_string()
            })
            .collect();
        assert!(reordered[0].find("\"data\"") < reordered[0].find("\"type\""));
        assert_eq!(
            fold(reordered.iter().map(|l| serde_json::from_str(l).unwrap())),
            expected
        );
    }

    #[test]
    fn whole_data_of_a_type_with_a_view_folds_through_its_view() {
        let stored = stored();
        let expected = fold(stored.iter().map(FoldEvent::from));
        let whole = fold(stored.iter().map(|e| FoldEvent {
            cost_usd: e.cost_usd,
            correlation_id: None,
            data: FoldData::Other(Cow::Borrowed(&e.data)),
        }));
        assert_eq!(whole, expected);
    }

    #[test]
    fn names_are_borrowed_from_the_json_unless_escaped() {
        let e: FoldEvent<'_> = serde_json::from_str(DAY[1]).unwrap();
        let FoldData::AiUsage(u) = &e.data else {
            panic!("{e:?}")
        };
        assert!(matches!(
            u.user.as_ref().unwrap().0,
            Cow::Borrowed("u_0000000000000002")
        ));
        assert!(matches!(&u.model.0, Cow::Owned(m) if m == "in-house \"v2\""));
        assert!(matches!(&u.team.as_ref().unwrap().0, Cow::Owned(t) if t == "café"));
    }

    #[test]
    fn an_event_without_type_or_data_is_refused_by_name() {
        for (line, missing) in [
            (r#"{"data":{"feature":"x"}}"#, "type"),
            (r#"{"type":"feature.usage","id":"e"}"#, "data"),
        ] {
            let e = serde_json::from_str::<FoldEvent<'_>>(line).unwrap_err();
            assert!(
                e.to_string()
                    .contains(&format!("missing field `{missing}`")),
                "{e}"
            );
        }
    }
}
