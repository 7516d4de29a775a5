//! What a roll-up holds: usage totals by dimension, sessions, agents, outcomes and projects,
//! with the bounds on how many names an item keeps.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::input::UsageView;
use super::sketch::Sketch;
use crate::ClientId;
use crate::event::OutcomeKind;

/// A roll-up figure whose sum would leave its type's range (a count past u64's
/// 1.8 × 10^19, an amount past `Decimal::MAX`), named by the field: the sum is refused,
/// never wrapped or saturated. Within the documented input ranges (at most 10^12 tokens of a
/// kind per event, [`crate::event::MAX_TOKENS_PER_EVENT`]) a year of days stays far below, so it
/// means stored figures that no events could have produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the roll-up figure `{0}` leaves its range when summed: the stored roll-ups hold figures no events could produce"
)]
pub struct SumOverflow(pub &'static str);

/// A figure that can be summed without leaving its range: a count (`u64`) or an amount
/// (`Decimal`, USD or minutes).
pub trait Summable: Copy {
    /// `self + other`, or `None` past the type's range.
    fn checked(self, other: Self) -> Option<Self>;
}

impl Summable for u64 {
    fn checked(self, other: Self) -> Option<Self> {
        self.checked_add(other)
    }
}

impl Summable for Decimal {
    fn checked(self, other: Self) -> Option<Self> {
        self.checked_add(other)
    }
}

/// Adds `n` to `total`, the figure `field`.
///
/// # Errors
/// [`SumOverflow`] naming `field` when the sum leaves the type's range; `total` is then
/// unchanged.
pub fn add_checked<T: Summable>(
    total: &mut T,
    n: T,
    field: &'static str,
) -> Result<(), SumOverflow> {
    *total = total.checked(n).ok_or(SumOverflow(field))?;
    Ok(())
}

/// Adds `n` to the count named `key` of `map` (0 when missing).
fn add_named(
    map: &mut BTreeMap<String, u64>,
    key: &str,
    n: u64,
    field: &'static str,
) -> Result<(), SumOverflow> {
    add_checked(entry(map, key), n, field)
}

/// Adds every count of `other` to `map`'s count of the same name.
fn merge_counts(
    map: &mut BTreeMap<String, u64>,
    other: &BTreeMap<String, u64>,
    field: &'static str,
) -> Result<(), SumOverflow> {
    other
        .iter()
        .try_for_each(|(k, v)| add_named(map, k, *v, field))
}

/// AI usage and cost of a set of `ai.usage` events (seed 004 FR-016.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageTotals {
    /// `ai.usage` events.
    pub events: u64,
    /// Model calls, where the sender said (usage reports do not).
    pub requests: u64,
    /// Uncached input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cache-read tokens.
    pub cache_read_tokens: u64,
    /// Cache-write tokens (5-minute and 1-hour).
    pub cache_write_tokens: u64,
    /// Metered cost, USD (priced events only).
    pub cost_usd: Decimal,
    /// Events whose model is not in the price table (their cost is not in `cost_usd`).
    pub unpriced_events: u64,
}

impl UsageTotals {
    /// All tokens (at most u64's 1.8 × 10^19: a sum past it, of figures no events could
    /// produce, shows as that).
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.output_tokens)
            .saturating_add(self.cache_read_tokens)
            .saturating_add(self.cache_write_tokens)
    }

    /// Adds one `ai.usage` event: its tokens and calls, and its cost (`None`: unpriced).
    ///
    /// # Errors
    /// [`SumOverflow`] when a total would leave its range (some totals may then hold the
    /// event and others not: the roll-up is not stored).
    pub(super) fn add_event(
        &mut self,
        u: &UsageView<'_>,
        cost_usd: Option<Decimal>,
    ) -> Result<(), SumOverflow> {
        let cache_write = u
            .cache_write_tokens
            .checked(u.cache_write_1h_tokens)
            .ok_or(SumOverflow("cache_write_tokens"))?;
        add_checked(&mut self.events, 1, "events")?;
        add_checked(
            &mut self.requests,
            u64::from(u.requests.unwrap_or(0)),
            "requests",
        )?;
        add_checked(&mut self.input_tokens, u.input_tokens, "input_tokens")?;
        add_checked(&mut self.output_tokens, u.output_tokens, "output_tokens")?;
        add_checked(
            &mut self.cache_read_tokens,
            u.cache_read_tokens,
            "cache_read_tokens",
        )?;
        add_checked(
            &mut self.cache_write_tokens,
            cache_write,
            "cache_write_tokens",
        )?;
        match cost_usd {
            Some(c) => add_checked(&mut self.cost_usd, c, "cost_usd"),
            None => add_checked(&mut self.unpriced_events, 1, "unpriced_events"),
        }
    }

    /// Adds another set's totals.
    ///
    /// # Errors
    /// [`SumOverflow`] when a total would leave its range.
    pub fn merge(&mut self, o: &Self) -> Result<(), SumOverflow> {
        add_checked(&mut self.events, o.events, "events")?;
        add_checked(&mut self.requests, o.requests, "requests")?;
        add_checked(&mut self.input_tokens, o.input_tokens, "input_tokens")?;
        add_checked(&mut self.output_tokens, o.output_tokens, "output_tokens")?;
        add_checked(
            &mut self.cache_read_tokens,
            o.cache_read_tokens,
            "cache_read_tokens",
        )?;
        add_checked(
            &mut self.cache_write_tokens,
            o.cache_write_tokens,
            "cache_write_tokens",
        )?;
        add_checked(&mut self.cost_usd, o.cost_usd, "cost_usd")?;
        add_checked(
            &mut self.unpriced_events,
            o.unpriced_events,
            "unpriced_events",
        )
    }
}

/// The breakdowns of cost and tokens (seed 004 FR-016.2 "by user, team, department, agent,
/// prompt type, feature", and model).
pub const DIMENSIONS: [&str; 7] = [
    "user",
    "team",
    "department",
    "agent",
    "model",
    "prompt_type",
    "feature",
];

/// Sessions (seed 004 FR-016.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionStats {
    /// Sessions started.
    pub started: u64,
    /// Sessions ended.
    pub ended: u64,
    /// Durations of ended sessions, ms.
    pub duration_ms: Sketch,
}

/// One agent's runs (seed 004 FR-016.3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentStats {
    /// Runs.
    pub executions: u64,
    /// Runs that succeeded.
    pub success: u64,
    /// Runs that failed.
    pub failure: u64,
    /// Runs that timed out.
    pub timeout: u64,
    /// Retries over all runs.
    pub retries: u64,
    /// Run durations, ms.
    pub duration_ms: Sketch,
    /// Failures and timeouts by error category.
    pub error_categories: BTreeMap<String, u64>,
    /// Up to [`ERROR_SAMPLES`] distinct error messages per category.
    #[serde(default)]
    pub error_samples: BTreeMap<String, Vec<String>>,
    /// Sum of quality scores given (0–100 each).
    pub quality_score_sum: Decimal,
    /// Runs with a quality score.
    pub quality_scored: u64,
}

impl AgentStats {
    fn merge(&mut self, o: &Self) -> Result<(), SumOverflow> {
        add_checked(&mut self.executions, o.executions, "agents.executions")?;
        add_checked(&mut self.success, o.success, "agents.success")?;
        add_checked(&mut self.failure, o.failure, "agents.failure")?;
        add_checked(&mut self.timeout, o.timeout, "agents.timeout")?;
        add_checked(&mut self.retries, o.retries, "agents.retries")?;
        self.duration_ms.merge(&o.duration_ms);
        merge_counts(
            &mut self.error_categories,
            &o.error_categories,
            "agents.error_categories",
        )?;
        for (category, messages) in &o.error_samples {
            for m in messages {
                add_sample(&mut self.error_samples, category, m);
            }
        }
        add_checked(
            &mut self.quality_score_sum,
            o.quality_score_sum,
            "agents.quality_score_sum",
        )?;
        add_checked(
            &mut self.quality_scored,
            o.quality_scored,
            "agents.quality_scored",
        )
    }

    /// Share of runs, percent (0–100), rounded to 0.01; `None` without runs.
    pub(super) fn rate(&self, n: u64) -> Option<Decimal> {
        (self.executions > 0).then(|| {
            (Decimal::from(n) * Decimal::ONE_HUNDRED / Decimal::from(self.executions)).round_dp(2)
        })
    }
}

/// Error messages kept per category as samples.
pub const ERROR_SAMPLES: usize = 3;

pub(super) fn add_sample(
    samples: &mut BTreeMap<String, Vec<String>>,
    category: &str,
    message: &str,
) {
    let kept = entry(samples, category);
    if kept.len() < ERROR_SAMPLES && !kept.iter().any(|m| m == message) {
        kept.push(message.to_owned());
    }
}

/// Business outcomes (seed 004 FR-016.4).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutcomeStats {
    /// AI-assisted deals won.
    pub ai_assisted_deals: u64,
    /// Their value, USD.
    pub ai_assisted_deal_value_usd: Decimal,
    /// Deals won without the AI.
    pub other_deals: u64,
    /// Their value, USD.
    pub other_deal_value_usd: Decimal,
    /// Tasks automated.
    pub tasks_automated: u64,
    /// Tickets resolved with the AI's help.
    pub tickets_resolved: u64,
    /// Errors avoided.
    pub errors_avoided: u64,
    /// Other (custom) outcomes, by name.
    pub custom: BTreeMap<String, u64>,
    /// Staff time saved by AI-assisted outcomes, minutes.
    pub minutes_saved: Decimal,
    /// Value of AI-assisted outcomes other than deals (cost avoided), USD.
    pub other_value_usd: Decimal,
}

impl OutcomeStats {
    /// Adds one `business.outcome` event.
    ///
    /// # Errors
    /// [`SumOverflow`] when a figure would leave its range.
    pub(super) fn add(&mut self, b: &crate::event::BusinessOutcome) -> Result<(), SumOverflow> {
        let n = u64::from(b.count);
        let value = b.value_usd.unwrap_or_default();
        match (b.kind, b.ai_assisted) {
            (OutcomeKind::DealWon, true) => {
                add_checked(&mut self.ai_assisted_deals, n, "outcomes.ai_assisted_deals")?;
                add_checked(
                    &mut self.ai_assisted_deal_value_usd,
                    value,
                    "outcomes.ai_assisted_deal_value_usd",
                )?;
            }
            (OutcomeKind::DealWon, false) => {
                add_checked(&mut self.other_deals, n, "outcomes.other_deals")?;
                add_checked(
                    &mut self.other_deal_value_usd,
                    value,
                    "outcomes.other_deal_value_usd",
                )?;
            }
            (OutcomeKind::TaskAutomated, _) => {
                add_checked(&mut self.tasks_automated, n, "outcomes.tasks_automated")?
            }
            (OutcomeKind::TicketResolved, _) => {
                add_checked(&mut self.tickets_resolved, n, "outcomes.tickets_resolved")?
            }
            (OutcomeKind::ErrorAvoided, _) => {
                add_checked(&mut self.errors_avoided, n, "outcomes.errors_avoided")?
            }
            (OutcomeKind::Custom, _) => {
                let name = b.custom_kind.as_deref().unwrap_or_default();
                add_named(&mut self.custom, name, n, "outcomes.custom")?;
            }
        }
        if b.ai_assisted {
            add_checked(
                &mut self.minutes_saved,
                b.minutes_saved.unwrap_or_default(),
                "outcomes.minutes_saved",
            )?;
            if b.kind != OutcomeKind::DealWon {
                add_checked(&mut self.other_value_usd, value, "outcomes.other_value_usd")?;
            }
        }
        Ok(())
    }

    fn merge(&mut self, o: &Self) -> Result<(), SumOverflow> {
        add_checked(
            &mut self.ai_assisted_deals,
            o.ai_assisted_deals,
            "outcomes.ai_assisted_deals",
        )?;
        add_checked(
            &mut self.ai_assisted_deal_value_usd,
            o.ai_assisted_deal_value_usd,
            "outcomes.ai_assisted_deal_value_usd",
        )?;
        add_checked(&mut self.other_deals, o.other_deals, "outcomes.other_deals")?;
        add_checked(
            &mut self.other_deal_value_usd,
            o.other_deal_value_usd,
            "outcomes.other_deal_value_usd",
        )?;
        add_checked(
            &mut self.tasks_automated,
            o.tasks_automated,
            "outcomes.tasks_automated",
        )?;
        add_checked(
            &mut self.tickets_resolved,
            o.tickets_resolved,
            "outcomes.tickets_resolved",
        )?;
        add_checked(
            &mut self.errors_avoided,
            o.errors_avoided,
            "outcomes.errors_avoided",
        )?;
        merge_counts(&mut self.custom, &o.custom, "outcomes.custom")?;
        add_checked(
            &mut self.minutes_saved,
            o.minutes_saved,
            "outcomes.minutes_saved",
        )?;
        add_checked(
            &mut self.other_value_usd,
            o.other_value_usd,
            "outcomes.other_value_usd",
        )
    }
}

/// A project's share of a roll-up: the events attributed to it (`data.project`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectTotals {
    /// Its AI usage and metered cost.
    pub usage: UsageTotals,
    /// Its business outcomes.
    pub outcomes: OutcomeStats,
}

/// A client's events of one day, or of several merged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollup {
    /// The client.
    pub client_id: ClientId,
    /// First day covered (the client's days).
    pub from: NaiveDate,
    /// Last day covered.
    pub to: NaiveDate,
    /// Raw events counted.
    pub events: u64,
    /// All `ai.usage` events.
    pub usage: UsageTotals,
    /// `ai.usage` by dimension ([`DIMENSIONS`]) and value.
    pub by: BTreeMap<String, BTreeMap<String, UsageTotals>>,
    /// Distinct active users (salted hashes) of any event.
    pub users: BTreeSet<String>,
    /// Distinct users of the 7 days ending on `to` (daily roll-ups only).
    pub wau: Option<u64>,
    /// Distinct users of the 30 days ending on `to` (daily roll-ups only).
    pub mau: Option<u64>,
    /// Sessions.
    pub sessions: SessionStats,
    /// `feature.usage` counts by feature (the usage heatmap's data).
    pub features: BTreeMap<String, u64>,
    /// Agent runs by agent.
    pub agents: BTreeMap<String, AgentStats>,
    /// Business outcomes.
    pub outcomes: OutcomeStats,
    /// `audit` events by action and outcome (`pii_access/success`).
    pub audit: BTreeMap<String, u64>,
    /// Usage and outcomes by project, for events that name one.
    pub projects: BTreeMap<String, ProjectTotals>,
}

impl Rollup {
    /// An empty roll-up of `client` for `from..=to`.
    pub fn empty(client_id: ClientId, from: NaiveDate, to: NaiveDate) -> Self {
        Self {
            client_id,
            from,
            to,
            events: 0,
            usage: UsageTotals::default(),
            by: BTreeMap::new(),
            users: BTreeSet::new(),
            wau: None,
            mau: None,
            sessions: SessionStats::default(),
            features: BTreeMap::new(),
            agents: BTreeMap::new(),
            outcomes: OutcomeStats::default(),
            audit: BTreeMap::new(),
            projects: BTreeMap::new(),
        }
    }

    /// DAU for a day, or distinct active users of a period.
    pub fn active_users(&self) -> u64 {
        self.users.len() as u64
    }

    /// Adds another roll-up of the same client (a later or earlier period): sums, counts,
    /// sketches and user sets merge; WAU/MAU are dropped (they belong to single days).
    ///
    /// # Errors
    /// [`SumOverflow`] when a figure would leave its range; `self` is then partly merged
    /// and must be dropped.
    pub fn merge(&mut self, o: &Self) -> Result<(), SumOverflow> {
        self.from = self.from.min(o.from);
        self.to = self.to.max(o.to);
        add_checked(&mut self.events, o.events, "events")?;
        self.usage.merge(&o.usage)?;
        for (dim, groups) in &o.by {
            let mine = self.by.entry(dim.clone()).or_default();
            for (value, totals) in groups {
                mine.entry(value.clone()).or_default().merge(totals)?;
            }
        }
        self.users.extend(o.users.iter().cloned());
        self.wau = None;
        self.mau = None;
        add_checked(
            &mut self.sessions.started,
            o.sessions.started,
            "sessions.started",
        )?;
        add_checked(&mut self.sessions.ended, o.sessions.ended, "sessions.ended")?;
        self.sessions.duration_ms.merge(&o.sessions.duration_ms);
        merge_counts(&mut self.features, &o.features, "features")?;
        for (k, v) in &o.agents {
            self.agents.entry(k.clone()).or_default().merge(v)?;
        }
        self.outcomes.merge(&o.outcomes)?;
        merge_counts(&mut self.audit, &o.audit, "audit")?;
        for (k, v) in &o.projects {
            let mine = self.projects.entry(k.clone()).or_default();
            mine.usage.merge(&v.usage)?;
            mine.outcomes.merge(&v.outcomes)?;
        }
        Ok(())
    }
}

/// How many named entries a roll-up map keeps when stored or shown (features, custom
/// outcomes, error categories, and per dimension in the read endpoints): the largest 200,
/// the rest summed under [`OTHER`]. Keeps every item far below DynamoDB's 400 KB and every
/// answer far below Lambda's 6 MB, whatever the number of names in the events.
pub const MAX_NAMED_ENTRIES: usize = 200;

/// The name the entries beyond [`MAX_NAMED_ENTRIES`] are summed under.
pub const OTHER: &str = "(other)";

/// Keeps the `n` largest counts of `map` (ties by name) and sums the rest under [`OTHER`];
/// the total is unchanged.
pub fn cap_counts(map: &mut BTreeMap<String, u64>, n: usize) {
    if map.len() <= n {
        return;
    }
    let mut entries: Vec<(String, u64)> = std::mem::take(map).into_iter().collect();
    entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let rest: u64 = entries[n..]
        .iter()
        .map(|(_, v)| *v)
        .fold(0, u64::saturating_add);
    entries.truncate(n);
    map.extend(entries);
    let other = map.entry(OTHER.to_owned()).or_default();
    *other = other.saturating_add(rest);
}

/// Keeps the `n` groups of `map` with the highest cost (then the most events) and merges
/// the rest into [`OTHER`]; the totals are unchanged.
///
/// # Errors
/// [`SumOverflow`] when the rest's totals leave their range.
pub fn cap_groups(map: &mut BTreeMap<String, UsageTotals>, n: usize) -> Result<(), SumOverflow> {
    if map.len() <= n {
        return Ok(());
    }
    let mut entries: Vec<(String, UsageTotals)> = std::mem::take(map).into_iter().collect();
    entries.sort_by(|a, b| {
        (b.1.cost_usd, b.1.events)
            .cmp(&(a.1.cost_usd, a.1.events))
            .then_with(|| a.0.cmp(&b.0))
    });
    let mut other = UsageTotals::default();
    for (_, t) in entries.drain(n..) {
        other.merge(&t)?;
    }
    map.extend(entries);
    map.entry(OTHER.to_owned()).or_default().merge(&other)
}

impl Rollup {
    /// Caps, in place, the open-ended maps stored inside the summary, agent and project
    /// items at [`MAX_NAMED_ENTRIES`] (features, custom outcomes, agents' error categories
    /// and their samples): what is stored. The user set and the usage groups are stored in
    /// items of their own and are left whole.
    pub fn cap_named_maps(&mut self) {
        cap_counts(&mut self.features, MAX_NAMED_ENTRIES);
        cap_counts(&mut self.outcomes.custom, MAX_NAMED_ENTRIES);
        for project in self.projects.values_mut() {
            cap_counts(&mut project.outcomes.custom, MAX_NAMED_ENTRIES);
        }
        for agent in self.agents.values_mut() {
            cap_counts(&mut agent.error_categories, MAX_NAMED_ENTRIES);
            let kept: std::collections::BTreeSet<String> =
                agent.error_categories.keys().cloned().collect();
            agent
                .error_samples
                .retain(|category, _| kept.contains(category));
        }
    }
}

/// The value under `key`, inserted as the default when missing; the key is copied only then
/// (a day has a million events and a few thousand keys).
pub(super) fn entry<'m, V: Default>(map: &'m mut BTreeMap<String, V>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    map.get_mut(key)
        .unwrap_or_else(|| unreachable!("inserted above"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: &str) -> Rollup {
        Rollup::empty(
            "alpha".parse().unwrap(),
            d.parse().unwrap(),
            d.parse().unwrap(),
        )
    }

    #[test]
    fn a_sum_past_its_range_is_refused_by_name_never_wrapped() {
        // GIVEN a stored day whose counts no events could produce
        let mut a = day("2026-11-20");
        a.usage.input_tokens = u64::MAX - 5;
        let mut b = day("2026-11-21");
        b.usage.input_tokens = 6;
        // WHEN it is merged with another day THEN the figure is named
        assert_eq!(
            a.clone().merge(&b),
            Err(SumOverflow("input_tokens")),
            "the sum would wrap to 0"
        );
        // AND one token less fits exactly
        b.usage.input_tokens = 5;
        let mut m = a.clone();
        m.merge(&b).unwrap();
        assert_eq!(m.usage.input_tokens, u64::MAX);

        // the same for amounts (Decimal's `+` would panic) and for the named maps
        let mut rich = day("2026-11-20");
        rich.usage.cost_usd = Decimal::MAX;
        let mut dollar = day("2026-11-21");
        dollar.usage.cost_usd = Decimal::ONE;
        assert_eq!(rich.merge(&dollar), Err(SumOverflow("cost_usd")));
        let (mut f, mut g) = (day("2026-11-20"), day("2026-11-21"));
        f.features.insert("search".into(), u64::MAX);
        g.features.insert("search".into(), 1);
        assert_eq!(f.merge(&g), Err(SumOverflow("features")));
        let mut agent = AgentStats {
            quality_score_sum: Decimal::MAX,
            ..AgentStats::default()
        };
        let one = AgentStats {
            quality_score_sum: Decimal::ONE,
            ..AgentStats::default()
        };
        assert_eq!(
            agent.merge(&one),
            Err(SumOverflow("agents.quality_score_sum"))
        );
    }

    #[test]
    fn capped_groups_refuse_a_rest_past_its_range() {
        let mut groups: BTreeMap<String, UsageTotals> = (0..3)
            .map(|i| {
                let t = UsageTotals {
                    events: u64::MAX / 2 + 1,
                    ..UsageTotals::default()
                };
                (format!("g{i}"), t)
            })
            .collect();
        assert_eq!(cap_groups(&mut groups, 1), Err(SumOverflow("events")));
    }
}
