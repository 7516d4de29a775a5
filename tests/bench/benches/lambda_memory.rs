//! Memory of the `compute-roi` binary itself (issue 19): the release binary, run as Lambda
//! runs it against the Runtime API stand-in (`roi_e2e::runtime_api`), takes the daily job of
//! one client whose yesterday holds the busy day of the memory benchmark (1,000,000 events,
//! 50,000 users, `roi_e2e::busy_day`) on DynamoDB, and its peak resident memory (`VmHWM`)
//! is printed beside the aim (≤ 256 MiB), with the time and the stored roll-up's counts
//! checked. It asserts only those counts.
//!
//! moto answers a query in time that grows with the partition (0.74 s a page at 20,000
//! items), too slow for a 1,000,000-event day, so DynamoDB here is dynalite (npm: 0.1 s a
//! page), which the benchmark installs under `target/bench/dynalite` and starts itself, its
//! table in memory: on disk its LevelDB grew by about 40 KB an event (12 GB at 300,000
//! events) and filled the disk. dynalite has no TTL API, and no raw-event archive is
//! written (`ROI_ARCHIVE_BUCKET` unset): the embedded-store benchmark (`--bench memory`)
//! archives.
//!
//! `cargo bench -p roi-bench --bench lambda_memory` builds the release `compute-roi`
//! first. The events are stored through `roi_app::ingest` as `ingest-events` stores them
//! (about 20 minutes on two cores); then the daily job runs twice, each time in a binary of
//! its own, as the memory benchmark's two runs: the day's first roll-up, then the day
//! rolled up again (a new generation written, the old one deleted).

#![allow(clippy::unwrap_used, missing_docs)] // a measuring program, not library code

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use roi_adapters::dynamodb::DynamoTable;
use roi_app::Store;
use roi_app::ingest::ingest;
use roi_app::pricing::PriceTable;
use roi_app::setup::add_client;
use roi_domain::ClientId;
use roi_domain::client::ClientDraft;
use roi_domain::event::BodyFormat;
use roi_domain::ports::{Clock, SystemClock};
use roi_e2e::busy_day::{BATCH, EVENTS, USERS, batch};
use roi_e2e::moto::local_sdk_config;
use roi_e2e::release_roi::{build_release, root};
use roi_e2e::runtime_api::{Answer, run_binary_within};

const SENDERS: usize = 4;
const TABLE: &str = "roi-lambda-memory";

/// dynalite on a free loopback port, its tables in memory; installs it first if needed.
fn dynalite() -> (Child, String) {
    let prefix = root().join("target/bench/dynalite");
    let cli = prefix.join("node_modules/dynalite/cli.js");
    if !cli.exists() {
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg("dynalite@4")
            .status()
            .expect("npm runs (apt-get install nodejs npm)");
        assert!(status.success(), "npm install dynalite failed");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let mut child = Command::new("node")
        // two million items as JSON text: past node's default heap
        .arg("--max-old-space-size=12288")
        .arg(&cli)
        .args(["--port", &port.to_string(), "--createTableMs", "0"])
        .stdout(Stdio::null())
        .spawn()
        .expect("node starts dynalite");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (child, url);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("dynalite did not start at {url}");
}

/// The benchmark's table in dynalite at `url`.
async fn dynalite_table(url: &str) -> DynamoTable {
    let config = local_sdk_config(url).await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    DynamoTable::new(aws_sdk_dynamodb::Client::new(&config), TABLE, clock)
}

/// Stores the day's events through ingestion, `SENDERS` batches at a time.
async fn send(store: &Store, client: &ClientId, day: chrono::NaiveDate) -> u64 {
    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..SENDERS {
        let (store, client) = (store.clone(), client.clone());
        senders.spawn(async move {
            let mut accepted = 0;
            for n in (sender..EVENTS / BATCH).step_by(SENDERS) {
                let body = batch(n, day);
                let report = ingest(
                    &store,
                    PriceTable::shipped(),
                    &client,
                    body.as_bytes(),
                    BodyFormat::Batch,
                )
                .await
                .unwrap_or_else(|e| panic!("batch {n}: {e}"));
                accepted += report.accepted as u64;
                if sender == 0 && n % 1_000 == 0 {
                    println!("  … {} events", n * BATCH);
                }
            }
            accepted
        });
    }
    senders.join_all().await.into_iter().sum()
}

/// One run of the daily job for `client` in the release binary: its answer, time and peak
/// RSS in KiB.
async fn daily_job(url: &str, client: &ClientId) -> (serde_json::Value, Duration, Option<u64>) {
    let binary = root().join("target/release/compute-roi");
    let start = Instant::now();
    let run = run_binary_within(
        binary.to_str().unwrap(),
        &[
            ("AWS_ENDPOINT_URL", url),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("ROI_TABLE", TABLE),
            (
                "ROI_PSEUDONYM_KEY",
                "a-benchmark-pseudonym-key-of-32-bytes-or-more",
            ),
            ("ROI_MAIL_FROM", "roi@consultancy.example"),
            ("ROI_FORM_SECRET", "a-benchmark-secret-of-32-bytes-or-more"),
            ("ROI_BASE_URL", "https://forms.example.com"),
            ("MALLOC_ARENA_MAX", "2"),
        ],
        vec![(
            "bench-daily".into(),
            serde_json::json!({"job": "daily", "client": client.to_string()}),
        )],
        Duration::from_secs(1_800),
    )
    .await;
    let took = start.elapsed();
    let Answer::Response(answer) = &run.answers[0] else {
        panic!("the function failed: {:?}\n{}", run.answers[0], run.stderr);
    };
    (answer.clone(), took, run.peak_rss_kib)
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("unknown".to_owned(), |k| {
        format!("{:.0} MiB", k as f64 / 1024.0)
    })
}

#[tokio::main]
async fn main() {
    build_release("the release compute-roi", &["compute-roi"]);
    let day = Utc::now().date_naive() - chrono::Days::new(1);
    let (mut server, url) = dynalite();
    let table = Arc::new(dynalite_table(&url).await);
    let store = Store::new(table.clone(), Arc::new(SystemClock));
    let client: ClientId = "lambda-memory".parse().unwrap();
    // dynalite has no TTL API: the table is made, then found by the second call
    let _ = table.create_if_missing().await;
    table.create_if_missing().await.expect("dynalite's table");
    let draft = ClientDraft {
        company_name: "Lambda Memory".into(),
        time_zone: Some("UTC".into()),
        ..ClientDraft::default()
    };
    let (added, _) = add_client(&store, draft, "bench").await.unwrap();
    assert_eq!(added.id, client);
    let start = Instant::now();
    let accepted = send(&store, &client, day).await;
    assert_eq!(accepted, EVENTS as u64, "events accepted");
    let sent = start.elapsed();

    // The daily job, as EventBridge Scheduler sends it, to the release binary: the day's
    // first roll-up, then the day again.
    let (answer, first, first_rss) = daily_job(&url, &client).await;
    let (_, again, again_rss) = daily_job(&url, &client).await;
    let rollup = store
        .rollup(&client, day)
        .await
        .unwrap()
        .expect("the day's roll-up");
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(rollup.events, EVENTS as u64);
    assert_eq!(rollup.users.len(), USERS);
    assert_eq!(rollup.usage.events, (EVENTS - EVENTS / 5) as u64);
    let executions: u64 = rollup.agents.values().map(|a| a.executions).sum();
    assert_eq!(executions, (EVENTS / 5) as u64);

    println!(
        "lambda memory benchmark: compute-roi's daily job on one client-day of {EVENTS} events, {USERS} users, DynamoDB by dynalite"
    );
    println!(
        "  stored through ingestion, {SENDERS} batches of {BATCH} at a time: {:.1} s ({:.0} events/s)",
        sent.as_secs_f64(),
        EVENTS as f64 / sent.as_secs_f64()
    );
    println!("  compute-roi, daily job (MALLOC_ARENA_MAX=2 as the template sets), aim ≤ 256 MiB:");
    println!(
        "    the day: peak RSS {}, {:.1} s; answered {answer}",
        mib(first_rss),
        first.as_secs_f64()
    );
    println!(
        "    the day again: peak RSS {}, {:.1} s",
        mib(again_rss),
        again.as_secs_f64()
    );
    println!(
        "  checked: {} events, {} users, {} model calls, {executions} agent runs",
        rollup.events,
        rollup.users.len(),
        rollup.usage.events
    );
}
