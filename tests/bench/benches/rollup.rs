//! Roll-up benchmark (issue 5): prints its figures; it asserts nothing.
//!
//! `cargo bench -p roi-bench --bench rollup` (needs `python3 -m pip install duckdb`)
//!
//! 1. 1,000,000 synthetic `agent.execution` events of one day, as stored (NDJSON, as a day's
//!    archive holds them), over 10,000 agents and 50,000 users: read a block at a time, each
//!    event read where it lies as the fold reads it (`FoldEvent`, names borrowed, as
//!    `rollup_days` reads an archived day) and folded in (`DayFold`), per agent a count,
//!    outcome counts, a sum of retries and a DDSketch of run times, and the day's distinct
//!    users; single thread. Side by side, in the same run: DuckDB (`SET threads=1`)
//!    computing the same aggregates from the same file (per agent, with exact quantiles,
//!    and the day's distinct users), and, for comparison, the per-agent aggregates alone.
//!    Each side's time is the median of 3 runs. Aim: ratio ≤ 1.
//! 2. Sketch p50 / p95 / p99 against exact quantiles over every agent: relative error ≤ 1 %.
//! 3. The process's peak resident memory (`VmHWM`) after the roll-up: the day is never
//!    held whole. Aim ≤ 256 MiB.
//! 4. For comparison, not shipped: the same roll-up with each event read by sonic-rs, a
//!    SIMD JSON parser, instead of serde_json (the same `FoldEvent`, the same fold; the
//!    roll-up checked equal). sonic-rs picks its instructions when it is built: SSE2 only
//!    on a plain x86_64 build, AVX2 and PCLMULQDQ with
//!    `RUSTFLAGS="-C target-cpu=x86-64-v3"` (NEON on arm64, where the functions run). The
//!    line says which this build has.

#![allow(clippy::unwrap_used, missing_docs)] // a measuring program, not library code

use std::collections::HashMap;
use std::io::{BufWriter, Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

use roi_app::rollup::{DayFold, FoldEvent};
use roi_e2e::runtime_api::peak_rss_kib;

const EVENTS: usize = 1_000_000;
const AGENTS: usize = 10_000;
const USERS: usize = 50_000;
/// Rounds of each side; the median is reported.
const ROUNDS: usize = 3;

/// Which JSON parser reads each event.
#[derive(Clone, Copy)]
enum Parser {
    /// serde_json, as the roll-up reads a day.
    SerdeJson,
    /// sonic-rs, a SIMD parser, for comparison.
    SonicRs,
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

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

/// DuckDB on one thread, 3 runs of each query, alternated; prints the median seconds of the
/// same aggregates as the fold (per agent, and the day's distinct users over a scan
/// materialised once) and of the per-agent aggregates alone, then the rows.
const DUCKDB: &str = r#"
import sys, time, duckdb
con = duckdb.connect()
con.execute("SET threads=1")
SOURCE = """read_ndjson(?, columns = {'type': 'VARCHAR', 'id': 'VARCHAR', 'source': 'VARCHAR',
       'time': 'VARCHAR', 'day': 'VARCHAR', 'received_at': 'VARCHAR',
       'data': 'STRUCT(outcome VARCHAR, duration_ms BIGINT, retries INTEGER, agent VARCHAR, user VARCHAR)'})"""
AGENTS = """SELECT agent, count(*) AS executions,
         count(*) FILTER (WHERE outcome = 'success') AS success,
         count(*) FILTER (WHERE outcome = 'failure') AS failure,
         count(*) FILTER (WHERE outcome = 'timeout') AS timeout,
         sum(retries) AS retries,
         quantile_disc(duration_ms, [0.5, 0.95, 0.99]) AS q
  FROM {} GROUP BY agent"""
EVENTS = "SELECT data.agent AS agent, data.outcome AS outcome, data.duration_ms AS duration_ms, data.retries AS retries, data.user AS user FROM " + SOURCE
SAME = ("WITH e AS MATERIALIZED (" + EVENTS + "), a AS (" + AGENTS.format("e")
        + "), u AS (SELECT count(DISTINCT user) AS users FROM e) SELECT a.*, u.users FROM a, u")
ALONE = AGENTS.format("(" + EVENTS + ")")
same, alone = [], []
for _ in range(3):
  start = time.perf_counter()
  rows = con.execute(SAME, [sys.argv[1]]).fetchall()
  same.append(time.perf_counter() - start)
  start = time.perf_counter()
  con.execute(ALONE, [sys.argv[1]]).fetchall()
  alone.append(time.perf_counter() - start)
print(f"{sorted(same)[1]:.6f} {sorted(alone)[1]:.6f} {len(rows)} {rows[0][7]}")
for agent, n, s, f, t, r, q, users in rows:
    print(agent, n, s, f, t, r, q[0], q[1], q[2])
"#;

fn main() {
    let dir = roi_e2e::release_roi::root().join("target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("agent-executions.ndjson");
    write_events(&file);
    let bytes = std::fs::metadata(&file).unwrap().len();

    // Ours: read the file a 1 MiB block at a time (as the roll-up reads pages of items),
    // parse each stored event where it lies in the block, fold it in.
    let read = |parser: Parser, mut each: Box<dyn FnMut(&FoldEvent<'_>) + '_>| {
        let mut file = std::fs::File::open(&file).unwrap();
        let mut block = vec![0u8; 1 << 20];
        let mut filled = 0;
        loop {
            let n = file.read(&mut block[filled..]).unwrap();
            filled += n;
            let complete = match block[..filled].iter().rposition(|b| *b == b'\n') {
                Some(last) => last + 1,
                None if n == 0 => filled,
                None => continue,
            };
            // One UTF-8 check of the block, then each line read as text (as `read_line` does).
            let text = std::str::from_utf8(&block[..complete]).unwrap();
            for line in text.split_terminator('\n') {
                match parser {
                    Parser::SerdeJson => each(&serde_json::from_str(line).unwrap()),
                    Parser::SonicRs => each(&sonic_rs::from_str(line).unwrap()),
                }
            }
            block.copy_within(complete..filled, 0);
            filled -= complete;
            if n == 0 {
                break;
            }
        }
    };
    // Three rounds of the roll-up and of the parse alone (to split the time), with each
    // parser, alternated so all see the same machine state; the medians are reported.
    let roll_up = |parser| {
        let start = Instant::now();
        let mut fold = DayFold::new("bench".parse().unwrap(), "2026-11-20".parse().unwrap());
        read(
            parser,
            Box::new(|e| fold.add(e).expect("the figures stay in range")),
        );
        let rollup = fold.finish();
        (start.elapsed(), rollup)
    };
    let parse_alone = |parser| {
        let start = Instant::now();
        let mut parsed = 0u64;
        read(
            parser,
            Box::new(|e| {
                std::hint::black_box(e);
                parsed += 1;
            }),
        );
        assert_eq!(parsed as usize, EVENTS);
        start.elapsed()
    };
    let (mut rounds, mut parses, mut rollup, mut peak) = (Vec::new(), Vec::new(), None, 0.0);
    let (mut sonic_rounds, mut sonic_parses) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        drop(rollup.take()); // one day's roll-up held at a time
        let (took, day) = roll_up(Parser::SerdeJson);
        rounds.push(took);
        rollup = Some(day);
        if peak == 0.0 {
            peak = peak_mib(); // one roll-up held: before the comparison holds two
        }
        parses.push(parse_alone(Parser::SerdeJson));
        let (took, sonic_day) = roll_up(Parser::SonicRs);
        assert!(rollup.as_ref() == Some(&sonic_day), "the same roll-up");
        drop(sonic_day);
        sonic_rounds.push(took);
        sonic_parses.push(parse_alone(Parser::SonicRs));
    }
    let (ours, parse) = (median(rounds), median(parses));
    let (sonic, sonic_parse) = (median(sonic_rounds), median(sonic_parses));
    let rollup = rollup.unwrap();
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
    let duck_agents_alone: f64 = head[1].parse().unwrap();
    let duck_users: usize = head[3].parse().unwrap();
    assert_eq!(
        rollup.users.len(),
        duck_users,
        "distinct users, against DuckDB's"
    );
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
        "  DuckDB 1 thread, the same aggregates        {duck_seconds:>7.2} s  (exact quantiles; distinct users over a scan materialised once)"
    );
    println!(
        "  DuckDB 1 thread, per agent alone            {duck_agents_alone:>7.2} s  (no distinct users: ratio {:.2})",
        ours.as_secs_f64() / duck_agents_alone
    );
    println!(
        "  ratio                                      {:>7.2}    (aim ≤ 1.0)",
        ours.as_secs_f64() / duck_seconds
    );
    println!(
        "  for comparison, read by sonic-rs            {:>7.2} s  (parse alone {:.2} s; ratio {:.2}; SIMD in this build: {})",
        sonic.as_secs_f64(),
        sonic_parse.as_secs_f64(),
        sonic.as_secs_f64() / duck_seconds,
        if cfg!(target_feature = "avx2") {
            "AVX2"
        } else if cfg!(target_feature = "neon") {
            "NEON"
        } else {
            "SSE2 only"
        }
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
    peak_rss_kib(std::process::id()).map_or(f64::NAN, |kib| kib as f64 / 1024.0)
}
