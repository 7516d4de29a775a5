//! What the commands print, and the demo.

use std::fmt::Write as _;

use anyhow::Result;
use roi_app::compute::ComputeRequest;
use roi_app::store::Written;
use roi_app::{Store, compute, measurements, setup};
use roi_domain::client::{ClientDraft, ProjectDraft};
use roi_domain::roi::Basis;
use roi_domain::roi::range::Scenario;
use roi_domain::roi::realised::InForce;
use roi_domain::roi::value::LineStatus;
use roi_domain::roi::value::RunningCost;
use roi_domain::snapshot::ApproveError;
use roi_domain::units::usd_cents;
use roi_domain::{Client, Money, Project, RoiCalculation, SnapshotStatus, ValidationErrors};
use rust_decimal::Decimal;

const SAMPLE_BASELINE: &[u8] = include_bytes!("../samples/acme-logistics/baseline-snapshot.csv");
const SAMPLE_TRACKING: &[u8] = include_bytes!("../samples/acme-logistics/monthly-tracking.csv");

/// Prints one line per imported snapshot.
pub fn print_imported(imported: &measurements::Imported) {
    for w in &imported.warnings {
        eprintln!("warning: {w}");
    }
    for (s, written) in &imported.snapshots {
        let what = match written {
            Written::Created => "stored",
            Written::Unchanged => "unchanged",
            Written::Corrected => "corrected",
        };
        let status = match s.status() {
            SnapshotStatus::Submitted => "awaiting approval (`roi baseline approve`)".to_owned(),
            SnapshotStatus::Approved => "approved".to_owned(),
            SnapshotStatus::Recorded => "recorded".to_owned(),
            SnapshotStatus::Rejected => "rejected on review".to_owned(),
            SnapshotStatus::NeedsReview => format!(
                "needs review: {}",
                s.review()
                    .iter()
                    .map(|f| format!("{} moved {}%", f.metric, f.change_percentage))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        println!(
            "{} {} of {}: {} values, {what}; {status}",
            s.kind(),
            s.id(),
            s.measured_on(),
            s.values().len()
        );
    }
}

fn pct(d: Option<Decimal>) -> String {
    d.map_or_else(|| "n/a".to_owned(), |v| format!("{}%", v.normalize()))
}

/// The table `roi compute` prints.
pub fn roi_table(roi: &RoiCalculation) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ROI of project {} as of {} over {}",
        roi.project_id, roi.calculation_date, roi.period_analyzed
    );
    let _ = writeln!(
        out,
        "baseline {} vs measurement {}{}",
        roi.baseline_snapshot_id,
        roi.comparison_metric_id,
        if roi.comparison_needs_review {
            " (awaiting review)"
        } else {
            ""
        }
    );
    for (name, value) in figures(roi) {
        let _ = writeln!(out, "  {name:<36} {value}");
    }
    if let Some(r) = &roi.range {
        let payback = |s: &Scenario| {
            s.payback_period_months
                .map_or("never".into(), |m| format!("{} months", m.normalize()))
        };
        let _ = writeln!(
            out,
            "  range (value ± {}%)                   conservative {} · expected {} · optimistic {}; payback {} / {} / {}",
            r.uncertainty_percentage.normalize(),
            pct(Some(r.conservative.roi_percentage)),
            pct(Some(r.expected.roi_percentage)),
            pct(Some(r.optimistic.roi_percentage)),
            payback(&r.conservative),
            payback(&r.expected),
            payback(&r.optimistic),
        );
    }
    for l in &roi.value_lines {
        let state = match l.status {
            LineStatus::Counted if l.overlap_usd > Decimal::ZERO => format!(
                "{} counted ({} already in the cost change or revenue)",
                usd_cents(l.counted_usd),
                usd_cents(l.overlap_usd)
            ),
            LineStatus::Counted => format!("{} counted", usd_cents(l.counted_usd)),
            LineStatus::Off => "turned off".into(),
            LineStatus::NoGain => "no gain, not counted".into(),
            LineStatus::MissingInputs => format!("needs {}", l.missing.join(", ")),
        };
        let _ = writeln!(
            out,
            "  value line: {:<24} {state}{}",
            l.kind.name(),
            if l.formula.is_empty() {
                String::new()
            } else {
                format!(" = {}", l.formula)
            }
        );
    }
    for m in roi
        .months
        .iter()
        .filter(|m| m.in_force != InForce::Measured)
    {
        let _ = writeln!(
            out,
            "  note: {} is valued with the measurement of {} ({})",
            m.month.format("%Y-%m"),
            m.measured_on,
            match m.in_force {
                InForce::BackFilled => "the first one, taken after it",
                _ => "no newer one yet",
            }
        );
    }
    out
}

/// The figures of [`roi_table`], by their seed field names.
fn figures(roi: &RoiCalculation) -> Vec<(&'static str, String)> {
    let basis = match roi.basis {
        Basis::Realised => "realised: each month valued with the measurement in force for it",
        Basis::RunRate => "run rate: the latest measurement's month × N (a projection)",
    };
    let mut rows: Vec<(&'static str, String)> = vec![
        ("basis", basis.into()),
        ("roi_percentage", pct(Some(roi.roi_percentage))),
        (
            "payback_period_months",
            roi.payback_period_months.map_or_else(
                || "never (net monthly benefit ≤ 0)".into(),
                |m| format!("{} months", m.normalize()),
            ),
        ),
        ("cost_savings_monthly", usd_cents(roi.cost_savings_monthly)),
        ("cost_savings_annual", usd_cents(roi.cost_savings_annual)),
        (
            "revenue_increase",
            format!("{} / month", usd_cents(roi.revenue_increase)),
        ),
        ("time_savings_percentage", pct(roi.time_savings_percentage)),
        (
            "error_reduction_percentage",
            pct(roi.error_reduction_percentage),
        ),
        (
            "efficiency_gain_percentage",
            pct(roi.efficiency_gain_percentage),
        ),
        (
            "customer_satisfaction_improvement",
            roi.customer_satisfaction_improvement
                .map_or("n/a".into(), |v| format!("{v:+} CSAT points")),
        ),
        (
            "conversion_rate_improvement",
            roi.conversion_rate_improvement
                .map_or("n/a".into(), |v| format!("{v:+} percentage points")),
        ),
        (
            "gross_monthly_benefit",
            usd_cents(roi.gross_monthly_benefit),
        ),
        ("running_cost_monthly", usd_cents(roi.running_cost_monthly)),
        ("benefits_total", usd_cents(roi.benefits_total)),
        ("costs_total", usd_cents(roi.costs_total)),
        (
            "npv",
            format!(
                "{} at {}% a year",
                usd_cents(roi.npv),
                roi.discount_rate_percentage.normalize()
            ),
        ),
    ];
    if roi.basis == Basis::Realised {
        rows.push((
            "payback_reached_in",
            roi.payback_reached_in
                .map_or("not yet".into(), |m| m.format("%Y-%m").to_string()),
        ));
        rows.push(("irr_annual_percentage", pct(roi.irr_annual_percentage)));
    }
    rows
}

/// The sample client's account manager at the consultancy, who gets its alerts.
pub const DEMO_ACCOUNT_MANAGER: &str = "account-manager@consultancy.example";

/// The sample client and project of `roi demo`, with the baseline and three monthly
/// measurements of `cli/samples/acme-logistics/` imported and the baseline approved; prints
/// each step and the ROI as of the last imported month. Safe to run again.
///
/// # Errors
/// The first step that fails.
pub async fn demo_setup(store: &Store) -> Result<(Client, Project)> {
    let (client, _) = setup::add_client(
        store,
        ClientDraft {
            company_name: "Acme Logistics".into(),
            id: None,
            industry: Some("logistics".into()),
            status: None,
            time_zone: Some("America/Chicago".into()),
            report_recipients: vec!["coo@acme-logistics.example".into()],
        },
        "demo",
    )
    .await?;
    println!("client   {} ({})", client.company_name, client.id);
    // Alerts are internal by default: they go to the consultancy's account manager.
    let mut settings = store.settings(&client.id).await?;
    if settings.account_manager_email.is_none() {
        settings.account_manager_email = Some(DEMO_ACCOUNT_MANAGER.into());
        store.put_settings(&client.id, &settings).await?;
    }
    let (project, _) = setup::add_project(
        store,
        ProjectDraft {
            client_id: client.id.clone(),
            project_name: "Support Assistant".into(),
            id: None,
            solution_type: Some("chatbot".into()),
            status: Some("deployed".into()),
            go_live_date: "2025-02-03".into(),
            one_time_investment: Decimal::from(45_000),
            gross_margin: Some(Decimal::from(40)),
        },
        "demo",
    )
    .await?;
    // How its value is counted: the support agents' loaded hourly rate values the time
    // saved, and the consultancy's monthly tuning retainer is a running cost.
    let project = if project.valuation.is_default() {
        setup::change_project(store, &project.id, "demo", |p| {
            let usd = |v: u32| {
                Money::try_from(Decimal::from(v)).map_err(|e| ValidationErrors::one("usd", e))
            };
            p.valuation.loaded_hourly_rate_usd = Some(usd(35)?);
            p.valuation.running_costs.push(RunningCost {
                name: "Tuning retainer".into(),
                monthly_usd: usd(500)?,
                from: p.go_live_date,
                to: None,
            });
            Ok("hourly rate $35, tuning retainer $500/month".into())
        })
        .await?
    } else {
        project
    };
    println!(
        "project  {} ({}), live since {}, {} invested",
        project.project_name, project.id, project.go_live_date, project.one_time_investment
    );
    println!("\n== import baseline-snapshot.csv");
    print_imported(
        &measurements::import_baseline(store, &project.id, SAMPLE_BASELINE, "demo").await?,
    );
    match measurements::approve_baseline(store, &project.id, "demo").await {
        Ok(b) => println!("approved baseline {} of {}", b.id(), b.measured_on()),
        Err(measurements::ApproveBaselineError::Approve(ApproveError::AlreadyApproved(id))) => {
            println!("baseline {id} was approved already");
        }
        Err(e) => return Err(e.into()),
    }
    println!("\n== import monthly-tracking.csv");
    print_imported(
        &measurements::import_tracking(store, &project.id, SAMPLE_TRACKING, "demo").await?,
    );
    let as_of = "2025-04-30".parse()?;
    println!("\n== ROI since go-live, as of {as_of}");
    let so_far = compute::compute_roi(
        store,
        &project.id,
        ComputeRequest {
            as_of: Some(as_of),
            ..ComputeRequest::default()
        },
    )
    .await?;
    print!("{}", roi_table(&so_far));
    Ok((client, project))
}
