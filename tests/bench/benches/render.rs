//! Report rendering: the monthly report of the sample client (2 pages, 4 charts) rendered
//! in-process by typst, first render of the process (fonts and templates loaded) and warm
//! renders; side by side, WeasyPrint rendering an HTML page of the same figures and the
//! same SVG charts, in its own warm process.
//!
//! It also prints the peak resident memory of the process (the store, the sample data and
//! every render), standing in for the `generate-report` binary, which renders the same way.
//!
//! `cargo bench -p roi-bench --bench render` (needs `python3 -m pip install weasyprint`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use roi_app::Store;
use roi_app::reports::{self, ReportKind, ReportMeta, ReportPeriod};
use roi_domain::ports::{Clock, FixedClock};
use roi_e2e::samples;

const RUNS: usize = 21;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The same figures as an HTML page, with the same charts inline.
fn html(data: &reports::ReportData) -> String {
    let esc = |text: &str| minijinja::HtmlEscape(text).to_string();
    let mut rows = String::new();
    for m in &data.metrics {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&m.label),
            m.baseline,
            m.current,
            m.change_percentage
                .map(|c| format!("{c} %"))
                .unwrap_or_default()
        ));
    }
    let charts: String = roi_reports::charts_for(data)
        .into_iter()
        .map(|(_, svg)| format!("<div class=chart>{svg}</div>"))
        .collect();
    let list = |items: &[String]| -> String {
        items
            .iter()
            .map(|i| format!("<li>{}</li>", esc(i)))
            .collect()
    };
    let roi = data
        .roi
        .as_ref()
        .map(|r| r.roi_percentage.to_string())
        .unwrap_or_default();
    format!(
        "<!doctype html><html><head><meta charset=utf-8><style>
         @page {{ size: A4; margin: 16mm 18mm }} body {{ font-family: sans-serif; font-size: 9.5pt }}
         header {{ background: #0f3d5e; color: white; padding: 12pt }} table {{ width: 100%; border-collapse: collapse }}
         td {{ border-bottom: 0.4pt solid #e5e7eb; padding: 3pt }} .chart {{ width: 48%; display: inline-block }}
         .chart svg {{ width: 100%; height: auto }} .kpi {{ display: inline-block; width: 23%; background: #f3f6f9; padding: 8pt }}
         </style></head><body><header><h1>{}</h1><p>{} — {} {}</p></header>
         <div class=kpi>ROI {roi} %</div><div class=kpi>Payback</div><div class=kpi>Savings</div><div class=kpi>Value</div>
         <h2>Baseline against now</h2><table>{rows}</table><h2>Wins</h2><ul>{}</ul><h2>Areas for improvement</h2><ul>{}</ul>
         <div style='page-break-before: always'></div><h2>Trends</h2>{charts}<h2>Next steps</h2><ul>{}</ul></body></html>",
        esc(&data.client_name),
        esc(&data.project_name),
        esc(&data.title),
        esc(&data.period.label),
        list(&data.wins),
        list(&data.attention),
        list(&data.next_steps),
    )
}

const WEASYPRINT: &str = r#"
import sys, time
from weasyprint import HTML
html = open(sys.argv[1]).read()
runs = int(sys.argv[2])
t = time.perf_counter(); pdf = HTML(string=html).write_pdf(); first = time.perf_counter() - t
times = []
for _ in range(runs):
    t = time.perf_counter(); HTML(string=html).write_pdf(); times.append(time.perf_counter() - t)
times.sort()
print(f"{first * 1000:.1f} {times[len(times) // 2] * 1000:.1f} {len(pdf)}")
"#;

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let fixed = Arc::new(FixedClock::new(
        "2025-05-02T12:00:00Z".parse().expect("a time"),
    ));
    let clock: Arc<dyn Clock> = fixed.clone();
    let table = Arc::new(
        roi_adapters::redb_table::RedbTable::open(&dir.path().join("roi.redb"), clock.clone())
            .expect("redb"),
    );
    let store = Store::new(table, clock);
    let data = runtime.block_on(async {
        let project = samples::sample_project(&store).await;
        samples::sample_usage(
            &store,
            &fixed,
            "2025-02-03".parse().expect("a day"),
            "2025-04-30".parse().expect("a day"),
        )
        .await;
        let period = ReportPeriod::parse(
            ReportKind::Monthly,
            "2025-04",
            "2025-02-03".parse().expect("a day"),
        )
        .expect("a month");
        reports::assemble(&store, &project, ReportKind::Monthly, &period)
            .await
            .expect("report data")
    });
    let meta = ReportMeta {
        version: 1,
        restated: false,
        issued_at: "2025-05-02T12:00:00Z".parse().expect("a time"),
        digest: "0123456789ab".into(),
    };
    let t = Instant::now();
    let first = roi_reports::pdf(&data, &meta).expect("a PDF");
    let first_ms = ms(t.elapsed());
    // Each warm render gets other inputs (another version and client name), as the next
    // report of a process would: typst's memoization cannot hand back a finished document,
    // only what stays the same (fonts, parsed templates, shaped text of unchanged lines).
    let warm: Vec<Duration> = (0..RUNS)
        .map(|i| {
            let mut data = data.clone();
            data.client_name = format!("{} {i}", data.client_name);
            let meta = ReportMeta {
                version: u32::try_from(i).unwrap_or(0) + 2,
                ..meta.clone()
            };
            let t = Instant::now();
            roi_reports::pdf(&data, &meta).expect("a PDF");
            t.elapsed()
        })
        .collect();
    let same: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            roi_reports::pdf(&data, &meta).expect("a PDF");
            t.elapsed()
        })
        .collect();
    let warm_ms = ms(median(warm));
    let charts = {
        let t = Instant::now();
        roi_reports::charts_for(&data);
        ms(t.elapsed())
    };
    println!(
        "monthly report, 2 pages, 4 charts ({} bytes of PDF)",
        first.len()
    );
    println!("  typst, first render of the process (fonts loaded): {first_ms:8.1} ms");
    println!(
        "  typst, warm render, median of {RUNS}:               {warm_ms:8.1} ms  (aim ≤ 50 ms)"
    );
    println!(
        "  typst, the same inputs again (memoized), median:  {:8.1} ms",
        ms(median(same))
    );
    println!("    of which the 4 SVG charts:                        {charts:8.1} ms");
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    println!(
        "  peak resident memory of this process after {} renders: {peak}  (aim ≤ 128 MB)",
        2 * RUNS + 1
    );
    let page = dir.path().join("monthly.html");
    std::fs::write(&page, html(&data)).expect("the HTML page");
    match std::process::Command::new("python3")
        .args([
            "-c",
            WEASYPRINT,
            page.to_str().unwrap_or_default(),
            &RUNS.to_string(),
        ])
        .output()
    {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let f: Vec<f64> = text
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            if let [w_first, w_warm, bytes] = f[..] {
                println!("  WeasyPrint, first render ({bytes} bytes):           {w_first:8.1} ms");
                println!("  WeasyPrint, warm render, median of {RUNS}:          {w_warm:8.1} ms");
                println!(
                    "  ratio typst / WeasyPrint (warm):                   {:8.2}",
                    warm_ms / w_warm
                );
            }
        }
        Ok(out) => println!(
            "  WeasyPrint failed: {} (python3 -m pip install weasyprint)",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        ),
        Err(e) => println!("  WeasyPrint not run: {e}"),
    }
}
