//! Use-case tests of roi-app on the embedded store: the key design, imports, approval and
//! ROI computation, as the CLI and the functions drive them.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;

use roi_adapters::redb_table::RedbTable;
use roi_app::Store;
use roi_app::compute::{ComputeError, ComputeRequest, compute_roi};
use roi_app::measurements::{
    ApproveBaselineError, ImportError, approve_baseline, import_baseline, import_tracking,
};
use roi_app::setup::{SetupError, add_client, add_project};
use roi_app::store::Written;
use roi_domain::client::{ClientDraft, ProjectDraft};
use roi_domain::ports::{Clock, FixedClock};
use roi_domain::{ProjectId, SnapshotStatus};
use rust_decimal_macros::dec;

mod console;
mod ingest;
mod jobs;
mod kpis;
mod privacy;
mod rollup;
mod web;

const BASELINE: &[u8] = include_bytes!("fixtures/baseline-snapshot.csv");
const TRACKING: &[u8] = include_bytes!("fixtures/monthly-tracking.csv");
const TRACKING_WITH_ERRORS: &[u8] = include_bytes!("fixtures/tracking-with-errors.csv");
const TRACKING_BEFORE_BASELINE: &[u8] = include_bytes!("fixtures/tracking-before-baseline.csv");
const TRACKING_JUMP: &[u8] = include_bytes!("fixtures/tracking-jump.csv");

pub(crate) struct World {
    pub(crate) store: Store,
    pub(crate) project: ProjectId,
    _dir: tempfile::TempDir,
}

impl World {
    /// Imports the sample baseline, approves it, and imports the three measurements.
    pub(crate) async fn measured(&self) {
        import_baseline(&self.store, &self.project, BASELINE, "test")
            .await
            .unwrap();
        approve_baseline(&self.store, &self.project, "test")
            .await
            .unwrap();
        import_tracking(&self.store, &self.project, TRACKING, "test")
            .await
            .unwrap();
    }
}

pub(crate) async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::new("2025-05-02T12:00:00Z".parse().unwrap()));
    let table = RedbTable::open(&dir.path().join("roi.redb"), Arc::clone(&clock)).unwrap();
    let store = Store::new(Arc::new(table), clock);
    let (client, _) = add_client(
        &store,
        ClientDraft {
            company_name: "Acme Logistics".into(),
            time_zone: Some("America/Chicago".into()),
            ..ClientDraft::default()
        },
        "test",
    )
    .await
    .unwrap();
    let (project, _) = add_project(
        &store,
        ProjectDraft {
            client_id: client.id,
            project_name: "Support Assistant".into(),
            id: None,
            solution_type: None,
            status: None,
            go_live_date: "2025-02-03".into(),
            one_time_investment: dec!(45000),
            gross_margin: Some(dec!(40)),
        },
        "test",
    )
    .await
    .unwrap();
    World {
        store,
        project: project.id,
        _dir: dir,
    }
}

#[tokio::test]
async fn the_whole_flow_gives_the_hand_computed_roi() {
    // GIVEN the sample client's baseline, approved, and three monthly measurements
    let w = world().await;
    w.measured().await;
    // WHEN ROI is computed as of the last measurement over 12 months
    let roi = compute_roi(
        &w.store,
        &w.project,
        ComputeRequest {
            as_of: Some("2025-04-30".parse().unwrap()),
            months: Some(12),
            ..ComputeRequest::default()
        },
    )
    .await
    .unwrap();
    // THEN the figures match the hand computation:
    // baseline $50,000; ongoing 36,000 + 1,800 + 3,300 + 1,500 = $42,600; AI $3,000;
    // revenue +$11,000 at 40 % = $4,400 → gross $11,800/month, net $8,800/month.
    assert_eq!(roi.gross_monthly_benefit, dec!(11800));
    assert_eq!(roi.cost_savings_monthly, dec!(4400));
    assert_eq!(roi.costs_total, dec!(81000)); // 45,000 + 12 × 3,000
    assert_eq!(roi.roi_percentage, dec!(74.81)); // (141,600 − 81,000) / 81,000
    assert_eq!(roi.payback_period_months, Some(dec!(5.11))); // 45,000 / 8,800
    assert_eq!(roi.time_savings_percentage, Some(dec!(38.89))); // 18 → 11 minutes
    assert_eq!(roi.error_reduction_percentage, Some(dec!(40.00))); // 6.5 % → 3.9 %
    assert_eq!(roi.customer_satisfaction_improvement, Some(dec!(7)));
    // AND it is stored under its as-of date, and recomputing replaces it
    compute_roi(
        &w.store,
        &w.project,
        ComputeRequest {
            as_of: Some("2025-04-30".parse().unwrap()),
            months: Some(12),
            ..ComputeRequest::default()
        },
    )
    .await
    .unwrap();
    let stored = w.store.roi_calculations(&w.project).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0], roi);
}

#[tokio::test]
async fn importing_the_same_files_again_changes_nothing() {
    let w = world().await;
    import_baseline(&w.store, &w.project, BASELINE, "test")
        .await
        .unwrap();
    let first = import_tracking(&w.store, &w.project, TRACKING, "test")
        .await
        .unwrap();
    assert!(
        first
            .snapshots
            .iter()
            .all(|(_, wr)| *wr == Written::Created)
    );
    let again = import_tracking(&w.store, &w.project, TRACKING, "test")
        .await
        .unwrap();
    assert!(
        again
            .snapshots
            .iter()
            .all(|(_, wr)| *wr == Written::Unchanged)
    );
    assert_eq!(w.store.snapshots(&w.project).await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_file_with_errors_stores_nothing_and_names_every_line() {
    // GIVEN an approved baseline
    let w = world().await;
    import_baseline(&w.store, &w.project, BASELINE, "test")
        .await
        .unwrap();
    approve_baseline(&w.store, &w.project, "test")
        .await
        .unwrap();
    // WHEN a tracking file whose second date has two bad values is imported
    let err = import_tracking(&w.store, &w.project, TRACKING_WITH_ERRORS, "test")
        .await
        .unwrap_err();
    // THEN both are reported with their lines, and not even the good first date is stored
    let ImportError::File(errors) = err else {
        panic!("expected file errors, got {err}")
    };
    let got: Vec<(u64, &str)> = errors
        .0
        .iter()
        .map(|e| (e.line, e.field.as_str()))
        .collect();
    assert_eq!(got, [(7, "error_rate_percentage"), (8, "nps_score")]);
    assert_eq!(
        w.store.snapshots(&w.project).await.unwrap().len(),
        1,
        "only the baseline"
    );
}

#[tokio::test]
async fn a_measurement_dated_before_the_baseline_is_refused() {
    let w = world().await;
    import_baseline(&w.store, &w.project, BASELINE, "test")
        .await
        .unwrap();
    let err = import_tracking(&w.store, &w.project, TRACKING_BEFORE_BASELINE, "test")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("measured_on"), "{err}");
    let w2 = world().await;
    let err = import_tracking(&w2.store, &w2.project, TRACKING, "test")
        .await
        .unwrap_err();
    assert!(matches!(err, ImportError::NoBaseline(_)), "{err}");
}

#[tokio::test]
async fn a_big_move_is_stored_but_marked_for_review() {
    let w = world().await;
    import_baseline(&w.store, &w.project, BASELINE, "test")
        .await
        .unwrap();
    import_tracking(&w.store, &w.project, TRACKING, "test")
        .await
        .unwrap();
    let jump = import_tracking(&w.store, &w.project, TRACKING_JUMP, "test")
        .await
        .unwrap();
    let (s, _) = &jump.snapshots[0];
    assert_eq!(s.status(), SnapshotStatus::NeedsReview);
    assert_eq!(s.review()[0].metric.name(), "avg_task_completion_time"); // 11 → 4 minutes
}

#[tokio::test]
async fn an_approved_baseline_is_locked_and_roi_waits_for_approval() {
    let w = world().await;
    import_baseline(&w.store, &w.project, BASELINE, "test")
        .await
        .unwrap();
    import_tracking(&w.store, &w.project, TRACKING, "test")
        .await
        .unwrap();
    let err = compute_roi(
        &w.store,
        &w.project,
        ComputeRequest {
            as_of: Some("2025-04-30".parse().unwrap()),
            ..ComputeRequest::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ComputeError::NoApprovedBaseline(_)), "{err}");

    approve_baseline(&w.store, &w.project, "test")
        .await
        .unwrap();
    let again = approve_baseline(&w.store, &w.project, "test")
        .await
        .unwrap_err();
    assert!(matches!(again, ApproveBaselineError::Approve(_)), "{again}");

    let changed = String::from_utf8(BASELINE.to_vec())
        .unwrap()
        .replace("42000", "41000")
        .replace("total_monthly_cost,50000", "total_monthly_cost,49000");
    let err = import_baseline(&w.store, &w.project, changed.as_bytes(), "test")
        .await
        .unwrap_err();
    assert!(matches!(err, ImportError::Locked(_)), "{err}");
    // re-importing the identical approved baseline is harmless
    import_baseline(&w.store, &w.project, BASELINE, "test")
        .await
        .unwrap();
    let base = w
        .store
        .snapshots(&w.project)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.kind() == roi_domain::SnapshotKind::Baseline)
        .unwrap();
    assert_eq!(base.status(), SnapshotStatus::Approved);
}

#[tokio::test]
async fn a_corrected_submitted_baseline_replaces_the_old_one_and_is_audited() {
    let w = world().await;
    import_baseline(&w.store, &w.project, BASELINE, "test")
        .await
        .unwrap();
    let changed = String::from_utf8(BASELINE.to_vec())
        .unwrap()
        .replace("42000", "41000")
        .replace("total_monthly_cost,50000", "total_monthly_cost,49000");
    let out = import_baseline(&w.store, &w.project, changed.as_bytes(), "test")
        .await
        .unwrap();
    assert_eq!(out.snapshots[0].1, Written::Corrected);
    let moved = changed.replace("2025-01-15", "2025-01-20");
    import_baseline(&w.store, &w.project, moved.as_bytes(), "test")
        .await
        .unwrap();
    let snaps = w.store.snapshots(&w.project).await.unwrap();
    assert_eq!(
        snaps.len(),
        1,
        "the baseline of the earlier date was superseded"
    );
    let client = "acme-logistics".parse().unwrap();
    let actions: Vec<String> = w
        .store
        .audit_entries(&client, "2025-05")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in [
        "client_added",
        "project_added",
        "baseline_recorded",
        "baseline_corrected",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn an_as_of_date_before_go_live_or_without_measurements_is_a_clear_error() {
    let w = world().await;
    w.measured().await;
    let early = compute_roi(
        &w.store,
        &w.project,
        ComputeRequest {
            as_of: Some("2025-02-10".parse().unwrap()),
            ..ComputeRequest::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(early, ComputeError::NoMeasurement { .. }),
        "{early}"
    );
    assert!(
        w.store
            .roi_calculations(&w.project)
            .await
            .unwrap()
            .is_empty(),
        "nothing stored"
    );
}

#[tokio::test]
async fn a_project_of_an_unknown_client_is_refused() {
    let w = world().await;
    let draft = ProjectDraft {
        client_id: "nobody".parse().unwrap(),
        project_name: "x".into(),
        id: None,
        solution_type: None,
        status: None,
        go_live_date: "2025-01-01".into(),
        one_time_investment: dec!(1),
        gross_margin: None,
    };
    assert!(matches!(
        add_project(&w.store, draft, "test").await,
        Err(SetupError::UnknownClient(_))
    ));
}

#[tokio::test]
async fn a_valuation_change_is_checked_audited_and_counted_without_double_counting() {
    use roi_app::setup::change_project;
    use roi_domain::roi::value::{LineStatus, RunningCost, ValueLineKind};
    use roi_domain::{Money, ValidationErrors};
    // GIVEN the sample project, measured
    let w = world().await;
    w.measured().await;
    let retainer = |to: &str| RunningCost {
        name: "Tuning retainer".into(),
        monthly_usd: Money::try_from(dec!(500)).unwrap(),
        from: "2025-02-03".parse().unwrap(),
        to: Some(to.parse().unwrap()),
    };
    // WHEN a change names an unknown project, or ends a cost before it starts
    let unknown = change_project(&w.store, &"nope".parse().unwrap(), "test", |_| {
        Ok::<_, ValidationErrors>(String::new())
    })
    .await;
    assert!(matches!(unknown, Err(SetupError::UnknownProject(_))));
    let before = w.store.project(&w.project).await.unwrap().unwrap();
    let bad = change_project(&w.store, &w.project, "test", |p| {
        p.valuation.running_costs.push(retainer("2025-01-01"));
        Ok("bad".into())
    })
    .await;
    // THEN it is refused, naming the field, and nothing is stored
    assert!(matches!(&bad, Err(SetupError::Invalid(e)) if e.mentions("running_costs[0].to")));
    assert_eq!(w.store.project(&w.project).await.unwrap().unwrap(), before);
    // WHEN the support agents' loaded rate ($35/h) and a $500/month retainer are set
    change_project(&w.store, &w.project, "test", |p| {
        p.valuation.loaded_hourly_rate_usd = Some(Money::try_from(dec!(35)).unwrap());
        p.valuation.running_costs.push(retainer("2030-12-31"));
        Ok("rate and retainer".into())
    })
    .await
    .unwrap();
    // THEN it is audited
    let client = before.client_id.clone();
    let audit = w.store.audit_entries(&client, "2025-05").await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "project_changed" && e.detail == "rate and retainer")
    );
    // AND the value lines count only beyond the cost change: the cost change is $7,400
    // (50,000 − 42,600); labour 5,200 tickets × (18 − 11) min ÷ 60 × $35 = $21,233.33 of
    // which $7,400 is already counted; errors 5,200 × 2.6 % × $8 = $1,081.60, all counted
    let roi = compute_roi(
        &w.store,
        &w.project,
        ComputeRequest {
            as_of: Some("2025-04-30".parse().unwrap()),
            months: Some(12),
            ..ComputeRequest::default()
        },
    )
    .await
    .unwrap();
    let line = |k: ValueLineKind| roi.value_lines.iter().find(|l| l.kind == k).unwrap();
    let labour = line(ValueLineKind::LabourTime);
    assert_eq!(labour.gross_usd.unwrap().round_dp(2), dec!(21233.33));
    assert_eq!(labour.overlap_usd, dec!(7400));
    assert_eq!(line(ValueLineKind::ErrorsAvoided).counted_usd, dec!(1081.6));
    assert_eq!(
        line(ValueLineKind::ReworkHours).missing,
        ["rework_hours_per_week"]
    );
    assert_eq!(
        line(ValueLineKind::ChurnReduction).status,
        LineStatus::MissingInputs
    );
    // 11,800 + 13,833.33 + 1,081.60; running 3,000 + 500
    assert_eq!(roi.gross_monthly_benefit, dec!(26714.93));
    assert_eq!(roi.running_cost_monthly, dec!(3500));
    // AND a line turned off is shown and no longer counted
    change_project(&w.store, &w.project, "test", |p| {
        p.valuation.lines_off.insert(ValueLineKind::LabourTime);
        Ok("labour off".into())
    })
    .await
    .unwrap();
    let roi = compute_roi(
        &w.store,
        &w.project,
        ComputeRequest {
            as_of: Some("2025-04-30".parse().unwrap()),
            months: Some(12),
            ..ComputeRequest::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        roi.value_lines[0].status,
        LineStatus::Off,
        "{:?}",
        roi.value_lines[0]
    );
    // errors now take the $7,400 overlap first: nothing of them is added
    assert_eq!(roi.gross_monthly_benefit, dec!(11800));
}

#[tokio::test]
async fn roi_alerts_follow_the_projects_plan() {
    use roi_app::alerts::observe;
    use roi_app::setup::change_project;
    use roi_domain::kpi::Kpi;
    // GIVEN the sample project, measured, with its realised ROI as of 30 April 2025
    let w = world().await;
    w.measured().await;
    let roi = compute_roi(
        &w.store,
        &w.project,
        ComputeRequest {
            as_of: Some("2025-04-30".parse().unwrap()),
            ..ComputeRequest::default()
        },
    )
    .await
    .unwrap();
    let project = w.store.project(&w.project).await.unwrap().unwrap();
    let client = w.store.client(&project.client_id).await.unwrap().unwrap();
    let settings = w.store.settings(&client.id).await.unwrap();
    let roi_seen = |observed: Vec<roi_app::alerts::Observed>| {
        observed.into_iter().find(|o| o.kpi == Kpi::RoiPercentage)
    };
    let plan = |roi: &str, months: &str| {
        let (roi, months) = (roi.parse().unwrap(), months.parse().unwrap());
        change_project(&w.store, &w.project, "test", move |p| {
            p.valuation.planned_roi_percentage = Some(roi);
            p.valuation.planned_payback_months = Some(months);
            Ok("plan".into())
        })
    };
    // WHEN it was sold on 150 % and a 12-month payback
    plan("150", "12").await.unwrap();
    let today = "2025-05-02".parse().unwrap();
    // THEN three months after go-live its ROI is not watched yet
    let seen = observe(&w.store, &client, &settings, today).await.unwrap();
    assert_eq!(roi_seen(seen), None);
    // WHEN the plan said 2 months
    plan("150", "2").await.unwrap();
    // THEN it is watched against the plan: warning below 150 %, critical below 0 %
    let seen = roi_seen(observe(&w.store, &client, &settings, today).await.unwrap()).unwrap();
    assert_eq!(seen.value, roi.roi_percentage);
    let limits = seen.limits.unwrap();
    assert_eq!((limits.warning, limits.critical), (dec!(150), dec!(0)));
    // AND a plan out of range is refused
    assert!(matches!(
        plan("150", "0").await,
        Err(SetupError::Invalid(e)) if e.mentions("planned_payback_months")
    ));
}

/// A table that counts its queries (one per partition page read), keeps the largest batch
/// written or deleted, and can fail the next write to a partition, once, as a storage error
/// would (a run cut short).
pub(crate) struct Watched {
    inner: Arc<dyn roi_domain::ports::Table>,
    /// Queries so far.
    pub(crate) queries: std::sync::atomic::AtomicUsize,
    /// Items in the largest `batch_put` so far.
    pub(crate) largest_put: std::sync::atomic::AtomicUsize,
    /// Keys in the largest `batch_delete` so far.
    pub(crate) largest_delete: std::sync::atomic::AtomicUsize,
    fail_at: std::sync::Mutex<Option<String>>,
}

impl Watched {
    pub(crate) fn new(inner: Arc<dyn roi_domain::ports::Table>) -> Self {
        Self {
            inner,
            queries: std::sync::atomic::AtomicUsize::new(0),
            largest_put: std::sync::atomic::AtomicUsize::new(0),
            largest_delete: std::sync::atomic::AtomicUsize::new(0),
            fail_at: std::sync::Mutex::new(None),
        }
    }

    /// The next write to a partition whose key contains `pk_part` fails (then no more).
    pub(crate) fn fail_next_write_to(&self, pk_part: &str) {
        *self.fail_at.lock().unwrap() = Some(pk_part.to_owned());
    }

    fn trips(&self, pk: &str) -> Result<(), roi_domain::ports::TableError> {
        let mut armed = self.fail_at.lock().unwrap();
        if armed.as_deref().is_some_and(|at| pk.contains(at)) {
            *armed = None;
            return Err(roi_domain::ports::TableError::Unavailable(
                "cut short here".into(),
            ));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl roi_domain::ports::Table for Watched {
    async fn put(
        &self,
        item: roi_domain::ports::Item,
        condition: roi_domain::ports::Condition,
    ) -> Result<(), roi_domain::ports::TableError> {
        self.trips(&item.pk)?;
        self.inner.put(item, condition).await
    }
    async fn get(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<roi_domain::ports::Item>, roi_domain::ports::TableError> {
        self.inner.get(pk, sk).await
    }
    async fn query(
        &self,
        query: roi_domain::ports::Query,
    ) -> Result<roi_domain::ports::Page, roi_domain::ports::TableError> {
        self.queries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.query(query).await
    }
    async fn batch_get(
        &self,
        keys: Vec<roi_domain::ports::Key>,
    ) -> Result<Vec<roi_domain::ports::Item>, roi_domain::ports::TableError> {
        self.inner.batch_get(keys).await
    }
    async fn batch_put(
        &self,
        items: Vec<roi_domain::ports::Item>,
    ) -> Result<(), roi_domain::ports::TableError> {
        for i in &items {
            self.trips(&i.pk)?;
        }
        self.largest_put
            .fetch_max(items.len(), std::sync::atomic::Ordering::Relaxed);
        self.inner.batch_put(items).await
    }
    async fn delete(&self, pk: &str, sk: &str) -> Result<(), roi_domain::ports::TableError> {
        self.trips(pk)?;
        self.inner.delete(pk, sk).await
    }
    async fn batch_delete(
        &self,
        keys: Vec<roi_domain::ports::Key>,
    ) -> Result<(), roi_domain::ports::TableError> {
        for k in &keys {
            self.trips(&k.pk)?;
        }
        self.largest_delete
            .fetch_max(keys.len(), std::sync::atomic::Ordering::Relaxed);
        self.inner.batch_delete(keys).await
    }
    async fn add_within(
        &self,
        pk: &str,
        sk: &str,
        adds: &[(&str, u64, u64)],
        expires_at: Option<i64>,
    ) -> Result<bool, roi_domain::ports::TableError> {
        self.trips(pk)?;
        self.inner.add_within(pk, sk, adds, expires_at).await
    }
    async fn transact_put(
        &self,
        puts: Vec<(roi_domain::ports::Item, roi_domain::ports::Condition)>,
    ) -> Result<(), roi_domain::ports::TableError> {
        for (i, _) in &puts {
            self.trips(&i.pk)?;
        }
        self.inner.transact_put(puts).await
    }
}
