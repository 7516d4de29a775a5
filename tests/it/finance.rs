//! Realised value against hand-worked figures and against numpy-financial (issue 16): a
//! six-month history that ramps up and misses a month.

use std::process::Command;

use chrono::{NaiveDate, TimeZone, Utc};
use roi_domain::client::ProjectDraft;
use roi_domain::roi::realised::InForce;
use roi_domain::roi::value::RunningCost;
use roi_domain::roi::{Basis, RoiCalculation, RoiOptions};
use roi_domain::snapshot::{SnapshotContext, SnapshotDraft};
use roi_domain::{Metric, MetricSnapshot, Money, Percentage, Project, SnapshotKind};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal_macros::dec;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn project() -> Project {
    ProjectDraft {
        client_id: "ramp".parse().unwrap(),
        project_name: "Ramp".into(),
        id: Some("ramp-bot".into()),
        solution_type: None,
        status: Some("deployed".into()),
        go_live_date: "2026-01-01".into(),
        one_time_investment: dec!(30000),
        gross_margin: None,
    }
    .validate()
    .unwrap()
}

/// A snapshot with a total monthly cost and an AI solution cost (ongoing only), USD.
fn snapshot(kind: SnapshotKind, on: &str, total: Decimal, ai: Option<Decimal>) -> MetricSnapshot {
    let mut draft = SnapshotDraft::new("ramp-bot".parse().unwrap(), kind, d(on));
    draft.values.insert(Metric::TotalMonthlyCost, total);
    draft.values.insert(Metric::AvgTaskCompletionTime, dec!(10));
    draft.values.insert(Metric::ErrorRatePercentage, dec!(5));
    if let Some(ai) = ai {
        draft.values.insert(Metric::AiSolutionCost, ai);
    }
    let ctx = SnapshotContext {
        baseline_date: (kind == SnapshotKind::Ongoing).then(|| d("2025-12-15")),
        previous: None,
    };
    let at = Utc.with_ymd_and_hms(2026, 7, 1, 0, 0, 0).unwrap();
    let mut s = draft.validate(ctx, at).unwrap();
    if kind == SnapshotKind::Baseline {
        s.approve(at).unwrap();
    }
    s
}

/// The history: baseline $50,000 a month; then January $48,000 (AI $1,000), February
/// $44,000, no March measurement, April $40,000 (AI $1,500), May $40,000, June $38,000.
fn history() -> (MetricSnapshot, Vec<MetricSnapshot>) {
    let baseline = snapshot(SnapshotKind::Baseline, "2025-12-15", dec!(50000), None);
    let ongoing = [
        ("2026-01-31", dec!(48000), dec!(1000)),
        ("2026-02-28", dec!(44000), dec!(1000)),
        ("2026-04-30", dec!(40000), dec!(1500)),
        ("2026-05-31", dec!(40000), dec!(1500)),
        ("2026-06-30", dec!(38000), dec!(1500)),
    ]
    .into_iter()
    .map(|(on, total, ai)| snapshot(SnapshotKind::Ongoing, on, total, Some(ai)))
    .collect();
    (baseline, ongoing)
}

fn realised(as_of: &str) -> RoiCalculation {
    let (baseline, ongoing) = history();
    let refs: Vec<&MetricSnapshot> = ongoing.iter().collect();
    let current = ongoing
        .iter()
        .filter(|s| s.measured_on() <= d(as_of))
        .max_by_key(|s| s.measured_on())
        .unwrap();
    let options = RoiOptions::as_of(d(as_of));
    RoiCalculation::compute_realised(
        &project(),
        &baseline,
        current,
        &refs,
        d("2026-01-01"),
        &options,
    )
    .unwrap()
}

#[test]
fn six_months_with_a_ramp_and_a_missing_month_are_summed_as_worked_by_hand() {
    // GIVEN the history, as of 30 June
    let roi = realised("2026-06-30");

    // THEN each month is valued with its own measurement; March carries February's
    //   benefits 2,000 + 6,000 + 6,000 + 10,000 + 10,000 + 12,000 = 46,000
    //   running      1,000 + 1,000 + 1,000 +  1,500 +  1,500 +  1,500 =  7,500
    //   costs 30,000 + 7,500 = 37,500; ROI (46,000 − 37,500) / 37,500 = 22.67 %
    assert_eq!(roi.basis, Basis::Realised);
    assert_eq!(roi.benefits_total, dec!(46000.00));
    assert_eq!(roi.costs_total, dec!(37500.00));
    assert_eq!(roi.roi_percentage, dec!(22.67));
    assert_eq!(roi.months_analysed, Some(dec!(6.00)));
    assert_eq!(roi.months[2].in_force, InForce::Carried);
    assert_eq!(roi.months[2].measured_on, d("2026-02-28"));
    // AND payback is reached in June: cumulative net 1,000, 6,000, 11,000, 19,500, 28,000,
    // then 38,500 ≥ 30,000
    assert_eq!(roi.payback_reached_in, Some(d("2026-06-01")));
    // AND the forward-looking figures stay on June's run rate: 30,000 / (12,000 − 1,500)
    assert_eq!(roi.payback_period_months, Some(dec!(2.86)));
    assert_eq!(roi.cost_savings_monthly, dec!(10500.00));
    // AND the run rate alone would have claimed (6 × 12,000 − 39,000) / 39,000 = 84.62 %
    let (baseline, ongoing) = history();
    let mut six = RoiOptions::as_of(d("2026-06-30"));
    six.months = Some(6);
    let run_rate = RoiCalculation::compute(&project(), &baseline, &ongoing[4], &six).unwrap();
    assert_eq!(run_rate.roi_percentage, dec!(84.62));
    // AND what moves ROI most, ±10 % each: the cost change (46,000 ± 4,600 → 10.40 % /
    // 34.93 %), the investment (30,000 ± 3,000 → 33.33 % / 13.58 %), the AI cost
    let s = &roi.sensitivity;
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].input, "Cost change");
    assert_eq!(
        (s[0].roi_if_lower_percentage, s[0].roi_if_higher_percentage),
        (dec!(10.40), dec!(34.93))
    );
    assert_eq!(s[1].input, "One-time investment");
    assert_eq!(
        (s[1].roi_if_lower_percentage, s[1].roi_if_higher_percentage),
        (dec!(33.33), dec!(13.58))
    );
    assert_eq!(s[2].input, "AI solution cost per month");
}

#[test]
fn the_range_adds_confidence_and_measurement_spread_in_quadrature() {
    // GIVEN the history as of 30 June: all value self-reported (confidence 80 %: c = 20 %),
    // measured months of 2,000, 6,000, 10,000, 10,000 and 12,000 (mean 8,000, population
    // sd 3,577.71: s = 44.72 %)
    let roi = realised("2026-06-30");
    let range = roi.range.expect("a range");
    // THEN d = √(20² + 44.72²) = 48.99 %
    assert_eq!(range.confidence_part_percentage, dec!(20.00));
    assert_eq!(range.spread_part_percentage, dec!(44.72));
    assert_eq!(range.uncertainty_percentage, dec!(48.99));
    // AND conservative ROI = (46,000 × (1 − d) − 37,500) / 37,500, optimistic × (1 + d)
    assert_eq!(range.conservative.roi_percentage, dec!(-37.43));
    assert_eq!(range.expected.roi_percentage, roi.roi_percentage);
    assert_eq!(range.optimistic.roi_percentage, dec!(82.76));
    // AND payback at June's rate: 30,000 / (12,000 × (1 ∓ d) − 1,500)
    assert_eq!(range.conservative.payback_period_months, Some(dec!(6.49)));
    assert_eq!(range.optimistic.payback_period_months, Some(dec!(1.83)));
}

#[test]
fn running_costs_count_from_their_dates_and_attribution_scales_every_benefit() {
    // GIVEN the history, half of whose improvement is due to the AI, and a $600/month
    // retainer from 16 March through 31 May
    let (baseline, ongoing) = history();
    let refs: Vec<&MetricSnapshot> = ongoing.iter().collect();
    let mut p = project();
    p.valuation.attribution_percentage = Percentage::try_from(dec!(50)).unwrap();
    p.valuation.running_costs.push(RunningCost {
        name: "Retainer".into(),
        monthly_usd: Money::try_from(dec!(600)).unwrap(),
        from: d("2026-03-16"),
        to: Some(d("2026-05-31")),
    });
    let options = RoiOptions::as_of(d("2026-06-30"));
    let roi = RoiCalculation::compute_realised(
        &p,
        &baseline,
        &ongoing[4],
        &refs,
        d("2026-01-01"),
        &options,
    )
    .unwrap();
    // THEN benefits are 46,000 × 50 % = 23,000; running costs 7,500 + 600 × 16/31 (March)
    //   + 600 (April) + 600 (May) = 9,009.68; ROI = (23,000 − 39,009.68) / 39,009.68
    assert_eq!(roi.benefits_total, dec!(23000.00));
    assert_eq!(roi.costs_total, dec!(39009.68));
    assert_eq!(roi.roi_percentage, dec!(-41.04));
    assert_eq!(roi.months[2].running_cost_usd.round_dp(2), dec!(1309.68));
    assert_eq!(roi.months[5].running_cost_usd, dec!(1500));
    // AND the run rate as of 30 June has no retainer: it ended in May
    assert_eq!(roi.running_cost_monthly, dec!(1500.00));
}

#[test]
fn a_partial_month_counts_pro_rata_and_a_month_end_includes_its_month() {
    // mid-June: 15 of June's 30 days
    let mid = realised("2026-06-15");
    assert_eq!(mid.months.len(), 6);
    assert_eq!(mid.months[5].share, dec!(0.5));
    assert_eq!(mid.months_analysed, Some(dec!(5.50)));
    assert_eq!(mid.period_analyzed, "5.5 months");
    // June is valued with May's measurement (June's is not taken yet): carried
    assert_eq!(mid.months[5].in_force, InForce::Carried);
    // the last day of May includes May whole: five months
    assert_eq!(realised("2026-05-31").period_analyzed, "5 months");
}

#[test]
fn npv_and_irr_match_numpy_financial() {
    // GIVEN the realised months as of 30 June, at a 10 % annual discount rate
    let roi = realised("2026-06-30");
    let flows: Vec<f64> = std::iter::once(-30000.0)
        .chain(roi.months.iter().map(|m| m.net_usd().to_f64().unwrap()))
        .collect();
    assert_eq!(
        flows,
        vec![-30000.0, 1000.0, 5000.0, 5000.0, 8500.0, 8500.0, 10500.0]
    );

    // WHEN numpy-financial computes the same cash flows
    let script = format!(
        "import numpy_financial as npf\nf = {flows:?}\nprint(npf.npv(0.10 / 12, f))\nprint(npf.irr(f))"
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3 runs (tests/run.sh installs numpy-financial)");
    assert!(
        out.status.success(),
        "numpy-financial: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines().map(|l| l.trim().parse::<f64>().unwrap());
    let (npv, irr) = (lines.next().unwrap(), lines.next().unwrap());

    // THEN ours agree: NPV to the cent, the monthly IRR to 10⁻⁶, annualised as (1 + r)^12 − 1
    assert!(
        (roi.npv.to_f64().unwrap() - npv).abs() <= 0.005,
        "NPV {} against numpy-financial {npv}",
        roi.npv
    );
    let annual = ((1.0 + irr).powi(12) - 1.0) * 100.0;
    let ours = roi.irr_annual_percentage.unwrap().to_f64().unwrap();
    assert!(
        (ours - annual).abs() <= 0.01,
        "IRR {ours} % a year against numpy-financial {annual} %"
    );
}
