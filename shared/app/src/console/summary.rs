//! The per-project summary the portfolio reads ([`ProjectSummary`]): computed from the
//! stored ROI, alerts, roll-ups, measurements and reports by [`refresh`], which the daily
//! job runs for every project and every console action runs for its project.

use chrono::Datelike;
use roi_domain::report::Point;
use roi_domain::{Project, ProjectId, SnapshotStatus};
use rust_decimal::Decimal;

use crate::store::{AlertCounts, LatestReport, ProjectSummary, Review, Store, StoreError};

/// How many month ends the sparkline shows.
pub const HISTORY_MONTHS: usize = 12;

/// Why a summary was not refreshed.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    /// The project or its client does not exist.
    #[error("project '{0}' or its client does not exist")]
    Unknown(ProjectId),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The roll-ups could not be read.
    #[error(transparent)]
    Rollup(#[from] crate::rollup::RollupError),
}

/// ROI since go-live at the last computed day of each month, the last
/// [`HISTORY_MONTHS`] months.
fn history(calculations: &[roi_domain::RoiCalculation]) -> Vec<Point> {
    let mut by_month: std::collections::BTreeMap<(i32, u32), Point> = Default::default();
    for c in calculations {
        let key = (c.calculation_date.year(), c.calculation_date.month());
        let longer = by_month
            .get(&key)
            .is_none_or(|p| p.day <= c.calculation_date);
        // of one day, the longest period is since go-live (the calculations are sorted by
        // date, then period length)
        if longer {
            by_month.insert(
                key,
                Point {
                    day: c.calculation_date,
                    value: c.roi_percentage.round_dp(1),
                },
            );
        }
    }
    let points: Vec<Point> = by_month.into_values().collect();
    points[points.len().saturating_sub(HISTORY_MONTHS)..].to_vec()
}

/// Computes and stores `project`'s summary as of `today` (the client's day).
///
/// # Errors
/// [`SummaryError`].
pub async fn refresh(store: &Store, project: &ProjectId) -> Result<ProjectSummary, SummaryError> {
    let p: Project = store
        .project(project)
        .await?
        .ok_or_else(|| SummaryError::Unknown(project.clone()))?;
    let client = store
        .client(&p.client_id)
        .await?
        .ok_or_else(|| SummaryError::Unknown(project.clone()))?;
    let today = store.client_today(Some(&client));
    let settings = store.settings(&client.id).await?;
    let mut calculations = store.roi_calculations(project).await?;
    calculations.sort_by_key(|c| (c.calculation_date, c.period_months));
    let latest = calculations.last().cloned();
    // AI cost this month to date, from the daily roll-ups
    let month_start = today.with_day(1).unwrap_or(today);
    let daily = crate::compute::stored_rollups(store, &client.id, month_start, today).await?;
    let only = store.projects_of(&client.id).await?.len() == 1;
    let ai_cost_mtd_usd = daily
        .values()
        .map(|r| {
            crate::compute::project_totals(r, project, only)
                .usage
                .cost_usd
        })
        .try_fold(Decimal::ZERO, |a, c| a.checked_add(c))
        .unwrap_or(Decimal::MAX)
        .round_dp(2);
    let budgets = &settings.thresholds.department_budgets_usd;
    let ai_budget_usd = (!budgets.is_empty()).then(|| {
        budgets
            .values()
            .try_fold(Decimal::ZERO, |a, b| a.checked_add(*b))
            .unwrap_or(Decimal::MAX)
    });
    let mut alerts = AlertCounts::default();
    for a in store.alert_states(&client.id).await? {
        if a.firing {
            match a.level {
                roi_domain::kpi::Level::Critical => alerts.critical += 1,
                roi_domain::kpi::Level::Warning => alerts.warning += 1,
                roi_domain::kpi::Level::Success => {}
            }
        }
    }
    let snapshots = store.snapshots(project).await?;
    let tracking = crate::reminders::tracking(&p, &snapshots, today);
    let next_due =
        roi_domain::cadence::due_dates(p.go_live_date, today, today + chrono::Days::new(400))
            .first()
            .map(|d| d.due_on);
    let measurements_to_review = u32::try_from(
        snapshots
            .iter()
            .filter(|s| s.status() == SnapshotStatus::NeedsReview)
            .count(),
    )
    .unwrap_or(u32::MAX);
    let reports = store.reports_of(project).await?;
    let drafts = u32::try_from(
        reports
            .iter()
            .filter(|r| r.review == Review::Draft && is_latest(&reports, r))
            .count(),
    )
    .unwrap_or(u32::MAX);
    let opened = store.report_links_of(project).await?;
    let latest_report = reports.iter().max_by_key(|r| r.issued_at).map(|r| {
        let this = format!("{}/{}/v{}", r.kind, r.period, r.version);
        LatestReport {
            kind: r.kind.name().into(),
            period: r.period.clone(),
            version: r.version,
            review: r.review.as_str().into(),
            sent: r.delivered,
            opened_at: opened
                .iter()
                .filter(|l| l.report == this)
                .filter_map(|l| l.opened_at)
                .max(),
        }
    });
    let summary = ProjectSummary {
        client_id: client.id.clone(),
        client_name: client.company_name.clone(),
        project_id: p.id.clone(),
        project_name: p.project_name.clone(),
        status: p.status.to_string(),
        go_live: p.go_live_date,
        account_manager: settings.account_manager_email.clone(),
        roi_percentage: latest.as_ref().map(|c| c.roi_percentage.round_dp(1)),
        payback_period_months: latest
            .as_ref()
            .and_then(|c| c.payback_period_months.map(|m| m.round_dp(1))),
        as_of: latest.as_ref().map(|c| c.calculation_date),
        roi_history: history(&calculations),
        ai_cost_mtd_usd,
        ai_budget_usd,
        alerts,
        completeness_percentage: tracking.completeness_percentage,
        next_due,
        measurements_to_review,
        drafts,
        latest_report,
        kpi_status: match crate::project_kpis::evaluate_current(store, &p, today).await {
            Ok(k) => k.status_line,
            Err(crate::project_kpis::KpiError::Store(e)) => return Err(e.into()),
            Err(_) => None,
        },
        updated_at: store.clock().now(),
    };
    store.put_summary(&summary).await?;
    Ok(summary)
}

fn is_latest(all: &[crate::store::ReportRecord], r: &crate::store::ReportRecord) -> bool {
    !all.iter()
        .any(|o| o.kind == r.kind && o.period == r.period && o.version > r.version)
}

/// Refreshes every project of every client; returns how many were refreshed. A failing
/// project is logged and the next goes on.
///
/// # Errors
/// [`StoreError`] when the clients cannot be listed.
pub async fn refresh_all(store: &Store) -> Result<u32, StoreError> {
    let mut n = 0;
    for c in store.clients().await? {
        for p in store.projects_of(&c.id).await? {
            match refresh(store, &p.id).await {
                Ok(_) => n += 1,
                Err(e) => tracing::warn!(project = %p.id, error = %e, "summary not refreshed"),
            }
        }
    }
    Ok(n)
}
