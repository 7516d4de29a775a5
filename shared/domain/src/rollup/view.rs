//! What the read endpoints and the CLI show of a roll-up.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use super::model::*;
use super::sketch::Percentiles;

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

impl TryFrom<&Rollup> for RollupView {
    type Error = SumOverflow;

    /// The view of `r`, each dimension's groups capped at [`MAX_NAMED_ENTRIES`].
    ///
    /// # Errors
    /// [`SumOverflow`] when the groups summed under [`OTHER`] leave their range.
    fn try_from(r: &Rollup) -> Result<Self, SumOverflow> {
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
        Ok(Self {
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
                    cap_groups(&mut groups, MAX_NAMED_ENTRIES)?;
                    Ok((dim.clone(), groups))
                })
                .collect::<Result<_, SumOverflow>>()?,
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
        })
    }
}
