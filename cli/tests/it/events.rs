//! Usage and cost events from the command line: API keys, provider usage reports, the
//! price table, and `POST /v1/events` under `roi serve` checked by schemathesis against
//! `infra/openapi.yaml` (installed by tests/run.sh; the test fails, never skips, without it).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::{last_line, ok, roi, stderr, stdout};

const INFRA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra");

fn client(dir: &Path) {
    ok(roi(
        dir,
        &[
            "client",
            "add",
            "Acme Logistics",
            "--time-zone",
            "America/Chicago",
        ],
    ));
}

/// The sample OpenAI usage report (`events/usage-reports/`), its bucket moved to 00:00 UTC
/// `days_ago` days before today so that its day is one roll-ups still take whenever the
/// test runs, written into `dir`. Returns its path and the bucket's day in Chicago (the
/// day before the UTC one).
fn recent_openai_report(dir: &Path, days_ago: i64) -> (String, String) {
    let report = crate::samples::recent(dir, "openai-usage-completions.json", days_ago);
    (report.path, chicago_day(days_ago))
}

/// 00:00 UTC `days_ago` days before today.
fn bucket_start(days_ago: i64) -> chrono::DateTime<chrono::Utc> {
    (chrono::Utc::now() - chrono::Duration::days(days_ago))
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
}

/// The Chicago day of [`bucket_start`] (the UTC day before).
fn chicago_day(days_ago: i64) -> String {
    (bucket_start(days_ago).date_naive() - chrono::Days::new(1)).to_string()
}

/// The day after `day` (YYYY-MM-DD).
fn next_day(day: &str) -> String {
    (day.parse::<chrono::NaiveDate>().unwrap() + chrono::Days::new(1)).to_string()
}

/// `day` moved by `days` (YYYY-MM-DD).
fn shifted(day: &str, days: i64) -> String {
    (day.parse::<chrono::NaiveDate>().unwrap() + chrono::Duration::days(days)).to_string()
}

#[test]
fn an_api_key_is_printed_once_listed_without_its_secret_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    client(dir.path());
    // WHEN a key is created
    let created = ok(roi(
        dir.path(),
        &[
            "apikey",
            "create",
            "--client",
            "acme-logistics",
            "--name",
            "crm",
        ],
    ));
    // THEN it is the last line of standard output, and said to be shown once
    let key = last_line(&created);
    assert!(key.starts_with("roi_") && key.len() > 40, "{key}");
    assert!(stderr(&created).contains("not shown again"));
    let key_id = &key[4..12];
    // AND the listing names it without the secret
    let listed = stdout(&ok(roi(
        dir.path(),
        &["apikey", "list", "--client", "acme-logistics"],
    )));
    assert!(listed.contains(key_id) && listed.contains("crm") && listed.contains("active"));
    assert!(
        !listed.contains(&key[13..]),
        "the secret is never printed again"
    );
    assert!(
        !std::fs::read(dir.path().join("roi.redb"))
            .unwrap()
            .windows(key.len())
            .any(|w| w == key.as_bytes()),
        "only the key's hash is stored"
    );
    // WHEN it is revoked THEN the listing says so; an unknown id is a clear error
    ok(roi(
        dir.path(),
        &["apikey", "revoke", "--client", "acme-logistics", key_id],
    ));
    let listed = stdout(&ok(roi(
        dir.path(),
        &["apikey", "list", "--client", "acme-logistics"],
    )));
    assert!(listed.contains("revoked"), "{listed}");
    let unknown = roi(
        dir.path(),
        &["apikey", "revoke", "--client", "acme-logistics", "ffffffff"],
    );
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("has no API key 'ffffffff'"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn a_usage_report_imports_once_and_the_price_table_shows_what_priced_it() {
    let dir = tempfile::tempdir().unwrap();
    client(dir.path());
    let (file, chicago_day) = recent_openai_report(dir.path(), 2);
    let utc_day = next_day(&chicago_day);
    let args = [
        "import",
        "usage",
        &file,
        "--client",
        "acme-logistics",
        "--format",
        "openai",
    ];
    let first = ok(roi(dir.path(), &args));
    assert_eq!(
        last_line(&first),
        "2 accepted, 0 duplicate, 0 rejected, 0 not written"
    );
    let again = ok(roi(dir.path(), &args));
    assert_eq!(
        last_line(&again),
        "0 accepted, 2 duplicate, 0 rejected, 0 not written"
    );
    // the imported usage rolls up into its day (the OpenAI bucket starts at 00:00 UTC:
    // Chicago's day before)
    let rolled = stdout(&ok(roi(
        dir.path(),
        &[
            "rollup",
            "--client",
            "acme-logistics",
            "--from",
            &chicago_day,
            "--to",
            &utc_day,
        ],
    )));
    let day = rolled
        .lines()
        .find(|l| l.starts_with(&chicago_day))
        .unwrap();
    assert!(day.split_whitespace().nth(1) == Some("2"), "{rolled}");
    // the wrong --format is refused as a whole
    let wrong = roi(
        dir.path(),
        &[
            "import",
            "usage",
            &file,
            "--client",
            "acme-logistics",
            "--format",
            "anthropic",
        ],
    );
    assert!(!wrong.status.success());
    assert!(
        stderr(&wrong).contains("not an Anthropic usage report"),
        "{}",
        stderr(&wrong)
    );
    // the table, and a client's negotiated prices on top
    let table = stdout(&ok(roi(dir.path(), &["prices"])));
    assert!(table.starts_with("Price table 2026-11-30"), "{table}");
    assert!(table.contains("gpt-4.1-mini") && table.contains("claude-sonnet-4-5"));
    let overrides = dir.path().join("acme-prices.csv");
    std::fs::write(
        &overrides,
        "provider,model,input,output,cache_read,cache_write,cache_write_1h\nopenai,gpt-4o,2.00,8.00,1.00,2.00,2.00\n",
    )
    .unwrap();
    let set = ok(roi(
        dir.path(),
        &[
            "prices",
            "--client",
            "acme-logistics",
            "--set",
            overrides.to_str().unwrap(),
        ],
    ));
    let out = stdout(&set);
    assert!(
        out.starts_with("Price table 2026-11-30+acme-logistics."),
        "{out}"
    );
    let gpt4o = out.lines().find(|l| l.contains(" gpt-4o ")).unwrap();
    assert!(gpt4o.contains("2.00") && gpt4o.contains("8.00"), "{gpt4o}");
}

/// `roi serve` on a free port with one client, a rolled-up day of usage (two days ago) and
/// a key; returns the server, its port and the key.
fn serve(dir: &Path) -> (crate::browser::Running, u16, String) {
    client(dir);
    let (file, day) = recent_openai_report(dir, 2);
    ok(roi(
        dir,
        &[
            "import",
            "usage",
            &file,
            "--client",
            "acme-logistics",
            "--format",
            "openai",
        ],
    ));
    ok(roi(
        dir,
        &["rollup", "--client", "acme-logistics", "--from", &day],
    ));
    let key = last_line(&ok(roi(
        dir,
        &["apikey", "create", "--client", "acme-logistics"],
    )));
    // schemathesis sends thousands of requests within a minute
    let limits = dir.join("limits.json");
    std::fs::write(
        &limits,
        r#"{"requests_per_minute": 1000000, "events_per_minute": 100000000}"#,
    )
    .unwrap();
    ok(roi(
        dir,
        &[
            "client",
            "settings",
            "--client",
            "acme-logistics",
            "--set",
            limits.to_str().unwrap(),
        ],
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_roi"))
        .args(["serve", "--port", "0", "--no-schedule"])
        .env("ROI_DATA_DIR", dir)
        .env_remove("ROI_STORE")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let port = crate::browser::announced_port(&mut child);
    (crate::browser::Running(child), port, key)
}

#[test]
fn schemathesis_runs_every_check_against_roi_serve_without_a_failure() {
    // GIVEN roi serve with a client and its key
    let dir = tempfile::tempdir().unwrap();
    let (_server, port, key) = serve(dir.path());
    // (the read endpoints are asked for the day that has a roll-up)
    let config = dir.path().join("schemathesis.toml");
    let settings = std::fs::read_to_string(format!("{INFRA}/schemathesis.toml")).unwrap();
    let day = chicago_day(2);
    std::fs::write(
        &config,
        format!("{settings}\n[parameters]\ndate = \"{day}\"\n"),
    )
    .unwrap();
    // WHEN schemathesis runs all its checks on the described API
    let out = Command::new("python3")
        .args(["-c", "import sys; from schemathesis.cli import schemathesis; sys.argv[0] = 'schemathesis'; schemathesis()"])
        .args(["--config-file", config.to_str().unwrap(), "run", &format!("{INFRA}/openapi.yaml")])
        .args(["--url", &format!("http://127.0.0.1:{port}"), "--checks", "all"])
        .args(["-H", &format!("Authorization: Bearer {key}")])
        .args(["--seed", "20261121", "--no-color"])
        .current_dir(dir.path())
        .output()
        .expect("python3 runs");
    let report = format!("{}\n{}", stdout(&out), stderr(&out));
    // THEN it finds nothing: no server error, no check failure
    assert!(out.status.success(), "schemathesis failed:\n{report}");
    assert!(report.contains("No issues found"), "{report}");
    // "2584 generated, 2584 passed, 2 skipped"
    let generated: usize = report
        .lines()
        .find(|l| l.contains(" generated, "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(generated >= 500, "too few cases ran: {report}");
}

#[test]
fn a_backfill_rolls_up_the_days_and_computes_every_period_and_settings_are_checked() {
    // GIVEN the demo client, and its OpenAI usage attributed to its project
    let dir = tempfile::tempdir().unwrap();
    ok(roi(dir.path(), &["demo"]));
    let project = "acme-logistics-support-assistant";
    let (file, day) = recent_openai_report(dir.path(), 9);
    let (from, to) = (shifted(&day, -3), shifted(&day, 3));
    ok(roi(
        dir.path(),
        &[
            "import",
            "usage",
            &file,
            "--client",
            "acme-logistics",
            "--format",
            "openai",
            "--project",
            project,
        ],
    ));
    // WHEN a week is backfilled
    let out = ok(roi(
        dir.path(),
        &[
            "compute",
            "--from",
            &from,
            "--to",
            &to,
            "--client",
            "acme-logistics",
        ],
    ));
    // THEN every day is rolled up and the five periods are computed as of the last
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["days_rolled_up"], 7, "{report}");
    assert_eq!(report["roi_calculations"], 5, "{report}");
    assert_eq!(report["failures"], serde_json::json!([]));
    // AND --from without --to is refused by the parser
    let half = roi(dir.path(), &["compute", "--from", &from]);
    assert!(
        !half.status.success() && stderr(&half).contains("--to"),
        "{}",
        stderr(&half)
    );

    // settings: partial files keep defaults; bad ones are refused with the reason
    let settings = dir.path().join("settings.json");
    std::fs::write(
        &settings,
        r#"{"hourly_rate_usd": "45", "account_manager_email": "am@consultancy.example"}"#,
    )
    .unwrap();
    let args = [
        "client",
        "settings",
        "--client",
        "acme-logistics",
        "--set",
        settings.to_str().unwrap(),
    ];
    let set = ok(roi(dir.path(), &args));
    let shown: serde_json::Value = serde_json::from_str(&stdout(&set)).unwrap();
    assert_eq!(shown["hourly_rate_usd"], "45");
    assert_eq!(shown["alert_repeat_minutes"], 60);
    assert_eq!(shown["thresholds"]["roi_percentage"]["critical"], "0");
    std::fs::write(
        &settings,
        r#"{"webhooks": [{"url": "http://hooks.example.com", "secret": "0123456789abcdef"}]}"#,
    )
    .unwrap();
    let bad = roi(dir.path(), &args);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("must be an https:// URL"),
        "{}",
        stderr(&bad)
    );
    // a webhook's secret goes to the secret store; the settings keep its name
    std::fs::write(
        &settings,
        r#"{"webhooks": [{"url": "https://hooks.acme.example/roi", "secret": "whsec-0123456789abcdef"}]}"#,
    )
    .unwrap();
    let hooked = roi(dir.path(), &args);
    let shown = stdout(&hooked);
    assert!(!shown.contains("whsec-0123456789abcdef"), "{shown}");
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let name = shown["webhooks"][0]["secret_name"].as_str().unwrap();
    assert!(
        name.starts_with("roi-tracker/webhooks/acme-logistics/"),
        "{name}"
    );
    let kept = name
        .split('/')
        .fold(dir.path().join("secrets"), |p, s| p.join(s));
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        "whsec-0123456789abcdef"
    );
    // AND the settings as shown can be saved again without the secret
    std::fs::write(&settings, serde_json::to_string(&shown).unwrap()).unwrap();
    assert!(roi(dir.path(), &args).status.success());
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        "whsec-0123456789abcdef"
    );
}
