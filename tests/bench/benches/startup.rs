//! Start-up of each function's release binary against a stand-in for the Lambda Runtime API
//! on loopback (`roi_e2e::runtime_api`): the time from `exec` to the first
//! `GET /runtime/invocation/next`, and the process's peak memory then (`VmHWM`), side by
//! side with a hello-world `lambda_runtime` binary built the same way (`lambda-hello`).
//! Aim: each function within 1.5× the hello world (issue 19).
//!
//! `cargo bench -p roi-bench --bench startup` builds the binaries (`cargo build --release`)
//! and prints the figures; it asserts nothing. The functions get the environment Lambda
//! gives them (credentials, region, their variables); no AWS call happens at start-up.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use roi_e2e::release_roi::{build_release, root};
use roi_e2e::runtime_api::{RuntimeApi, peak_rss_kib};

const ROUNDS: usize = 60;
const BINARIES: [&str; 5] = [
    "lambda-hello",
    "submit-form",
    "ingest-events",
    "compute-roi",
    "generate-report",
];

/// Peak resident memory of `pid` so far, in MiB.
fn peak_mib(pid: u32) -> f64 {
    peak_rss_kib(pid).map_or(f64::NAN, |kib| kib as f64 / 1024.0)
}

async fn start_once(binary: &Path) -> (Duration, f64) {
    let api = RuntimeApi::start().await;
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.host())
        .env("AWS_LAMBDA_FUNCTION_NAME", "under-test")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/under-test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_SESSION_TOKEN", "test")
        .env("ROI_TABLE", "roi-tracker")
        .env("ROI_REPORTS_BUCKET", "reports")
        .env("ROI_MAIL_FROM", "roi@example.com")
        .env("ROI_BASE_URL", "https://api.example.com")
        .env(
            "ROI_FORM_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:000000000000:secret:k",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let ready = api
        .wait_ready(Duration::from_secs(10))
        .await
        .expect("the function asked for an invocation");
    let peak = peak_mib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    (ready - started, peak)
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// The `q` quantile of sorted `v` (nearest rank).
fn at(v: &[f64], q: f64) -> f64 {
    v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    build_release(
        "the release binaries",
        &[
            "submit-form",
            "ingest-events",
            "compute-roi",
            "generate-report",
            "roi-bench",
        ],
    );
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let binaries: Vec<PathBuf> = BINARIES
        .iter()
        .map(|name| root().join("target/release").join(name))
        .collect();
    // One unmeasured start each pages the binaries in.
    for binary in &binaries {
        runtime.block_on(start_once(binary));
    }
    // Rounds: every binary starts once per round, right after the hello world, so a drift
    // of the machine's state moves a round's starts together and its ratios stay put.
    let mut times = vec![Vec::with_capacity(ROUNDS); BINARIES.len()];
    let mut ratios = vec![Vec::with_capacity(ROUNDS); BINARIES.len()];
    let mut peaks = vec![Vec::with_capacity(ROUNDS); BINARIES.len()];
    for _ in 0..ROUNDS {
        let mut hello = f64::NAN;
        for (i, binary) in binaries.iter().enumerate() {
            let (t, peak) = runtime.block_on(start_once(binary));
            let ms = t.as_secs_f64() * 1000.0;
            if i == 0 {
                hello = ms;
            }
            times[i].push(ms);
            ratios[i].push(ms / hello);
            peaks[i].push(peak);
        }
    }
    println!(
        "{:<16} {:>10} {:>10} {:>12} {:>14} {:>10} {:>10}",
        "binary", "median ms", "p95 ms", "× hello", "× hello IQR", "peak MiB", "size MiB"
    );
    for (i, name) in BINARIES.iter().enumerate() {
        let size = std::fs::metadata(&binaries[i]).map_or(f64::NAN, |m| m.len() as f64 / 1048576.0);
        let t = sorted(times[i].clone());
        let r = sorted(ratios[i].clone());
        println!(
            "{name:<16} {:>10.2} {:>10.2} {:>12.2} {:>6.2} – {:<5.2} {:>10.1} {size:>10.1}",
            at(&t, 0.5),
            at(&t, 0.95),
            at(&r, 0.5),
            at(&r, 0.25),
            at(&r, 0.75),
            at(&sorted(peaks[i].clone()), 0.5),
        );
    }
    println!(
        "(exec to the first GET /runtime/invocation/next; {ROUNDS} rounds, each starting every binary once after the hello world; × hello is the median of the rounds' ratios; aim ≤ 1.5× hello, issue 19)"
    );
}
