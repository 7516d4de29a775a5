//! The fold: one client-day's raw events into its [`Rollup`].

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::input::{FoldData, FoldEvent};
use super::model::*;
use crate::ClientId;
use crate::event::{AuditOutcome, EventData, Outcome, SessionPhase};
use crate::stored_event::StoredEvent;

/// Rolls up one client-day from its stored events (any order): a [`DayFold`] fed every
/// event.
///
/// # Errors
/// [`SumOverflow`] when a figure of the day would leave its range.
pub fn roll_up(
    client_id: ClientId,
    day: NaiveDate,
    events: &[StoredEvent],
) -> Result<Rollup, SumOverflow> {
    let mut fold = DayFold::new(client_id, day);
    for e in events {
        fold.add(&e.into())?;
    }
    Ok(fold.finish())
}

/// A client-day's roll-up folded one event at a time, so a day is never held whole
/// (issue 19): memory grows with the distinct names (users, agents, models…), not with the
/// events. Events may come in any order; the result is the same. Each event comes as the
/// [`FoldEvent`] the fold reads of it, borrowed from a [`StoredEvent`] or from its JSON.
///
/// While folding, the open-ended sets and maps (users, the usage breakdowns, agents,
/// features, projects) are hash tables: one hash and one probe per event and name, where the
/// [`Rollup`]'s ordered maps would compare a key at every level of the tree (the roll-up
/// benchmark's day of 50,000 users). [`DayFold::finish`] sorts them into the [`Rollup`].
#[derive(Debug, Clone)]
pub struct DayFold {
    /// The scalar figures and the small maps (sessions, outcomes, audit).
    r: Rollup,
    users: Names<()>,
    /// By [`DIMENSIONS`] index.
    by: [Names<UsageTotals>; DIMENSIONS.len()],
    features: Names<u64>,
    agents: Names<AgentStats>,
    projects: Names<ProjectTotals>,
}

/// Named values while folding: hashbrown's table, whose `entry_ref` finds or inserts a
/// name in one probe, copying the name only when it is new (the standard map needs a
/// lookup, then an insert and a second lookup; issue 19's roll-up profile).
type Names<V> = hashbrown::HashMap<String, V, foldhash::fast::RandomState>;

/// The value named `key`, inserted empty first when missing.
fn named<'m, V: Default>(map: &'m mut Names<V>, key: &str) -> &'m mut V {
    map.entry_ref(key).or_default()
}

/// The named values in name order, as the [`Rollup`] keeps them.
fn sorted<V>(names: Names<V>) -> BTreeMap<String, V> {
    names.into_iter().collect()
}

impl DayFold {
    /// An empty roll-up of `client_id`'s `day`.
    pub fn new(client_id: ClientId, day: NaiveDate) -> Self {
        Self {
            r: Rollup::empty(client_id, day, day),
            users: Names::default(),
            by: Default::default(),
            features: Names::default(),
            agents: Names::default(),
            projects: Names::default(),
        }
    }

    /// The roll-up of the events folded (WAU and MAU unset: they need other days).
    pub fn finish(self) -> Rollup {
        let mut r = self.r;
        r.users = self.users.into_keys().collect();
        r.by = DIMENSIONS
            .iter()
            .zip(self.by)
            .filter(|(_, groups)| !groups.is_empty())
            .map(|(dim, groups)| ((*dim).to_owned(), sorted(groups)))
            .collect();
        r.features = sorted(self.features);
        r.agents = sorted(self.agents);
        r.projects = sorted(self.projects);
        r
    }

    /// Folds one event in.
    ///
    /// # Errors
    /// [`SumOverflow`] when a figure of the day would leave its range (the fold is then
    /// partly updated and must be dropped).
    pub fn add(&mut self, e: &FoldEvent<'_>) -> Result<(), SumOverflow> {
        add_checked(&mut self.r.events, 1, "events")?;
        if let Some(user) = e.data.attribution().user {
            named(&mut self.users, user);
        }
        self.add_data(&e.data, e.cost_usd)
    }

    /// Folds in an event's data; `cost_usd` is its priced cost (`ai.usage`).
    fn add_data(
        &mut self,
        data: &FoldData<'_>,
        cost_usd: Option<Decimal>,
    ) -> Result<(), SumOverflow> {
        let r = &mut self.r;
        let a = data.attribution();
        match data {
            FoldData::AiUsage(u) => {
                r.usage.add_event(u, cost_usd)?;
                if let Some(project) = a.project {
                    named(&mut self.projects, project)
                        .usage
                        .add_event(u, cost_usd)?;
                }
                let values = [
                    a.user,
                    a.team,
                    a.department,
                    a.agent,
                    Some(u.model.as_str()),
                    u.prompt_type.as_ref().map(|p| p.as_str()),
                    a.feature,
                ];
                for (groups, value) in self.by.iter_mut().zip(values) {
                    if let Some(v) = value {
                        named(groups, v).add_event(u, cost_usd)?;
                    }
                }
            }
            FoldData::AgentExecution(x) => {
                let s = named(&mut self.agents, a.agent.unwrap_or("unknown"));
                add_checked(&mut s.executions, 1, "agents.executions")?;
                match x.outcome {
                    Outcome::Success => add_checked(&mut s.success, 1, "agents.success")?,
                    Outcome::Failure => add_checked(&mut s.failure, 1, "agents.failure")?,
                    Outcome::Timeout => add_checked(&mut s.timeout, 1, "agents.timeout")?,
                }
                add_checked(&mut s.retries, u64::from(x.retries), "agents.retries")?;
                s.duration_ms.add(x.duration_ms as f64);
                if x.outcome != Outcome::Success {
                    let category = match (&x.error_category, x.outcome) {
                        (Some(c), _) => c.as_str(),
                        (None, Outcome::Timeout) => "timeout",
                        (None, _) => "uncategorised",
                    };
                    add_checked(
                        entry(&mut s.error_categories, category),
                        1,
                        "agents.error_categories",
                    )?;
                    if let Some(message) = &x.error_message {
                        add_sample(&mut s.error_samples, category, message.as_str());
                    }
                }
                if let Some(q) = x.quality_score {
                    add_checked(&mut s.quality_score_sum, q, "agents.quality_score_sum")?;
                    add_checked(&mut s.quality_scored, 1, "agents.quality_scored")?;
                }
            }
            FoldData::FeatureUsage(f) => {
                if let Some(feature) = a.feature {
                    let count = named(&mut self.features, feature);
                    add_checked(count, u64::from(f.count), "features")?;
                }
            }
            FoldData::Other(whole) => self.add_whole(whole, cost_usd)?,
        }
        Ok(())
    }

    /// Folds in data read whole: the types without a view, or (built by hand) a type with
    /// one, folded through its view.
    fn add_whole(
        &mut self,
        data: &EventData,
        cost_usd: Option<Decimal>,
    ) -> Result<(), SumOverflow> {
        let r = &mut self.r;
        let a = data.attribution();
        match data {
            EventData::AiUsage(_) | EventData::AgentExecution(_) | EventData::FeatureUsage(_) => {
                self.add_data(&FoldData::of(data), cost_usd)?;
            }
            EventData::Session(s) => match s.phase {
                SessionPhase::Start => add_checked(&mut r.sessions.started, 1, "sessions.started")?,
                SessionPhase::End => {
                    add_checked(&mut r.sessions.ended, 1, "sessions.ended")?;
                    if let Some(ms) = s.duration_ms {
                        r.sessions.duration_ms.add(ms as f64);
                    }
                }
            },
            EventData::BusinessOutcome(b) => {
                r.outcomes.add(b)?;
                if let Some(project) = a.project {
                    named(&mut self.projects, project).outcomes.add(b)?;
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
                add_checked(
                    r.audit.entry(format!("{action}/{outcome}")).or_default(),
                    1,
                    "audit",
                )?;
            }
            // A KPI value is stored as the project's value when ingested; only its user
            // (if any) counts above.
            EventData::KpiMeasurement(_) => {}
        }
        Ok(())
    }
}

/// Daily roll-ups merged into one covering `from..=to`, or `None` when there is none. WAU
/// and MAU are dropped: they belong to single days.
///
/// # Errors
/// [`SumOverflow`] when a figure of the merged roll-up would leave its range.
pub fn merge_days<'a>(
    days: impl IntoIterator<Item = &'a Rollup>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Option<Rollup>, SumOverflow> {
    let mut merged: Option<Rollup> = None;
    for r in days {
        match merged.as_mut() {
            Some(m) => m.merge(r)?,
            None => merged = Some(r.clone()),
        }
    }
    if let Some(m) = merged.as_mut() {
        m.from = from;
        m.to = to;
        m.wau = None;
        m.mau = None;
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    const USAGE: &str = r#"{"type":"ai.usage","id":"e1","source":"s","time":"2026-11-20T08:00:00Z","day":"2026-11-20","received_at":"2026-11-20T08:00:01Z","data":{"model":"claude-sonnet-4-5","input_tokens":1200,"output_tokens":300,"user":"u_0000000000000001","team":"ops"},"cost_usd":"0.0123"}"#;

    #[test]
    fn a_fold_refuses_an_event_whose_sum_leaves_its_range() {
        // GIVEN a day whose input tokens are 1,000 short of u64's range (no day of events
        // within the documented ranges comes near: it stands for a corrupted figure)
        let mut fold = DayFold::new("alpha".parse().unwrap(), "2026-11-20".parse().unwrap());
        fold.r.usage.input_tokens = u64::MAX - 1_000;
        let e: FoldEvent = serde_json::from_str(USAGE).unwrap();
        // WHEN an event of 1,200 input tokens is folded in THEN the figure is named
        assert_eq!(fold.add(&e), Err(SumOverflow("input_tokens")));
        // AND an event that fits is folded as before
        let mut fold = DayFold::new("alpha".parse().unwrap(), "2026-11-20".parse().unwrap());
        fold.add(&e).unwrap();
        let r = fold.finish();
        assert_eq!((r.events, r.usage.input_tokens), (1, 1200));
        assert_eq!(r.by["team"]["ops"].cost_usd, Decimal::new(123, 4));
    }
}
