//! The provider reports of `events/usage-reports/`, moved to recent days. Their days are
//! 2026-11-18 and 2026-11-19 (Anthropic's) and 2026-11-21 (OpenAI's), UTC; imports refuse
//! events older than the roll-up window (`RECOMPUTE_WINDOW_DAYS`, 88 days), so a test that
//! imports them as they are would start failing about three months after they were written.

use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::Value;

const REPORTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/usage-reports");

/// The samples' first day (UTC): the Anthropic reports'.
const FIRST_DAY: &str = "2026-11-18";

/// A sample report written with its dates moved by [`Recent::shift_days`].
pub struct Recent {
    /// Where the moved report was written.
    pub path: String,
    /// How many days every date was moved by.
    pub shift_days: i64,
}

impl Recent {
    /// The sample's `day` (YYYY-MM-DD) moved as the report's dates were.
    pub fn day(&self, day: &str) -> String {
        (day.parse::<NaiveDate>().unwrap() + Duration::days(self.shift_days)).to_string()
    }
}

/// How far to move the samples, all by the same days, so that their first day
/// ([`FIRST_DAY`]) is `days_ago` days before today (UTC).
pub fn shift_to(days_ago: i64) -> i64 {
    days_to(FIRST_DAY.parse().unwrap(), days_ago)
}

/// The days from `day` to `days_ago` days before today (UTC).
fn days_to(day: NaiveDate, days_ago: i64) -> i64 {
    (Utc::now().date_naive() - Duration::days(days_ago) - day).num_days()
}

/// The first day of the report `file` (UTC): its earliest `starting_at` or `start_time`.
fn first_day(file: &str) -> NaiveDate {
    fn walk(v: &Value, first: &mut Option<NaiveDate>) {
        let day = match v {
            Value::Object(map) => {
                map.values().for_each(|v| walk(v, first));
                match (map.get("starting_at"), map.get("start_time")) {
                    (Some(Value::String(s)), _) => s.parse::<DateTime<Utc>>().ok(),
                    (_, Some(Value::Number(n))) => DateTime::from_timestamp(n.as_i64().unwrap(), 0),
                    _ => None,
                }
            }
            Value::Array(items) => {
                items.iter().for_each(|i| walk(i, first));
                None
            }
            _ => None,
        };
        if let Some(d) = day.map(|t| t.date_naive()) {
            *first = Some(first.map_or(d, |f| f.min(d)));
        }
    }
    let text = std::fs::read_to_string(format!("{REPORTS}/{file}")).unwrap();
    let mut first = None;
    walk(&serde_json::from_str(&text).unwrap(), &mut first);
    first.unwrap()
}

/// The sample report `file` with every date moved by `shift_days`, written into `dir`:
/// Anthropic's `starting_at` and `ending_at` (RFC 3339), OpenAI's `start_time` and
/// `end_time` (Unix seconds). Amounts and counts are kept as they are.
pub fn moved(dir: &Path, file: &str, shift_days: i64) -> Recent {
    fn walk(v: &mut Value, days: i64) {
        match v {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    match (k.as_str(), &*v) {
                        ("starting_at" | "ending_at", Value::String(s)) => {
                            let t: DateTime<Utc> = s.parse().unwrap();
                            *v = (t + Duration::days(days))
                                .format("%Y-%m-%dT%H:%M:%SZ")
                                .to_string()
                                .into();
                        }
                        ("start_time" | "end_time", Value::Number(n)) => {
                            *v = (n.as_i64().unwrap() + days * 86_400).into();
                        }
                        _ => walk(v, days),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, days)),
            _ => {}
        }
    }
    let text = std::fs::read_to_string(format!("{REPORTS}/{file}")).unwrap();
    let mut report: Value = serde_json::from_str(&text).unwrap();
    walk(&mut report, shift_days);
    let path = dir.join(file);
    std::fs::write(&path, report.to_string()).unwrap();
    Recent {
        path: path.to_str().unwrap().to_owned(),
        shift_days,
    }
}

/// [`moved`] so that the sample's own first day is `days_ago` days before today (UTC).
pub fn recent(dir: &Path, file: &str, days_ago: i64) -> Recent {
    moved(dir, file, days_to(first_day(file), days_ago))
}

#[test]
fn a_moved_sample_keeps_its_figures_and_moves_every_date() {
    let dir = tempfile::tempdir().unwrap();
    let r = moved(dir.path(), "anthropic-cost-report.json", 30);
    let text = std::fs::read_to_string(&r.path).unwrap();
    assert!(
        text.contains("\"starting_at\":\"2026-12-18T00:00:00Z\""),
        "{text}"
    );
    assert!(
        text.contains("\"ending_at\":\"2026-12-20T00:00:00Z\""),
        "{text}"
    );
    assert!(!text.contains("2026-11-1"), "{text}");
    assert_eq!(r.day("2026-11-19"), "2026-12-19");
    // the OpenAI bucket of 2026-11-21 00:00 UTC to 2026-11-22, a day earlier
    let o = moved(dir.path(), "openai-usage-completions.json", -1);
    let text = std::fs::read_to_string(&o.path).unwrap();
    assert!(text.contains("\"start_time\":1795132800"), "{text}");
    assert!(text.contains("\"end_time\":1795219200"), "{text}");
    // AND each report's own first day is the one moved to a given day
    assert_eq!(
        first_day("anthropic-cost-report.json").to_string(),
        FIRST_DAY
    );
    assert_eq!(first_day("openai-costs.json").to_string(), "2026-11-21");
    let r = recent(dir.path(), "openai-costs.json", 3);
    assert_eq!(
        r.day("2026-11-21"),
        (Utc::now().date_naive() - Duration::days(3)).to_string()
    );
}
