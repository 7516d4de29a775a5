//! A project's own KPIs (issue 18): formula KPIs from form and CSV inputs, KPI events,
//! retention from an event stream against a set-based computation here, and refused
//! definitions that change nothing.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Days, NaiveDate};
use roi_app::form_link::FormClaims;
use roi_app::forms::{FormInput, SubmissionKey, SubmitError, submit};
use roi_app::ingest::{EventStatus, store_events};
use roi_app::measurements::import_tracking;
use roi_app::pricing::PriceTable;
use roi_app::project_kpis::{KpiError, define, definitions, evaluate};
use roi_app::rollup::rollup_days;
use roi_domain::SnapshotKind;
use roi_domain::event;
use roi_domain::metric::Direction;
use roi_domain::project_kpi::catalogue::pick;
use roi_domain::project_kpi::{Formula, KpiDefinition, KpiSource, KpiUnit};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::world;

fn form(fields: &str) -> FormInput {
    FormInput::from_urlencoded(fields.as_bytes()).unwrap()
}

/// The required fields of a progress measurement, as the demo's form posts them.
const MEASUREMENT: &str = "monthly_labor_cost=33500&monthly_software_cost=1800\
    &monthly_overhead_cost=3200&monthly_error_cost=1100&avg_task_completion_time=9.8\
    &error_rate_percentage=3.1&ai_solution_cost=3150&csat_score=84";

#[tokio::test]
async fn ltv_from_form_and_csv_inputs_matches_the_hand_computation() {
    // GIVEN the sample project, measured, with the catalogue's LTV and its inputs
    let w = world().await;
    w.measured().await;
    define(&w.store, &w.project, pick("ltv").unwrap(), "test")
        .await
        .unwrap();
    // WHEN the customer counts come in a tracking CSV (KPI rows only, no snapshot)
    let csv = "measurement_date,metric_category,metric_name,value,unit,notes\n\
        2025-04-30,sales,customers_start,400,count,\n\
        2025-04-30,sales,customers_lost,10,,\n";
    let before = w.store.snapshots(&w.project).await.unwrap().len();
    let imported = import_tracking(&w.store, &w.project, csv.as_bytes(), "test")
        .await
        .unwrap();
    assert_eq!((imported.snapshots.len(), imported.kpi_values), (0, 2));
    assert_eq!(w.store.snapshots(&w.project).await.unwrap().len(), before);
    // AND ARPU and gross margin through the progress form, with the month's measurement
    let claims = FormClaims {
        project: w.project.clone(),
        kind: SnapshotKind::Ongoing,
        due: None,
        expires_at: i64::MAX,
        nonce: "n1".into(),
    };
    let input = form(&format!("{MEASUREMENT}&kpi.arpu=120&kpi.gross_margin=80"));
    submit(
        &w.store,
        &claims,
        &input,
        &SubmissionKey::Link("n1".into()),
        "fp",
    )
    .await
    .unwrap();
    // THEN LTV = ARPU × gross margin ÷ churn = 120 × 80 ÷ (10 ÷ 400 × 100) = 3,840 USD
    let p = w.store.project(&w.project).await.unwrap().unwrap();
    let report = evaluate(&w.store, &p, "2025-05-02".parse().unwrap())
        .await
        .unwrap();
    let value = |name: &str| {
        report
            .rows
            .iter()
            .find(|r| r.name == name)
            .and_then(|r| r.value)
    };
    assert_eq!(value("churn"), Some(dec!(2.5)));
    assert_eq!(value("ltv"), Some(dec!(3840)));

    // WHEN a form gives a fractional count and a value for a computed KPI
    let values_before = w.store.kpi_values(&w.project).await.unwrap();
    let bad = form(&format!("{MEASUREMENT}&kpi.customers_lost=1.5&kpi.ltv=5"));
    let refused = submit(
        &w.store,
        &claims,
        &bad,
        &SubmissionKey::Link("n2".into()),
        "fp",
    )
    .await;
    // THEN both fields are named and nothing is stored
    let Err(SubmitError::Invalid(errors)) = refused else {
        panic!("{refused:?}")
    };
    let fields: Vec<&str> = errors.errors().iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["kpi.customers_lost", "kpi.ltv"]);
    assert_eq!(w.store.kpi_values(&w.project).await.unwrap(), values_before);
}

#[tokio::test]
async fn a_zero_churn_makes_ltv_not_computable_with_the_reason() {
    let w = world().await;
    define(&w.store, &w.project, pick("ltv").unwrap(), "test")
        .await
        .unwrap();
    let on: NaiveDate = "2025-04-30".parse().unwrap();
    for (name, v) in [
        ("arpu", 120),
        ("gross_margin", 80),
        ("customers_start", 400),
        ("customers_lost", 0),
    ] {
        roi_app::project_kpis::record(&w.store, &w.project, name, Decimal::from(v), on, "test")
            .await
            .unwrap();
    }
    let p = w.store.project(&w.project).await.unwrap().unwrap();
    let report = evaluate(&w.store, &p, on).await.unwrap();
    let ltv = report.rows.iter().find(|r| r.name == "ltv").unwrap();
    assert_eq!(ltv.value, None);
    assert_eq!(
        ltv.not_computable.as_deref(),
        Some("division by zero (churn is 0)")
    );
}

fn kpi(name: &str, unit: KpiUnit, formula: &str) -> KpiDefinition {
    KpiDefinition {
        name: name.into(),
        label: name.into(),
        unit,
        direction: Direction::HigherIsBetter,
        baseline: None,
        target: None,
        zones: None,
        source: KpiSource::Computed {
            formula: Formula::parse(formula).unwrap(),
        },
        headline: false,
        description: String::new(),
    }
}

#[tokio::test]
async fn bad_definitions_get_field_level_errors_and_nothing_stored_changes() {
    // GIVEN a project with NPS defined
    let w = world().await;
    define(&w.store, &w.project, pick("nps").unwrap(), "test")
        .await
        .unwrap();
    let stored = definitions(&w.store, &w.project).await.unwrap();
    let audit_before = w
        .store
        .audit_entries(&"acme-logistics".parse().unwrap(), "2025-05")
        .await
        .unwrap()
        .len();
    // WHEN definitions naming an unknown input, a cycle and a unit mismatch are saved
    let mut bad = pick("nps").unwrap();
    bad.push(kpi("a", KpiUnit::Count, "b + nope"));
    bad.push(kpi("b", KpiUnit::Count, "c * 2"));
    bad.push(kpi("c", KpiUnit::Count, "b / 2"));
    bad.push(kpi("d", KpiUnit::Percent, "total_monthly_cost * 2"));
    let Err(KpiError::Invalid(errors)) = define(&w.store, &w.project, bad, "test").await else {
        panic!("accepted")
    };
    // THEN each is named with its field and reason
    let named: Vec<(String, &str, String)> = errors
        .iter()
        .map(|e| (e.kpi.clone(), e.field, e.message.clone()))
        .collect();
    assert_eq!(
        named,
        [
            (
                "a".into(),
                "formula",
                "names no KPI of this project and no metric: nope".into()
            ),
            ("b".into(), "formula", "is circular: b → c → b".into()),
            ("c".into(), "formula", "is circular: c → b → c".into()),
            (
                "d".into(),
                "formula",
                "gives USD, but the KPI is in percent".into()
            ),
        ]
    );
    // AND the stored definitions and the audit trail are as they were
    assert_eq!(definitions(&w.store, &w.project).await.unwrap(), stored);
    let audit_after = w
        .store
        .audit_entries(&"acme-logistics".parse().unwrap(), "2025-05")
        .await
        .unwrap()
        .len();
    assert_eq!(audit_after, audit_before);
}

/// Whether user `u` is active on day `d` (after their first day `u % 20`): a fixed,
/// irregular pattern.
fn active(u: u64, d: u64) -> bool {
    d == u % 20 || (d > u % 20 && (u * 2_654_435_761 + d * 40_503) % 97 < 40)
}

#[tokio::test]
async fn retention_from_an_event_stream_matches_a_set_based_computation() {
    // GIVEN 60 users' sessions over 45 days, sent as events and rolled up
    let w = world().await;
    let client = w
        .store
        .project(&w.project)
        .await
        .unwrap()
        .unwrap()
        .client_id;
    let first: NaiveDate = "2025-03-18".parse().unwrap();
    let days = 45u64;
    let now = w.store.clock().now();
    let mut events = Vec::new();
    let mut pairs: Vec<(String, NaiveDate)> = Vec::new();
    for u in 0..60u64 {
        for d in 0..days {
            if !active(u, d) {
                continue;
            }
            let day = first + Days::new(d);
            let text = serde_json::json!({"specversion": "1.0", "id": format!("s-{u}-{d}"),
                "source": "app", "type": "session", "time": format!("{day}T15:00:00Z"),
                "data": {"session_id": format!("s-{u}-{d}"), "phase": "start",
                         "user": format!("user-{u}@example.com")}})
            .to_string();
            events.push(event::validate(&text, now));
            pairs.push((format!("user-{u}"), day));
        }
    }
    let report = store_events(&w.store, PriceTable::shipped(), &client, events)
        .await
        .unwrap();
    assert_eq!(report.accepted, pairs.len());
    let last = first + Days::new(days - 1);
    rollup_days(&w.store, &client, first, last).await.unwrap();
    let mut set = pick("retention_d1").unwrap();
    set.extend(pick("retention_d7").unwrap());
    set.extend(pick("retention_d30").unwrap());
    define(&w.store, &w.project, set, "test").await.unwrap();
    // WHEN the KPIs are evaluated on the last day
    let p = w.store.project(&w.project).await.unwrap().unwrap();
    let rows = evaluate(&w.store, &p, last).await.unwrap().rows;
    // THEN each day-N retention is the set-based one: per first-seen cohort, the users
    // seen again exactly N days later
    let mut by_day: BTreeMap<NaiveDate, BTreeSet<&str>> = BTreeMap::new();
    let mut first_seen: BTreeMap<&str, NaiveDate> = BTreeMap::new();
    for (user, day) in &pairs {
        by_day.entry(*day).or_default().insert(user);
        let f = first_seen.entry(user).or_insert(*day);
        *f = (*f).min(*day);
    }
    for (name, n) in [
        ("retention_d1", 1u64),
        ("retention_d7", 7),
        ("retention_d30", 30),
    ] {
        let (mut cohort, mut back) = (0u64, 0u64);
        for (user, f) in &first_seen {
            if *f + Days::new(n) > last {
                continue;
            }
            cohort += 1;
            if by_day
                .get(&(*f + Days::new(n)))
                .is_some_and(|s| s.contains(user))
            {
                back += 1;
            }
        }
        assert!(
            0 < back && back < cohort,
            "{name}: {back} of {cohort} tells nothing"
        );
        let want = Decimal::from(back) * Decimal::ONE_HUNDRED / Decimal::from(cohort);
        let got = rows.iter().find(|r| r.name == name).unwrap().value;
        assert_eq!(got, Some(want), "{name}: {back} of {cohort}");
    }
}

#[tokio::test]
async fn a_kpi_measurement_event_is_stored_or_refused_by_the_field() {
    let w = world().await;
    define(&w.store, &w.project, pick("nps").unwrap(), "test")
        .await
        .unwrap();
    let client = w
        .store
        .project(&w.project)
        .await
        .unwrap()
        .unwrap()
        .client_id;
    let now = w.store.clock().now();
    let project = w.project.to_string();
    let events: Vec<_> = [
        ("k1", "promoters", "61"),
        ("k2", "nps", "40"),
        ("k3", "no_such_kpi", "1"),
        ("k4", "passives", "-3"),
    ]
    .iter()
    .map(|(id, kpi, value)| {
        let text = serde_json::json!({"specversion": "1.0", "id": id, "source": "crm",
            "type": "kpi.measurement", "time": "2025-05-01T10:00:00Z",
            "data": {"kpi": kpi, "value": value, "project": project}})
        .to_string();
        event::validate(&text, now)
    })
    .collect();
    let report = store_events(&w.store, PriceTable::shipped(), &client, events)
        .await
        .unwrap();
    let outcome: Vec<(EventStatus, Option<&str>)> = report
        .results
        .iter()
        .map(|r| (r.status, r.field.as_deref()))
        .collect();
    assert_eq!(
        outcome,
        [
            (EventStatus::Accepted, None),
            (EventStatus::Rejected, Some("data.kpi")),
            (EventStatus::Rejected, Some("data.kpi")),
            (EventStatus::Rejected, Some("data.value")),
        ]
    );
    assert!(
        report.results[1]
            .reason
            .as_deref()
            .unwrap()
            .contains("is computed: its value is not entered")
    );
    let stored = w.store.kpi_values(&w.project).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].kpi.as_str(), stored[0].value),
        ("promoters", dec!(61))
    );
    assert_eq!(stored[0].source, "event");
}

#[tokio::test]
async fn a_kpi_leaving_its_green_zone_is_an_alert_at_its_zone_s_level() {
    use roi_domain::kpi::{Kpi, Level};
    // GIVEN a KPI with zones: green at 72 % and above, yellow from 65 %, red below
    let w = world().await;
    let mut fcr = kpi("first_contact_resolution", KpiUnit::Percent, "1");
    fcr.source = KpiSource::Measured;
    fcr.zones = Some(roi_domain::project_kpi::Zones {
        green: dec!(72),
        yellow: dec!(65),
    });
    define(&w.store, &w.project, vec![fcr], "test")
        .await
        .unwrap();
    let client = w
        .store
        .client(&"acme-logistics".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let settings = w.store.settings(&client.id).await.unwrap();
    let today: NaiveDate = "2025-05-02".parse().unwrap();
    let mut levels = Vec::new();
    for value in [dec!(71), dec!(60), dec!(75)] {
        // WHEN the day's value is recorded and the alert check observes the client
        roi_app::project_kpis::record(
            &w.store,
            &w.project,
            "first_contact_resolution",
            value,
            today,
            "test",
        )
        .await
        .unwrap();
        let observed = roi_app::alerts::observe(&w.store, &client, &settings, today)
            .await
            .unwrap();
        let seen = observed
            .into_iter()
            .find(|o| o.kpi == Kpi::ProjectKpi)
            .unwrap();
        assert_eq!(
            seen.scope,
            format!("{}/first_contact_resolution", w.project)
        );
        levels.push(
            roi_domain::kpi::evaluate(seen.kpi, &seen.scope, seen.value, seen.limits.unwrap())
                .map(|s| s.level),
        );
    }
    // THEN yellow is a warning, red critical, green quiet
    assert_eq!(levels, [Some(Level::Warning), Some(Level::Critical), None]);
}
