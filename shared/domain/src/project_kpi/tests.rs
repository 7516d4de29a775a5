use rust_decimal_macros::dec;

use super::catalogue::{catalogue, pick};
use super::*;

fn kpi(name: &str, unit: KpiUnit, source: KpiSource) -> KpiDefinition {
    KpiDefinition {
        name: name.into(),
        label: name.replace('_', " "),
        unit,
        direction: Direction::HigherIsBetter,
        baseline: None,
        target: None,
        zones: None,
        source,
        headline: false,
        description: String::new(),
    }
}

fn formula(text: &str) -> KpiSource {
    KpiSource::Computed {
        formula: Formula::parse(text).unwrap(),
    }
}

fn fields(errors: &[KpiFieldError]) -> Vec<(usize, &'static str)> {
    errors.iter().map(|e| (e.index, e.field)).collect()
}

#[test]
fn every_catalogue_entry_validates_and_picks_its_inputs() {
    let all = catalogue();
    assert!(KpiSet::try_new(all.clone()).is_ok());
    let ltv: Vec<String> = pick("ltv").unwrap().into_iter().map(|k| k.name).collect();
    assert_eq!(
        ltv,
        [
            "arpu",
            "customers_lost",
            "customers_start",
            "churn",
            "gross_margin",
            "ltv"
        ]
    );
    assert!(KpiSet::try_new(pick("ltv_to_cac").unwrap()).is_ok());
    assert!(pick("no_such_kpi").is_none());
}

#[test]
fn ltv_is_computed_exactly_from_its_inputs() {
    // LTV = ARPU × gross margin ÷ churn: 120 USD × 80 % ÷ 2.5 % = 3,840 USD
    let set = KpiSet::try_new(pick("ltv").unwrap()).unwrap();
    let values = [
        ("arpu", dec!(120)),
        ("gross_margin", dec!(80)),
        ("customers_start", dec!(400)),
        ("customers_lost", dec!(10)),
    ];
    let inputs = KpiInputs {
        values: values.iter().map(|(n, v)| ((*n).to_owned(), *v)).collect(),
        metrics: BTreeMap::new(),
    };
    let out = set.evaluate(&inputs);
    assert_eq!(out["churn"], Ok(dec!(2.5)));
    assert_eq!(out["ltv"], Ok(dec!(3840)));
}

#[test]
fn nps_comes_from_the_counts() {
    // 60 promoters, 25 passives, 15 detractors: (60 − 15) ÷ 100 × 100 = 45
    let set = KpiSet::try_new(pick("nps").unwrap()).unwrap();
    let inputs = KpiInputs {
        values: [("promoters", 60), ("passives", 25), ("detractors", 15)]
            .iter()
            .map(|(n, v)| ((*n).to_owned(), Decimal::from(*v)))
            .collect(),
        metrics: BTreeMap::new(),
    };
    assert_eq!(set.evaluate(&inputs)["nps"], Ok(dec!(45)));
}

#[test]
fn a_zero_divisor_or_a_missing_input_is_not_computable_with_the_reason() {
    let set = KpiSet::try_new(pick("ltv").unwrap()).unwrap();
    let mut inputs = KpiInputs::default();
    for (n, v) in [
        ("arpu", 120),
        ("gross_margin", 80),
        ("customers_start", 400),
        ("customers_lost", 0),
    ] {
        inputs.values.insert(n.into(), Decimal::from(v));
    }
    let out = set.evaluate(&inputs);
    assert_eq!(out["churn"], Ok(Decimal::ZERO));
    assert_eq!(
        out["ltv"],
        Err(NotComputable("division by zero (churn is 0)".into()))
    );
    inputs.values.remove("arpu");
    assert_eq!(
        set.evaluate(&inputs)["ltv"],
        Err(NotComputable("arpu has no value yet".into()))
    );
}

#[test]
fn formulas_read_seed_metrics_too() {
    let set = KpiSet::try_new(vec![kpi(
        "cost_per_task",
        KpiUnit::Usd,
        formula("total_monthly_cost / volume_per_period"),
    )])
    .unwrap();
    let inputs = KpiInputs {
        values: BTreeMap::new(),
        metrics: [
            (Metric::TotalMonthlyCost, dec!(42000)),
            (Metric::VolumePerPeriod, dec!(5250)),
        ]
        .into(),
    };
    assert_eq!(set.evaluate(&inputs)["cost_per_task"], Ok(dec!(8)));
}

#[test]
fn bad_definitions_get_field_level_errors() {
    let errors = KpiSet::try_new(vec![
        kpi("a", KpiUnit::Count, formula("b + 1")),
        kpi("b", KpiUnit::Count, formula("a * 2")),
        kpi("c", KpiUnit::Percent, formula("nope / 2")),
        kpi("d", KpiUnit::Usd, KpiSource::Measured),
        kpi("e", KpiUnit::Count, formula("d + 1")),
        kpi("f", KpiUnit::Percent, formula("d * 2")),
        kpi("Bad-Name", KpiUnit::Count, KpiSource::Measured),
        kpi("d", KpiUnit::Count, KpiSource::Measured),
        kpi(
            "error_rate_percentage",
            KpiUnit::Percent,
            KpiSource::Measured,
        ),
        kpi(
            "g",
            KpiUnit::Count,
            KpiSource::Metered {
                figure: MeteredFigure::AiCostUsd,
            },
        ),
    ])
    .unwrap_err();
    assert_eq!(
        fields(&errors),
        [
            (6, "name"),
            (7, "name"),
            (8, "name"),
            (9, "unit"),
            (0, "formula"),
            (1, "formula"),
            (2, "formula"),
            (4, "formula"),
            (5, "formula"),
        ],
        "{errors:#?}"
    );
    assert_eq!(errors[4].message, "is circular: a → b → a");
    assert_eq!(
        errors[6].message,
        "names no KPI of this project and no metric: nope"
    );
    assert_eq!(
        errors[7].message,
        "adds or subtracts USD and a plain number: units do not match"
    );
    assert_eq!(errors[8].message, "gives USD, but the KPI is in percent");
}

#[test]
fn zones_and_headlines_are_checked() {
    let mut up = kpi("up", KpiUnit::Percent, KpiSource::Measured);
    up.zones = Some(Zones {
        green: dec!(50),
        yellow: dec!(70),
    });
    let mut heads: Vec<KpiDefinition> = (0..4)
        .map(|i| {
            let mut k = kpi(&format!("h{i}"), KpiUnit::Count, KpiSource::Measured);
            k.headline = true;
            k
        })
        .collect();
    heads.insert(0, up);
    let errors = KpiSet::try_new(heads).unwrap_err();
    assert_eq!(fields(&errors), [(0, "zones"), (4, "headline")]);
}

#[test]
fn zones_and_target_status_follow_the_direction_and_the_pace() {
    let mut k = kpi("churn", KpiUnit::Percent, KpiSource::Measured);
    k.direction = Direction::LowerIsBetter;
    k.zones = Some(Zones {
        green: dec!(3),
        yellow: dec!(5),
    });
    k.baseline = Some(dec!(6));
    let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let by = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
    k.target = Some(Target { value: dec!(3), by });
    assert_eq!(k.zone(dec!(2.5)), Some(Zone::Green));
    assert_eq!(k.zone(dec!(5)), Some(Zone::Yellow));
    assert_eq!(k.zone(dec!(5.1)), Some(Zone::Red));
    let mid = NaiveDate::from_ymd_opt(2026, 7, 2).unwrap(); // half the time elapsed
    // from 6 % to 4.4 % covers 53 % of the way: on track; 4.6 % covers 47 %: at risk
    assert_eq!(
        target_status(&k, dec!(4.4), start, mid),
        Some(TargetStatus::OnTrack)
    );
    assert_eq!(
        target_status(&k, dec!(4.6), start, mid),
        Some(TargetStatus::AtRisk)
    );
    assert_eq!(
        target_status(&k, dec!(3), start, mid),
        Some(TargetStatus::Met)
    );
    let after = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
    assert_eq!(
        target_status(&k, dec!(4), start, after),
        Some(TargetStatus::Missed)
    );
    // a computed value at the end of the decimal range does not overflow the pace
    k.baseline = Some(dec!(-6));
    assert_eq!(
        target_status(&k, Decimal::MAX, start, mid),
        Some(TargetStatus::AtRisk)
    );
}

#[test]
fn a_stored_set_is_validated_when_read() {
    let json = r#"[{"name":"a","label":"A","unit":"count","direction":"higher_is_better",
        "source":{"kind":"computed","formula":"a + 1"}}]"#;
    let e = serde_json::from_str::<KpiSet>(json)
        .unwrap_err()
        .to_string();
    assert!(e.contains("is circular: a → a"), "{e}");
}

mod retention_days {
    use super::super::retention::retention;
    use chrono::{Days, NaiveDate};
    use rust_decimal::Decimal;
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn day_n_retention_counts_each_cohort_once() {
        let d = |i: u64| NaiveDate::from_ymd_opt(2026, 11, 1).unwrap() + Days::new(i);
        let set = |us: &[&str]| us.iter().map(|u| (*u).to_owned()).collect::<BTreeSet<_>>();
        let active = BTreeMap::from([
            (d(0), set(&["a", "b", "c", "d"])),
            (d(1), set(&["a", "b", "e"])),
            (d(2), set(&["e", "c"])),
        ]);
        // D1: cohort day 0 {a,b,c,d} → a,b back; cohort day 1 {e} → e back on day 2: 3/5
        assert_eq!(retention(&active, 1), Some(Decimal::from(60)));
        // D2: only day 0's cohort has its day 2 in the span: c back: 1/4
        assert_eq!(retention(&active, 2), Some(Decimal::from(25)));
        assert_eq!(retention(&active, 7), None);
    }
}
