//! Reports (issue 6; seed 000 §6.2, seed 003 weekly summaries, seed 004 FR-016.4): what a
//! report says, gathered from the store ([`assemble`]); issuing it once per input
//! ([`issue`]): rendered by a [`Renderer`] (the `roi-reports` crate: typst, charts,
//! CSV / XLSX), stored in the [`BlobStore`](roi_domain::ports::BlobStore), recorded, and e-mailed as a signed link
//! ([`ReportLinks`]) that `GET /r/{token}` ([`router`]) redeems.
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
    LINK_DAYS, LinkRecord, LinkState, OpenError, PRESIGNED_FOR, ReportLinkClaims, ReportLinks,
    open, revoke_links, router,
};

pub use roi_domain::report::{ReportKind, UnknownReportKind};
use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc, Weekday};
use roi_domain::forecast::{BandDay, CostForecast};
use roi_domain::metric::Direction;
use roi_domain::ports::BlobError;
use roi_domain::trend::Trend;
use roi_domain::{
    ClientId, Metric, MetricSnapshot, ProjectId, RoiCalculation, SnapshotKind, SnapshotStatus,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::compute::{ComputeError, MetricTrend, RoiContext, project_totals};
use crate::reminders::Tracking;
use crate::rollup::Rollup;
use crate::store::{Store, StoreError};

/// The days a report covers, in the client's calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportPeriod {
    /// As written in keys and on the cover: `2026-W47`, `2026-11`, `2026-Q4`, `year-1`.
    pub label: String,
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
}

fn month_period(year: i32, month: u32) -> Option<ReportPeriod> {
    let from = NaiveDate::from_ymd_opt(year, month, 1)?;
    let to = from.checked_add_months(Months::new(1))?.pred_opt()?;
    Some(ReportPeriod {
        label: format!("{year:04}-{month:02}"),
        from,
        to,
    })
}

fn quarter_period(year: i32, quarter: u32) -> Option<ReportPeriod> {
    let from = NaiveDate::from_ymd_opt(year, 3 * (quarter - 1) + 1, 1)?;
    let to = from.checked_add_months(Months::new(3))?.pred_opt()?;
    Some(ReportPeriod {
        label: format!("{year:04}-Q{quarter}"),
        from,
        to,
    })
}

fn week_period(year: i32, week: u32) -> Option<ReportPeriod> {
    let from = NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)?;
    Some(ReportPeriod {
        label: format!("{year:04}-W{week:02}"),
        from,
        to: from + chrono::Days::new(6),
    })
}

fn year_period(go_live: NaiveDate, n: u32) -> Option<ReportPeriod> {
    let from = go_live.checked_add_months(Months::new(12 * (n - 1)))?;
    let to = go_live
        .checked_add_months(Months::new(12 * n))?
        .pred_opt()?;
    Some(ReportPeriod {
        label: format!("year-{n}"),
        from,
        to,
    })
}

impl ReportPeriod {
    /// Reads a period of `kind` as written by [`ReportKind::period_form`]; years of
    /// operation count from `go_live`.
    ///
    /// # Errors
    /// [`ReportError::BadRequest`] naming the expected form.
    pub fn parse(kind: ReportKind, text: &str, go_live: NaiveDate) -> Result<Self, ReportError> {
        let bad = || {
            ReportError::BadRequest(format!(
                "'{text}' is not a {} period: give {}",
                kind.name(),
                kind.period_form()
            ))
        };
        let num = |s: &str| s.parse::<u32>().ok();
        let parsed = match kind {
            ReportKind::Weekly => text.split_once("-W").and_then(|(y, w)| {
                week_period(y.parse().ok()?, num(w)?).filter(|p| p.label == text)
            }),
            ReportKind::Monthly | ReportKind::Executive => text
                .split_once('-')
                .and_then(|(y, m)| month_period(y.parse().ok()?, num(m)?))
                .filter(|p| p.label == text),
            ReportKind::Quarterly => text
                .split_once("-Q")
                .and_then(|(y, q)| {
                    quarter_period(y.parse().ok()?, num(q).filter(|q| (1..=4).contains(q))?)
                })
                .filter(|p| p.label == text),
            ReportKind::Annual => text
                .strip_prefix("year-")
                .and_then(num)
                .filter(|n| *n >= 1)
                .and_then(|n| year_period(go_live, n)),
        };
        parsed.ok_or_else(bad)
    }

    /// The last whole period of `kind` that ended before `today`; `None` for a year of
    /// operation not yet complete.
    pub fn last_complete(kind: ReportKind, today: NaiveDate, go_live: NaiveDate) -> Option<Self> {
        match kind {
            ReportKind::Weekly => {
                let d = today - chrono::Days::new(7);
                let w = d.iso_week();
                week_period(w.year(), w.week())
            }
            ReportKind::Monthly | ReportKind::Executive => {
                let d = today.with_day(1)?.pred_opt()?;
                month_period(d.year(), d.month())
            }
            ReportKind::Quarterly => {
                let d = today.checked_sub_months(Months::new(3))?;
                quarter_period(d.year(), d.month0() / 3 + 1)
            }
            ReportKind::Annual => {
                let years = roi_domain::roi::whole_months_between(go_live, today) / 12;
                (years >= 1).then(|| year_period(go_live, years)).flatten()
            }
        }
    }

    /// The period of the same kind just before this one (week over week, month over month,
    /// quarter over quarter, year over year).
    pub fn previous(&self, kind: ReportKind, go_live: NaiveDate) -> Option<Self> {
        match kind {
            ReportKind::Annual => {
                let n: u32 = self.label.strip_prefix("year-")?.parse().ok()?;
                (n > 1).then(|| year_period(go_live, n - 1)).flatten()
            }
            _ => Self::last_complete(kind, self.from, go_live),
        }
    }

    /// Days covered.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
}

/// Days after a period's end during which the schedule still issues its report (so a
/// missed run is harmless).
pub const DUE_WINDOW_DAYS: i64 = 3;

/// The period of `kind` whose report is due on the client's `today`: the last complete one,
/// if it ended at most [`DUE_WINDOW_DAYS`] ago (weekly reports on Mondays, monthly and
/// executive on the 1st, quarterly after each quarter, annual on the go-live anniversary).
pub fn due_period(kind: ReportKind, today: NaiveDate, go_live: NaiveDate) -> Option<ReportPeriod> {
    ReportPeriod::last_complete(kind, today, go_live)
        .filter(|p| p.to >= go_live && (today - p.to).num_days() <= DUE_WINDOW_DAYS)
}

/// One metric, baseline against the latest measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    /// The seed's field name, e.g. `avg_task_completion_time`.
    pub metric: String,
    /// As printed, e.g. "Average task completion time" ([`metric_label`]).
    pub label: String,
    /// Its unit, e.g. `minutes`.
    pub unit: String,
    /// The baseline value.
    pub baseline: Decimal,
    /// The latest value.
    pub current: Decimal,
    /// (current − baseline) / |baseline| × 100, percent; absent for a zero baseline.
    pub change_percentage: Option<Decimal>,
    /// Whether the change is for the better; absent when nothing changed.
    pub improved: Option<bool>,
}

/// The period's AI usage against the period before (from the daily roll-ups).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageSummary {
    /// `project` when the figures are the project's own events, `client` when the client's
    /// department and model breakdowns cover all its projects.
    pub scope: String,
    /// Metered AI cost, USD.
    pub cost_usd: Decimal,
    /// The same, the period before.
    pub previous_cost_usd: Option<Decimal>,
    /// Tokens.
    pub tokens: u64,
    /// `ai.usage` events.
    pub usage_events: u64,
    /// Distinct active users.
    pub active_users: u64,
    /// The same, the period before.
    pub previous_active_users: Option<u64>,
    /// Agent runs and their success rate, percent.
    pub agent_runs: u64,
    /// Successful runs, percent.
    pub agent_success_rate: Option<Decimal>,
    /// Staff time saved by AI-assisted outcomes, hours.
    pub hours_saved: Decimal,
    /// AI-assisted deals won, and their value (USD).
    pub ai_assisted_deals: u64,
    /// Their value, USD.
    pub ai_assisted_deal_value_usd: Decimal,
    /// AI cost by department, USD, largest first.
    pub by_department: Vec<NamedAmount>,
    /// AI cost by model, USD, largest first.
    pub by_model: Vec<NamedAmount>,
}

/// A name and an amount in USD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedAmount {
    /// The name.
    pub name: String,
    /// USD.
    pub usd: Decimal,
}

/// One point of a time series in USD or percent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The day.
    pub day: NaiveDate,
    /// The value.
    pub value: Decimal,
}

/// A user's AI cost in the period; the user appears only as the salted hash stored at
/// ingestion (exports only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserCost {
    /// Salted SHA-256 of the user id, hex (never the id).
    pub user_hash: String,
    /// USD.
    pub cost_usd: Decimal,
    /// Tokens.
    pub tokens: u64,
}

/// Everything a report shows; the template reads it as JSON (`sys.inputs`), so user text
/// is data, never markup. Its digest decides whether a report is issued again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    /// The kind.
    pub kind: ReportKind,
    /// Its title.
    pub title: String,
    /// The client's company name.
    pub client_name: String,
    /// The client's id.
    pub client_id: ClientId,
    /// The client's industry.
    pub industry: Option<String>,
    /// The client's IANA time zone.
    pub time_zone: String,
    /// The project's id.
    pub project_id: ProjectId,
    /// The project's name.
    pub project_name: String,
    /// Kind of solution.
    pub solution_type: Option<String>,
    /// Go-live day.
    pub go_live_date: NaiveDate,
    /// One-time investment, USD.
    pub one_time_investment_usd: Decimal,
    /// The period.
    pub period: ReportPeriod,
    /// The period before, for comparisons.
    pub previous_period: Option<ReportPeriod>,
    /// ROI since go-live as of the period's last day; absent before an approved baseline
    /// and a measurement exist.
    pub roi: Option<RoiCalculation>,
    /// ROI since go-live as of the previous period's last day.
    pub previous_roi: Option<RoiCalculation>,
    /// Why `roi` is absent.
    pub roi_missing_reason: Option<String>,
    /// Day of the baseline used.
    pub baseline_date: Option<NaiveDate>,
    /// Day of the measurement compared.
    pub current_date: Option<NaiveDate>,
    /// Every metric both snapshots carry.
    pub metrics: Vec<MetricRow>,
    /// ROI since go-live at each month end from go-live to the period's end, percent.
    pub roi_history: Vec<Point>,
    /// Metric trends over the ongoing measurements up to the period's end.
    pub trends: Vec<MetricTrend>,
    /// AI usage of the period.
    pub usage: Option<UsageSummary>,
    /// Daily metered AI cost of the 90 days to the period's end, USD.
    pub daily_cost: Vec<Point>,
    /// Cost forecast from those days.
    pub forecast: Option<CostForecast>,
    /// The next 30 days' expected cost with its band.
    pub forecast_band: Vec<BandDay>,
    /// Measurement completeness and timeliness.
    pub tracking: Tracking,
    /// What went well (sentences made from the figures).
    pub wins: Vec<String>,
    /// What needs attention.
    pub attention: Vec<String>,
    /// Next steps and recommendations.
    pub next_steps: Vec<String>,
    /// Per-user AI cost (hashed ids), for the exports.
    pub users: Vec<UserCost>,
}

impl ReportData {
    /// SHA-256 of the data's JSON, hex: equal data, equal digest.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(serde_json::to_vec(self).unwrap_or_default()))
    }
}

/// What is printed about one issue of a report beside its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportMeta {
    /// Version, from 1.
    pub version: u32,
    /// Whether it replaces an earlier version of the same period.
    pub restated: bool,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// The first 12 hex digits of the data's digest (printed in the footer).
    pub digest: String,
}

/// A rendered report: the PDF and the exports of the same figures.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The PDF.
    pub pdf: Vec<u8>,
    /// CSV: `section,name,value,unit` rows.
    pub csv: Vec<u8>,
    /// XLSX workbook.
    pub xlsx: Vec<u8>,
}

/// Why rendering failed (a template or chart error: a bug, not the caller's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rendering failed: {0}")]
pub struct RenderError(pub String);

/// Turns report data into documents (implemented by `roi-reports`).
pub trait Renderer: Send + Sync {
    /// Renders `data` as issued per `meta`.
    ///
    /// # Errors
    /// [`RenderError`].
    fn render(&self, data: &ReportData, meta: &ReportMeta) -> Result<Rendered, RenderError>;
}

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

impl From<UnknownReportKind> for ReportError {
    fn from(e: UnknownReportKind) -> Self {
        ReportError::BadRequest(e.to_string())
    }
}

fn change(baseline: Decimal, current: Decimal) -> Option<Decimal> {
    (!baseline.is_zero())
        .then(|| ((current - baseline) / baseline.abs() * Decimal::ONE_HUNDRED).round_dp(1))
}

fn metric_rows(baseline: &MetricSnapshot, current: &MetricSnapshot) -> Vec<MetricRow> {
    Metric::ALL
        .iter()
        .filter_map(|&m| {
            let (b, c) = (baseline.value(m)?, current.value(m)?);
            let improved = (b != c).then(|| match m.direction() {
                Direction::HigherIsBetter => c > b,
                Direction::LowerIsBetter => c < b,
            });
            Some(MetricRow {
                metric: m.name().to_owned(),
                label: metric_label(m.name()),
                unit: m.kind().unit().to_owned(),
                baseline: b,
                current: c,
                change_percentage: change(b, c),
                improved,
            })
        })
        .collect()
}

/// A metric's field name as printed: `avg_task_completion_time` → "Average task
/// completion time", `nps_score` → "NPS score".
pub fn metric_label(metric: &str) -> String {
    let words: Vec<String> = metric
        .split('_')
        .enumerate()
        .map(|(i, w)| match w {
            "nps" | "csat" | "ai" | "roi" => w.to_uppercase(),
            "avg" if i == 0 => "Average".into(),
            "avg" => "average".into(),
            _ if i == 0 => {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            }
            _ => w.to_owned(),
        })
        .filter(|w| w != "percentage")
        .collect();
    words.join(" ")
}

fn human(metric: &str) -> String {
    metric_label(metric)
}

/// A number as printed in sentences: rounded to `dp` decimals, thousands grouped.
fn grouped(v: Decimal, dp: u32) -> String {
    let v = v.round_dp(dp).normalize();
    let s = v.abs().to_string();
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    format!("{}{out}", if v.is_sign_negative() { "−" } else { "" })
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

/// Wins, points needing attention and next steps, as sentences made from the figures
/// (seed 000 §6.2: "wins and areas for improvement", "next steps", "strategic
/// recommendations").
fn narrate(d: &mut ReportData, needs_review: bool) {
    let pct = |v: Decimal| format!("{}", v.abs().round_dp(1).normalize());
    for m in &d.metrics {
        let (Some(c), Some(better)) = (m.change_percentage, m.improved) else {
            continue;
        };
        let line = format!(
            "{}: {} → {} {} ({} {} %)",
            human(&m.metric),
            grouped(m.baseline, 2),
            grouped(m.current, 2),
            m.unit,
            if c.is_sign_negative() { "down" } else { "up" },
            pct(c)
        );
        if better {
            d.wins.push(line);
        } else {
            d.attention.push(line);
        }
    }
    d.wins.truncate(5);
    for t in &d.trends {
        if t.trend == Trend::Declining {
            d.attention.push(format!(
                "{} has been moving the wrong way across the measurements ({} %)",
                human(&t.metric),
                pct(t.change_percentage)
            ));
        }
    }
    if let Some(r) = &d.roi {
        if let Some(months) = r.payback_period_months {
            let paid_back = Decimal::from(r.period_months) >= months;
            d.wins.insert(
                0,
                if paid_back {
                    format!(
                        "The investment has paid back (payback {} months)",
                        grouped(months, 1)
                    )
                } else {
                    format!("Payback expected after {} months", grouped(months, 1))
                },
            );
        } else {
            d.attention.push(
                "The solution does not pay back at current figures: the monthly benefit does not exceed its running cost"
                    .into(),
            );
        }
        if r.roi_percentage >= Decimal::ONE_HUNDRED {
            d.next_steps.push(
                "ROI above 100 %: a candidate for expansion to further teams and for a case study"
                    .into(),
            );
        }
    }
    if needs_review {
        d.attention
            .push("The latest measurement awaits review; its figures may change".into());
    }
    if let Some(u) = &d.usage
        && let Some(prev) = u.previous_cost_usd
        && !prev.is_zero()
    {
        let c = (u.cost_usd - prev) / prev * Decimal::ONE_HUNDRED;
        if c > Decimal::from(25) {
            d.attention.push(format!(
                "AI cost rose {} % against the previous period",
                pct(c)
            ));
        }
    }
    if let Some(c) = d.tracking.completeness_percentage
        && c < Decimal::from(80)
    {
        d.next_steps.push(format!(
            "Only {} % of due measurements were submitted: agree an owner for each measurement",
            c.round_dp(0)
        ));
    }
    if d.roi.is_none() {
        d.next_steps.push(
            "Approve a baseline and submit an ongoing measurement so ROI can be computed".into(),
        );
    }
    if let Some(f) = &d.forecast {
        d.next_steps.push(format!(
            "Budget about ${} of AI cost for the next 30 days (forecast confidence {})",
            grouped(f.next_30_days_usd, 0),
            f.confidence
        ));
    }
    if d.attention.is_empty() && d.roi.is_some() {
        d.next_steps
            .push("Keep the measurement cadence; look for further processes to automate".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn periods_parse_in_each_form_and_refuse_others() {
        let go_live = d("2025-03-15");
        let p = |k, t| ReportPeriod::parse(k, t, go_live);
        let w = p(ReportKind::Weekly, "2026-W47").unwrap();
        assert_eq!((w.from, w.to), (d("2026-11-16"), d("2026-11-22")));
        let m = p(ReportKind::Monthly, "2026-02").unwrap();
        assert_eq!((m.from, m.to), (d("2026-02-01"), d("2026-02-28")));
        let q = p(ReportKind::Quarterly, "2026-Q4").unwrap();
        assert_eq!((q.from, q.to), (d("2026-10-01"), d("2026-12-31")));
        let y = p(ReportKind::Annual, "year-2").unwrap();
        assert_eq!((y.from, y.to), (d("2026-03-15"), d("2027-03-14")));
        for (k, t) in [
            (ReportKind::Weekly, "2026-47"),
            (ReportKind::Weekly, "2026-W54"),
            (ReportKind::Monthly, "2026-13"),
            (ReportKind::Monthly, "2026-1"),
            (ReportKind::Quarterly, "2026-Q5"),
            (ReportKind::Annual, "year-0"),
            (ReportKind::Annual, "2026"),
        ] {
            let e = p(k, t).unwrap_err().to_string();
            assert!(e.contains(t) && e.contains("such as"), "{e}");
        }
    }

    #[test]
    fn the_due_period_is_the_one_that_just_ended() {
        let go_live = d("2025-11-21");
        let due = |k, today: &str| due_period(k, d(today), go_live).map(|p| p.label);
        // Monday 2026-11-23: last week is due; on Friday it is too late
        assert_eq!(
            due(ReportKind::Weekly, "2026-11-23").as_deref(),
            Some("2026-W47")
        );
        assert_eq!(due(ReportKind::Weekly, "2026-11-27"), None);
        assert_eq!(
            due(ReportKind::Monthly, "2026-12-01").as_deref(),
            Some("2026-11")
        );
        assert_eq!(
            due(ReportKind::Executive, "2026-12-02").as_deref(),
            Some("2026-11")
        );
        assert_eq!(due(ReportKind::Monthly, "2026-12-15"), None);
        assert_eq!(
            due(ReportKind::Quarterly, "2027-01-01").as_deref(),
            Some("2026-Q4")
        );
        assert_eq!(due(ReportKind::Quarterly, "2026-12-01"), None);
        // the first anniversary, and not a day before
        assert_eq!(
            due(ReportKind::Annual, "2026-11-21").as_deref(),
            Some("year-1")
        );
        assert_eq!(due(ReportKind::Annual, "2026-11-20"), None);
        // nothing before go-live
        assert_eq!(
            due_period(ReportKind::Monthly, d("2025-11-01"), go_live),
            None
        );
    }

    #[test]
    fn the_previous_period_is_the_same_length_just_before() {
        let go_live = d("2025-03-15");
        let prev = |k, t| {
            ReportPeriod::parse(k, t, go_live)
                .unwrap()
                .previous(k, go_live)
                .map(|p| p.label)
        };
        assert_eq!(
            prev(ReportKind::Weekly, "2026-W01").as_deref(),
            Some("2025-W52")
        );
        assert_eq!(
            prev(ReportKind::Monthly, "2026-01").as_deref(),
            Some("2025-12")
        );
        assert_eq!(
            prev(ReportKind::Quarterly, "2026-Q1").as_deref(),
            Some("2025-Q4")
        );
        assert_eq!(
            prev(ReportKind::Annual, "year-2").as_deref(),
            Some("year-1")
        );
        assert_eq!(prev(ReportKind::Annual, "year-1"), None);
    }

    #[test]
    fn metric_names_read_as_words() {
        assert_eq!(
            metric_label("avg_task_completion_time"),
            "Average task completion time"
        );
        assert_eq!(metric_label("nps_score"), "NPS score");
        assert_eq!(metric_label("ai_solution_cost"), "AI solution cost");
        assert_eq!(metric_label("error_rate_percentage"), "Error rate");
        assert_eq!(grouped(Decimal::new(4200000, 2), 2), "42,000");
        assert_eq!(grouped(Decimal::new(-51149, 4), 1), "−5.1");
    }
}
