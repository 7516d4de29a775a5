//! What a report shows ([`ReportData`]), and the [`Renderer`] port that turns it into
//! documents.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{ReportKind, ReportPeriod};
use crate::cadence::Tracking;
use crate::forecast::{BandDay, CostForecast};
use crate::metric::Direction;
use crate::trend::MetricTrend;
use crate::{ClientId, Metric, MetricSnapshot, ProjectId, RoiCalculation};

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
    /// Of those, events whose model the price table does not list: their cost is unknown
    /// and not in `cost_usd`.
    #[serde(default)]
    pub unpriced_events: u64,
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
    /// The client's price table version (the shipped table with its negotiated prices) as
    /// the report was made; every priced event keeps the version it was priced with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_table_version: Option<String>,
    /// Metered AI cost against the providers' cost reports over the period's UTC days
    /// that have one (issue 17); absent when no cost report covers the period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciliation: Option<Reconciliation>,
    /// The project's own KPIs on the period's last day (issue 18), in definition order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kpis: Vec<crate::project_kpi::KpiRow>,
    /// "2 of 3 targets met, 1 at risk", when a KPI has a target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kpi_status: Option<String>,
}

/// Metered against invoiced AI cost over a report's period (issue 17).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reconciliation {
    /// Provider-days with a cost report in the period.
    pub days: u32,
    /// Σ metered cost of those provider-days, USD.
    pub metered_usd: Decimal,
    /// Σ invoiced cost of those provider-days, USD.
    pub invoiced_usd: Decimal,
    /// (metered − invoiced) ÷ invoiced × 100 over them; absent when nothing was invoiced.
    pub variance_percentage: Option<Decimal>,
    /// The client's tolerance, percent (its `cost_variance` warning limit).
    pub tolerance_percentage: Decimal,
    /// The provider-days over the tolerance, the largest variance first (at most 3).
    pub over_tolerance: Vec<ReconciledRow>,
    /// How many provider-days were over the tolerance in all.
    pub over_tolerance_days: u32,
}

/// One provider-day of a [`Reconciliation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReconciledRow {
    /// The UTC day.
    pub day: NaiveDate,
    /// The provider.
    pub provider: String,
    /// Metered, USD.
    pub metered_usd: Decimal,
    /// Invoiced, USD.
    pub invoiced_usd: Decimal,
    /// Variance, percent; absent when nothing was invoiced.
    pub variance_percentage: Option<Decimal>,
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

/// The change from `baseline` to `current`, percent of the baseline (1 decimal); `None`
/// from a zero baseline.
pub fn change(baseline: Decimal, current: Decimal) -> Option<Decimal> {
    (!baseline.is_zero())
        .then(|| ((current - baseline) / baseline.abs() * Decimal::ONE_HUNDRED).round_dp(1))
}

/// Every metric both snapshots carry, baseline against current.
pub fn metric_rows(baseline: &MetricSnapshot, current: &MetricSnapshot) -> Vec<MetricRow> {
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

/// A field name as printed: a metric's own [`crate::Metric::label`] (`nps_score` → "Net
/// Promoter Score (NPS)"), any other name in words (`roi_percentage` → "ROI").
pub fn metric_label(metric: &str) -> String {
    if let Some(m) = crate::Metric::from_name(metric) {
        return m.label().to_owned();
    }
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
