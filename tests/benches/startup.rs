//! Start-up of each function's release binary against a stand-in for the Lambda Runtime API
//! on loopback (`roi_e2e::runtime_api`): the time from `exec` to the first
//! `GET /runtime/invocation/next`, and the process's peak memory then (`VmHWM`), side by
//! side with a hello-world `lambda_runtime` binary built the same way (`lambda-hello`).
//! Aim: each function within 2× the hello world.
//!
//! `cargo bench -p roi-e2e --bench startup` builds the binaries (`cargo build --release`)
//! and prints the figures; it asserts nothing. The functions get the environment Lambda
//! gives them (credentials, region, their variables); no AWS call happens at start-up.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use roi_e2e::runtime_api::RuntimeApi;

const RUNS: usize = 30;
const BINARIES: [&str; 5] = [
    "lambda-hello",
    "submit-form",
    "ingest-events",
    "compute-roi",
    "generate-report",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

fn build() {
    eprintln!("building the release binaries…");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(root())
        .args(["build", "--release", "--bins"]);
    for p in [
        "submit-form",
        "ingest-events",
        "compute-roi",
        "generate-report",
        "roi-e2e",
    ] {
        cargo.args(["-p", p]);
    }
    let status = cargo.status().expect("cargo runs");
    assert!(status.success(), "the release build failed");
}

/// Peak resident memory of `pid` so far, in MiB.
fn peak_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    build();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let mut hello_ms = f64::NAN;
    println!(
        "{:<16} {:>10} {:>10} {:>12} {:>10} {:>12}",
        "binary", "median ms", "p95 ms", "× hello", "peak MiB", "size MiB"
    );
    for name in BINARIES {
        let binary = root().join("target/release").join(name);
        let size = std::fs::metadata(&binary).map_or(f64::NAN, |m| m.len() as f64 / 1048576.0);
        // One unmeasured start pages the binary in.
        runtime.block_on(start_once(&binary));
        let mut times = Vec::with_capacity(RUNS);
        let mut peaks = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let (t, peak) = runtime.block_on(start_once(&binary));
            times.push(t.as_secs_f64() * 1000.0);
            peaks.push(peak);
        }
        let mut sorted = times.clone();
        sorted.sort_by(f64::total_cmp);
        let p95 = sorted[(RUNS * 95).div_ceil(100) - 1];
        let med = median(times);
        if name == "lambda-hello" {
            hello_ms = med;
        }
        println!(
            "{name:<16} {med:>10.2} {p95:>10.2} {:>12.2} {:>10.1} {size:>12.1}",
            med / hello_ms,
            median(peaks)
        );
    }
    println!(
        "(exec to the first GET /runtime/invocation/next, {RUNS} starts each; aim ≤ 2× hello)"
    );
}
