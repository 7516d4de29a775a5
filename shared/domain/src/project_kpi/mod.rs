//! Each project's own KPIs and success criteria (issue 18; the KPI catalogues of seeds 001
//! and 002). Not to be confused with [`crate::kpi`], the fixed alert KPIs.
//!
//! A [`KpiDefinition`] names a KPI (snake_case), its unit and direction, the baseline, a
//! target with a date (the success criterion agreed before go-live), green/yellow/red
//! [`Zones`], and where its value comes from ([`KpiSource`]): entered (form, CSV, a
//! `kpi.measurement` event), computed by a [`Formula`] over other KPIs and seed 000's
//! metrics, or metered from the roll-ups ([`MeteredFigure`]).
//!
//! A project's definitions are validated together into a [`KpiSet`]: names unique and not
//! a metric's, formulas naming only known metrics and KPIs, no cycle, units that agree
//! (USD and time are checked as dimensions: USD ÷ count is USD, USD ÷ USD is a ratio; a
//! sum of USD and a count is refused), at most [`MAX_HEADLINE`] headline KPIs.

pub mod catalogue;
pub mod formula;
pub mod retention;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use formula::{Formula, FormulaError, NotComputable};

use crate::metric::{Direction, Metric, MetricKind};
use crate::units::MAX_MEASURED_VALUE;

/// The most KPIs a project may define.
pub const MAX_KPIS: usize = 40;
/// The most KPIs a project marks as headline (the executive one-pager shows them).
pub const MAX_HEADLINE: usize = 3;
/// The longest KPI name and label, characters.
pub const MAX_NAME_CHARS: usize = 48;
/// The longest label, characters.
pub const MAX_LABEL_CHARS: usize = 100;

/// A KPI's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KpiUnit {
    /// US dollars.
    Usd,
    /// Percent (a share ×100; may exceed 100 for growth).
    Percent,
    /// A count.
    Count,
    /// Minutes.
    Minutes,
    /// Hours.
    Hours,
    /// A plain ratio (e.g. LTV:CAC).
    Ratio,
}

impl KpiUnit {
    /// Every unit.
    pub const ALL: [KpiUnit; 6] = [
        KpiUnit::Usd,
        KpiUnit::Percent,
        KpiUnit::Count,
        KpiUnit::Minutes,
        KpiUnit::Hours,
        KpiUnit::Ratio,
    ];

    /// The name in definitions (`usd`, `percent`, …).
    pub fn name(self) -> &'static str {
        match self {
            KpiUnit::Usd => "usd",
            KpiUnit::Percent => "percent",
            KpiUnit::Count => "count",
            KpiUnit::Minutes => "minutes",
            KpiUnit::Hours => "hours",
            KpiUnit::Ratio => "ratio",
        }
    }

    /// The symbol beside a value: `USD`, `%`, `min`, `h`, `×`, or nothing.
    pub fn symbol(self) -> &'static str {
        match self {
            KpiUnit::Usd => "USD",
            KpiUnit::Percent => "%",
            KpiUnit::Count => "",
            KpiUnit::Minutes => "min",
            KpiUnit::Hours => "h",
            KpiUnit::Ratio => "×",
        }
    }

    /// `value` for reading: `42,000 USD`, `4.5 %`, `3.2 ×`, `1,200`.
    pub fn show(self, value: Decimal) -> String {
        let places = match self {
            KpiUnit::Usd | KpiUnit::Count => 0,
            _ => 1,
        };
        let number = crate::units::grouped(value.round_dp(places).normalize());
        match self.symbol() {
            "" => number,
            s => format!("{number} {s}"),
        }
    }

    fn dims(self) -> Dims {
        match self {
            KpiUnit::Usd => Dims { usd: 1, time: 0 },
            KpiUnit::Minutes | KpiUnit::Hours => Dims { usd: 0, time: 1 },
            KpiUnit::Percent | KpiUnit::Count | KpiUnit::Ratio => Dims::NONE,
        }
    }
}

impl fmt::Display for KpiUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A unit's dimensions for the formula check: powers of USD and of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dims {
    usd: i8,
    time: i8,
}

impl Dims {
    const NONE: Dims = Dims { usd: 0, time: 0 };

    fn of_metric(metric: Metric) -> Dims {
        match metric.kind() {
            MetricKind::Money => Dims { usd: 1, time: 0 },
            MetricKind::Minutes | MetricKind::Hours | MetricKind::Days => Dims { usd: 0, time: 1 },
            _ => Dims::NONE,
        }
    }

    fn describe(self) -> String {
        match (self.usd, self.time) {
            (0, 0) => "a plain number".into(),
            (1, 0) => "USD".into(),
            (0, 1) => "a time".into(),
            (u, t) => format!("USD^{u}·time^{t}"),
        }
    }
}

/// Green/yellow/red thresholds. Higher-is-better: green at or above `green`, yellow at or
/// above `yellow`, red below. Lower-is-better: green at or below `green`, yellow at or
/// below `yellow`, red above (seed 002's zones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zones {
    /// The green threshold, in the KPI's unit.
    pub green: Decimal,
    /// The yellow threshold, in the KPI's unit.
    pub yellow: Decimal,
}

/// A zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Zone {
    /// On or beyond the green threshold.
    Green,
    /// Between the thresholds.
    Yellow,
    /// Beyond the yellow threshold the wrong way.
    Red,
}

impl Zone {
    /// `green`, `yellow`, `red`.
    pub fn name(self) -> &'static str {
        match self {
            Zone::Green => "green",
            Zone::Yellow => "yellow",
            Zone::Red => "red",
        }
    }
}

/// A target: the value to reach by a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The value, in the KPI's unit.
    pub value: Decimal,
    /// The date it is to be reached by.
    pub by: NaiveDate,
}

/// A figure the roll-ups meter, for a KPI of source `metered`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeteredFigure {
    /// Daily active users of the period's last day (count).
    Dau,
    /// Weekly active users of the period's last day (count).
    Wau,
    /// Monthly active users of the period's last day (count).
    Mau,
    /// Agent runs that succeeded, percent of runs.
    AgentSuccessRate,
    /// AI cost of the period, USD.
    AiCostUsd,
    /// Users back 1 day after their first day, percent of the cohort ([`retention`]).
    RetentionD1,
    /// Users back 7 days after their first day, percent.
    RetentionD7,
    /// Users back 30 days after their first day, percent.
    RetentionD30,
    /// Users back 90 days after their first day, percent.
    RetentionD90,
}

impl MeteredFigure {
    /// Every figure.
    pub const ALL: [MeteredFigure; 9] = [
        MeteredFigure::Dau,
        MeteredFigure::Wau,
        MeteredFigure::Mau,
        MeteredFigure::AgentSuccessRate,
        MeteredFigure::AiCostUsd,
        MeteredFigure::RetentionD1,
        MeteredFigure::RetentionD7,
        MeteredFigure::RetentionD30,
        MeteredFigure::RetentionD90,
    ];

    /// Its unit.
    pub fn unit(self) -> KpiUnit {
        match self {
            MeteredFigure::Dau | MeteredFigure::Wau | MeteredFigure::Mau => KpiUnit::Count,
            MeteredFigure::AiCostUsd => KpiUnit::Usd,
            _ => KpiUnit::Percent,
        }
    }

    /// For retention figures, the day offset N of "day N".
    pub fn retention_day(self) -> Option<u32> {
        match self {
            MeteredFigure::RetentionD1 => Some(1),
            MeteredFigure::RetentionD7 => Some(7),
            MeteredFigure::RetentionD30 => Some(30),
            MeteredFigure::RetentionD90 => Some(90),
            _ => None,
        }
    }
}

/// Where a KPI's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KpiSource {
    /// Entered: the self-reporting form, a CSV row (`metric_name` = the KPI's name), or a
    /// `kpi.measurement` event.
    Measured,
    /// Computed from other KPIs and metrics.
    Computed {
        /// The formula.
        formula: Formula,
    },
    /// Metered from the roll-ups.
    Metered {
        /// Which figure.
        figure: MeteredFigure,
    },
}

impl KpiSource {
    /// `measured`, `computed` or `metered`.
    pub fn kind(&self) -> &'static str {
        match self {
            KpiSource::Measured => "measured",
            KpiSource::Computed { .. } => "computed",
            KpiSource::Metered { .. } => "metered",
        }
    }
}

/// One KPI of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiDefinition {
    /// snake_case, 1–48 characters, not a seed 000 metric's name.
    pub name: String,
    /// For people, 1–100 characters.
    pub label: String,
    /// Its unit.
    pub unit: KpiUnit,
    /// Which way is better.
    pub direction: Direction,
    /// Its value before go-live, in its unit (|value| ≤ 10¹²).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Decimal>,
    /// The success criterion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// Green/yellow/red thresholds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zones: Option<Zones>,
    /// Where its value comes from.
    pub source: KpiSource,
    /// Shown on the executive one-pager (at most three per project).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub headline: bool,
    /// Where the formula or figure comes from, for people (the catalogue fills it in).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

impl KpiDefinition {
    /// The zone of `value`, if zones are set.
    pub fn zone(&self, value: Decimal) -> Option<Zone> {
        let z = self.zones?;
        Some(match self.direction {
            Direction::HigherIsBetter if value >= z.green => Zone::Green,
            Direction::HigherIsBetter if value >= z.yellow => Zone::Yellow,
            Direction::LowerIsBetter if value <= z.green => Zone::Green,
            Direction::LowerIsBetter if value <= z.yellow => Zone::Yellow,
            _ => Zone::Red,
        })
    }

    /// Whether `value` reaches `target` in this KPI's direction.
    pub fn reaches(&self, value: Decimal, target: Decimal) -> bool {
        match self.direction {
            Direction::HigherIsBetter => value >= target,
            Direction::LowerIsBetter => value <= target,
        }
    }
}

/// One bad field of a definition: the KPI's position and name, the field, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("KPI {index} ({kpi}), {field}: {message}")]
pub struct KpiFieldError {
    /// 0-based position in the list.
    pub index: usize,
    /// The KPI's name as given.
    pub kpi: String,
    /// `name`, `label`, `baseline`, `target`, `zones`, `formula`, `headline`.
    pub field: &'static str,
    /// What is wrong, in a sentence.
    pub message: String,
}

/// A project's validated KPI definitions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct KpiSet {
    kpis: Vec<KpiDefinition>,
}

impl<'de> Deserialize<'de> for KpiSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let kpis = Vec::<KpiDefinition>::deserialize(d)?;
        KpiSet::try_new(kpis).map_err(|errors| {
            serde::de::Error::custom(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })
    }
}

impl KpiSet {
    /// Validates `kpis` together (module docs).
    ///
    /// # Errors
    /// Every bad field found, each with its KPI and reason.
    pub fn try_new(kpis: Vec<KpiDefinition>) -> Result<Self, Vec<KpiFieldError>> {
        let mut errors = Vec::new();
        let mut err = |index: usize, kpi: &KpiDefinition, field, message: String| {
            errors.push(KpiFieldError {
                index,
                kpi: kpi.name.clone(),
                field,
                message,
            });
        };
        if kpis.len() > MAX_KPIS
            && let Some(last) = kpis.last()
        {
            err(
                kpis.len() - 1,
                last,
                "name",
                format!("a project has at most {MAX_KPIS} KPIs"),
            );
        }
        let mut seen = BTreeSet::new();
        let mut headlines = 0;
        for (i, k) in kpis.iter().enumerate() {
            if !is_snake_case(&k.name) {
                err(
                    i,
                    k,
                    "name",
                    format!(
                        "must be snake_case (a-z, 0-9, _; starting with a letter), 1–{MAX_NAME_CHARS} characters"
                    ),
                );
            } else if Metric::from_name(&k.name).is_some_and(|m| m.name() == k.name) {
                err(
                    i,
                    k,
                    "name",
                    format!(
                        "'{}' is a seed 000 metric; formulas read it as it is, name the KPI otherwise",
                        k.name
                    ),
                );
            } else if !seen.insert(k.name.as_str()) {
                err(i, k, "name", format!("'{}' is defined twice", k.name));
            }
            let label = k.label.trim().chars().count();
            if label == 0 || label > MAX_LABEL_CHARS {
                err(
                    i,
                    k,
                    "label",
                    format!("must have 1–{MAX_LABEL_CHARS} characters"),
                );
            }
            let in_range = |v: Decimal| v.abs() <= MAX_MEASURED_VALUE;
            if k.baseline.is_some_and(|b| !in_range(b)) {
                err(i, k, "baseline", "must be at most 10^12 in size".into());
            }
            if k.target.is_some_and(|t| !in_range(t.value)) {
                err(i, k, "target", "must be at most 10^12 in size".into());
            }
            if let Some(z) = k.zones {
                if !in_range(z.green) || !in_range(z.yellow) {
                    err(
                        i,
                        k,
                        "zones",
                        "thresholds must be at most 10^12 in size".into(),
                    );
                } else if !k.reaches(z.green, z.yellow) {
                    let way = match k.direction {
                        Direction::HigherIsBetter => "at or above",
                        Direction::LowerIsBetter => "at or below",
                    };
                    err(
                        i,
                        k,
                        "zones",
                        format!(
                            "the green threshold must be {way} the yellow one (higher or lower is better decides)"
                        ),
                    );
                }
            }
            if let KpiSource::Metered { figure } = &k.source
                && figure.unit() != k.unit
            {
                err(
                    i,
                    k,
                    "unit",
                    format!(
                        "the metered figure is in {}, the KPI in {}",
                        figure.unit(),
                        k.unit
                    ),
                );
            }
            if k.headline {
                headlines += 1;
                if headlines > MAX_HEADLINE {
                    err(
                        i,
                        k,
                        "headline",
                        format!("at most {MAX_HEADLINE} KPIs are headline"),
                    );
                }
            }
        }
        // (a name defined twice is refused above; formulas read its first definition)
        let mut by_name: BTreeMap<&str, &KpiDefinition> = BTreeMap::new();
        for k in &kpis {
            by_name.entry(k.name.as_str()).or_insert(k);
        }
        for (i, k) in kpis.iter().enumerate() {
            let KpiSource::Computed { formula } = &k.source else {
                continue;
            };
            let unknown: Vec<&str> = formula
                .names()
                .into_iter()
                .filter(|n| !by_name.contains_key(n) && metric_named(n).is_none())
                .collect();
            if !unknown.is_empty() {
                err(
                    i,
                    k,
                    "formula",
                    format!(
                        "names no KPI of this project and no metric: {}",
                        unknown.join(", ")
                    ),
                );
                continue;
            }
            if let Some(cycle) = cycle_from(&k.name, &by_name) {
                err(
                    i,
                    k,
                    "formula",
                    format!("is circular: {}", cycle.join(" → ")),
                );
                continue;
            }
            match dims_of(formula.expr(), &by_name) {
                Ok(d) if d != k.unit.dims() => err(
                    i,
                    k,
                    "formula",
                    format!("gives {}, but the KPI is in {}", d.describe(), k.unit),
                ),
                Ok(_) => {}
                Err(why) => err(i, k, "formula", why),
            }
        }
        if errors.is_empty() {
            Ok(Self { kpis })
        } else {
            Err(errors)
        }
    }

    /// The definitions, in their order.
    pub fn kpis(&self) -> &[KpiDefinition] {
        &self.kpis
    }

    /// The definition named `name`.
    pub fn get(&self, name: &str) -> Option<&KpiDefinition> {
        self.kpis.iter().find(|k| k.name == name)
    }

    /// Whether no KPI is defined.
    pub fn is_empty(&self) -> bool {
        self.kpis.is_empty()
    }

    /// Evaluates every KPI: measured and metered ones from `inputs.values`, computed ones
    /// by their formulas over those and `inputs.metrics`.
    pub fn evaluate(&self, inputs: &KpiInputs) -> BTreeMap<String, Result<Decimal, NotComputable>> {
        let mut done: BTreeMap<String, Result<Decimal, NotComputable>> = BTreeMap::new();
        for k in &self.kpis {
            let v = self.value_of(&k.name, inputs, &mut done, 0);
            done.insert(k.name.clone(), v);
        }
        done
    }

    fn value_of(
        &self,
        name: &str,
        inputs: &KpiInputs,
        done: &mut BTreeMap<String, Result<Decimal, NotComputable>>,
        depth: usize,
    ) -> Result<Decimal, NotComputable> {
        if let Some(v) = done.get(name) {
            return v.clone();
        }
        let Some(k) = self.get(name) else {
            return metric_named(name)
                .and_then(|m| inputs.metrics.get(&m).copied())
                .ok_or_else(|| NotComputable(format!("{name} has no measured value")));
        };
        // Cycles are refused on construction; the depth bound keeps a hand-made set safe.
        if depth > MAX_KPIS {
            return Err(NotComputable(format!("{name} is circular")));
        }
        let v = match &k.source {
            KpiSource::Measured | KpiSource::Metered { .. } => inputs
                .values
                .get(name)
                .copied()
                .ok_or_else(|| NotComputable(format!("{name} has no value yet"))),
            KpiSource::Computed { formula } => {
                formula.evaluate(&mut |n| self.value_of(n, inputs, done, depth + 1))
            }
        };
        done.insert(name.to_owned(), v.clone());
        v
    }
}

/// What KPIs are computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KpiInputs {
    /// The latest value of each measured or metered KPI, by name.
    pub values: BTreeMap<String, Decimal>,
    /// The latest measurement's seed 000 metrics.
    pub metrics: BTreeMap<Metric, Decimal>,
}

/// Where a KPI stands against its target on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    /// The value reaches the target.
    Met,
    /// Not yet, but moving at least as fast as the time elapsed towards the target date.
    OnTrack,
    /// Not yet, and behind that pace (or in the red zone without a baseline).
    AtRisk,
    /// The target date has passed without the target reached.
    Missed,
}

impl TargetStatus {
    /// `met`, `on track`, `at risk`, `missed`.
    pub fn words(self) -> &'static str {
        match self {
            TargetStatus::Met => "met",
            TargetStatus::OnTrack => "on track",
            TargetStatus::AtRisk => "at risk",
            TargetStatus::Missed => "missed",
        }
    }
}

/// Where `value` stands against `k`'s target on `today`, counting from `start` (go-live):
/// met when reached; missed after the target date; otherwise on track when the share of
/// the way from baseline to target covered is at least the share of the time from `start`
/// to the target date elapsed. `None` without a target.
pub fn target_status(
    k: &KpiDefinition,
    value: Decimal,
    start: NaiveDate,
    today: NaiveDate,
) -> Option<TargetStatus> {
    let target = k.target?;
    if k.reaches(value, target.value) {
        return Some(TargetStatus::Met);
    }
    if today > target.by {
        return Some(TargetStatus::Missed);
    }
    let Some(baseline) = k.baseline else {
        return Some(match k.zone(value) {
            Some(Zone::Red) => TargetStatus::AtRisk,
            _ => TargetStatus::OnTrack,
        });
    };
    // a computed value may be anywhere in the decimal range: checked, an overflow covers
    // nothing
    let covered = target
        .value
        .checked_sub(baseline)
        .zip(value.checked_sub(baseline))
        .and_then(|(needed, gained)| gained.checked_div(needed))
        .unwrap_or(Decimal::ZERO);
    let total = (target.by - start).num_days();
    let elapsed = (today - start).num_days().clamp(0, total.max(0));
    let pace = if total <= 0 {
        Decimal::ONE
    } else {
        Decimal::from(elapsed) / Decimal::from(total)
    };
    Some(if covered >= pace {
        TargetStatus::OnTrack
    } else {
        TargetStatus::AtRisk
    })
}

/// One KPI as a report, the console and the dashboard show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiRow {
    /// The KPI's name.
    pub name: String,
    /// Its label.
    pub label: String,
    /// Its unit.
    pub unit: KpiUnit,
    /// `measured`, `computed` or `metered`.
    pub source: String,
    /// The baseline, in the unit.
    pub baseline: Option<Decimal>,
    /// The value now, in the unit; absent when not computable.
    pub value: Option<Decimal>,
    /// Why there is no value ("division by zero (churn is 0)", "mrr has no value yet").
    pub not_computable: Option<String>,
    /// The value a month earlier, for the trend.
    pub previous: Option<Decimal>,
    /// `improving`, `worsening` or `flat` against `previous`, in the KPI's direction.
    pub trend: Option<String>,
    /// The target.
    pub target: Option<Target>,
    /// The value's zone.
    pub zone: Option<Zone>,
    /// Where it stands against the target.
    pub status: Option<TargetStatus>,
    /// Shown on the executive one-pager.
    pub headline: bool,
    /// Has a target, zones or the headline mark: the KPIs a report lists (the others are
    /// inputs, in the CSV and XLSX).
    #[serde(default)]
    pub watched: bool,
    /// `value` for reading, or "not computable".
    pub value_text: String,
    /// `baseline` for reading, or "—".
    pub baseline_text: String,
    /// "4.0 % by 2026-12-31", or "—".
    pub target_text: String,
}

impl KpiRow {
    /// The row of `k` with its value now and a month earlier, its status on `today`
    /// counting from `start` (go-live).
    pub fn new(
        k: &KpiDefinition,
        now: Result<Decimal, NotComputable>,
        previous: Option<Decimal>,
        start: NaiveDate,
        today: NaiveDate,
    ) -> Self {
        let value = now.as_ref().ok().copied();
        let trend = value.zip(previous).map(|(v, p)| {
            if v == p {
                "flat"
            } else if k.reaches(v, p) {
                "improving"
            } else {
                "worsening"
            }
            .to_owned()
        });
        let dash = || "—".to_owned();
        Self {
            name: k.name.clone(),
            label: k.label.clone(),
            unit: k.unit,
            source: k.source.kind().into(),
            baseline: k.baseline,
            not_computable: now.as_ref().err().map(|e| e.0.clone()),
            previous,
            trend,
            target: k.target,
            zone: value.and_then(|v| k.zone(v)),
            status: value.and_then(|v| target_status(k, v, start, today)),
            headline: k.headline,
            watched: k.target.is_some() || k.zones.is_some() || k.headline,
            value_text: value.map_or_else(|| "not computable".into(), |v| k.unit.show(v)),
            baseline_text: k.baseline.map_or_else(dash, |b| k.unit.show(b)),
            target_text: k
                .target
                .map_or_else(dash, |t| format!("{} by {}", k.unit.show(t.value), t.by)),
            value,
        }
    }
}

/// "2 of 3 targets met, 1 at risk" over the rows with a target; `None` when none has one
/// (seed 001's success criteria).
pub fn status_line(rows: &[KpiRow]) -> Option<String> {
    let with_target: Vec<&KpiRow> = rows.iter().filter(|r| r.target.is_some()).collect();
    if with_target.is_empty() {
        return None;
    }
    let count = |s: TargetStatus| with_target.iter().filter(|r| r.status == Some(s)).count();
    let mut line = format!(
        "{} of {} targets met",
        count(TargetStatus::Met),
        with_target.len()
    );
    for s in [
        TargetStatus::OnTrack,
        TargetStatus::AtRisk,
        TargetStatus::Missed,
    ] {
        let n = count(s);
        if n > 0 {
            line.push_str(&format!(", {n} {}", s.words()));
        }
    }
    let unknown = with_target.iter().filter(|r| r.status.is_none()).count();
    if unknown > 0 {
        line.push_str(&format!(", {unknown} without a value"));
    }
    Some(line)
}

fn is_snake_case(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && s.len() <= MAX_NAME_CHARS
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A seed 000 metric by its exact field name (formulas use the full names).
fn metric_named(name: &str) -> Option<Metric> {
    Metric::ALL.iter().copied().find(|m| m.name() == name)
}

/// The first cycle through `start`'s formula, as names, if any.
fn cycle_from(start: &str, by_name: &BTreeMap<&str, &KpiDefinition>) -> Option<Vec<String>> {
    fn visit(
        name: &str,
        by_name: &BTreeMap<&str, &KpiDefinition>,
        path: &mut Vec<String>,
        start: &str,
    ) -> bool {
        let Some(KpiSource::Computed { formula }) = by_name.get(name).map(|k| &k.source) else {
            return false;
        };
        for next in formula.names() {
            if next == start {
                path.push(next.to_owned());
                return true;
            }
            if path.iter().any(|p| p == next) || path.len() > MAX_KPIS {
                continue;
            }
            path.push(next.to_owned());
            if visit(next, by_name, path, start) {
                return true;
            }
            path.pop();
        }
        false
    }
    let mut path = vec![start.to_owned()];
    visit(start, by_name, &mut path, start).then_some(path)
}

fn dims_of(expr: &formula::Expr, by_name: &BTreeMap<&str, &KpiDefinition>) -> Result<Dims, String> {
    use formula::{Expr, Op};
    Ok(match expr {
        Expr::Number(_) => Dims::NONE,
        Expr::Name(n) => match by_name.get(n.as_str()) {
            Some(k) => k.unit.dims(),
            None => metric_named(n).map_or(Dims::NONE, Dims::of_metric),
        },
        Expr::Negate(e) => dims_of(e, by_name)?,
        Expr::Binary(op, a, b) => {
            let (da, db) = (dims_of(a, by_name)?, dims_of(b, by_name)?);
            match op {
                Op::Add | Op::Sub if da != db => {
                    return Err(format!(
                        "adds or subtracts {} and {}: units do not match",
                        da.describe(),
                        db.describe()
                    ));
                }
                Op::Add | Op::Sub => da,
                Op::Mul => Dims {
                    usd: da.usd.saturating_add(db.usd),
                    time: da.time.saturating_add(db.time),
                },
                Op::Div => Dims {
                    usd: da.usd.saturating_sub(db.usd),
                    time: da.time.saturating_sub(db.time),
                },
            }
        }
        Expr::MinMax(_, args) => {
            let mut dims = args.iter().map(|a| dims_of(a, by_name));
            let first = dims.next().unwrap_or(Ok(Dims::NONE))?;
            for d in dims {
                if d? != first {
                    return Err("min/max of values in different units".into());
                }
            }
            first
        }
    })
}

#[cfg(test)]
mod tests;
