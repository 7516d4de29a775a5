//! Computing a project's ROI from its stored measurements: one calculation on request
//! ([`compute_roi`]), or every period at once with metered figures from the daily roll-ups
//! ([`compute_periods`], the scheduled run).

pub use crate::store::ProjectInsights;
pub use roi_domain::trend::MetricTrend;
use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use roi_domain::forecast::forecast;
use roi_domain::roi::{MonthlyLine, RoiOptions};
use roi_domain::units::Money;
use roi_domain::{
    Metric, MetricSnapshot, Percentage, ProjectId, RoiCalculation, RoiError, SnapshotKind,
    SnapshotStatus,
};
use rust_decimal::Decimal;

use crate::rollup::{ProjectTotals, Rollup, SumOverflow, add_checked};
use crate::store::{Store, StoreError};

/// Why no ROI was computed.
#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    /// The project does not exist.
    #[error("project '{0}' does not exist")]
    UnknownProject(ProjectId),
    /// No approved baseline.
    #[error("project '{0}' has no approved baseline; import one and run `roi baseline approve`")]
    NoApprovedBaseline(ProjectId),
    /// No ongoing measurement on or before the as-of date.
    #[error("project '{project}' has no ongoing measurement on or before {as_of}")]
    NoMeasurement {
        /// The project.
        project: ProjectId,
        /// The as-of date.
        as_of: NaiveDate,
    },
    /// The math refused (zero cost, as-of before go-live, …).
    #[error(transparent)]
    Roi(#[from] RoiError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The period's metered figures leave their range when summed (stored roll-ups that no
    /// events could produce).
    #[error(transparent)]
    Overflow(#[from] SumOverflow),
}

/// What to compute; every field has a default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ComputeRequest {
    /// The as-of date (default: today in the client's time zone).
    pub as_of: Option<NaiveDate>,
    /// Months to project at the latest measurement's run rate; default: the realised value
    /// of every month since go-live.
    pub months: Option<u32>,
    /// Annual discount rate of the NPV, percent (default 10 %).
    pub annual_discount_rate: Option<Percentage>,
}

/// The approved baseline and the latest ongoing measurement on or before `as_of`.
fn comparison<'a>(
    snapshots: &'a [MetricSnapshot],
    project: &ProjectId,
    as_of: NaiveDate,
) -> Result<(&'a MetricSnapshot, &'a MetricSnapshot), ComputeError> {
    let baseline = snapshots
        .iter()
        .filter(|s| s.kind() == SnapshotKind::Baseline && s.status() == SnapshotStatus::Approved)
        .max_by_key(|s| s.measured_on())
        .ok_or_else(|| ComputeError::NoApprovedBaseline(project.clone()))?;
    let current = snapshots
        .iter()
        .filter(|s| s.kind() == SnapshotKind::Ongoing && s.measured_on() <= as_of)
        .max_by_key(|s| s.measured_on())
        .ok_or_else(|| ComputeError::NoMeasurement {
            project: project.clone(),
            as_of,
        })?;
    Ok((baseline, current))
}

/// Computes and stores the ROI of `project` per `request`: by default the realised value
/// of every month from go-live to the as-of date, each valued with the measurement in force
/// for it; with `months`, a projection of that many months at the latest measurement's run
/// rate. Recomputing the same as-of date and period replaces the stored calculation.
///
/// # Errors
/// [`ComputeError`].
pub async fn compute_roi(
    store: &Store,
    project: &ProjectId,
    request: ComputeRequest,
) -> Result<RoiCalculation, ComputeError> {
    let ComputeRequest {
        as_of,
        months,
        annual_discount_rate,
    } = request;
    let p = store
        .project(project)
        .await?
        .ok_or_else(|| ComputeError::UnknownProject(project.clone()))?;
    let as_of = match as_of {
        Some(d) => d,
        None => store.client_today(store.client(&p.client_id).await?.as_ref()),
    };
    let snapshots = store.snapshots(project).await?;
    let (baseline, current) = comparison(&snapshots, project, as_of)?;
    let mut options = RoiOptions::as_of(as_of);
    options.hourly_rate_usd = store.settings(&p.client_id).await?.hourly_rate_usd;
    if let Some(rate) = annual_discount_rate {
        options.annual_discount_rate = rate;
    }
    let roi = match months {
        // N months asked for: a projection at the latest measurement's run rate
        // (`basis: run_rate`).
        Some(n) => {
            options.months = Some(n);
            RoiCalculation::compute(&p, baseline, current, &options)?
        }
        None => {
            let ongoing: Vec<&MetricSnapshot> = snapshots.iter().collect();
            RoiCalculation::compute_realised(
                &p,
                baseline,
                current,
                &ongoing,
                p.go_live_date,
                &options,
            )?
        }
    };
    store.put_roi(&roi).await?;
    metrics::counter!("roi_computed").increment(1);
    Ok(roi)
}

/// A period an ROI is computed for, ending on the as-of date (issue 5: month to date, last
/// 3 / 6 / 12 months, since go-live).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// Its name in `period_analyzed`, e.g. "last 3 months".
    pub label: String,
    /// N, months analysed.
    pub months: u32,
    /// First day whose metered figures count.
    pub from: NaiveDate,
}

/// The periods with data on `as_of` for a project live since `go_live`: month to date
/// always; the last 3, 6 and 12 months once that many whole months have passed; since
/// go-live. Periods of equal length are kept once (the first name wins).
pub fn periods(go_live: NaiveDate, as_of: NaiveDate) -> Vec<Period> {
    let since = roi_domain::roi::months_through(go_live, as_of).max(1);
    let month_start = as_of.with_day(1).unwrap_or(as_of).max(go_live);
    let mut out = vec![Period {
        label: "month to date".into(),
        months: 1,
        from: month_start,
    }];
    for n in [3u32, 6, 12] {
        if since >= n {
            let from = as_of
                .checked_sub_months(chrono::Months::new(n))
                .map_or(go_live, |d| d + chrono::Days::new(1));
            out.push(Period {
                label: format!("last {n} months"),
                months: n,
                from,
            });
        }
    }
    out.push(Period {
        label: "since go-live".into(),
        months: since,
        from: go_live,
    });
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|p| seen.insert(p.months));
    out
}

pub use roi_domain::roi::value::DAYS_PER_MONTH;

/// The metered inputs of one period: totals of the daily roll-ups of `from..=to`, scaled to
/// a month. The project's own events count (`data.project`); when the client has only this
/// project, all the client's events do.
#[derive(Debug, Clone, PartialEq)]
pub struct Metered {
    /// AI cost, USD per month; `None` without any priced usage in the period.
    pub ai_cost_monthly: Option<Money>,
    /// Value lines: time saved at the client's hourly rate, and cost avoided, USD per month.
    pub value_lines: Vec<MonthlyLine>,
}

/// The totals of `project` in a roll-up: its own events, or all the client's when it is the
/// client's only project.
pub fn project_totals(r: &Rollup, project: &ProjectId, only_project: bool) -> ProjectTotals {
    if only_project {
        ProjectTotals {
            usage: r.usage.clone(),
            outcomes: r.outcomes.clone(),
        }
    } else {
        r.projects
            .get(project.as_str())
            .cloned()
            .unwrap_or_default()
    }
}

/// Sums the roll-ups of `from..=to` into monthly metered inputs.
///
/// # Errors
/// [`SumOverflow`] naming the figure whose sum, or its monthly value, leaves its range.
pub fn metered(
    daily: &BTreeMap<NaiveDate, Rollup>,
    project: &ProjectId,
    only_project: bool,
    from: NaiveDate,
    to: NaiveDate,
    hourly_rate_usd: Option<Decimal>,
) -> Result<Metered, SumOverflow> {
    let (mut cost, mut priced_events, mut minutes, mut avoided) =
        (Decimal::ZERO, 0u64, Decimal::ZERO, Decimal::ZERO);
    for r in daily.range(from..=to).map(|(_, r)| r) {
        let t = project_totals(r, project, only_project);
        let priced = t.usage.events.saturating_sub(t.usage.unpriced_events);
        add_checked(&mut cost, t.usage.cost_usd, "cost_usd")?;
        add_checked(&mut priced_events, priced, "events")?;
        add_checked(
            &mut minutes,
            t.outcomes.minutes_saved,
            "outcomes.minutes_saved",
        )?;
        add_checked(
            &mut avoided,
            t.outcomes.other_value_usd,
            "outcomes.other_value_usd",
        )?;
    }
    let days = Decimal::from((to - from).num_days() + 1);
    let monthly = |total: Decimal, field| {
        total
            .checked_mul(DAYS_PER_MONTH)
            .map(|t| t / days)
            .ok_or(SumOverflow(field))
    };
    let mut value_lines = Vec::new();
    if let Some(rate) = hourly_rate_usd
        && !minutes.is_zero()
    {
        let value = (minutes / Decimal::from(60))
            .checked_mul(rate)
            .ok_or(SumOverflow("outcomes.minutes_saved"))?;
        let value = monthly(value, "outcomes.minutes_saved")?;
        value_lines.push(MonthlyLine {
            name: format!(
                "time saved (metered, {} h at ${rate}/h)",
                (minutes / Decimal::from(60)).round_dp(1)
            ),
            monthly_usd: Money::try_from(value.round_dp(2)).unwrap_or(Money::ZERO),
        });
    }
    if !avoided.is_zero() {
        value_lines.push(MonthlyLine {
            name: "cost avoided (metered outcomes)".into(),
            monthly_usd: Money::try_from(monthly(avoided, "outcomes.other_value_usd")?.round_dp(2))
                .unwrap_or(Money::ZERO),
        });
    }
    let ai_cost_monthly = match priced_events {
        0 => None,
        _ => Some(Money::try_from(monthly(cost, "cost_usd")?.round_dp(2)).unwrap_or(Money::ZERO)),
    };
    Ok(Metered {
        ai_cost_monthly,
        value_lines,
    })
}

/// What an ROI at any date is computed from: a project, its snapshots and its client's
/// daily roll-ups. Computing stores nothing (reports use it for past dates).
#[derive(Debug, Clone, Copy)]
pub struct RoiContext<'a> {
    /// The project.
    pub project: &'a roi_domain::Project,
    /// All its snapshots.
    pub snapshots: &'a [MetricSnapshot],
    /// The client's daily roll-ups (days outside a period are ignored).
    pub daily: &'a BTreeMap<NaiveDate, Rollup>,
    /// Whether the project is the client's only one (then all events count for it).
    pub only_project: bool,
    /// The client's hourly rate, USD.
    pub hourly_rate_usd: Option<Decimal>,
}

impl RoiContext<'_> {
    /// The realised ROI of `period` as of `as_of`: the approved baseline against the
    /// measurement in force for each month of the period, with the metered AI cost and
    /// value lines of the period where a measurement does not report them.
    ///
    /// # Errors
    /// [`ComputeError::NoApprovedBaseline`], [`ComputeError::NoMeasurement`],
    /// [`ComputeError::Roi`].
    pub fn roi(&self, as_of: NaiveDate, period: &Period) -> Result<RoiCalculation, ComputeError> {
        let (baseline, current) = comparison(self.snapshots, &self.project.id, as_of)?;
        let m = metered(
            self.daily,
            &self.project.id,
            self.only_project,
            period.from,
            as_of,
            self.hourly_rate_usd,
        )?;
        let mut options = RoiOptions::as_of(as_of);
        options.months = Some(period.months);
        options.period_label = Some(period.label.clone());
        options.metered_ai_cost_monthly = m.ai_cost_monthly;
        options.value_lines = m.value_lines;
        options.hourly_rate_usd = self.hourly_rate_usd;
        let ongoing: Vec<&MetricSnapshot> = self.snapshots.iter().collect();
        Ok(RoiCalculation::compute_realised(
            self.project,
            baseline,
            current,
            &ongoing,
            period.from,
            &options,
        )?)
    }

    /// The ROI since go-live as of `as_of` (the last of [`periods`]).
    ///
    /// # Errors
    /// As [`RoiContext::roi`].
    pub fn since_go_live(&self, as_of: NaiveDate) -> Result<RoiCalculation, ComputeError> {
        let all = periods(self.project.go_live_date, as_of);
        let last = all.last().ok_or(ComputeError::NoMeasurement {
            project: self.project.id.clone(),
            as_of,
        })?;
        self.roi(as_of, last)
    }
}

/// Computes and stores the ROI of every period with data (see [`periods`]), with the
/// metered AI cost where the measurement does not report one, and the project's insights.
/// `daily` holds the client's stored daily roll-ups (any span; days outside a period are
/// ignored). Recomputing replaces what was stored for the same as-of date.
///
/// # Errors
/// [`ComputeError`]; a project without an approved baseline or a measurement gets
/// [`ComputeError::NoApprovedBaseline`] / [`ComputeError::NoMeasurement`].
pub async fn compute_periods(
    store: &Store,
    project: &ProjectId,
    as_of: NaiveDate,
    daily: &BTreeMap<NaiveDate, Rollup>,
) -> Result<(Vec<RoiCalculation>, ProjectInsights), ComputeError> {
    let p = store
        .project(project)
        .await?
        .ok_or_else(|| ComputeError::UnknownProject(project.clone()))?;
    let settings = store.settings(&p.client_id).await?;
    let only_project = store.projects_of(&p.client_id).await?.len() == 1;
    let snapshots = store.snapshots(project).await?;
    comparison(&snapshots, project, as_of)?;
    let ongoing: Vec<&MetricSnapshot> = snapshots
        .iter()
        .filter(|s| s.kind() == SnapshotKind::Ongoing && s.measured_on() <= as_of)
        .collect();
    let context = RoiContext {
        project: &p,
        snapshots: &snapshots,
        daily,
        only_project,
        hourly_rate_usd: settings.hourly_rate_usd,
    };
    let mut calculations = Vec::new();
    for period in periods(p.go_live_date, as_of) {
        let roi = context.roi(as_of, &period)?;
        store.put_roi(&roi).await?;
        metrics::counter!("roi_computed").increment(1);
        calculations.push(roi);
    }
    let mut trends = Vec::new();
    for &metric in Metric::ALL {
        let points: Vec<(NaiveDate, Decimal)> = ongoing
            .iter()
            .filter_map(|s| Some((s.measured_on(), s.value(metric)?)))
            .collect();
        if let Some((trend, change)) = roi_domain::trend::trend(&points, metric.direction()) {
            trends.push(MetricTrend {
                metric: metric.name().to_owned(),
                trend,
                change_percentage: change,
            });
        }
    }
    let since = as_of - chrono::Days::new(89);
    let costs: Vec<(NaiveDate, Decimal)> = daily
        .range(since..=as_of)
        .map(|(d, r)| (*d, project_totals(r, project, only_project).usage.cost_usd))
        .collect();
    let insights = ProjectInsights {
        project_id: project.clone(),
        as_of,
        trends,
        forecast: forecast(&costs),
        tracking: crate::reminders::tracking(&p, &snapshots, as_of),
    };
    store.put_insights(&insights).await?;
    Ok((calculations, insights))
}

/// The client's stored daily roll-ups from `from` (clamped to a year and a bit before `to`)
/// to `to`.
///
/// # Errors
/// [`StoreError`].
pub async fn stored_rollups(
    store: &Store,
    client: &roi_domain::ClientId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BTreeMap<NaiveDate, Rollup>, StoreError> {
    let earliest =
        to - chrono::Days::new(u64::try_from(crate::rollup::MAX_SPAN_DAYS - 1).unwrap_or(0));
    let mut out = BTreeMap::new();
    for day in from.max(earliest).iter_days().take_while(|d| *d <= to) {
        if let Some(r) = store.rollup(client, day).await? {
            out.insert(day, r);
        }
    }
    Ok(out)
}

/// Recomputes every ROI period of `project` as of its client's today from the stored
/// roll-ups: the scheduled run's computation for one project ([`compute_periods`]), which
/// also follows a form submission, so every reader sees one answer.
///
/// # Errors
/// [`ComputeError`].
pub async fn recompute_project(
    store: &Store,
    project: &roi_domain::Project,
) -> Result<(Vec<RoiCalculation>, ProjectInsights), ComputeError> {
    let client = store.client(&project.client_id).await?;
    let today = store.client_today(client.as_ref());
    let daily = stored_rollups(store, &project.client_id, project.go_live_date, today).await?;
    compute_periods(store, &project.id, today, &daily).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn periods_appear_as_whole_months_pass() {
        let labels = |as_of: &str| {
            periods(d("2025-02-03"), d(as_of))
                .into_iter()
                .map(|p| (p.label, p.months, p.from.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            labels("2025-02-20"),
            [("month to date".into(), 1, "2025-02-03".into())],
            "in the first month only month to date (since go-live is the same length)"
        );
        assert_eq!(
            labels("2025-05-10"),
            [
                ("month to date".into(), 1, "2025-05-01".into()),
                ("last 3 months".into(), 3, "2025-02-11".into()),
            ]
        );
        let late = labels("2026-03-15");
        let names: Vec<&str> = late.iter().map(|(l, _, _)| l.as_str()).collect();
        assert_eq!(
            names,
            [
                "month to date",
                "last 3 months",
                "last 6 months",
                "last 12 months",
                "since go-live"
            ]
        );
        assert_eq!(late[4].1, 13);
        assert_eq!(DAYS_PER_MONTH.to_string(), "30.4375");
    }

    #[test]
    fn metered_totals_are_scaled_to_a_month_and_time_saved_is_valued() {
        use rust_decimal_macros::dec;
        let project: ProjectId = "acme-bot".parse().unwrap();
        let mut daily = BTreeMap::new();
        for (day, cost, minutes) in [
            ("2026-11-02", dec!(10), dec!(60)),
            ("2026-11-05", dec!(20), dec!(60)),
        ] {
            let mut r = Rollup::empty("acme".parse().unwrap(), d(day), d(day));
            let t = r.projects.entry("acme-bot".into()).or_default();
            t.usage.events = 1;
            t.usage.cost_usd = cost;
            t.outcomes.minutes_saved = minutes;
            daily.insert(d(day), r);
        }
        // 10 days: $30 → $91.31 a month; 2 h at $50 → $304.38 a month
        let m = metered(
            &daily,
            &project,
            false,
            d("2026-11-01"),
            d("2026-11-10"),
            Some(dec!(50)),
        )
        .unwrap();
        assert_eq!(m.ai_cost_monthly.map(Money::amount), Some(dec!(91.31)));
        assert_eq!(m.value_lines.len(), 1);
        assert_eq!(m.value_lines[0].monthly_usd.amount(), dec!(304.38));
        // without an hourly rate, time saved is not valued; another project sees nothing
        assert!(
            metered(
                &daily,
                &project,
                false,
                d("2026-11-01"),
                d("2026-11-10"),
                None
            )
            .unwrap()
            .value_lines
            .is_empty()
        );
        let other: ProjectId = "acme-other".parse().unwrap();
        assert_eq!(
            metered(
                &daily,
                &other,
                false,
                d("2026-11-01"),
                d("2026-11-10"),
                None
            )
            .unwrap()
            .ai_cost_monthly,
            None
        );
        // AND stored figures that leave their range are named, not wrapped or panicked on
        let mut corrupt = daily.clone();
        let t = corrupt
            .get_mut(&d("2026-11-05"))
            .unwrap()
            .projects
            .get_mut("acme-bot")
            .unwrap();
        t.outcomes.minutes_saved = Decimal::MAX;
        let range = (d("2026-11-01"), d("2026-11-10"));
        assert_eq!(
            metered(&corrupt, &project, false, range.0, range.1, Some(dec!(50))).err(),
            Some(SumOverflow("outcomes.minutes_saved"))
        );
        // AND more unpriced events than events count as none priced (no cost), not a panic
        let mut corrupt = daily.clone();
        for r in corrupt.values_mut() {
            for t in r.projects.values_mut() {
                t.usage.unpriced_events = t.usage.events + 5;
            }
        }
        let m = metered(&corrupt, &project, false, range.0, range.1, None).unwrap();
        assert_eq!(m.ai_cost_monthly, None);
    }
}
