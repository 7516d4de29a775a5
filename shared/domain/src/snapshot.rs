//! Metric snapshots: one type for the baseline and for every ongoing measurement
//! (seed 000 §2.1 `BaselineMetrics` / `OngoingMetrics`), validated on construction
//! (seed 000 §7.1) and flagged for human review on large moves (seed 000 §9.2).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::client::ProjectId;
use crate::error::{FieldError, ValidationErrors};
use crate::metric::{Metric, VolumePeriod};

/// Baseline (before go-live) or ongoing (after).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotKind {
    /// Captured once, before go-live; approved by a person, then locked.
    Baseline,
    /// Captured on the cadence after go-live.
    Ongoing,
}

impl SnapshotKind {
    /// `baseline` or `ongoing`, as in keys and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotKind::Baseline => "baseline",
            SnapshotKind::Ongoing => "ongoing",
        }
    }
}

impl fmt::Display for SnapshotKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a snapshot stands in review (seed 000 §9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotStatus {
    /// A baseline awaiting `roi baseline approve`; not used for ROI yet.
    Submitted,
    /// An approved baseline: locked, used for ROI.
    Approved,
    /// An ongoing measurement within normal variance; used for ROI.
    Recorded,
    /// An ongoing measurement with a field that moved more than 50 %; used for ROI but
    /// listed for a person to confirm.
    NeedsReview,
    /// An ongoing measurement a person rejected on review, with a reason: kept for the
    /// record, never used for ROI.
    Rejected,
}

/// What replaces free text removed by an anonymisation.
pub const REMOVED_TEXT: &str = "(removed)";

/// A person's decision on a measurement that needed review (issue 15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewNote {
    /// Confirmed (the figures stand) or rejected.
    pub confirmed: bool,
    /// Who decided (an operator's e-mail address, or `cli`).
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Why (required to reject; 0–500 characters).
    pub reason: String,
}

/// Why a review decision was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewDecisionError {
    /// Only a measurement that needs review is decided on.
    #[error("measurement {0} does not need review")]
    NotUnderReview(SnapshotId),
    /// A rejection needs a reason; no reason is over 500 characters.
    #[error("a rejection needs a reason (1 to 500 characters)")]
    BadReason,
}

/// The threshold above which a change against the previous measurement needs a person's
/// review: 50 % (seed 000 §9.2, "significant metric changes (>50 % variance)").
pub const REVIEW_VARIANCE_PERCENT: Decimal = Decimal::from_parts(50, 0, 0, false, 0);

/// A field that moved more than [`REVIEW_VARIANCE_PERCENT`] against the previous
/// measurement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VarianceFlag {
    /// The metric.
    pub metric: Metric,
    /// Its previous value.
    pub previous: Decimal,
    /// Its new value.
    pub current: Decimal,
    /// The change relative to the previous value, percent (signed).
    pub change_percentage: Decimal,
}

/// A snapshot's id: 16 hex digits of SHA-256 over (project, kind, date), so the same
/// measurement always gets the same id and every write of it is a safe retry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SnapshotId(String);

impl SnapshotId {
    /// The id of `project`'s `kind` measurement taken on `date`.
    pub fn derive(project: &ProjectId, kind: SnapshotKind, date: NaiveDate) -> Self {
        let digest = Sha256::digest(format!("{project}|{kind}|{date}"));
        Self(hex::encode(&digest[..8]))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a snapshot must be checked against.
#[derive(Debug, Clone, Copy, Default)]
pub struct SnapshotContext<'a> {
    /// The date of the project's baseline, which every ongoing measurement must follow
    /// (seed 000 §7.1 "dates must be sequential").
    pub baseline_date: Option<NaiveDate>,
    /// The measurement to compare against for variance (the latest one before this one).
    pub previous: Option<&'a MetricSnapshot>,
}

/// Unchecked values of one measurement, as read from a form or a file.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotDraft {
    /// The project measured.
    pub project_id: ProjectId,
    /// Baseline or ongoing.
    pub kind: SnapshotKind,
    /// The day the values describe (`date_captured` / `measurement_date`).
    pub measured_on: NaiveDate,
    /// The values by metric, in each metric's unit.
    pub values: BTreeMap<Metric, Decimal>,
    /// The period `volume_per_period` counts over.
    pub volume_period: Option<VolumePeriod>,
    /// Free-text notes per metric (seed 000 §7.2 "capture qualitative notes").
    pub notes: BTreeMap<Metric, String>,
}

/// The metrics that must be present in every snapshot (seed 000, Appendix "High-Value
/// Metrics (Must Track)": total cost, time savings, error rate): the total monthly cost
/// (given, or derivable from at least one of its components), the average task completion
/// time and the error rate.
pub const REQUIRED_METRICS: [Metric; 3] = [
    Metric::TotalMonthlyCost,
    Metric::AvgTaskCompletionTime,
    Metric::ErrorRatePercentage,
];

impl SnapshotDraft {
    /// An empty draft.
    pub fn new(project_id: ProjectId, kind: SnapshotKind, measured_on: NaiveDate) -> Self {
        Self {
            project_id,
            kind,
            measured_on,
            values: BTreeMap::new(),
            volume_period: None,
            notes: BTreeMap::new(),
        }
    }

    /// Validates every rule of seed 000 §7.1 and reports every violation at once:
    /// each value within its metric's range (currency ≥ 0, percentages 0–100, NPS −100..100,
    /// CSAT 0–100, counts whole), the [`REQUIRED_METRICS`] present, a given total monthly
    /// cost equal to its components when all four are given, ongoing-only metrics absent
    /// from a baseline, and an ongoing date after the baseline date. Then compares against
    /// `ctx.previous` and marks the snapshot [`SnapshotStatus::NeedsReview`] when a value
    /// moved more than 50 %.
    ///
    /// # Errors
    /// [`ValidationErrors`], each naming the metric (seed field name) or `measured_on`.
    pub fn validate(
        self,
        ctx: SnapshotContext<'_>,
        recorded_at: DateTime<Utc>,
    ) -> Result<MetricSnapshot, ValidationErrors> {
        let mut errors = Vec::new();
        if let Err(reason) = crate::dates::in_window(self.measured_on) {
            errors.push(FieldError::new("measured_on", reason));
        }
        for (metric, value) in &self.values {
            if let Err(reason) = metric.kind().check(*value) {
                errors.push(FieldError::new(metric.name(), reason));
            }
            if self.kind == SnapshotKind::Baseline && metric.is_ongoing_only() {
                errors.push(FieldError::new(
                    metric.name(),
                    "is measured only after go-live; leave it out of the baseline",
                ));
            }
        }
        errors.extend(self.total_cost_error());
        for metric in &REQUIRED_METRICS[1..] {
            if !self.values.contains_key(metric) {
                errors.push(FieldError::new(metric.name(), "is required"));
            }
        }
        if self.values.contains_key(&Metric::VolumePerPeriod) && self.volume_period.is_none() {
            errors.push(FieldError::new(
                "period_type",
                "is required with volume_per_period (day, week or month)",
            ));
        }
        if self.kind == SnapshotKind::Ongoing {
            match ctx.baseline_date {
                Some(b) if self.measured_on <= b => errors.push(FieldError::new(
                    "measured_on",
                    format!("{} is not after the baseline date {b}", self.measured_on),
                )),
                None => errors.push(FieldError::new(
                    "measured_on",
                    "the project has no baseline yet; capture the baseline first",
                )),
                _ => {}
            }
        }
        if let Some(e) = ValidationErrors::from_vec(errors) {
            return Err(e);
        }

        let review = match ctx.previous {
            Some(prev) if self.kind == SnapshotKind::Ongoing => variance_flags(prev, &self.values),
            _ => Vec::new(),
        };
        let status = match (self.kind, review.is_empty()) {
            (SnapshotKind::Baseline, _) => SnapshotStatus::Submitted,
            (SnapshotKind::Ongoing, true) => SnapshotStatus::Recorded,
            (SnapshotKind::Ongoing, false) => SnapshotStatus::NeedsReview,
        };
        Ok(MetricSnapshot {
            id: SnapshotId::derive(&self.project_id, self.kind, self.measured_on),
            project_id: self.project_id,
            kind: self.kind,
            measured_on: self.measured_on,
            values: self.values,
            volume_period: self.volume_period,
            notes: self.notes,
            status,
            review,
            reviewed: None,
            recorded_at,
            approved_at: None,
        })
    }

    /// The total monthly cost's error, if any: given with all four components, it must be
    /// their sum (to the cent); absent, at least one component must be given.
    fn total_cost_error(&self) -> Option<FieldError> {
        let components: Vec<Decimal> = Metric::COST_COMPONENTS
            .iter()
            .filter_map(|m| self.values.get(m).copied())
            .collect();
        match self.values.get(&Metric::TotalMonthlyCost) {
            Some(total) if components.len() == Metric::COST_COMPONENTS.len() => {
                // Values beyond their range are reported apart; their sum may not exist.
                let sum = components
                    .iter()
                    .try_fold(Decimal::ZERO, |a, b| a.checked_add(*b))?;
                ((sum - *total).abs() > Decimal::new(1, 2)).then(|| {
                    FieldError::new(
                        Metric::TotalMonthlyCost.name(),
                        format!(
                            "is {total} but labor, software, overhead and error cost add up to {sum}; \
                             correct one of them or leave the total empty"
                        ),
                    )
                })
            }
            None if components.is_empty() => Some(FieldError::new(
                Metric::TotalMonthlyCost.name(),
                "is required: give it, or at least one of monthly_labor_cost, \
                 monthly_software_cost, monthly_overhead_cost, monthly_error_cost",
            )),
            _ => None,
        }
    }
}

fn variance_flags(prev: &MetricSnapshot, values: &BTreeMap<Metric, Decimal>) -> Vec<VarianceFlag> {
    values
        .iter()
        .filter_map(|(metric, current)| {
            let previous = prev.value(*metric)?;
            if previous.is_zero() {
                return None; // no relative change is defined from zero
            }
            // Checked: a tiny previous value makes the ratio overflow; that is a change
            // far beyond the threshold, shown as the largest measurable one.
            let change = (*current - previous)
                .checked_div(previous.abs())
                .and_then(|r| r.checked_mul(Decimal::ONE_HUNDRED))
                .unwrap_or_else(|| {
                    let max = crate::metric::MAX_MEASURED_VALUE;
                    if *current < previous { -max } else { max }
                });
            (change.abs() > REVIEW_VARIANCE_PERCENT).then(|| VarianceFlag {
                metric: *metric,
                previous,
                current: *current,
                change_percentage: crate::units::round_ratio(change),
            })
        })
        .collect()
}

/// A validated measurement of one project on one day. Built only by
/// [`SnapshotDraft::validate`]; read back from storage as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSnapshot {
    id: SnapshotId,
    project_id: ProjectId,
    kind: SnapshotKind,
    measured_on: NaiveDate,
    values: BTreeMap<Metric, Decimal>,
    volume_period: Option<VolumePeriod>,
    #[serde(default)]
    notes: BTreeMap<Metric, String>,
    status: SnapshotStatus,
    #[serde(default)]
    review: Vec<VarianceFlag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reviewed: Option<ReviewNote>,
    recorded_at: DateTime<Utc>,
    approved_at: Option<DateTime<Utc>>,
}

/// Why a baseline could not be approved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApproveError {
    /// Only baselines are approved.
    #[error("snapshot {0} is an ongoing measurement; only baselines are approved")]
    NotABaseline(SnapshotId),
    /// It is approved already (and locked).
    #[error("baseline {0} is already approved")]
    AlreadyApproved(SnapshotId),
}

impl MetricSnapshot {
    /// The deterministic id.
    pub fn id(&self) -> &SnapshotId {
        &self.id
    }
    /// The project measured.
    pub fn project_id(&self) -> &ProjectId {
        &self.project_id
    }
    /// Baseline or ongoing.
    pub fn kind(&self) -> SnapshotKind {
        self.kind
    }
    /// The day the values describe.
    pub fn measured_on(&self) -> NaiveDate {
        self.measured_on
    }
    /// Review status.
    pub fn status(&self) -> SnapshotStatus {
        self.status
    }
    /// The fields that moved more than 50 % (empty unless [`SnapshotStatus::NeedsReview`]).
    pub fn review(&self) -> &[VarianceFlag] {
        &self.review
    }
    /// The review decision, once a person made it.
    pub fn reviewed(&self) -> Option<&ReviewNote> {
        self.reviewed.as_ref()
    }
    /// When it was recorded.
    pub fn recorded_at(&self) -> DateTime<Utc> {
        self.recorded_at
    }
    /// When a baseline was approved.
    pub fn approved_at(&self) -> Option<DateTime<Utc>> {
        self.approved_at
    }
    /// Every value given, by metric.
    pub fn values(&self) -> &BTreeMap<Metric, Decimal> {
        &self.values
    }
    /// The notes given, by metric.
    pub fn notes(&self) -> &BTreeMap<Metric, String> {
        &self.notes
    }

    /// This snapshot without the free text a person wrote (a client's anonymisation, issue
    /// 20): its notes removed and a review's reason replaced by [`REMOVED_TEXT`]. Figures,
    /// dates, status and who reviewed it are kept.
    #[must_use]
    pub fn without_free_text(mut self) -> Self {
        self.notes.clear();
        if let Some(r) = &mut self.reviewed
            && !r.reason.is_empty()
        {
            REMOVED_TEXT.clone_into(&mut r.reason);
        }
        self
    }
    /// The period of `volume_per_period`.
    pub fn volume_period(&self) -> Option<VolumePeriod> {
        self.volume_period
    }

    /// One value as given, in the metric's unit. The total monthly cost is *as given*;
    /// use [`MetricSnapshot::total_monthly_cost`] for the derived figure.
    pub fn value(&self, metric: Metric) -> Option<Decimal> {
        self.values.get(&metric).copied()
    }

    /// The total monthly cost, USD: as given, or else the sum of the components that were
    /// given (labor, software, overhead, error cost; issue 2's definition). `None` only
    /// when neither was given, which validation does not let through.
    pub fn total_monthly_cost(&self) -> Option<Decimal> {
        self.value(Metric::TotalMonthlyCost).or_else(|| {
            let parts: Vec<Decimal> = Metric::COST_COMPONENTS
                .iter()
                .filter_map(|m| self.value(*m))
                .collect();
            (!parts.is_empty()).then(|| {
                // Validated values (≤ 10^12 each) cannot overflow; a record stored before the
                // bounds existed is refused by [`MetricSnapshot::check_ranges`] first.
                parts
                    .iter()
                    .try_fold(Decimal::ZERO, |a, b| a.checked_add(*b))
                    .unwrap_or(Decimal::MAX)
            })
        })
    }

    /// Checks every stored value against its metric's range (a record read back from
    /// storage was validated by the rules in force when it was written, perhaps looser).
    ///
    /// # Errors
    /// A [`FieldError`] naming the first metric out of range.
    pub fn check_ranges(&self) -> Result<(), FieldError> {
        for (metric, value) in &self.values {
            metric
                .kind()
                .check(*value)
                .map_err(|reason| FieldError::new(metric.name(), reason))?;
        }
        Ok(())
    }

    /// Whether this snapshot may feed an ROI calculation: an approved baseline, or any
    /// ongoing measurement (one under review still counts, and says so).
    pub fn is_usable(&self) -> bool {
        matches!(
            self.status,
            SnapshotStatus::Approved | SnapshotStatus::Recorded | SnapshotStatus::NeedsReview
        )
    }

    /// Approves a submitted baseline, locking it (seed 000 §9.2 "baseline metric validation
    /// before saving").
    ///
    /// # Errors
    /// [`ApproveError`] when this is not a baseline or is approved already.
    pub fn approve(&mut self, at: DateTime<Utc>) -> Result<(), ApproveError> {
        match (self.kind, self.status) {
            (SnapshotKind::Ongoing, _) => Err(ApproveError::NotABaseline(self.id.clone())),
            (_, SnapshotStatus::Approved) => Err(ApproveError::AlreadyApproved(self.id.clone())),
            _ => {
                self.status = SnapshotStatus::Approved;
                self.approved_at = Some(at);
                Ok(())
            }
        }
    }

    /// Decides on a measurement that needs review: confirmed, it is `recorded` (its figures
    /// stand); rejected, it is `rejected` and no longer feeds ROI. Either way the variance
    /// flags and the decision are kept (seed 000 §9.2).
    ///
    /// # Errors
    /// [`ReviewDecisionError`]: not under review, or a rejection without a reason.
    pub fn decide(&mut self, note: ReviewNote) -> Result<(), ReviewDecisionError> {
        if self.status != SnapshotStatus::NeedsReview {
            return Err(ReviewDecisionError::NotUnderReview(self.id.clone()));
        }
        let reason = note.reason.trim();
        if (!note.confirmed && reason.is_empty()) || reason.chars().count() > 500 {
            return Err(ReviewDecisionError::BadReason);
        }
        self.status = if note.confirmed {
            SnapshotStatus::Recorded
        } else {
            SnapshotStatus::Rejected
        };
        self.reviewed = Some(ReviewNote {
            reason: reason.to_owned(),
            ..note
        });
        Ok(())
    }

    /// Whether `other` holds the same measurement (same values, notes and period), so that
    /// writing it again changes nothing.
    pub fn same_measurement(&self, other: &MetricSnapshot) -> bool {
        self.id == other.id
            && self.values == other.values
            && self.notes == other.notes
            && self.volume_period == other.volume_period
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_736_000_000, 0).unwrap()
    }
    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn draft(kind: SnapshotKind, on: &str, values: &[(Metric, Decimal)]) -> SnapshotDraft {
        let mut d = SnapshotDraft::new("acme-bot".parse().unwrap(), kind, date(on));
        d.values.extend(values.iter().copied());
        d
    }
    fn baseline() -> MetricSnapshot {
        draft(
            SnapshotKind::Baseline,
            "2025-01-15",
            &[
                (Metric::MonthlyLaborCost, dec!(15000)),
                (Metric::MonthlySoftwareCost, dec!(500)),
                (Metric::AvgTaskCompletionTime, dec!(45)),
                (Metric::ErrorRatePercentage, dec!(8.5)),
            ],
        )
        .validate(SnapshotContext::default(), at())
        .unwrap()
    }

    #[test]
    fn a_baseline_is_submitted_and_its_total_is_the_sum_of_its_components() {
        let b = baseline();
        assert_eq!(b.status(), SnapshotStatus::Submitted);
        assert_eq!(b.total_monthly_cost(), Some(dec!(15500)));
        assert!(!b.is_usable());
    }

    #[test]
    fn every_violation_is_reported_at_once_with_its_field_name() {
        let err = draft(
            SnapshotKind::Baseline,
            "2025-01-15",
            &[
                (Metric::MonthlyLaborCost, dec!(-1)),
                (Metric::ErrorRatePercentage, dec!(120)),
                (Metric::NpsScore, dec!(-101)),
                (Metric::CsatScore, dec!(100.5)),
                (Metric::ComplaintsPerMonth, dec!(2.5)),
                (Metric::AiSolutionCost, dec!(10)),
            ],
        )
        .validate(SnapshotContext::default(), at())
        .unwrap_err();
        for field in [
            "monthly_labor_cost",
            "error_rate_percentage",
            "nps_score",
            "csat_score",
            "complaints_per_month",
            "ai_solution_cost",
            "avg_task_completion_time",
        ] {
            assert!(err.mentions(field), "{field} not reported in: {err}");
        }
    }

    #[test]
    fn a_total_that_contradicts_all_four_components_is_refused() {
        let mut d = draft(
            SnapshotKind::Baseline,
            "2025-01-15",
            &[
                (Metric::AvgTaskCompletionTime, dec!(45)),
                (Metric::ErrorRatePercentage, dec!(8)),
            ],
        );
        for m in Metric::COST_COMPONENTS {
            d.values.insert(m, dec!(100));
        }
        d.values.insert(Metric::TotalMonthlyCost, dec!(500));
        let err = d
            .clone()
            .validate(SnapshotContext::default(), at())
            .unwrap_err();
        assert!(err.mentions("total_monthly_cost"));
        d.values.insert(Metric::TotalMonthlyCost, dec!(400));
        assert!(d.validate(SnapshotContext::default(), at()).is_ok());
    }

    #[test]
    fn an_ongoing_measurement_must_follow_the_baseline() {
        let b = baseline();
        let ctx = SnapshotContext {
            baseline_date: Some(b.measured_on()),
            previous: Some(&b),
        };
        let err = draft(
            SnapshotKind::Ongoing,
            "2025-01-15",
            b.values()
                .clone()
                .into_iter()
                .collect::<Vec<_>>()
                .as_slice(),
        )
        .validate(ctx, at())
        .unwrap_err();
        assert!(err.mentions("measured_on"));
    }

    #[test]
    fn a_move_of_more_than_half_marks_the_measurement_for_review() {
        let b = baseline();
        let ctx = SnapshotContext {
            baseline_date: Some(b.measured_on()),
            previous: Some(&b),
        };
        let calm = draft(
            SnapshotKind::Ongoing,
            "2025-02-28",
            &[
                (Metric::MonthlyLaborCost, dec!(14000)),
                (Metric::AvgTaskCompletionTime, dec!(30)),
                (Metric::ErrorRatePercentage, dec!(4.25)),
            ],
        )
        .validate(ctx, at())
        .unwrap();
        assert_eq!(
            calm.status(),
            SnapshotStatus::Recorded,
            "exactly -50 % is not more than 50 %"
        );
        let jumpy = draft(
            SnapshotKind::Ongoing,
            "2025-02-28",
            &[
                (Metric::MonthlyLaborCost, dec!(14000)),
                (Metric::AvgTaskCompletionTime, dec!(30)),
                (Metric::ErrorRatePercentage, dec!(4.2)),
            ],
        )
        .validate(ctx, at())
        .unwrap();
        assert_eq!(jumpy.status(), SnapshotStatus::NeedsReview);
        assert_eq!(jumpy.review()[0].metric, Metric::ErrorRatePercentage);
        assert_eq!(jumpy.review()[0].change_percentage, dec!(-50.59));
    }

    #[test]
    fn an_approved_baseline_is_locked() {
        let mut b = baseline();
        b.approve(at()).unwrap();
        assert_eq!(b.status(), SnapshotStatus::Approved);
        assert!(matches!(
            b.approve(at()),
            Err(ApproveError::AlreadyApproved(_))
        ));
    }

    #[test]
    fn the_same_measurement_always_gets_the_same_id() {
        assert_eq!(baseline().id(), baseline().id());
        let other = SnapshotId::derive(
            &"acme-bot".parse().unwrap(),
            SnapshotKind::Ongoing,
            date("2025-01-15"),
        );
        assert_ne!(baseline().id(), &other);
    }
}
