//! The KPI values an alert check compares with the client's thresholds.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use roi_domain::kpi::{Kpi, Limits, Thresholds};
use roi_domain::{Client, Metric, Project, RoiCalculation, SnapshotKind};
use rust_decimal::Decimal;

use crate::rollup::Rollup;
use crate::settings::ClientSettings;
use crate::store::{Store, StoreError};

/// One observed KPI value: the KPI, its scope (a project, an agent, a department), the
/// value in the KPI's unit, and limits of its own when the scope has them (a project's
/// plan), else the client's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The KPI.
    pub kpi: Kpi,
    /// Its scope.
    pub scope: String,
    /// The value, in the KPI's unit.
    pub value: Decimal,
    /// The scope's own limits, if any.
    pub limits: Option<Limits>,
}

impl Observed {
    /// A value checked against the client's limits.
    pub fn new(kpi: Kpi, scope: impl Into<String>, value: Decimal) -> Self {
        Self {
            kpi,
            scope: scope.into(),
            value,
            limits: None,
        }
    }
}

/// The KPI values of a client at `today` (its day): projects' latest ROI, uptime and
/// adoption; yesterday's agent error rates, p95 run times and unpriced models (one read of
/// yesterday's roll-up); this month's cost per budgeted department; each provider's latest
/// cost variance.
///
/// # Errors
/// [`StoreError`].
pub async fn observe(
    store: &Store,
    client: &Client,
    settings: &ClientSettings,
    today: NaiveDate,
) -> Result<Vec<Observed>, StoreError> {
    let yesterday = today - chrono::Days::new(1);
    let rolled_up = store.rollup(&client.id, yesterday).await?;
    let mut out = projects(store, client, settings, today).await?;
    if let Some(r) = &rolled_up {
        out.extend(agents(r));
        out.extend(unpriced(r, yesterday));
    }
    out.extend(budgets(store, client, settings, today).await?);
    out.extend(cost_variance(store, client, today).await?);
    out.extend(project_kpis(store, client, today).await?);
    Ok(out)
}

/// Each project KPI with zones and a value today, against its zones (issue 18): warning in
/// the yellow zone, critical in the red; scoped `{project}/{kpi}`. Only projects whose
/// definitions set zones are evaluated.
async fn project_kpis(
    store: &Store,
    client: &Client,
    today: NaiveDate,
) -> Result<Vec<Observed>, StoreError> {
    use roi_domain::metric::Direction;
    let mut out = Vec::new();
    for project in store.projects_of(&client.id).await? {
        let set = crate::project_kpis::definitions(store, &project.id).await?;
        if set.kpis().iter().all(|k| k.zones.is_none()) {
            continue;
        }
        let rows = match crate::project_kpis::evaluate_current(store, &project, today).await {
            Ok(r) => r.rows,
            Err(crate::project_kpis::KpiError::Store(e)) => return Err(e),
            Err(_) => continue,
        };
        for row in rows {
            let (Some(def), Some(value)) = (set.get(&row.name), row.value) else {
                continue;
            };
            let Some(zones) = def.zones else { continue };
            out.push(Observed {
                kpi: Kpi::ProjectKpi,
                scope: format!("{}/{}", project.id, def.name),
                value,
                limits: Some(Limits {
                    critical: zones.yellow,
                    warning: zones.green,
                    success: None,
                    higher_is_better: def.direction == Direction::HigherIsBetter,
                }),
            });
        }
    }
    Ok(out)
}

/// Yesterday's `ai.usage` events per model that the price table does not list (issue 17),
/// scoped `{model} on {day}` so each model and day is named once.
fn unpriced(r: &Rollup, yesterday: NaiveDate) -> Vec<Observed> {
    r.by.get("model")
        .into_iter()
        .flatten()
        .filter(|(_, t)| t.unpriced_events > 0)
        .map(|(model, t)| {
            Observed::new(
                Kpi::UnpricedEvents,
                format!("{model} on {yesterday}"),
                Decimal::from(t.unpriced_events),
            )
        })
        .collect()
}

/// Each provider's |variance| percent on its latest reconciled day of the last 7
/// (`crate::reconcile`, stored when a cost report is imported); days without a cost report
/// are not observed.
async fn cost_variance(
    store: &Store,
    client: &Client,
    today: NaiveDate,
) -> Result<Vec<Observed>, StoreError> {
    let since = today - chrono::Days::new(7);
    let mut latest: BTreeMap<String, Decimal> = BTreeMap::new();
    for row in store.reconciled_since(&client.id, since).await? {
        if row.day <= today
            && let Some(p) = row.variance_percentage
        {
            // oldest first: a later day replaces an earlier one
            latest.insert(row.provider, p.abs());
        }
    }
    Ok(latest
        .into_iter()
        .map(|(provider, v)| Observed::new(Kpi::CostVariance, provider, v))
        .collect())
}

/// Each project's latest ROI, and its latest measured uptime and adoption. Unless the client
/// set ROI limits of its own, ROI is observed only once the project is past its payback
/// (the planned one when the project has a plan, else [`past_payback`]), against the
/// project's plan when it has a planned ROI (warning below it, critical below 0 %), else
/// the default (critical below 0 %).
async fn projects(
    store: &Store,
    client: &Client,
    settings: &ClientSettings,
    today: NaiveDate,
) -> Result<Vec<Observed>, StoreError> {
    let own_roi_limits = settings.thresholds.roi_percentage != Thresholds::default().roi_percentage;
    let mut out = Vec::new();
    for project in store.projects_of(&client.id).await? {
        let scope = project.id.to_string();
        if let Some(latest) = store.latest_roi(&project.id).await? {
            let plan = &project.valuation;
            let due = match plan.planned_payback_months {
                Some(months) => {
                    months_after(project.go_live_date, months).is_none_or(|d| d < today)
                }
                None => past_payback(&project, &latest, today),
            };
            let mut seen = Observed::new(Kpi::RoiPercentage, scope.clone(), latest.roi_percentage);
            if !own_roi_limits && let Some(planned) = plan.planned_roi_percentage {
                seen.limits = Some(Limits {
                    critical: Decimal::ZERO,
                    warning: planned.max(Decimal::ZERO),
                    success: None,
                    higher_is_better: true,
                });
            }
            if own_roi_limits || due {
                out.push(seen);
            }
        }
        let snapshots = store.snapshots(&project.id).await?;
        let latest_of = |m: Metric| {
            snapshots
                .iter()
                .filter(|s| s.kind() == SnapshotKind::Ongoing && s.measured_on() <= today)
                .filter_map(|s| Some((s.measured_on(), s.value(m)?)))
                .max_by_key(|(d, _)| *d)
                .map(|(_, v)| v)
        };
        if let Some(v) = latest_of(Metric::SystemUptimePercentage) {
            out.push(Observed::new(Kpi::SystemUptime, scope.clone(), v));
        }
        if let Some(v) = latest_of(Metric::UserAdoptionRate) {
            out.push(Observed::new(Kpi::FeatureAdoption, scope.clone(), v));
        }
    }
    Ok(out)
}

/// Whether `project` is past the day it was expected to pay back, so a negative ROI is
/// news (issue 16): payback reached, or never in sight at the latest month's rate, or
/// go-live + the forward-looking payback period (months of 30.4375 days) before `today`.
fn past_payback(project: &Project, roi: &RoiCalculation, today: NaiveDate) -> bool {
    if roi.payback_reached_in.is_some() {
        return true;
    }
    let Some(months) = roi.payback_period_months else {
        return true;
    };
    months_after(project.go_live_date, months).is_none_or(|day| day < today)
}

/// `start` + `months` months of 30.4375 days; `None` beyond the decimal or calendar range
/// (counted as never in sight).
fn months_after(start: NaiveDate, months: Decimal) -> Option<NaiveDate> {
    months
        .checked_mul(crate::compute::DAYS_PER_MONTH)
        .map(|d| d.ceil())
        .and_then(|d| u64::try_from(d.mantissa()).ok().filter(|_| d.scale() == 0))
        .and_then(|d| start.checked_add_days(chrono::Days::new(d)))
}

/// Yesterday's error rate (failures and timeouts, percent) and p95 run time (ms) per agent,
/// from yesterday's roll-up `r`.
fn agents(r: &Rollup) -> Vec<Observed> {
    let mut out = Vec::new();
    for (agent, s) in &r.agents {
        if s.executions > 0 {
            let failed = Decimal::from(s.failure + s.timeout) * Decimal::ONE_HUNDRED
                / Decimal::from(s.executions);
            out.push(Observed::new(
                Kpi::ErrorRate,
                agent.clone(),
                failed.round_dp(2),
            ));
        }
        if let Some(p95) = s.duration_ms.quantile(0.95) {
            out.push(Observed::new(
                Kpi::LatencyP95,
                agent.clone(),
                Decimal::try_from(p95).unwrap_or_default().round_dp(0),
            ));
        }
    }
    out
}

/// This month's AI cost per budgeted department, as a percentage of its budget.
async fn budgets(
    store: &Store,
    client: &Client,
    settings: &ClientSettings,
    today: NaiveDate,
) -> Result<Vec<Observed>, StoreError> {
    let mut out = Vec::new();
    let budgets = &settings.thresholds.department_budgets_usd;
    if budgets.is_empty() {
        return Ok(out);
    }
    let month_start = today.with_day(1).unwrap_or(today);
    let mut spent: BTreeMap<String, Decimal> = BTreeMap::new();
    for day in month_start.iter_days().take_while(|d| *d <= today) {
        if let Some(r) = store.rollup(&client.id, day).await?
            && let Some(by) = r.by.get("department")
        {
            for (dept, totals) in by {
                let sum = spent.entry(dept.clone()).or_default();
                *sum = sum.saturating_add(totals.cost_usd);
            }
        }
    }
    for (dept, budget) in budgets {
        if budget.is_zero() {
            continue;
        }
        let used = spent
            .get(dept)
            .copied()
            .unwrap_or_default()
            .checked_mul(Decimal::ONE_HUNDRED)
            .and_then(|u| u.checked_div(*budget));
        match used {
            Some(used) => out.push(Observed::new(
                Kpi::DepartmentBudget,
                dept.clone(),
                used.round_dp(2),
            )),
            None => {
                tracing::warn!(client = %client.id, %dept, "budget share beyond the decimal range; not checked")
            }
        }
    }
    Ok(out)
}
