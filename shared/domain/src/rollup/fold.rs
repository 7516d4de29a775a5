//! The fold: one client-day's raw events into its [`Rollup`].

use chrono::NaiveDate;

use super::model::*;
use crate::ClientId;
use crate::event::{AuditOutcome, EventData, Outcome, SessionPhase};
use crate::stored_event::StoredEvent;

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
            // A KPI value is stored as the project's value when ingested; only its user
            // (if any) counts above.
            EventData::KpiMeasurement(_) => {}
        }
    }
    r
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
