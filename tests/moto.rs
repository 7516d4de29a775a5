//! The moto server (DynamoDB, S3, SES v2) the AWS side of every test runs against.
//!
//! `tests/run.sh` installs moto and starts one server for the whole run, exporting
//! `ROI_MOTO_ENDPOINT`. Without it, the first test here starts moto's server itself on a
//! free loopback port; the server goes when this test process ends. Either way, a moto
//! that cannot be reached fails the tests: they never skip.

use std::io::Write as _;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use roi_adapters::dynamodb::DynamoTable;
use roi_domain::ports::Clock;

static ENDPOINT: OnceLock<String> = OnceLock::new();
static CHILD: Mutex<Option<Child>> = Mutex::new(None);

/// The moto endpoint, e.g. `http://127.0.0.1:5000`.
pub fn endpoint() -> &'static str {
    ENDPOINT.get_or_init(|| {
        let url = match std::env::var("ROI_MOTO_ENDPOINT") {
            Ok(url) if !url.is_empty() => url,
            _ => spawn(),
        };
        wait_until_up(&url);
        url
    })
}

fn spawn() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port");
    // The shell ends moto when our end of its stdin closes, i.e. when this process exits.
    let child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "python3 -m moto.server -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; read _; kill $m"
        ))
        .stdin(Stdio::piped())
        .spawn()
        .expect("sh to start moto_server");
    *CHILD.lock().expect("the moto process slot") = Some(child);
    format!("http://127.0.0.1:{port}")
}

fn wait_until_up(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if ureq::get(&format!("{url}/moto-api/")).call().is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = CHILD.lock().map(|mut c| {
        c.as_mut()
            .and_then(|c| c.stdin.as_mut())
            .map(|s| s.write_all(b"\n"))
    });
    panic!(
        "moto is not answering at {url}: install it with `pip install 'moto[server]'` \
         (tests/run.sh does) or point ROI_MOTO_ENDPOINT at a running server"
    );
}

/// SDK configuration aimed at moto, with dummy credentials.
pub async fn sdk_config() -> aws_config::SdkConfig {
    local_sdk_config(endpoint()).await
}

/// SDK configuration aimed at a local emulator at `endpoint` (moto, dynalite), in
/// `us-east-1` with dummy credentials.
pub async fn local_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "local",
        ))
        .load()
        .await
}

/// A fresh DynamoDB table in moto, named `name` (make one with [`unique`]), created.
pub async fn table(name: impl Into<String>, clock: Arc<dyn Clock>) -> DynamoTable {
    let config = sdk_config().await;
    let table = DynamoTable::new(aws_sdk_dynamodb::Client::new(&config), name, clock);
    table
        .create_if_missing()
        .await
        .expect("moto creates the table");
    table
}

/// A name no other test uses, for tables, buckets and key prefixes.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// moto's record of everything it holds.
pub fn data_json() -> serde_json::Value {
    let body = ureq::get(&format!("{}/moto-api/data.json", endpoint()))
        .call()
        .expect("moto data.json")
        .body_mut()
        .read_to_string()
        .expect("data.json body");
    serde_json::from_str(&body).expect("data.json is JSON")
}
