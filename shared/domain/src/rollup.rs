//! Daily roll-ups of a client's raw events (issue 5; seed 004 FR-016.1 usage, FR-016.2
//! cost, FR-016.3 agent performance, FR-016.4 business impact).
//!
//! A roll-up covers one client-day (the client's time zone decides where a day starts: raw
//! events are partitioned by that day at ingestion). It holds sums and counts, the distinct
//! users, and DDSketch percentiles ([`Sketch`], 1 % relative error), so weeks, months and
//! quarters are [`Rollup::merge`]s of days, without raw events. Computing a day again from
//! the same events gives the same record; a late event changes it when the day is
//! recomputed.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sketches_ddsketch::{Config, DDSketch};

use crate::ClientId;
use crate::event::{AuditOutcome, EventData, Outcome, OutcomeKind, SessionPhase};
use crate::stored_event::StoredEvent;

/// A mergeable quantile sketch (DDSketch, `sketches-ddsketch`) with 1 % relative error:
/// a reported quantile q̂ of true value q satisfies |q̂ − q| ≤ 0.01 q. Stored as the
/// Java-compatible DDSketch encoding in base64.
#[derive(Clone)]
pub struct Sketch(DDSketch);

impl Sketch {
    /// An empty sketch (relative accuracy 0.01, at most 2,048 bins).
    pub fn new() -> Self {
        Self(DDSketch::new(Config::defaults()))
    }

    /// Adds a value (ms, minutes, …; negative values are counted as 0).
    pub fn add(&mut self, value: f64) {
        self.0.add(value.max(0.0));
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Self) {
        // Both sides use the default configuration, so merging cannot fail.
        if let Err(e) = self.0.merge(&other.0) {
            tracing::error!(error = ?e, "sketches of different configurations");
        }
    }

    /// How many values were added.
    pub fn count(&self) -> u64 {
        self.0.count() as u64
    }

    /// The `q` quantile (0–1), or `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.0.quantile(q).ok().flatten()
    }

    /// The mean, or `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        let n = self.0.count();
        self.0.sum().filter(|_| n > 0).map(|s| s / n as f64)
    }

    /// Count, mean and the 50th, 95th and 99th percentiles, rounded to 0.1.
    pub fn summary(&self) -> Option<Percentiles> {
        let round = |v: f64| (v * 10.0).round() / 10.0;
        Some(Percentiles {
            count: self.count(),
            mean: round(self.mean()?),
            p50: round(self.quantile(0.50)?),
            p95: round(self.quantile(0.95)?),
            p99: round(self.quantile(0.99)?),
        })
    }
}

impl Default for Sketch {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Sketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sketch")
            .field("count", &self.count())
            .finish_non_exhaustive()
    }
}

impl PartialEq for Sketch {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_java_bytes() == other.0.to_java_bytes()
    }
}

impl Serialize for Sketch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(self.0.to_java_bytes()))
    }
}

impl<'de> Deserialize<'de> for Sketch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)?;
        DDSketch::from_java_bytes(&bytes)
            .map(Self)
            .map_err(|e| serde::de::Error::custom(format!("{e:?}")))
    }
}

/// Count, mean and percentiles of a [`Sketch`], in its unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// Values counted.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
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
    /// All tokens.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens
    }

    fn add_event(&mut self, e: &StoredEvent) {
        let EventData::AiUsage(u) = &e.data else {
            return;
        };
        self.events += 1;
        self.requests += u64::from(u.requests.unwrap_or(0));
        self.input_tokens += u.input_tokens;
        self.output_tokens += u.output_tokens;
        self.cache_read_tokens += u.cache_read_tokens;
        self.cache_write_tokens += u.cache_write_tokens + u.cache_write_1h_tokens;
        match e.cost_usd {
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
    fn rate(&self, n: u64) -> Option<Decimal> {
        (self.executions > 0).then(|| {
            (Decimal::from(n) * Decimal::ONE_HUNDRED / Decimal::from(self.executions)).round_dp(2)
        })
    }
}

/// Error messages kept per category as samples.
pub const ERROR_SAMPLES: usize = 3;

fn add_sample(samples: &mut BTreeMap<String, Vec<String>>, category: &str, message: &str) {
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
    fn add(&mut self, b: &crate::event::BusinessOutcome) {
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
fn entry<'m, V: Default>(map: &'m mut BTreeMap<String, V>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    map.get_mut(key)
        .unwrap_or_else(|| unreachable!("inserted above"))
}

/// Rolls up one client-day from its stored events (any order).
pub fn roll_up(client_id: ClientId, day: NaiveDate, events: &[StoredEvent]) -> Rollup {
    let mut r = Rollup::empty(client_id, day, day);
    r.events = events.len() as u64;
    for e in events {
        let a = e.data.attribution();
        if let Some(user) = a.user
            && !r.users.contains(user)
        {
            r.users.insert(user.to_owned());
        }
        match &e.data {
            EventData::AiUsage(u) => {
                r.usage.add_event(e);
                if let Some(project) = a.project {
                    r.projects
                        .entry(project.to_owned())
                        .or_default()
                        .usage
                        .add_event(e);
                }
                let values = [
                    a.user,
                    a.team,
                    a.department,
                    a.agent,
                    Some(u.model.as_str()),
                    u.prompt_type.as_deref(),
                    a.feature,
                ];
                for (dim, value) in DIMENSIONS.iter().zip(values) {
                    if let Some(v) = value {
                        entry(entry(&mut r.by, dim), v).add_event(e);
                    }
                }
            }
            EventData::AgentExecution(x) => {
                let s = entry(&mut r.agents, a.agent.unwrap_or("unknown"));
                s.executions += 1;
                match x.outcome {
                    Outcome::Success => s.success += 1,
                    Outcome::Failure => s.failure += 1,
                    Outcome::Timeout => s.timeout += 1,
                }
                s.retries += u64::from(x.retries);
                s.duration_ms.add(x.duration_ms as f64);
                if x.outcome != Outcome::Success {
                    let category = x.error_category.as_deref().unwrap_or(match x.outcome {
                        Outcome::Timeout => "timeout",
                        _ => "uncategorised",
                    });
                    *entry(&mut s.error_categories, category) += 1;
                    if let Some(message) = &x.error_message {
                        add_sample(&mut s.error_samples, category, message);
                    }
                }
                if let Some(q) = x.quality_score {
                    s.quality_score_sum += q;
                    s.quality_scored += 1;
                }
            }
            EventData::FeatureUsage(f) => {
                if let Some(feature) = a.feature {
                    *entry(&mut r.features, feature) += u64::from(f.count);
                }
            }
            EventData::Session(s) => match s.phase {
                SessionPhase::Start => r.sessions.started += 1,
                SessionPhase::End => {
                    r.sessions.ended += 1;
                    if let Some(ms) = s.duration_ms {
                        r.sessions.duration_ms.add(ms as f64);
                    }
                }
            },
            EventData::BusinessOutcome(b) => {
                r.outcomes.add(b);
                if let Some(project) = a.project {
                    r.projects
                        .entry(project.to_owned())
                        .or_default()
                        .outcomes
                        .add(b);
                }
            }
            EventData::Audit(x) => {
                let action = serde_json::to_value(x.action)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let outcome = match x.outcome {
                    AuditOutcome::Success => "success",
                    AuditOutcome::Failure => "failure",
                };
                *r.audit.entry(format!("{action}/{outcome}")).or_default() += 1;
            }
        }
    }
    r
}

/// What the read endpoints and the CLI show of a roll-up: the figures, with percentiles in
/// place of sketches and rates in percent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollupView {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Raw events counted.
    pub events: u64,
    /// Distinct active users (DAU for a day).
    pub active_users: u64,
    /// WAU, for a day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wau: Option<u64>,
    /// MAU, for a day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mau: Option<u64>,
    /// AI cost and tokens.
    pub usage: UsageTotals,
    /// Cost and tokens by dimension, then value; users appear as their hashes. At most
    /// [`MAX_NAMED_ENTRIES`] values per dimension, the rest under [`OTHER`].
    pub by: BTreeMap<String, BTreeMap<String, UsageTotals>>,
    /// Sessions started and ended, and ended sessions' duration, ms.
    pub sessions: SessionView,
    /// Feature usage counts.
    pub features: BTreeMap<String, u64>,
    /// Agent performance by agent.
    pub agents: BTreeMap<String, AgentView>,
    /// Business outcomes.
    pub outcomes: OutcomeStats,
    /// Average AI-assisted deal value, USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ai_assisted_deal_avg_usd: Option<Decimal>,
    /// Audit events by action and outcome.
    pub audit: BTreeMap<String, u64>,
    /// Usage and outcomes by project.
    pub projects: BTreeMap<String, ProjectTotals>,
}

/// Sessions as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionView {
    /// Started.
    pub started: u64,
    /// Ended.
    pub ended: u64,
    /// Duration of ended sessions, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<Percentiles>,
}

/// An agent's performance as shown (seed 004 `AgentPerformanceMetrics`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentView {
    /// Runs.
    pub total_executions: u64,
    /// Successful runs, percent.
    pub success_rate: Option<Decimal>,
    /// Failed runs, percent.
    pub error_rate: Option<Decimal>,
    /// Timed-out runs, percent.
    pub timeout_rate: Option<Decimal>,
    /// Retries per run, percent.
    pub retry_rate: Option<Decimal>,
    /// Duration, ms: mean, p50, p95, p99.
    pub execution_time_ms: Option<Percentiles>,
    /// Average quality score, 0–100.
    pub quality_score: Option<Decimal>,
    /// Failures and timeouts by category.
    pub error_breakdown: BTreeMap<String, u64>,
    /// Sample error messages by category.
    pub error_examples: BTreeMap<String, Vec<String>>,
}

impl From<&Rollup> for RollupView {
    fn from(r: &Rollup) -> Self {
        let agents = r
            .agents
            .iter()
            .map(|(name, s)| {
                let view = AgentView {
                    total_executions: s.executions,
                    success_rate: s.rate(s.success),
                    error_rate: s.rate(s.failure),
                    timeout_rate: s.rate(s.timeout),
                    retry_rate: s.rate(s.retries),
                    execution_time_ms: s.duration_ms.summary(),
                    quality_score: (s.quality_scored > 0).then(|| {
                        (s.quality_score_sum / Decimal::from(s.quality_scored)).round_dp(1)
                    }),
                    error_breakdown: s.error_categories.clone(),
                    error_examples: s.error_samples.clone(),
                };
                (name.clone(), view)
            })
            .collect();
        let o = &r.outcomes;
        Self {
            from: r.from,
            to: r.to,
            events: r.events,
            active_users: r.active_users(),
            wau: r.wau,
            mau: r.mau,
            usage: r.usage.clone(),
            by: r
                .by
                .iter()
                .map(|(dim, groups)| {
                    let mut groups = groups.clone();
                    cap_groups(&mut groups, MAX_NAMED_ENTRIES);
                    (dim.clone(), groups)
                })
                .collect(),
            sessions: SessionView {
                started: r.sessions.started,
                ended: r.sessions.ended,
                duration_ms: r.sessions.duration_ms.summary(),
            },
            features: r.features.clone(),
            agents,
            outcomes: o.clone(),
            ai_assisted_deal_avg_usd: (o.ai_assisted_deals > 0).then(|| {
                (o.ai_assisted_deal_value_usd / Decimal::from(o.ai_assisted_deals)).round_dp(2)
            }),
            audit: r.audit.clone(),
            projects: r.projects.clone(),
        }
    }
}

/// Daily roll-ups merged into one covering `from..=to`, or `None` when there is none. WAU
/// and MAU are dropped: they belong to single days.
pub fn merge_days<'a>(
    days: impl IntoIterator<Item = &'a Rollup>,
    from: NaiveDate,
    to: NaiveDate,
) -> Option<Rollup> {
    let mut merged: Option<Rollup> = None;
    for r in days {
        match merged.as_mut() {
            Some(m) => m.merge(r),
            None => merged = Some(r.clone()),
        }
    }
    if let Some(m) = merged.as_mut() {
        m.from = from;
        m.to = to;
        m.wau = None;
        m.mau = None;
    }
    merged
}
