//! The release `roi` binary for the benchmarks that run it as a user would (`load`,
//! `memory`): building it, running its commands on a data directory, and serving it; and
//! the release build of the functions the other benchmarks run ([`build_release`]).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The workspace's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// Builds `target/release/roi`.
///
/// # Panics
/// When the build fails.
pub fn build() {
    eprintln!("building the release roi…");
    let status = Command::new(env!("CARGO"))
        .current_dir(root())
        .args(["build", "--release", "-p", "roi-cli", "--bin", "roi"])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the release build failed");
}

/// Builds the release binaries of `packages` (`cargo build --release --bins -p …`), saying
/// `what` it builds.
///
/// # Panics
/// When the build fails.
pub fn build_release(what: &str, packages: &[&str]) {
    eprintln!("building {what}…");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(root())
        .args(["build", "--release", "--bins"]);
    for p in packages {
        cargo.args(["-p", p]);
    }
    let status = cargo.status().expect("cargo runs");
    assert!(status.success(), "the release build failed");
}

/// `roi` on the embedded store in `data`, with a form secret.
pub fn roi(data: &Path) -> Command {
    let mut c = Command::new(root().join("target/release/roi"));
    c.env("ROI_DATA_DIR", data)
        .env("ROI_FORM_SECRET", "a-benchmark-secret-of-32-bytes-or-more")
        .env_remove("ROI_STORE");
    c
}

/// Runs `c` and returns the last line it printed.
///
/// # Panics
/// When it fails.
pub fn last_line(c: &mut Command) -> String {
    let out = c.output().expect("roi runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

/// A client `name` (UTC) with an API key and the per-key budget lifted (a benchmark
/// measures the server, not the limiter); returns its id and the key.
///
/// # Panics
/// When a command fails.
pub fn client_with_key(data: &Path, name: &str) -> (String, String) {
    let id = last_line(roi(data).args(["client", "add", name, "--time-zone", "UTC"]));
    let key = last_line(roi(data).args(["apikey", "create", "--client", &id]));
    let settings = data.join("settings.json");
    std::fs::write(
        &settings,
        r#"{"requests_per_minute": 1000000, "events_per_minute": 100000000}"#,
    )
    .expect("the settings are written");
    last_line(roi(data).args([
        "client",
        "settings",
        "--client",
        &id,
        "--set",
        settings.to_str().expect("a UTF-8 path"),
    ]));
    (id, key)
}

/// Starts `roi serve` without its schedule and returns it with its port.
///
/// # Panics
/// When it does not start.
pub fn serve(data: &Path) -> (Child, u16) {
    let mut child = roi(data)
        .args(["serve", "--port", "0", "--no-schedule"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("roi serve starts");
    let mut line = String::new();
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    stderr
        .read_line(&mut line)
        .expect("roi serve announces its port");
    // keep reading its log, or its writes to a closed pipe would stop it
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let port = line
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in: {line}"));
    (child, port)
}
