//! The busy client-day of issue 19's memory benchmarks: [`EVENTS`] events of one day from
//! [`USERS`] users, 800,000 `ai.usage` and 200,000 `agent.execution` of 100 agents, as
//! CloudEvents JSON.

use chrono::{Duration, NaiveDate};

/// Events in the day.
pub const EVENTS: usize = 1_000_000;
/// Distinct users among them.
pub const USERS: usize = 50_000;
/// Events in a batch as the benchmarks send them.
pub const BATCH: usize = 100;

/// Batch `n` of `day` (events `n * BATCH..(n + 1) * BATCH`) as a CloudEvents batch body.
pub fn batch(n: usize, day: NaiveDate) -> String {
    let events: Vec<String> = (n * BATCH..(n + 1) * BATCH)
        .map(|i| event(i, day))
        .collect();
    format!("[{}]", events.join(","))
}

/// Event `i` of `day`: every fifth an agent run, the others model calls; spread over the
/// day in time order.
pub fn event(i: usize, day: NaiveDate) -> String {
    let time = day.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
        + Duration::microseconds((i as i64) * 86_400_000_000 / EVENTS as i64);
    let time = time.format("%Y-%m-%dT%H:%M:%S%.6fZ");
    let user = i % USERS;
    if i.is_multiple_of(5) {
        let outcome = if i.is_multiple_of(35) {
            "failure"
        } else {
            "success"
        };
        format!(
            r#"{{"specversion":"1.0","id":"m-{i}","source":"memory","type":"agent.execution","time":"{time}","data":{{"outcome":"{outcome}","duration_ms":{},"retries":0,"agent":"agent-{:03}","user":"user-{user}"}}}}"#,
            100 + i % 5_000,
            i % 100
        )
    } else {
        format!(
            r#"{{"specversion":"1.0","id":"m-{i}","source":"memory","type":"ai.usage","time":"{time}","data":{{"model":"claude-sonnet-4-5","input_tokens":{},"output_tokens":300,"user":"user-{user}","department":"dept-{:02}","agent":"agent-{:03}"}}}}"#,
            1_000 + i % 1_000,
            i % 20,
            i % 100
        )
    }
}
