//! The `roi` binary as a person or a script uses it: on the embedded store, and against
//! DynamoDB in moto with `ROI_STORE=dynamodb`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod browser;
mod console;
mod events;
mod focus;
mod otlp;
mod pipeline;
mod privacy;
mod samples;

use std::path::Path;
use std::process::{Command, Output};

use roi_e2e::moto;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/acme-logistics");

fn roi(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_roi"))
        .args(args)
        .env("ROI_DATA_DIR", data_dir)
        .env_remove("ROI_STORE")
        .output()
        .expect("roi runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
fn last_line(o: &Output) -> String {
    stdout(o).lines().last().unwrap_or_default().to_owned()
}
/// How many CloudEvents the demo's output says it sent (`POST /v1/events, N CloudEvents`).
pub(crate) fn events_sent(demo: &str) -> usize {
    demo.split("POST /v1/events, ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no event count in:\n{demo}"))
}

/// How many alert notices the demo's output says it sent (`alerts   N notices sent`).
pub(crate) fn alert_notices(demo: &str) -> usize {
    demo.split("alerts   ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no alert count in:\n{demo}"))
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "failed: {}\n{}", stdout(&o), stderr(&o));
    o
}

/// Adds the sample client and project; returns the project id.
fn setup(dir: &Path, extra_env: &[(&str, &str)]) -> String {
    let run = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_roi"));
        c.args(args)
            .env("ROI_DATA_DIR", dir)
            .env_remove("ROI_STORE");
        for (k, v) in extra_env {
            c.env(k, v);
        }
        ok(c.output().expect("roi runs"))
    };
    let client = last_line(&run(&[
        "client",
        "add",
        "Acme Logistics",
        "--time-zone",
        "America/Chicago",
        "--recipient",
        "coo@acme.example",
    ]));
    assert_eq!(client, "acme-logistics");
    let project = last_line(&run(&[
        "project",
        "add",
        "--client",
        &client,
        "Support Assistant",
        "--go-live",
        "2025-02-03",
        "--investment",
        "45000",
        "--gross-margin",
        "40",
    ]));
    assert_eq!(project, "acme-logistics-support-assistant");
    project
}

#[test]
fn scripts_get_ids_on_the_last_line_and_json_with_seed_field_names() {
    // GIVEN a fresh data directory given through ROI_DATA_DIR
    let dir = tempfile::tempdir().unwrap();
    let project = setup(dir.path(), &[]);
    let p = ["--project", project.as_str()];
    // WHEN the sample files are imported, the baseline approved and ROI computed as JSON
    ok(roi(
        dir.path(),
        &[
            &[
                "import",
                "baseline",
                &format!("{SAMPLES}/baseline-snapshot.csv"),
            ][..],
            &p,
        ]
        .concat(),
    ));
    ok(roi(
        dir.path(),
        &[&["baseline", "approve"][..], &p].concat(),
    ));
    ok(roi(
        dir.path(),
        &[
            &[
                "import",
                "tracking",
                &format!("{SAMPLES}/monthly-tracking.csv"),
            ][..],
            &p,
        ]
        .concat(),
    ));
    let out = ok(roi(
        dir.path(),
        &[
            &[
                "compute",
                "--as-of",
                "2025-04-30",
                "--months",
                "12",
                "--format",
                "json",
            ][..],
            &p,
        ]
        .concat(),
    ));
    // THEN the JSON uses the seed's names, with money as decimal strings
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["roi_percentage"], "74.81");
    assert_eq!(json["payback_period_months"], "5.11");
    assert_eq!(json["cost_savings_monthly"], "4400.00");
    assert_eq!(json["cost_savings_annual"], "52800.00");
    assert_eq!(json["period_analyzed"], "12 months");
    for field in [
        "time_savings_percentage",
        "error_reduction_percentage",
        "revenue_increase",
        "customer_satisfaction_improvement",
        "conversion_rate_improvement",
        "efficiency_gain_percentage",
        "npv",
    ] {
        assert!(json.get(field).is_some(), "{field} missing");
    }
    // AND the NPV takes the given discount rate: at 0 % it is 12 × $8,800 − $45,000
    let undiscounted = ok(roi(
        dir.path(),
        &[
            &[
                "compute",
                "--as-of",
                "2025-04-30",
                "--months",
                "12",
                "--discount-rate",
                "0",
                "--format",
                "json",
            ][..],
            &p,
        ]
        .concat(),
    ));
    let json: serde_json::Value = serde_json::from_str(&stdout(&undiscounted)).unwrap();
    assert_eq!(json["npv"], "60600.00");
    let bad = roi(
        dir.path(),
        &[&["compute", "--discount-rate", "120"][..], &p].concat(),
    );
    assert!(
        stderr(&bad).contains("must be between 0 and 100 (percent), got 120"),
        "{}",
        stderr(&bad)
    );
    // AND the store is where ROI_DATA_DIR said
    assert!(dir.path().join("roi.redb").exists());
}

#[test]
fn a_bad_as_of_date_names_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = roi(
        dir.path(),
        &["compute", "--project", "p", "--as-of", "30/04/2025"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--as-of")
            && stderr(&out).contains("'30/04/2025' is not a date in YYYY-MM-DD form"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bad_csv_is_reported_by_line_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let project = setup(dir.path(), &[]);
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "metric_category,metric_name,value,unit,date_captured,notes\ncost,monthly_labor_cost,abc,USD,2025-01-15,\nquality,error_rate,8.5,percentage,2025-01-15,\n").unwrap();
    let out = roi(
        dir.path(),
        &[
            "import",
            "baseline",
            bad.to_str().unwrap(),
            "--project",
            &project,
        ],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("line 2: value: 'abc' is not a number"),
        "{err}"
    );
    assert!(err.contains("nothing was stored"), "{err}");
    let approve = roi(dir.path(), &["baseline", "approve", "--project", &project]);
    assert!(
        stderr(&approve).contains("has no baseline"),
        "{}",
        stderr(&approve)
    );
}

#[test]
fn a_bad_field_value_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let out = roi(
        dir.path(),
        &["client", "add", "Acme", "--time-zone", "Mars/Base"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("time_zone: 'Mars/Base' is not an IANA time zone"),
        "{}",
        stderr(&out)
    );
    let out = roi(
        dir.path(),
        &[
            "project",
            "add",
            "--client",
            "acme",
            "X",
            "--go-live",
            "2025-01-01",
            "--investment",
            "-5",
        ],
    );
    assert!(!out.status.success());
}

#[test]
fn the_demo_runs_the_whole_pipeline_and_a_second_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let first = ok(roi(dir.path(), &["demo"]));
    let text = stdout(&first);
    // As of 2025-04-30, realised: February (26/28 of it) 2,500 cost change + 800 revenue
    // + labour 5,200 × 4 min ÷ 60 × $35 − 2,500 + errors 5,200 × 1.3 % × $8 = 13,474.13;
    // March 22,274.27; April 26,714.93 → 61,500.23 of value against 45,000 + 9,778.57 of
    // cost (AI cost and the $500 retainer): 12.27 %
    for expected in [
        "roi_percentage                       12.27%",
        "ROI of project acme-logistics-support-assistant as of 2025-04-30 over 2.93 months",
        "→ 200, stored",
        "Anthropic usage report: 3 accepted",
        "OpenAI usage report: 2 accepted",
        "days rolled up, 5 ROI periods computed",
        "a form link e-mailed to coo@acme-logistics.example",
        "report   monthly ",
        "report   executive ",
    ] {
        assert!(text.contains(expected), "'{expected}' not in:\n{text}");
    }
    // every event of the month sent was accepted (how many depends on the month's weekdays)
    let sent = events_sent(&text);
    assert!((500..=1000).contains(&sent), "{sent} events");
    assert!(
        text.contains(&format!("{sent} accepted, 0 duplicate, 0 rejected")),
        "{text}"
    );
    let pdfs: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("report "))
        .map(|l| l.rsplit(": ").next().unwrap())
        .collect();
    assert_eq!(pdfs.len(), 2);
    for pdf in &pdfs {
        assert!(std::fs::read(pdf).unwrap().starts_with(b"%PDF-"), "{pdf}");
        // the project's three KPIs: one from the form, one from an event, one computed
        let out = std::process::Command::new("pdftotext")
            .args(["-layout", pdf, "-"])
            .output()
            .unwrap();
        let pdf_text = String::from_utf8_lossy(&out.stdout);
        for kpi in [
            "Success criteria: 1 of 3 targets met, 2 at risk.",
            "First-contact resolution",
            "Tickets resolved by the AI",
            "AI cost per resolved ticket",
        ] {
            assert!(pdf_text.contains(kpi), "'{kpi}' not in {pdf}:\n{pdf_text}");
        }
    }
    let outbox = || {
        std::fs::read_dir(dir.path().join("outbox"))
            .unwrap()
            .count()
    };
    // the reminder; the two drafts announced to the account manager; the monthly report,
    // approved, to the client's recipient (the one-pager waits for review in the console);
    // and the alert check's notices: none, but on the 1st of a month, when yesterday is the
    // demo month's last day and its roll-up has an agent error rate to notify
    let notices = alert_notices(&text);
    assert_eq!(outbox(), 4 + notices, "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("review   monthly ") && l.contains(" approved")),
        "{text}"
    );
    assert!(
        text.contains("/console/sign-in/"),
        "the console's sign-in link: {text}"
    );
    assert!(notices <= 1, "{text}");

    let second = ok(roi(dir.path(), &["demo"]));
    let again = stdout(&second);
    for expected in [
        "unchanged",
        "0 accepted, 3 already stored",
        format!("0 accepted, {sent} duplicate").as_str(),
        "e-mailed already",
        "(issued already)",
    ] {
        assert!(again.contains(expected), "'{expected}' not in:\n{again}");
    }
    assert_eq!(
        outbox(),
        4 + notices,
        "the second run sent e-mail:\n{again}"
    );
}

#[test]
fn reports_are_reviewed_and_clients_and_projects_listed_from_the_command_line() {
    // GIVEN the demo: its executive one-pager waits for review
    let dir = tempfile::tempdir().unwrap();
    ok(roi(dir.path(), &["demo"]));
    let p = "acme-logistics-support-assistant";
    let listed = stdout(&ok(roi(dir.path(), &["report", "--project", p, "--list"])));
    let executive = listed
        .lines()
        .find(|l| l.starts_with("executive"))
        .expect("the one-pager");
    assert!(
        executive.contains("draft") && executive.contains("not e-mailed"),
        "{listed}"
    );
    let period = executive.split_whitespace().nth(1).unwrap().to_owned();
    let outbox = || {
        std::fs::read_dir(dir.path().join("outbox"))
            .unwrap()
            .count()
    };
    let before = outbox();
    // WHEN it is approved
    let approved = stdout(&ok(roi(
        dir.path(),
        &[
            "report",
            "approve",
            "--project",
            p,
            "--kind",
            "executive",
            "--period",
            &period,
        ],
    )));
    // THEN it goes to the client's recipient (a one-pager is not the account manager's), once
    assert!(
        approved.contains("approved, e-mailed to 1 recipient(s)"),
        "{approved}"
    );
    assert_eq!(outbox(), before + 1);
    ok(roi(
        dir.path(),
        &[
            "report",
            "approve",
            "--project",
            p,
            "--kind",
            "executive",
            "--period",
            &period,
        ],
    ));
    assert_eq!(outbox(), before + 1, "approving again sends nothing");
    // a withdrawal without a reason is refused by the parser
    let out = roi(
        dir.path(),
        &[
            "report",
            "withdraw",
            "--project",
            p,
            "--kind",
            "monthly",
            "--period",
            &period,
        ],
    );
    assert!(!out.status.success());

    // the lists, as tables and as JSON
    let clients: serde_json::Value = serde_json::from_str(&stdout(&ok(roi(
        dir.path(),
        &["client", "list", "--format", "json"],
    ))))
    .unwrap();
    assert_eq!(clients[0]["client_id"], "acme-logistics");
    assert_eq!(clients[0]["projects"], 1);
    let projects: serde_json::Value = serde_json::from_str(&stdout(&ok(roi(
        dir.path(),
        &["project", "list", "--format", "json"],
    ))))
    .unwrap();
    assert_eq!(projects[0]["project_id"], p);
    assert_eq!(projects[0]["status"], "deployed");
    assert_eq!(projects[0]["drafts"], 0, "the one-pager is approved");
    assert_eq!(projects[0]["latest_report"]["review"], "approved");
    let shown = stdout(&ok(roi(
        dir.path(),
        &["client", "show", "--client", "acme-logistics"],
    )));
    assert!(
        shown.contains("reviewed before they are sent") && shown.contains(p),
        "{shown}"
    );
    let edited = stdout(&ok(roi(
        dir.path(),
        &[
            "client",
            "edit",
            "--client",
            "acme-logistics",
            "--industry",
            "freight",
        ],
    )));
    assert!(edited.contains("\"industry\": \"freight\""), "{edited}");
    ok(roi(
        dir.path(),
        &["project", "edit", "--project", p, "--status", "completed"],
    ));
    let table = stdout(&ok(roi(
        dir.path(),
        &["project", "list", "--status", "completed"],
    )));
    assert!(table.contains(p), "{table}");

    // a dashboard link, made and revoked
    let url = stdout(&ok(roi(
        dir.path(),
        &["dashboard-link", "--client", "acme-logistics"],
    )));
    assert!(url.trim().starts_with("http://127.0.0.1:8080/d/"), "{url}");
    let listed = stdout(&ok(roi(
        dir.path(),
        &["dashboard-link", "--client", "acme-logistics", "--list"],
    )));
    let id = listed.split_whitespace().next().unwrap().to_owned();
    ok(roi(
        dir.path(),
        &[
            "dashboard-link",
            "--client",
            "acme-logistics",
            "--revoke",
            &id,
        ],
    ));
    let listed = stdout(&ok(roi(
        dir.path(),
        &["dashboard-link", "--client", "acme-logistics", "--list"],
    )));
    assert!(listed.contains("revoked"), "{listed}");
}

#[test]
fn help_teaches_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(roi(dir.path(), &["--help"]));
    for word in [
        "demo",
        "client",
        "project",
        "import",
        "baseline",
        "compute",
        "ROI_DATA_DIR",
        "ROI_STORE",
    ] {
        assert!(stdout(&out).contains(word), "{word} not in --help");
    }
}

#[test]
fn the_same_commands_run_against_dynamodb() {
    // GIVEN ROI_STORE=dynamodb and the SDK pointed at moto
    let dir = tempfile::tempdir().unwrap();
    let table = moto::unique("cli");
    let env = [
        ("ROI_STORE", "dynamodb"),
        ("ROI_TABLE", table.as_str()),
        ("AWS_ENDPOINT_URL", moto::endpoint()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ];
    let run = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_roi"));
        c.args(args).env("ROI_DATA_DIR", dir.path());
        for (k, v) in env {
            c.env(k, v);
        }
        ok(c.output().expect("roi runs"))
    };
    run(&["store-init"]);
    // WHEN the flow runs
    let project = setup(dir.path(), &env);
    run(&[
        "import",
        "baseline",
        &format!("{SAMPLES}/baseline-snapshot.csv"),
        "--project",
        &project,
    ]);
    run(&["baseline", "approve", "--project", &project]);
    run(&[
        "import",
        "tracking",
        &format!("{SAMPLES}/monthly-tracking.csv"),
        "--project",
        &project,
    ]);
    let out = run(&[
        "compute",
        "--project",
        &project,
        "--as-of",
        "2025-04-30",
        "--months",
        "12",
        "--format",
        "json",
    ]);
    // THEN the answer is the same as on the embedded store, and nothing went to the data dir
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["roi_percentage"], "74.81");
    assert!(!dir.path().join("roi.redb").exists());
}

#[test]
fn a_projects_status_and_valuation_are_set_from_the_command_line() {
    // GIVEN the sample project, added in planning
    let dir = tempfile::tempdir().unwrap();
    let project = setup(dir.path(), &[]);
    let p = ["--project", project.as_str()];
    let run = |args: &[&str]| roi(dir.path(), &[args, &p[..]].concat());
    // WHEN it is deployed, its loaded rate set and a value line turned off
    let set = ok(run(&[
        "project",
        "set",
        "--status",
        "deployed",
        "--hourly-rate",
        "35",
        "--line-off",
        "churn_reduction",
    ]));
    let shown: serde_json::Value = serde_json::from_str(&stdout(&set)).unwrap();
    // THEN the stored project says so
    assert_eq!(shown["status"], "deployed");
    assert_eq!(shown["valuation"]["loaded_hourly_rate_usd"], "35");
    assert_eq!(shown["valuation"]["lines_off"][0], "churn_reduction");
    // AND a running cost is added, shown, and removed by name
    ok(run(&[
        "project",
        "add-cost",
        "Tuning retainer",
        "--monthly",
        "500",
        "--from",
        "2025-02-01",
    ]));
    let show: serde_json::Value =
        serde_json::from_str(&stdout(&ok(run(&["project", "show"])))).unwrap();
    assert_eq!(
        show["valuation"]["running_costs"][0]["name"],
        "Tuning retainer"
    );
    ok(run(&["project", "remove-cost", "tuning retainer"]));
    // AND bad input is named, and changes nothing
    let bad_line = run(&["project", "set", "--line-off", "vibes"]);
    assert!(!bad_line.status.success());
    assert!(
        stderr(&bad_line).contains("'vibes' is not a value line; use one of labour_time"),
        "{}",
        stderr(&bad_line)
    );
    let backwards = run(&[
        "project",
        "add-cost",
        "Licence",
        "--monthly",
        "90",
        "--from",
        "2025-03-01",
        "--to",
        "2025-02-01",
    ]);
    assert!(!backwards.status.success());
    assert!(
        stderr(&backwards).contains("running_costs[0].to: ends 2025-02-01, before it starts"),
        "{}",
        stderr(&backwards)
    );
    let show: serde_json::Value =
        serde_json::from_str(&stdout(&ok(run(&["project", "show"])))).unwrap();
    assert!(show["valuation"].get("running_costs").is_none(), "{show}");
}

#[test]
fn a_cost_report_is_imported_and_reconciled_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| roi(dir.path(), args);
    ok(run(&["client", "add", "Acme", "--time-zone", "Asia/Tokyo"]));
    let c = ["--client", "acme", "--format", "anthropic"];
    // the samples' two days moved to five and four days ago
    let shift = samples::shift_to(5);
    let usage = samples::moved(dir.path(), "anthropic-messages-usage-report.json", shift);
    ok(run(
        &[&["import", "usage", usage.path.as_str()][..], &c].concat()
    ));
    // WHEN the matching cost report is imported
    let costs = samples::moved(dir.path(), "anthropic-cost-report.json", shift);
    let imported = ok(run(
        &[&["import", "cost", costs.path.as_str()][..], &c].concat()
    ));
    let (first, second) = (costs.day("2026-11-18"), costs.day("2026-11-19"));
    assert!(
        stdout(&imported).contains(&format!(
            "12 cost lines stored, 8.9296 USD, for {first}, {second}"
        )),
        "{}",
        stdout(&imported)
    );
    // THEN the reconciliation shows both days at zero variance, as a table and as JSON
    let span = [
        "reconcile",
        "--client",
        "acme",
        "--from",
        &first,
        "--to",
        &second,
    ];
    let table = stdout(&ok(run(&span)));
    assert!(
        table.contains(&format!(
            "{first}  anthropic          $6.77         $6.77       $0.00"
        )),
        "{table}"
    );
    assert!(
        table.contains("2 day-provider rows; 0 over the client's tolerance"),
        "{table}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&ok(run(
            &[&span[..], &["--format", "json"]].concat()
        ))))
        .unwrap();
    assert_eq!(json[1]["metered_usd"], "2.1594");
    assert_eq!(json[1]["variance_percentage"], "0.00");
    // AND a file of the wrong shape is refused by name
    let wrong = run(&[&["import", "cost", usage.path.as_str()][..], &c].concat());
    assert!(!wrong.status.success());
    assert!(
        stderr(&wrong).contains("not an Anthropic cost report"),
        "{}",
        stderr(&wrong)
    );
}

#[test]
fn every_command_s_help_is_well_formed() {
    // clap checks a command's definition (unique names, valid groups) when it is built;
    // `--help` of every subcommand builds each one
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["report", "approve", "--help"][..],
        &["report", "withdraw", "--help"],
        &["client", "edit", "--help"],
        &["project", "list", "--help"],
        &["measurement", "review", "--help"],
        &["dashboard-link", "--help"],
        &["import", "usage", "--help"],
        &["import", "cost", "--help"],
        &["export", "focus", "--help"],
    ] {
        let out = ok(roi(dir.path(), args));
        assert!(stdout(&out).contains("Usage"), "{args:?}");
    }
}
