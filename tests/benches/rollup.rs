//! Roll-up benchmark (issue 5): prints its figures; it asserts nothing.
//!
//! `cargo bench -p roi-e2e --bench rollup` (needs `python3 -m pip install duckdb`)
//!
//! 1. 1,000,000 synthetic `agent.execution` events of one day, as stored (NDJSON), over
//!    10,000 agents and 50,000 users: read line by line into the fold (`DayFold`, as
//!    `rollup_days` reads pages), per agent a count, outcome counts, a sum of retries and
//!    a DDSketch of run times, and the day's distinct users; single thread. Side by side,
//!    in the same run: DuckDB (`SET threads=1`) computing the per-agent aggregates and
//!    exact quantiles from the same file (not the distinct users). Aim: ratio ≤ 1.
//! 2. Sketch p50 / p95 / p99 against exact quantiles over every agent: relative error ≤ 1 %.
//! 3. The process's peak resident memory (`VmHWM`) after the roll-up: the day is never
//!    held whole. Aim ≤ 256 MiB.

#![allow(clippy::unwrap_used, missing_docs)] // a measuring program, not library code

use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::Command;
use std::time::Instant;

use roi_app::ingest::StoredEvent;
use roi_app::rollup::DayFold;

const EVENTS: usize = 1_000_000;
const AGENTS: usize = 10_000;
const USERS: usize = 50_000;

/// Deterministic skewed run times, ms (log-uniform 10 ms … 100 s).
fn duration(i: usize) -> u64 {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1CE;
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    let u = (x >> 11) as f64 / (1u64 << 53) as f64;
    10f64.powf(1.0 + 4.0 * u).round() as u64
}

fn write_events(path: &std::path::Path) {
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..EVENTS {
        let outcome = match i % 20 {
            0 => "failure",
            1 => "timeout",
            _ => "success",
        };
        writeln!(
            out,
            r#"{{"type":"agent.execution","id":"e{i}","source":"bench","time":"2026-11-20T{:02}:{:02}:{:02}.000Z","day":"2026-11-20","received_at":"2026-11-21T00:00:00Z","data":{{"outcome":"{outcome}","duration_ms":{},"retries":{},"agent":"agent-{:05}","user":"u_{:016x}"}}}}"#,
            i / 3600 % 24,
            i / 60 % 60,
            i % 60,
            duration(i),
            u32::from(i % 10 == 0),
            i % AGENTS,
            (i % USERS).wrapping_mul(0x9E37_79B9) ^ 0xA5A5
        )
        .unwrap();
    }
}

const DUCKDB: &str = r#"
import sys, time, duckdb
con = duckdb.connect()
con.execute("SET threads=1")
start = time.perf_counter()
rows = con.execute("""
  SELECT data.agent AS agent, count(*) AS executions,
         count(*) FILTER (WHERE data.outcome = 'success') AS success,
         count(*) FILTER (WHERE data.outcome = 'failure') AS failure,
         count(*) FILTER (WHERE data.outcome = 'timeout') AS timeout,
         sum(data.retries) AS retries,
         quantile_disc(data.duration_ms, [0.5, 0.95, 0.99]) AS q
  FROM read_ndjson(?, columns = {'type': 'VARCHAR', 'id': 'VARCHAR', 'source': 'VARCHAR',
       'time': 'VARCHAR', 'day': 'VARCHAR', 'received_at': 'VARCHAR',
       'data': 'STRUCT(outcome VARCHAR, duration_ms BIGINT, retries INTEGER, agent VARCHAR, user VARCHAR)'})
  GROUP BY agent
""", [sys.argv[1]]).fetchall()
elapsed = time.perf_counter() - start
print(f"{elapsed:.6f} {len(rows)}")
for agent, n, s, f, t, r, q in rows:
    print(agent, n, s, f, t, r, q[0], q[1], q[2])
"#;

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("agent-executions.ndjson");
    write_events(&file);
    let bytes = std::fs::metadata(&file).unwrap().len();

    // Ours: read the file line by line, parse each stored event, fold it in.
    let read = |mut each: Box<dyn FnMut(StoredEvent) + '_>| {
        let mut reader = BufReader::with_capacity(1 << 20, std::fs::File::open(&file).unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 0 {
            each(serde_json::from_str(&line).unwrap());
            line.clear();
        }
    };
    let start = Instant::now();
    let mut fold = DayFold::new("bench".parse().unwrap(), "2026-11-20".parse().unwrap());
    read(Box::new(|e| fold.add(&e)));
    let rollup = fold.finish();
    let ours = start.elapsed();
    let peak = peak_mib();
    // The parse alone, in a second pass, to split the time.
    let start = Instant::now();
    let mut parsed = 0u64;
    read(Box::new(|e| {
        std::hint::black_box(&e);
        parsed += 1;
    }));
    let parse = start.elapsed();
    assert_eq!(parsed as usize, EVENTS);
    assert_eq!(rollup.users.len(), USERS, "distinct users");

    // DuckDB, single thread, same file.
    let out = Command::new("python3")
        .args(["-c", DUCKDB, file.to_str().unwrap()])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "duckdb failed (pip install duckdb): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let duck_seconds: f64 = head[0].parse().unwrap();
    let mut exact: HashMap<String, (u64, u64, [f64; 3])> = HashMap::new();
    for line in lines {
        let f: Vec<&str> = line.split_whitespace().collect();
        let q = [
            f[6].parse().unwrap(),
            f[7].parse().unwrap(),
            f[8].parse().unwrap(),
        ];
        exact.insert(
            f[0].to_owned(),
            (f[1].parse().unwrap(), f[5].parse().unwrap(), q),
        );
    }

    // Same aggregates, and the sketch's error against exact quantiles.
    let mut worst = [0f64; 3];
    for (agent, s) in &rollup.agents {
        let (n, retries, q) = exact[agent];
        assert_eq!((s.executions, s.retries), (n, retries), "{agent}");
        for (k, p) in [0.5, 0.95, 0.99].into_iter().enumerate() {
            let estimate = s.duration_ms.quantile(p).unwrap();
            worst[k] = worst[k].max((estimate - q[k]).abs() / q[k]);
        }
    }

    println!(
        "roll-up benchmark: {EVENTS} agent.execution events of one day ({:.0} MB NDJSON), {} agents, {USERS} users, single thread",
        bytes as f64 / 1e6,
        rollup.agents.len()
    );
    println!(
        "  roi-tracker: parse + roll up, streamed      {:>7.2} s  (parse alone {:.2} s, so roll up {:.2} s)",
        ours.as_secs_f64(),
        parse.as_secs_f64(),
        (ours.saturating_sub(parse)).as_secs_f64()
    );
    println!(
        "  DuckDB 1 thread: read_ndjson + GROUP BY    {duck_seconds:>7.2} s  (exact quantiles)"
    );
    println!(
        "  ratio                                      {:>7.2}    (aim ≤ 1.0)",
        ours.as_secs_f64() / duck_seconds
    );
    println!(
        "  sketch vs exact, worst over all agents: p50 {:.2} %, p95 {:.2} %, p99 {:.2} % (aim ≤ 1 %)",
        worst[0] * 100.0,
        worst[1] * 100.0,
        worst[2] * 100.0
    );
    println!("  peak RSS after the roll-up ({USERS} users kept): {peak:.0} MiB (aim ≤ 256 MiB)");
}

/// This process's peak resident memory so far, MiB (`VmHWM`).
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
