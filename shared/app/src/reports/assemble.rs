//! What a report says, gathered from the stored snapshots and daily roll-ups.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use roi_domain::report::{
    MetricRow, NamedAmount, Point, ReportData, ReportKind, ReportPeriod, UsageSummary, UserCost,
    metric_rows, narrate,
};
use roi_domain::{
    ClientId, Metric, MetricSnapshot, Project, ProjectId, RoiCalculation, SnapshotKind,
    SnapshotStatus,
};
use rust_decimal::Decimal;

use super::ReportError;
use crate::compute::{ComputeError, MetricTrend, RoiContext, project_totals};
use crate::rollup::{Rollup, UsageTotals};
use crate::store::{Store, StoreError};

/// Days of daily cost shown and forecast from.
const COST_HISTORY_DAYS: u64 = 90;

/// Gathers what a report of `kind` for `project` over `period` shows, from the stored
/// snapshots and daily roll-ups. The same stored data always gives the same
/// [`ReportData`] (nothing depends on the clock).
///
/// # Errors
/// [`ReportError::UnknownProject`]; [`ReportError::NotReportable`] for a period that ends
/// before go-live; [`ReportError::Store`].
pub async fn assemble(
    store: &Store,
    project: &ProjectId,
    kind: ReportKind,
    period: &ReportPeriod,
) -> Result<ReportData, ReportError> {
    let (p, client) = reportable(store, project, period).await?;
    let settings = store.settings(&p.client_id).await?;
    let only_project = store.projects_of(&p.client_id).await?.len() == 1;
    let snapshots = store.snapshots(project).await?;
    let previous_period = period.previous(kind, p.go_live_date);
    // Roll-ups from go-live (at most a year and a bit back) to the period's end.
    let first_day = p
        .go_live_date
        .max(period.to - chrono::Days::new(crate::rollup::MAX_SPAN_DAYS as u64 - 1));
    let daily = daily_rollups(store, &p.client_id, first_day.min(period.from), period.to).await?;
    let context = RoiContext {
        project: &p,
        snapshots: &snapshots,
        daily: &daily,
        only_project,
        hourly_rate_usd: settings.hourly_rate_usd,
    };
    let (roi, roi_missing_reason) = since_go_live(&context, period.to)?;
    let previous_roi = previous_period
        .as_ref()
        .filter(|pp| pp.to >= p.go_live_date)
        .and_then(|pp| context.since_go_live(pp.to).ok());
    let find = |id: &roi_domain::snapshot::SnapshotId| snapshots.iter().find(|s| s.id() == id);
    let (baseline, current) = match &roi {
        Some(r) => (find(&r.baseline_snapshot_id), find(&r.comparison_metric_id)),
        None => (None, None),
    };
    let metrics: Vec<MetricRow> = match (baseline, current) {
        (Some(b), Some(c)) => metric_rows(b, c),
        _ => Vec::new(),
    };
    let usage = Usage {
        daily: &daily,
        project,
        only_project,
    };
    let this = usage.merged(period)?;
    let before = match &previous_period {
        Some(pp) => usage.merged(pp)?,
        None => None,
    };
    let costs = usage.daily_costs(period.to);
    let kpis = match crate::project_kpis::evaluate(store, &p, period.to).await {
        Ok(k) => k,
        Err(crate::project_kpis::KpiError::Store(e)) => return Err(e.into()),
        Err(e) => {
            tracing::warn!(error = %e, project = %p.id, "KPIs not evaluated");
            crate::project_kpis::KpiReport::default()
        }
    };
    let mut data = ReportData {
        kind,
        title: kind.title().to_owned(),
        client_name: client.company_name.clone(),
        client_id: client.id.clone(),
        industry: client.industry.clone(),
        time_zone: client.time_zone.name().to_owned(),
        project_id: p.id.clone(),
        project_name: p.project_name.clone(),
        solution_type: p.solution_type.clone(),
        go_live_date: p.go_live_date,
        one_time_investment_usd: p.one_time_investment.amount(),
        period: period.clone(),
        previous_period,
        roi_history: roi_history(&context, &p, period.to, roi.as_ref()),
        roi,
        previous_roi,
        roi_missing_reason,
        baseline_date: baseline.map(MetricSnapshot::measured_on),
        current_date: current.map(MetricSnapshot::measured_on),
        metrics,
        trends: trends(&snapshots, period.to),
        usage: this.as_ref().map(|r| usage.summary(r, before.as_ref())),
        users: this.as_ref().map(user_costs).unwrap_or_default(),
        daily_cost: costs
            .iter()
            .map(|(day, v)| Point {
                day: *day,
                value: v.round_dp(2),
            })
            .collect(),
        forecast: roi_domain::forecast::forecast(&costs),
        forecast_band: roi_domain::forecast::band(&costs, 30),
        tracking: crate::reminders::tracking(&p, &snapshots, period.to),
        wins: Vec::new(),
        attention: Vec::new(),
        next_steps: Vec::new(),
        reconciliation: reconciliation(store, &client.id, period, &settings).await?,
        kpis: kpis.rows,
        kpi_status: kpis.status_line,
        price_table_version: Some(
            crate::pricing::PriceTable::shipped()
                .with_overrides(
                    p.client_id.as_str(),
                    &store.price_overrides(&p.client_id).await?,
                )
                .version,
        ),
    };
    narrate(
        &mut data,
        current.is_some_and(|c| c.status() == SnapshotStatus::NeedsReview),
    );
    Ok(data)
}

/// The project and its client, when `period` does not end before go-live.
async fn reportable(
    store: &Store,
    project: &ProjectId,
    period: &ReportPeriod,
) -> Result<(Project, roi_domain::Client), ReportError> {
    let p = store
        .project(project)
        .await?
        .ok_or_else(|| ReportError::UnknownProject(project.clone()))?;
    let client = store
        .client(&p.client_id)
        .await?
        .ok_or_else(|| ReportError::UnknownProject(project.clone()))?;
    if period.to < p.go_live_date {
        return Err(ReportError::NotReportable(format!(
            "{} ends on {}, before go-live on {}",
            period.label, period.to, p.go_live_date
        )));
    }
    Ok((p, client))
}

/// ROI since go-live as of `to`, or why there is none (no approved baseline, no
/// measurement, figures out of range) for the report to say.
fn since_go_live(
    context: &RoiContext<'_>,
    to: NaiveDate,
) -> Result<(Option<RoiCalculation>, Option<String>), ReportError> {
    match context.since_go_live(to) {
        Ok(r) => Ok((Some(r), None)),
        Err(
            e @ (ComputeError::NoApprovedBaseline(_)
            | ComputeError::NoMeasurement { .. }
            | ComputeError::Roi(_)),
        ) => Ok((None, Some(e.to_string()))),
        Err(ComputeError::Store(e)) => Err(e.into()),
        Err(e) => Err(ReportError::NotReportable(e.to_string())),
    }
}

/// Reads the client's daily roll-ups of `from..=to` that exist.
async fn daily_rollups(
    store: &Store,
    client: &ClientId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BTreeMap<NaiveDate, Rollup>, StoreError> {
    let mut out = BTreeMap::new();
    for day in from.iter_days().take_while(|d| *d <= to) {
        if let Some(r) = store.rollup(client, day).await? {
            out.insert(day, r);
        }
    }
    Ok(out)
}

/// ROI since go-live at each month end, then at `to`.
fn roi_history(
    context: &RoiContext<'_>,
    project: &Project,
    to: NaiveDate,
    roi: Option<&RoiCalculation>,
) -> Vec<Point> {
    let mut history = Vec::new();
    let mut at = project.go_live_date.checked_add_months(Months::new(1));
    while let Some(day) = at.filter(|d| *d < to) {
        if let Ok(r) = context.since_go_live(day) {
            history.push(Point {
                day,
                value: r.roi_percentage,
            });
        }
        at = day.checked_add_months(Months::new(1));
    }
    if let Some(r) = roi {
        history.push(Point {
            day: to,
            value: r.roi_percentage,
        });
    }
    history
}

/// Each metric's trend over the ongoing measurements up to `to`.
fn trends(snapshots: &[MetricSnapshot], to: NaiveDate) -> Vec<MetricTrend> {
    let ongoing: Vec<&MetricSnapshot> = snapshots
        .iter()
        .filter(|s| s.kind() == SnapshotKind::Ongoing && s.measured_on() <= to)
        .collect();
    Metric::ALL
        .iter()
        .filter_map(|&m| {
            let points: Vec<(NaiveDate, Decimal)> = ongoing
                .iter()
                .filter_map(|s| Some((s.measured_on(), s.value(m)?)))
                .collect();
            let (trend, change) = roi_domain::trend::trend(&points, m.direction())?;
            Some(MetricTrend {
                metric: m.name().to_owned(),
                trend,
                change_percentage: change,
            })
        })
        .collect()
}

/// The project's usage in the daily roll-ups (the client's, when it is the only project).
struct Usage<'a> {
    daily: &'a BTreeMap<NaiveDate, Rollup>,
    project: &'a ProjectId,
    only_project: bool,
}

impl Usage<'_> {
    /// The period's days merged into one roll-up.
    ///
    /// # Errors
    /// [`crate::rollup::RollupError::Overflow`] when a figure leaves its range.
    fn merged(&self, period: &ReportPeriod) -> Result<Option<Rollup>, crate::rollup::RollupError> {
        let days = self.daily.range(period.from..=period.to).map(|(_, r)| r);
        crate::rollup::merge_days(days, period.from, period.to).map_err(|source| {
            crate::rollup::RollupError::Overflow {
                what: format!("project {} {} to {}", self.project, period.from, period.to),
                source,
            }
        })
    }

    /// The daily AI cost of the [`COST_HISTORY_DAYS`] up to `to`, USD.
    fn daily_costs(&self, to: NaiveDate) -> Vec<(NaiveDate, Decimal)> {
        let since = to - chrono::Days::new(COST_HISTORY_DAYS - 1);
        self.daily
            .range(since..=to)
            .map(|(d, r)| {
                let t = project_totals(r, self.project, self.only_project);
                (*d, t.usage.cost_usd)
            })
            .collect()
    }

    /// The period's usage, beside the period before when there is one.
    fn summary(&self, r: &Rollup, before: Option<&Rollup>) -> UsageSummary {
        let t = project_totals(r, self.project, self.only_project);
        let prev = before.map(|b| project_totals(b, self.project, self.only_project));
        let (runs, ok) = r
            .agents
            .values()
            .fold((0u64, 0u64), |(n, s), a| (n + a.executions, s + a.success));
        let empty = BTreeMap::new();
        UsageSummary {
            scope: if self.only_project {
                "project"
            } else {
                "client"
            }
            .into(),
            cost_usd: t.usage.cost_usd.round_dp(2),
            previous_cost_usd: prev.as_ref().map(|p| p.usage.cost_usd.round_dp(2)),
            tokens: t.usage.total_tokens(),
            usage_events: t.usage.events,
            unpriced_events: t.usage.unpriced_events,
            active_users: r.active_users(),
            previous_active_users: before.map(Rollup::active_users),
            agent_runs: runs,
            agent_success_rate: (runs > 0).then(|| {
                (Decimal::from(ok) * Decimal::ONE_HUNDRED / Decimal::from(runs)).round_dp(1)
            }),
            hours_saved: (t.outcomes.minutes_saved / Decimal::from(60)).round_dp(1),
            ai_assisted_deals: t.outcomes.ai_assisted_deals,
            ai_assisted_deal_value_usd: t.outcomes.ai_assisted_deal_value_usd.round_dp(2),
            by_department: ranked(r.by.get("department").unwrap_or(&empty)),
            by_model: ranked(r.by.get("model").unwrap_or(&empty)),
        }
    }
}

/// Cost per name, largest first.
fn ranked(map: &BTreeMap<String, UsageTotals>) -> Vec<NamedAmount> {
    let mut v: Vec<NamedAmount> = map
        .iter()
        .map(|(name, t)| NamedAmount {
            name: name.clone(),
            usd: t.cost_usd.round_dp(2),
        })
        .collect();
    v.sort_by(|a, b| b.usd.cmp(&a.usd).then_with(|| a.name.cmp(&b.name)));
    v
}

/// Cost and tokens per user hash, largest cost first.
fn user_costs(r: &Rollup) -> Vec<UserCost> {
    let Some(m) = r.by.get("user") else {
        return Vec::new();
    };
    let mut v: Vec<UserCost> = m
        .iter()
        .map(|(h, t)| UserCost {
            user_hash: h.clone(),
            cost_usd: t.cost_usd.round_dp(2),
            tokens: t.total_tokens(),
        })
        .collect();
    v.sort_by(|a, b| {
        b.cost_usd
            .cmp(&a.cost_usd)
            .then(a.user_hash.cmp(&b.user_hash))
    });
    v
}

/// The period's UTC days reconciled against a provider's cost report (stored on each
/// import), summed; `None` when no cost report covers the period.
async fn reconciliation(
    store: &Store,
    client: &roi_domain::ClientId,
    period: &ReportPeriod,
    settings: &crate::settings::ClientSettings,
) -> Result<Option<roi_domain::report::Reconciliation>, ReportError> {
    use roi_domain::report::{ReconciledRow, Reconciliation};
    let rows: Vec<_> = store
        .reconciled_since(client, period.from)
        .await?
        .into_iter()
        .filter(|r| r.day <= period.to)
        .filter_map(|r| r.invoiced_usd.map(|inv| (r, inv)))
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let sum = |f: &dyn Fn(&(crate::reconcile::ReconciledDay, Decimal)) -> Decimal| {
        rows.iter()
            .map(f)
            .try_fold(Decimal::ZERO, |a, b| a.checked_add(b))
            .unwrap_or(Decimal::MAX)
    };
    let metered_usd = sum(&|(r, _)| r.metered_usd);
    let invoiced_usd = sum(&|(_, inv)| *inv);
    let mut over: Vec<ReconciledRow> = rows
        .iter()
        .filter(|(r, _)| r.over_tolerance)
        .map(|(r, inv)| ReconciledRow {
            day: r.day,
            provider: r.provider.clone(),
            metered_usd: r.metered_usd.round_dp(2),
            invoiced_usd: inv.round_dp(2),
            variance_percentage: r.variance_percentage.map(|v| v.round_dp(2)),
        })
        .collect();
    over.sort_by(|a, b| {
        let size = |r: &ReconciledRow| r.variance_percentage.map_or(Decimal::MAX, |v| v.abs());
        size(b).cmp(&size(a)).then(a.day.cmp(&b.day))
    });
    let over_tolerance_days = u32::try_from(over.len()).unwrap_or(u32::MAX);
    over.truncate(3);
    Ok(Some(Reconciliation {
        days: u32::try_from(rows.len()).unwrap_or(u32::MAX),
        metered_usd: metered_usd.round_dp(2),
        invoiced_usd: invoiced_usd.round_dp(2),
        variance_percentage: (!invoiced_usd.is_zero())
            .then(|| {
                metered_usd
                    .checked_sub(invoiced_usd)?
                    .checked_mul(Decimal::ONE_HUNDRED)?
                    .checked_div(invoiced_usd)
            })
            .flatten()
            .map(|v| v.round_dp(2)),
        tolerance_percentage: settings.thresholds.cost_variance.warning,
        over_tolerance: over,
        over_tolerance_days,
    }))
}
