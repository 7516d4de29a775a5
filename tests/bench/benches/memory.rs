//! Memory of a busy client-day's roll-up (issue 19): 1,000,000 events of one day from
//! 50,000 users (800,000 `ai.usage`, 200,000 `agent.execution` of 100 agents), sent
//! through `roi serve` on the embedded store in batches of 100, then rolled up by the
//! release `roi rollup` — the same `rollup_days` that `compute-roi` runs on DynamoDB —
//! under `/usr/bin/time`, twice: the day's roll-up, then the same day rolled up again (as
//! the daily job restates a day a late event changed: a new generation written, the old
//! one deleted). Both run with `MALLOC_ARENA_MAX=2`, as `infra/template.yaml` sets it for
//! the functions. Prints each run's peak resident memory beside the aim (≤ 256 MiB), the
//! time, the largest stored roll-up item as DynamoDB sizes it (limit 400 KB), and checks
//! the stored roll-up's counts. It asserts only those counts.
//!
//! `cargo bench -p roi-bench --bench memory` builds the release `roi` first; sending takes
//! about 2 minutes on two cores, and the day's store is kept in `target/bench/memory-{day}/` for
//! another run on the same day.

#![allow(clippy::unwrap_used, missing_docs)] // a measuring program, not library code

use std::sync::Arc;
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use roi_adapters::dynamodb::{item_size_bytes, to_attributes};
use roi_adapters::redb_table::RedbTable;
use roi_app::Store;
use roi_domain::ports::{Clock, Query, SystemClock, query_all};
use roi_e2e::busy_day::{BATCH, EVENTS, USERS, batch};
use roi_e2e::release_roi::{build, client_with_key, roi, serve};

const SENDERS: usize = 2;

/// Sends events `first..EVENTS` stepping by `SENDERS` batches; returns how many were
/// accepted.
fn send(base: &str, key: &str, sender: usize, day: NaiveDate) -> u64 {
    let agent = ureq::Agent::new_with_defaults();
    let mut accepted = 0;
    for n in (sender..EVENTS / BATCH).step_by(SENDERS) {
        let body = batch(n, day);
        let mut answer = agent
            .post(format!("{base}/v1/events"))
            .header("Authorization", format!("Bearer {key}"))
            .header("Content-Type", "application/cloudevents-batch+json")
            .send(body)
            .unwrap_or_else(|e| panic!("batch {n}: {e}"));
        let text = answer.body_mut().read_to_string().expect("a report");
        let report: serde_json::Value = serde_json::from_str(&text).expect("a JSON report");
        accepted += report["accepted"].as_u64().unwrap_or(0);
    }
    accepted
}

fn main() {
    build();
    let day = Utc::now().date_naive() - chrono::Days::new(1);
    // The day's store is kept under target/bench and reused by a second run of the same
    // day (sending takes most of the time).
    let data = &roi_e2e::release_roi::root().join(format!("target/bench/memory-{day}"));
    let ready = data.join("sent");
    let client = "memory-test".to_owned();
    let sent = if ready.exists() {
        None
    } else {
        let _ = std::fs::remove_dir_all(data);
        std::fs::create_dir_all(data).expect("the data directory");
        let (id, key) = client_with_key(data, "Memory Test");
        assert_eq!(id, client);
        let (mut server, port) = serve(data);
        let base = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        let accepted: u64 = std::thread::scope(|s| {
            let senders: Vec<_> = (0..SENDERS)
                .map(|n| {
                    let (base, key) = (&base, &key);
                    s.spawn(move || send(base, key, n, day))
                })
                .collect();
            senders
                .into_iter()
                .map(|h| h.join().expect("a sender"))
                .sum()
        });
        let sent = start.elapsed();
        let _ = server.kill();
        let _ = server.wait();
        assert_eq!(accepted, EVENTS as u64, "events accepted");
        std::fs::write(&ready, "").expect("the marker");
        Some(sent)
    };

    // The roll-up, as a process of its own, under GNU time: peak RSS (KiB) and seconds.
    let roll_up = || {
        let out = std::process::Command::new("/usr/bin/time")
            .args(["-f", "%M %e"])
            .arg(roi_e2e::release_roi::root().join("target/release/roi"))
            .args(["rollup", "--client", &client, "--from", &day.to_string()])
            .envs(roi(data).get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
            .env("MALLOC_ARENA_MAX", "2")
            .output()
            .expect("/usr/bin/time runs (apt-get install time)");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "roi rollup failed: {stderr}");
        let measured: Vec<f64> = stderr
            .lines()
            .last()
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        (measured[0], measured[1])
    };
    let runs = [roll_up(), roll_up()];

    // What was stored: the roll-up's counts, its items' sizes, the archive.
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let table = Arc::new(RedbTable::open(&data.join("roi.redb"), Arc::clone(&clock)).unwrap());
    let store = Store::new(table.clone(), clock);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client_id = client.parse().unwrap();
    let rollup = runtime
        .block_on(store.rollup(&client_id, day))
        .unwrap()
        .expect("the day's roll-up");
    assert_eq!(rollup.events, EVENTS as u64);
    assert_eq!(rollup.users.len(), USERS);
    assert_eq!(rollup.usage.events, (EVENTS - EVENTS / 5) as u64);
    let executions: u64 = rollup.agents.values().map(|a| a.executions).sum();
    assert_eq!(executions, (EVENTS / 5) as u64);
    let items = runtime
        .block_on(query_all(
            table.as_ref(),
            Query::partition(roi_app::store::keys::rollup(&client_id, day)),
        ))
        .unwrap();
    let largest = items
        .iter()
        .map(|i| item_size_bytes(&to_attributes(i.clone()).unwrap()))
        .max()
        .unwrap_or(0);
    let archived = std::fs::metadata(
        data.join("archive")
            .join(roi_app::store::keys::archived_events(&client_id, day)),
    )
    .map_or(0, |m| m.len());

    println!(
        "memory benchmark: one client-day of {EVENTS} events ({} ai.usage, {} agent.execution), {USERS} users",
        EVENTS - EVENTS / 5,
        EVENTS / 5
    );
    match sent {
        Some(sent) => println!(
            "  sent through roi serve in batches of {BATCH} by {SENDERS} senders: {:.1} s ({:.0} events/s)",
            sent.as_secs_f64(),
            EVENTS as f64 / sent.as_secs_f64()
        ),
        None => println!(
            "  the day's store of an earlier run is rolled up again: {}",
            data.display()
        ),
    }
    for ((peak_kib, seconds), what) in runs.iter().zip(["the day", "the day again"]) {
        println!(
            "  roi rollup of {what} (page by page, archived as it goes): {seconds:.2} s, peak RSS {:.0} MiB (aim ≤ 256 MiB)",
            peak_kib / 1024.0
        );
    }
    println!(
        "  stored roll-up: {} items, the largest {:.1} KB as DynamoDB sizes it (limit 400 KB); archive {:.1} MB gzip",
        items.len(),
        largest as f64 / 1000.0,
        archived as f64 / 1e6
    );
    println!(
        "  checked: {} events, {} users, {} model calls, {executions} agent runs",
        rollup.events,
        rollup.users.len(),
        rollup.usage.events
    );
}
