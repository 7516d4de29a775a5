//! Reports (issue 6; seed 000 §6.2, seed 003 weekly summaries, seed 004 FR-016.4): what a
//! report says, gathered from the store ([`assemble`]); issuing it once per input
//! ([`issue`]): rendered by a [`Renderer`] (the `roi-reports` crate: typst, charts,
//! CSV / XLSX), stored in the [`BlobStore`](roi_domain::ports::BlobStore), recorded, and e-mailed as a signed link
//! ([`ReportLinks`]) that `GET /r/{token}` (`crate::http::links`) redeems.
//!
//! Keys: the PDF is `reports/{client}/{project}/{kind}/{period}/v{n}.pdf` (CSV and XLSX
//! beside it); the record is `PROJECT#{project}` / `REPORT#{kind}#{period}#v{n:03}` with the
//! SHA-256 digest of the report data. Issuing again with the same data does nothing;
//! changed data (a late correction) issues `v{n+1}` marked restated.

mod issue;
mod links;

pub use issue::{
    ISSUE_FROM_HOUR, Issued, ReportJob, ReportRecord, ReportRun, ReportServices, issue, recipients,
    report_email, run,
};
pub use links::{
    LINK_DAYS, LinkRecord, OpenError, PRESIGNED_FOR, ReportLinkClaims, ReportLinks, open,
    revoke_links,
};

pub use roi_domain::report::{
    BadPeriod, DUE_WINDOW_DAYS, MetricRow, NamedAmount, Point, RenderError, Rendered, Renderer,
    ReportData, ReportKind, ReportMeta, ReportPeriod, UnknownReportKind, UsageSummary, UserCost,
    due_period, metric_label,
};
use roi_domain::report::{metric_rows, narrate};
use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use roi_domain::ports::BlobError;
use roi_domain::{ClientId, Metric, MetricSnapshot, ProjectId, SnapshotKind, SnapshotStatus};
use rust_decimal::Decimal;

use crate::compute::{ComputeError, MetricTrend, RoiContext, project_totals};
use crate::rollup::Rollup;
use crate::store::{Store, StoreError};

/// Why a report was not issued or a link not redeemed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The request names something that cannot be (a bad kind or period).
    #[error("{0}")]
    BadRequest(String),
    /// The project does not exist.
    #[error("project '{0}' does not exist")]
    UnknownProject(ProjectId),
    /// The period ends before go-live or has not ended yet.
    #[error("{0}")]
    NotReportable(String),
    /// Rendering failed.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// Blob storage failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The roll-ups could not be read.
    #[error(transparent)]
    Rollup(#[from] crate::rollup::RollupError),
}

impl From<BadPeriod> for ReportError {
    fn from(e: BadPeriod) -> Self {
        ReportError::BadRequest(e.to_string())
    }
}

impl From<UnknownReportKind> for ReportError {
    fn from(e: UnknownReportKind) -> Self {
        ReportError::BadRequest(e.to_string())
    }
}

/// Days of daily cost shown and forecast from.
const COST_HISTORY_DAYS: u64 = 90;

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

fn ranked(map: &BTreeMap<String, crate::rollup::UsageTotals>) -> Vec<NamedAmount> {
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
    let (roi, roi_missing_reason) = match context.since_go_live(period.to) {
        Ok(r) => (Some(r), None),
        Err(
            e @ (ComputeError::NoApprovedBaseline(_)
            | ComputeError::NoMeasurement { .. }
            | ComputeError::Roi(_)),
        ) => (None, Some(e.to_string())),
        Err(ComputeError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(ReportError::NotReportable(e.to_string())),
    };
    let previous_roi = previous_period
        .as_ref()
        .filter(|pp| pp.to >= p.go_live_date)
        .and_then(|pp| context.since_go_live(pp.to).ok());
    let find = |id: &roi_domain::snapshot::SnapshotId| snapshots.iter().find(|s| s.id() == id);
    let (baseline, current) = match &roi {
        Some(r) => (find(&r.baseline_snapshot_id), find(&r.comparison_metric_id)),
        None => (None, None),
    };
    let metrics = match (baseline, current) {
        (Some(b), Some(c)) => metric_rows(b, c),
        _ => Vec::new(),
    };
    // ROI since go-live at each month end, then the period's end.
    let mut roi_history = Vec::new();
    let mut at = p.go_live_date.checked_add_months(Months::new(1));
    while let Some(day) = at.filter(|d| *d < period.to) {
        if let Ok(r) = context.since_go_live(day) {
            roi_history.push(Point {
                day,
                value: r.roi_percentage,
            });
        }
        at = day.checked_add_months(Months::new(1));
    }
    if let Some(r) = &roi {
        roi_history.push(Point {
            day: period.to,
            value: r.roi_percentage,
        });
    }
    // Metric trends over the ongoing measurements up to the period's end.
    let ongoing: Vec<&MetricSnapshot> = snapshots
        .iter()
        .filter(|s| s.kind() == SnapshotKind::Ongoing && s.measured_on() <= period.to)
        .collect();
    let trends: Vec<MetricTrend> = Metric::ALL
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
        .collect();
    // Usage of the period and the one before.
    let merge = |from: NaiveDate, to: NaiveDate| {
        crate::rollup::merge_days(daily.range(from..=to).map(|(_, r)| r), from, to)
    };
    let this = merge(period.from, period.to);
    let before = previous_period
        .as_ref()
        .and_then(|pp| merge(pp.from, pp.to));
    let usage = this.as_ref().map(|r| {
        let t = project_totals(r, project, only_project);
        let prev = before
            .as_ref()
            .map(|b| project_totals(b, project, only_project));
        let (runs, ok) = r
            .agents
            .values()
            .fold((0u64, 0u64), |(n, s), a| (n + a.executions, s + a.success));
        let empty = BTreeMap::new();
        UsageSummary {
            scope: if only_project { "project" } else { "client" }.into(),
            cost_usd: t.usage.cost_usd.round_dp(2),
            previous_cost_usd: prev.as_ref().map(|p| p.usage.cost_usd.round_dp(2)),
            tokens: t.usage.total_tokens(),
            usage_events: t.usage.events,
            active_users: r.active_users(),
            previous_active_users: before.as_ref().map(Rollup::active_users),
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
    });
    let users = this
        .as_ref()
        .and_then(|r| r.by.get("user"))
        .map(|m| {
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
        })
        .unwrap_or_default();
    // Daily cost, forecast and band.
    let since = period.to - chrono::Days::new(COST_HISTORY_DAYS - 1);
    let costs: Vec<(NaiveDate, Decimal)> = daily
        .range(since..=period.to)
        .map(|(d, r)| (*d, project_totals(r, project, only_project).usage.cost_usd))
        .collect();
    let daily_cost = costs
        .iter()
        .map(|(day, v)| Point {
            day: *day,
            value: v.round_dp(2),
        })
        .collect();
    let forecast = roi_domain::forecast::forecast(&costs);
    let forecast_band = roi_domain::forecast::band(&costs, 30);
    let tracking = crate::reminders::tracking(&p, &snapshots, period.to);
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
        roi,
        previous_roi,
        roi_missing_reason,
        baseline_date: baseline.map(MetricSnapshot::measured_on),
        current_date: current.map(MetricSnapshot::measured_on),
        metrics,
        roi_history,
        trends,
        usage,
        daily_cost,
        forecast,
        forecast_band,
        tracking,
        wins: Vec::new(),
        attention: Vec::new(),
        next_steps: Vec::new(),
        users,
    };
    narrate(
        &mut data,
        current.is_some_and(|c| c.status() == SnapshotStatus::NeedsReview),
    );
    Ok(data)
}
