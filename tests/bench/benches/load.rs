//! A load test of `roi serve` on the embedded store (issue 19), driven by a real HTTP load
//! generator, wrk (Debian's `wrk`; `apt-get install wrk`), on loopback:
//!
//! 1. `POST /v1/events` with CloudEvents batches of 100 `ai.usage` events, every event new
//!    (ids from wrk's thread and request counters), for 15 s on 8 connections, the client's
//!    per-key budget lifted;
//! 2. `GET /forms/{token}`, the self-reporting form page, for 10 s on 8 connections.
//!
//! Prints sustained requests/s, events/s, p50 and p99 latency, and the rates per core,
//! beside the anchors: the README's earlier ~23,700 events/s, and Lago's ~10,000 events/s
//! on one PostgreSQL. `cargo bench -p roi-bench --bench load` builds the release `roi` first.
//! The generator shares the machine's cores with the server, so the figures are a floor.

use std::process::Command;

use roi_e2e::release_roi::{build, client_with_key, last_line, roi, serve};

const EVENTS_PER_REQUEST: u32 = 100;
const CONNECTIONS: &str = "8";

/// wrk's script: each request a batch of new events, stamped now.
const POST_SCRIPT: &str = r#"
local counter = 0
local thread_id = 0
function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
end
function init(args)
  key = args[1]
end
function request()
  counter = counter + 1
  local now = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local parts = {}
  for i = 1, 100 do
    parts[i] = string.format(
      '{"specversion":"1.0","id":"load-%d-%d-%d","source":"load","type":"ai.usage","time":"%s","data":{"model":"claude-sonnet-4-5","input_tokens":%d,"output_tokens":400,"user":"user-%d","department":"support"}}',
      id, counter, i, now, 1000 + i, (counter * 7 + i) % 500)
  end
  local body = "[" .. table.concat(parts, ",") .. "]"
  return wrk.format("POST", "/v1/events", {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/cloudevents-batch+json",
  }, body)
end
"#;

/// What wrk reported: requests/s, p50 and p99 in ms, non-2xx answers.
struct Run {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
    requests: u64,
}

fn millis(text: &str) -> f64 {
    let t = text.trim();
    let (n, scale) = if let Some(v) = t.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = t.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = t.strip_suffix('s') {
        (v, 1000.0)
    } else {
        (t, 1.0)
    };
    n.parse::<f64>().unwrap_or(f64::NAN) * scale
}

fn wrk(args: &[&str]) -> Run {
    let out = Command::new("wrk")
        .args(["-t", "2", "-c", CONNECTIONS, "--latency"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("wrk does not run ({e}); install it: apt-get install wrk"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && !text.is_empty(),
        "wrk {args:?} failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix(prefix)
                    .map(str::trim)
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    };
    let requests = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Run {
        rps: field("Requests/sec:").parse().unwrap_or(f64::NAN),
        p50_ms: millis(&field("50%")),
        p99_ms: millis(&field("99%")),
        non_2xx: field("Non-2xx or 3xx responses:").parse().unwrap_or(0),
        requests,
    }
}

fn main() {
    build();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path();
    let (client, key) = client_with_key(data, "Load Test");
    let project = last_line(roi(data).args([
        "project",
        "add",
        "--client",
        &client,
        "Bot",
        "--go-live",
        "2025-01-06",
        "--investment",
        "10000",
    ]));
    let (mut server, port) = serve(data);
    let base = format!("http://127.0.0.1:{port}");
    let form = last_line(roi(data).args([
        "form-link",
        "--project",
        &project,
        "--kind",
        "ongoing",
        "--base-url",
        &base,
    ]));
    let script = data.join("post.lua");
    std::fs::write(&script, POST_SCRIPT).expect("the script is written");

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let events = wrk(&[
        "-d",
        "15s",
        "-s",
        script.to_str().expect("a UTF-8 path"),
        &format!("{base}/v1/events"),
        "--",
        &key,
    ]);
    let page = wrk(&["-d", "10s", &form]);
    let _ = server.kill();
    let _ = server.wait();

    let events_per_s = events.rps * f64::from(EVENTS_PER_REQUEST);
    println!(
        "POST /v1/events, batches of {EVENTS_PER_REQUEST}, {CONNECTIONS} connections, 15 s: {:.0} requests/s, {:.0} events/s ({:.0} per core of {cores}); p50 {:.1} ms, p99 {:.1} ms; {} requests, {} not 2xx",
        events.rps,
        events_per_s,
        events_per_s / cores,
        events.p50_ms,
        events.p99_ms,
        events.requests,
        events.non_2xx
    );
    println!(
        "  against ~23,700 events/s measured before (README), and Lago's ~10,000 events/s on one PostgreSQL: ratio {:.2} and {:.2}",
        events_per_s / 23_700.0,
        events_per_s / 10_000.0
    );
    println!(
        "GET /forms/{{token}}, {CONNECTIONS} connections, 10 s: {:.0} requests/s ({:.0} per core); p50 {:.1} ms, p99 {:.1} ms; {} not 2xx",
        page.rps,
        page.rps / cores,
        page.p50_ms,
        page.p99_ms,
        page.non_2xx
    );
}
