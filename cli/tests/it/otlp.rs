//! `POST /v1/traces` under `roi serve`, fed by a real OpenTelemetry client: the Python SDK
//! with its OTLP/HTTP protobuf exporter (tests/run.sh installs it in
//! `target/iac/otel/`), exporting a GenAI span in OTel's spelling, one in OpenInference's,
//! and a plain HTTP span. The stored events' cost is checked against the price table's list
//! prices worked out here.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use roi_domain::event::EventData;
use rust_decimal::Decimal;

use crate::browser::{Running, announced_port, roi};

const EXPORT: &str = r#"
import sys
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

endpoint, key = sys.argv[1], sys.argv[2]
provider = TracerProvider(resource=Resource.create({"service.name": "support-assistant"}))
provider.add_span_processor(SimpleSpanProcessor(
    OTLPSpanExporter(endpoint=endpoint, headers={"Authorization": "Bearer " + key})))
tracer = provider.get_tracer("roi-tracker-test")
with tracer.start_as_current_span("chat claude-sonnet-4-5") as s:
    s.set_attribute("gen_ai.provider.name", "anthropic")
    s.set_attribute("gen_ai.request.model", "claude-sonnet-4-5")
    s.set_attribute("gen_ai.response.model", "claude-sonnet-4-5-20250929")
    s.set_attribute("gen_ai.usage.input_tokens", 1200)
    s.set_attribute("gen_ai.usage.cache_read.input_tokens", 200)
    s.set_attribute("gen_ai.usage.output_tokens", 300)
    s.set_attribute("gen_ai.agent.name", "triage")
with tracer.start_as_current_span("llm") as s:
    s.set_attribute("llm.model_name", "gpt-4o")
    s.set_attribute("llm.token_count.prompt", 1000)
    s.set_attribute("llm.token_count.completion", 100)
with tracer.start_as_current_span("GET /tickets") as s:
    s.set_attribute("http.request.method", "GET")
provider.force_flush()
provider.shutdown()
"#;

fn python() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/iac/otel/bin/python")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = roi(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "roi {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_python_opentelemetry_exporter_sends_genai_spans_that_are_stored_priced() {
    // GIVEN a client with an API key, served by roi serve
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &["client", "add", "Acme Logistics", "--time-zone", "UTC"],
    );
    let key = ok(d, &["apikey", "create", "--client", "acme-logistics"])
        .lines()
        .last()
        .unwrap()
        .to_owned();
    let mut child = roi(d)
        .args(["serve", "--port", "0", "--no-schedule"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let port = announced_port(&mut child);
    let server = Running(child);
    // WHEN the Python SDK exports three spans to /v1/traces
    let script = d.join("export.py");
    std::fs::write(&script, EXPORT).unwrap();
    let endpoint = format!("http://127.0.0.1:{port}/v1/traces");
    let out = Command::new(python())
        .arg(&script)
        .args([&endpoint, &key])
        .output()
        .unwrap_or_else(|e| panic!("{} ({e}); tests/run.sh installs it", python().display()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("Failed to export"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(server);
    // THEN the two GenAI spans are priced ai.usage events; the HTTP span is not stored
    let clock: Arc<dyn roi_domain::ports::Clock> = Arc::new(roi_domain::ports::SystemClock);
    let store = roi_app::Store::new(
        Arc::new(
            roi_adapters::redb_table::RedbTable::open(&d.join("roi.redb"), clock.clone()).unwrap(),
        ),
        clock,
    );
    let client: roi_domain::ClientId = "acme-logistics".parse().unwrap();
    let today = chrono::Utc::now().date_naive();
    let mut events = Vec::new();
    for day in [today - chrono::Days::new(1), today] {
        events.extend(futures_executor(store.events_of_day(&client, day)).unwrap());
    }
    let mut costs: Vec<(String, u64, u64, u64, Decimal)> = events
        .iter()
        .filter(|e| e.source == "otlp")
        .map(|e| {
            let EventData::AiUsage(u) = &e.data else {
                panic!("{e:?}")
            };
            (
                u.model.clone(),
                u.input_tokens,
                u.cache_read_tokens,
                u.output_tokens,
                e.cost_usd.expect("priced"),
            )
        })
        .collect();
    costs.sort_by(|a, b| a.0.cmp(&b.0));
    // list prices, USD per million tokens (shared/app/prices/prices.csv, 2026-11-30):
    // Sonnet 4.5 input 3.00, output 15.00, cache read 0.30; GPT-4o input 2.50, output 10.00.
    // OTel's 1,200 input tokens include the 200 read from the cache.
    let m = |v: i64| Decimal::new(v, 6);
    assert_eq!(
        costs,
        [
            (
                "claude-sonnet-4-5-20250929".to_owned(),
                1000,
                200,
                300,
                m(1000 * 3_000_000 + 200 * 300_000 + 300 * 15_000_000) / Decimal::from(1_000_000),
            ),
            (
                "gpt-4o".to_owned(),
                1000,
                0,
                100,
                m(1000 * 2_500_000 + 100 * 10_000_000) / Decimal::from(1_000_000),
            ),
        ]
    );
    assert_eq!(events.iter().filter(|e| e.source == "otlp").count(), 2);
}

/// Runs a future to completion on a fresh runtime (the test is synchronous: the server and
/// the exporter are processes).
fn futures_executor<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}
