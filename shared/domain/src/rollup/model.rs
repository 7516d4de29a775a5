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
    /// All tokens.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens
    }

    /// Adds one `ai.usage` event: its tokens and calls, and its cost (`None`: unpriced).
    pub(super) fn add_event(&mut self, u: &UsageView<'_>, cost_usd: Option<Decimal>) {
        self.events += 1;
        self.requests += u64::from(u.requests.unwrap_or(0));
        self.input_tokens += u.input_tokens;
        self.output_tokens += u.output_tokens;
        self.cache_read_tokens += u.cache_read_tokens;
        self.cache_write_tokens += u.cache_write_tokens + u.cache_write_1h_tokens;
        match cost_usd {
            Some(c) => self.cost_usd += c,
            None => self.unpriced_events += 1,
        }
    }

    fn merge(&mut self, o: &Self) {
        self.events += o.events;
        self.requests += o.requests;
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.cache_read_tokens += o.cache_read_tokens;
        self.cache_write_tokens += o.cache_write_tokens;
        self.cost_usd += o.cost_usd;
        self.unpriced_events += o.unpriced_events;
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
    fn merge(&mut self, o: &Self) {
        self.executions += o.executions;
        self.success += o.success;
        self.failure += o.failure;
        self.timeout += o.timeout;
        self.retries += o.retries;
        self.duration_ms.merge(&o.duration_ms);
        for (k, v) in &o.error_categories {
            *self.error_categories.entry(k.clone()).or_default() += v;
        }
        for (category, messages) in &o.error_samples {
            for m in messages {
                add_sample(&mut self.error_samples, category, m);
            }
        }
        self.quality_score_sum += o.quality_score_sum;
        self.quality_scored += o.quality_scored;
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
    pub(super) fn add(&mut self, b: &crate::event::BusinessOutcome) {
        let n = u64::from(b.count);
        let value = b.value_usd.unwrap_or_default();
        match (b.kind, b.ai_assisted) {
            (OutcomeKind::DealWon, true) => {
                self.ai_assisted_deals += n;
                self.ai_assisted_deal_value_usd += value;
            }
            (OutcomeKind::DealWon, false) => {
                self.other_deals += n;
                self.other_deal_value_usd += value;
            }
            (OutcomeKind::TaskAutomated, _) => self.tasks_automated += n,
            (OutcomeKind::TicketResolved, _) => self.tickets_resolved += n,
            (OutcomeKind::ErrorAvoided, _) => self.errors_avoided += n,
            (OutcomeKind::Custom, _) => {
                let name = b.custom_kind.clone().unwrap_or_default();
                *self.custom.entry(name).or_default() += n;
            }
        }
        if b.ai_assisted {
            self.minutes_saved += b.minutes_saved.unwrap_or_default();
            if b.kind != OutcomeKind::DealWon {
                self.other_value_usd += value;
            }
        }
    }

    fn merge(&mut self, o: &Self) {
        self.ai_assisted_deals += o.ai_assisted_deals;
        self.ai_assisted_deal_value_usd += o.ai_assisted_deal_value_usd;
        self.other_deals += o.other_deals;
        self.other_deal_value_usd += o.other_deal_value_usd;
        self.tasks_automated += o.tasks_automated;
        self.tickets_resolved += o.tickets_resolved;
        self.errors_avoided += o.errors_avoided;
        for (k, v) in &o.custom {
            *self.custom.entry(k.clone()).or_default() += v;
        }
        self.minutes_saved += o.minutes_saved;
        self.other_value_usd += o.other_value_usd;
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
    pub fn merge(&mut self, o: &Self) {
        self.from = self.from.min(o.from);
        self.to = self.to.max(o.to);
        self.events += o.events;
        self.usage.merge(&o.usage);
        for (dim, groups) in &o.by {
            let mine = self.by.entry(dim.clone()).or_default();
            for (value, totals) in groups {
                mine.entry(value.clone()).or_default().merge(totals);
            }
        }
        self.users.extend(o.users.iter().cloned());
        self.wau = None;
        self.mau = None;
        self.sessions.started += o.sessions.started;
        self.sessions.ended += o.sessions.ended;
        self.sessions.duration_ms.merge(&o.sessions.duration_ms);
        for (k, v) in &o.features {
            *self.features.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.agents {
            self.agents.entry(k.clone()).or_default().merge(v);
        }
        self.outcomes.merge(&o.outcomes);
        for (k, v) in &o.audit {
            *self.audit.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.projects {
            let mine = self.projects.entry(k.clone()).or_default();
            mine.usage.merge(&v.usage);
            mine.outcomes.merge(&v.outcomes);
        }
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
pub fn cap_groups(map: &mut BTreeMap<String, UsageTotals>, n: usize) {
    if map.len() <= n {
        return;
    }
    let mut entries: Vec<(String, UsageTotals)> = std::mem::take(map).into_iter().collect();
    entries.sort_by(|a, b| {
        (b.1.cost_usd, b.1.events)
            .cmp(&(a.1.cost_usd, a.1.events))
            .then_with(|| a.0.cmp(&b.0))
    });
    let mut other = UsageTotals::default();
    for (_, t) in entries.drain(n..) {
        other.merge(&t);
    }
    map.extend(entries);
    map.entry(OTHER.to_owned()).or_default().merge(&other);
}

impl Rollup {
    /// The same roll-up with its unbounded maps capped ([`MAX_NAMED_ENTRIES`]): what is
    /// stored. The usage groups are stored one item each and are not capped here.
    pub fn capped(&self) -> Self {
        let mut r = self.clone();
        cap_counts(&mut r.features, MAX_NAMED_ENTRIES);
        cap_counts(&mut r.outcomes.custom, MAX_NAMED_ENTRIES);
        for project in r.projects.values_mut() {
            cap_counts(&mut project.outcomes.custom, MAX_NAMED_ENTRIES);
        }
        for agent in r.agents.values_mut() {
            cap_counts(&mut agent.error_categories, MAX_NAMED_ENTRIES);
            let kept: std::collections::BTreeSet<String> =
                agent.error_categories.keys().cloned().collect();
            agent
                .error_samples
                .retain(|category, _| kept.contains(category));
        }
        r
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
