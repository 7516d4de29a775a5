//! A project's own KPIs (issue 18): defining them, recording the measured ones, and
//! evaluating all of them for a report, the console or the dashboard
//! (`roi_domain::project_kpi` holds the rules).
//!
//! Values come from three places: measured KPIs from their stored values (form, CSV,
//! `kpi.measurement` events, the CLI), the latest on or before the day asked; each seed 000
//! metric's latest value in the measurements that are not rejected; metered KPIs from the client's
//! daily roll-ups (DAU/WAU/MAU of the latest roll-up in the week to the day; agent success
//! and the project's AI cost over the 30 days to it; retention over the 120 days to it).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Days, Months, NaiveDate};
use roi_domain::project_kpi::{
    KpiDefinition, KpiFieldError, KpiInputs, KpiRow, KpiSet, KpiSource, KpiUnit, MeteredFigure,
    retention::retention, status_line,
};
use roi_domain::snapshot::SnapshotStatus;
use roi_domain::units::MAX_MEASURED_VALUE;
use roi_domain::{Project, ProjectId};
use rust_decimal::Decimal;

use crate::store::{AuditEntry, KpiDefinitions, KpiValueRecord, Store, StoreError};

/// The roll-up days read for retention: day 90 of cohorts up to 30 days old.
pub const RETENTION_DAYS: u64 = 120;

/// Why a KPI operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KpiError {
    /// The project is not registered.
    #[error("project '{0}' does not exist")]
    UnknownProject(ProjectId),
    /// The definitions do not validate; nothing was stored.
    #[error("the KPI definitions have {} error(s): {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<KpiFieldError>),
    /// The project defines no KPI of that name.
    #[error("project '{project}' has no KPI '{kpi}' (see `roi kpi list --project {project}`)")]
    UnknownKpi {
        /// The project.
        project: ProjectId,
        /// The name given.
        kpi: String,
    },
    /// The KPI is computed or metered: its value is not entered.
    #[error("KPI '{kpi}' is {kind}: its value is not entered")]
    NotMeasured {
        /// The KPI.
        kpi: String,
        /// `computed` or `metered`.
        kind: &'static str,
    },
    /// The value is outside the KPI's range.
    #[error("KPI '{kpi}': {reason}")]
    OutOfRange {
        /// The KPI.
        kpi: String,
        /// Which range.
        reason: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A project's KPIs evaluated on a day.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KpiReport {
    /// One row per KPI, in definition order.
    pub rows: Vec<KpiRow>,
    /// "2 of 3 targets met, 1 at risk", when any KPI has a target.
    pub status_line: Option<String>,
}

/// Validates and stores a project's KPI definitions, replacing the earlier ones, and
/// audits it.
///
/// # Errors
/// [`KpiError::UnknownProject`]; [`KpiError::Invalid`] with every bad field (nothing is
/// stored); [`KpiError::Store`].
pub async fn define(
    store: &Store,
    project: &ProjectId,
    kpis: Vec<KpiDefinition>,
    actor: &str,
) -> Result<KpiSet, KpiError> {
    let p = store
        .project(project)
        .await?
        .ok_or_else(|| KpiError::UnknownProject(project.clone()))?;
    let set = KpiSet::try_new(kpis).map_err(KpiError::Invalid)?;
    let now = store.clock().now();
    store
        .put_kpi_definitions(
            project,
            &KpiDefinitions {
                kpis: set.clone(),
                updated_at: now,
                updated_by: actor.into(),
            },
        )
        .await?;
    store
        .audit(
            &p.client_id,
            &AuditEntry {
                at: now,
                action: "kpis.defined".into(),
                actor: actor.into(),
                project_id: Some(project.clone()),
                detail: set
                    .kpis()
                    .iter()
                    .map(|k| k.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            },
        )
        .await?;
    Ok(set)
}

/// A project's KPI definitions (empty when none are defined).
///
/// # Errors
/// [`StoreError::Table`].
pub async fn definitions(store: &Store, project: &ProjectId) -> Result<KpiSet, StoreError> {
    Ok(store
        .kpi_definitions(project)
        .await?
        .map(|d| d.kpis)
        .unwrap_or_default())
}

/// Checks `value` against KPI `kpi` of `set`: it must be a measured KPI, and the value in
/// range (|value| ≤ 10¹²; counts whole and ≥ 0; minutes and hours ≥ 0).
///
/// # Errors
/// [`KpiError::UnknownKpi`], [`KpiError::NotMeasured`], [`KpiError::OutOfRange`].
pub fn check_value(
    set: &KpiSet,
    project: &ProjectId,
    kpi: &str,
    value: Decimal,
) -> Result<(), KpiError> {
    let k = set.get(kpi).ok_or_else(|| KpiError::UnknownKpi {
        project: project.clone(),
        kpi: kpi.into(),
    })?;
    if k.source != KpiSource::Measured {
        return Err(KpiError::NotMeasured {
            kpi: kpi.into(),
            kind: k.source.kind(),
        });
    }
    let out = |reason: &str| {
        Err(KpiError::OutOfRange {
            kpi: kpi.into(),
            reason: reason.into(),
        })
    };
    if value.abs() > MAX_MEASURED_VALUE {
        return out("must be at most 10^12 in size");
    }
    match k.unit {
        KpiUnit::Count if value.is_sign_negative() || !value.fract().is_zero() => {
            out("a count is a whole number, 0 or more")
        }
        KpiUnit::Minutes | KpiUnit::Hours if value.is_sign_negative() => out("a time is 0 or more"),
        _ => Ok(()),
    }
}

/// Stores the value of measured KPI `kpi` on day `on` (replacing that day's value).
///
/// # Errors
/// [`KpiError`]: no such project or KPI, not a measured KPI, a value out of range.
pub async fn record(
    store: &Store,
    project: &ProjectId,
    kpi: &str,
    value: Decimal,
    on: NaiveDate,
    source: &str,
) -> Result<(), KpiError> {
    if store.project(project).await?.is_none() {
        return Err(KpiError::UnknownProject(project.clone()));
    }
    let set = definitions(store, project).await?;
    check_value(&set, project, kpi, value)?;
    store
        .put_kpi_value(
            project,
            &KpiValueRecord {
                kpi: kpi.into(),
                on,
                value: value.normalize(),
                source: source.into(),
                recorded_at: store.clock().now(),
            },
        )
        .await?;
    Ok(())
}

/// Evaluates `project`'s KPIs on `as_of`, with each one's value a month earlier for the
/// trend (module docs for where values come from).
///
/// # Errors
/// [`KpiError::Store`].
pub async fn evaluate(
    store: &Store,
    project: &Project,
    as_of: NaiveDate,
) -> Result<KpiReport, KpiError> {
    evaluate_with(store, project, as_of, true).await
}

/// As [`evaluate`], without the month-earlier values (no trend): half the roll-up reads,
/// for the alert check, the portfolio summary and the client's dashboard.
///
/// # Errors
/// [`KpiError::Store`].
pub async fn evaluate_current(
    store: &Store,
    project: &Project,
    as_of: NaiveDate,
) -> Result<KpiReport, KpiError> {
    evaluate_with(store, project, as_of, false).await
}

async fn evaluate_with(
    store: &Store,
    project: &Project,
    as_of: NaiveDate,
    trend: bool,
) -> Result<KpiReport, KpiError> {
    let set = definitions(store, &project.id).await?;
    if set.is_empty() {
        return Ok(KpiReport::default());
    }
    let stored = store.kpi_values(&project.id).await?;
    let snapshots = store.snapshots(&project.id).await?;
    let month_before = as_of.checked_sub_months(Months::new(1)).unwrap_or(as_of);
    let at = |day: NaiveDate| {
        let mut inputs = KpiInputs::default();
        for v in stored.iter().filter(|v| v.on <= day) {
            // records come by KPI then day: the last one kept is the latest
            inputs.values.insert(v.kpi.clone(), v.value);
        }
        let mut counted: Vec<_> = snapshots
            .iter()
            .filter(|s| s.measured_on() <= day && s.status() != SnapshotStatus::Rejected)
            .collect();
        counted.sort_by_key(|s| s.measured_on());
        for s in counted {
            // each metric's latest value: a later measurement without it keeps the earlier
            inputs
                .metrics
                .extend(s.values().iter().map(|(m, v)| (*m, *v)));
        }
        inputs
    };
    let mut now = at(as_of);
    let mut before = if trend {
        at(month_before)
    } else {
        KpiInputs::default()
    };
    let figures: BTreeSet<MeteredFigure> = set
        .kpis()
        .iter()
        .filter_map(|k| match k.source {
            KpiSource::Metered { figure } => Some(figure),
            _ => None,
        })
        .collect();
    if !figures.is_empty() {
        let days = [(&mut now, as_of), (&mut before, month_before)];
        for (inputs, day) in days.into_iter().take(if trend { 2 } else { 1 }) {
            let metered = metered(store, project, &figures, day).await?;
            for k in set.kpis() {
                if let KpiSource::Metered { figure } = k.source
                    && let Some(v) = metered.get(&figure)
                {
                    inputs.values.insert(k.name.clone(), *v);
                }
            }
        }
    }
    let values = set.evaluate(&now);
    let previous = if trend {
        set.evaluate(&before)
    } else {
        BTreeMap::new()
    };
    let rows: Vec<KpiRow> = set
        .kpis()
        .iter()
        .map(|k| {
            let v = values.get(&k.name).cloned().unwrap_or_else(|| {
                Err(roi_domain::project_kpi::NotComputable(
                    "not evaluated".into(),
                ))
            });
            let p = previous.get(&k.name).and_then(|r| r.as_ref().ok().copied());
            KpiRow::new(k, v, p, project.go_live_date, as_of)
        })
        .collect();
    Ok(KpiReport {
        status_line: status_line(&rows),
        rows,
    })
}

/// The metered figures of `project` on `day` that its roll-ups give.
async fn metered(
    store: &Store,
    project: &Project,
    figures: &BTreeSet<MeteredFigure>,
    day: NaiveDate,
) -> Result<BTreeMap<MeteredFigure, Decimal>, StoreError> {
    let client = &project.client_id;
    let mut out = BTreeMap::new();
    // the latest roll-up of the week to `day` (today's is made by tonight's run)
    let mut latest = None;
    for back in 0..7 {
        let Some(d) = day.checked_sub_days(Days::new(back)) else {
            break;
        };
        if let Some(r) = store.rollup(client, d).await? {
            latest = Some(r);
            break;
        }
    }
    if let Some(r) = latest {
        out.insert(MeteredFigure::Dau, Decimal::from(r.users.len()));
        if let Some(w) = r.wau {
            out.insert(MeteredFigure::Wau, Decimal::from(w));
        }
        if let Some(m) = r.mau {
            out.insert(MeteredFigure::Mau, Decimal::from(m));
        }
    }
    if figures.contains(&MeteredFigure::AgentSuccessRate)
        || figures.contains(&MeteredFigure::AiCostUsd)
    {
        let (mut runs, mut success, mut cost) = (0u64, 0u64, Decimal::ZERO);
        for back in 0..30 {
            let Some(d) = day.checked_sub_days(Days::new(back)) else {
                break;
            };
            let Some(r) = store.rollup(client, d).await? else {
                continue;
            };
            for a in r.agents.values() {
                runs = runs.saturating_add(a.executions);
                success = success.saturating_add(a.success);
            }
            if let Some(p) = r.projects.get(project.id.as_str()) {
                cost = cost.saturating_add(p.usage.cost_usd);
            }
        }
        if runs > 0 {
            out.insert(
                MeteredFigure::AgentSuccessRate,
                Decimal::from(success) * Decimal::ONE_HUNDRED / Decimal::from(runs),
            );
        }
        out.insert(MeteredFigure::AiCostUsd, cost);
    }
    let wanted: Vec<(MeteredFigure, u32)> = figures
        .iter()
        .filter_map(|f| f.retention_day().map(|n| (*f, n)))
        .collect();
    if !wanted.is_empty() {
        let mut active: BTreeMap<NaiveDate, BTreeSet<String>> = BTreeMap::new();
        for back in 0..RETENTION_DAYS {
            let Some(d) = day.checked_sub_days(Days::new(back)) else {
                break;
            };
            let users = store.rollup_users(client, d).await?;
            if !users.is_empty() {
                active.insert(d, users.into_iter().collect());
            }
        }
        for (figure, n) in wanted {
            if let Some(v) = retention(&active, n) {
                out.insert(figure, v);
            }
        }
    }
    Ok(out)
}
