//! `roi export focus` checked by the FinOps Foundation's FOCUS validator (PyPI
//! `focus-validator`, installed by tests/run.sh in `target/iac/focus/`), and its costs
//! against the providers' own cost reports for the same usage.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use rust_decimal::Decimal;

use crate::browser::roi;

/// What the export declares it supports (FOCUS applicability criteria).
const APPLICABILITY: &str = "ACCOUNT_NAMING_SUPPORTED,NEGOTIATED_PRICING_SUPPORTED,\
PUBLIC_PRICE_LIST_SUPPORTED,USAGE_MEASUREMENT_SUPPORTED,UNIT_PRICING_SUPPORTED,\
SUB_ACCOUNT_SUPPORTED,TAGGING_SUPPORTED";

/// Rules the export fails by design. InvoiceId-C-004-C ("MUST be null when the charge is
/// not associated with an invoice") and InvoiceId-C-005-C ("MUST NOT be null when it is")
/// carry no condition in the validator's 1.2 model, so every InvoiceId fails one of them;
/// metered usage is not on an invoice, so the export keeps it null and fails C-005.
const EXPECTED_FAILURES: [&str; 1] = ["InvoiceId-C-005-C"];

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = roi(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "roi {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The validator's site-packages: it reads its currency list by a path relative to it.
fn validator_home() -> PathBuf {
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/iac/focus/lib");
    let python = std::fs::read_dir(&lib)
        .unwrap_or_else(|e| panic!("{}: {e}; run the tests with tests/run.sh", lib.display()))
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .expect("a python3.x folder in the validator's environment");
    python.path().join("site-packages")
}

/// Runs the validator on `csv`; returns the ids of the failed rules and the passed count.
fn validate(csv: &Path) -> (BTreeSet<String>, usize) {
    let home = validator_home();
    let out = Command::new(home.join("../../../bin/focus-validator"))
        .current_dir(&home)
        .args(["--data-file", csv.to_str().unwrap()])
        .args(["--validate-version", "1.2", "--block-download"])
        .args(["--applicability-criteria", APPLICABILITY])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let failed = text
        .split("--- Failures ---")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("- "))
        .filter_map(|l| l.split(':').next())
        .map(str::to_owned)
        .collect();
    let passed = text.lines().filter(|l| l.contains(": PASS")).count();
    (failed, passed)
}

fn column_sums(csv: &str, by: &str, column: &str) -> BTreeMap<String, Decimal> {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (key, value) = (at(by), at(column));
    let mut sums = BTreeMap::new();
    for record in reader.records() {
        let record = record.unwrap();
        *sums.entry(record[key].to_owned()).or_default() +=
            record[value].parse::<Decimal>().unwrap();
    }
    sums
}

#[test]
fn the_focus_export_passes_the_focus_validator_and_matches_the_providers_cost_reports() {
    // GIVEN a client whose AI usage came in as the providers' usage reports
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["client", "add", "Acme", "--time-zone", "Asia/Tokyo"]);
    // (the samples' days moved to recent ones, which imports still take: Anthropic's
    // 2026-11-18 and 19 to ten and nine days ago, OpenAI's 2026-11-21 to seven)
    let shift = crate::samples::shift_to(10);
    let mut sample = None;
    for (file, format) in [
        ("anthropic-messages-usage-report.json", "anthropic"),
        ("openai-usage-completions.json", "openai"),
    ] {
        let moved = crate::samples::moved(d, file, shift);
        ok(
            d,
            &[
                "import",
                "usage",
                &moved.path,
                "--client",
                "acme",
                "--format",
                format,
            ],
        );
        sample = Some(moved);
    }
    let sample = sample.unwrap();

    // WHEN the days around them are exported as FOCUS
    let csv_path = d.join("focus.csv");
    let out = roi(d)
        .args(["export", "focus", "--client", "acme", "--from"])
        .arg(sample.day("2026-11-17"))
        .args(["--to", &sample.day("2026-11-22")])
        .args(["--out", csv_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("17 FOCUS rows for acme"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(&csv_path).unwrap();

    // THEN the FinOps Foundation's validator passes every rule but the contradictory pair
    let (failed, passed) = validate(&csv_path);
    assert_eq!(
        failed,
        EXPECTED_FAILURES.iter().map(|s| s.to_string()).collect(),
        "rules failed beyond the expected ones"
    );
    assert!(passed > 200, "only {passed} rules passed");

    // AND each provider's billed cost is its cost report's total for the same usage
    // (the samples in events/usage-reports, worked out at list price: 8.9296 and 0.58496
    // USD, 349 web searches at $10 per 1,000 among them)
    let billed = column_sums(&csv, "ProviderName", "BilledCost");
    let want = |a: &str, o: &str| {
        BTreeMap::from([
            ("Anthropic".to_owned(), a.parse().unwrap()),
            ("OpenAI".to_owned(), o.parse().unwrap()),
        ])
    };
    assert_eq!(billed, want("8.9296", "0.58496"));
    assert_eq!(column_sums(&csv, "ProviderName", "ListCost"), billed);
    let searches = column_sums(&csv, "SkuId", "BilledCost");
    assert_eq!(
        searches["claude-sonnet-4-5:web_search"],
        "3.49".parse().unwrap()
    );

    // AND a doctored row is caught by the validator (it checks what it claims to): a
    // purchase has no consumed quantity
    let doctored = d.join("doctored.csv");
    std::fs::write(&doctored, csv.replacen(",Usage,", ",Purchase,", 1)).unwrap();
    let (failed, _) = validate(&doctored);
    assert!(failed.contains("ConsumedQuantity-C-004-C"), "{failed:?}");
}
