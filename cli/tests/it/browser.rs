//! A person in a browser: headless Chromium (Debian's `chromium` and `chromium-driver`,
//! installed by tests/run.sh) opens a form link served by `roi serve`, fills it in and
//! submits it. The tests fail, never skip, when Chromium or its driver is missing.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use roi_domain::SnapshotKind;

pub(crate) const SECRET: &str = "browser-test-secret-at-least-32-bytes-long";

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process that is killed when the test ends, pass or fail.
pub(crate) struct Running(pub(crate) Child);
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn roi(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_roi"));
    c.env("ROI_DATA_DIR", dir)
        .env("ROI_FORM_SECRET", SECRET)
        .env_remove("ROI_STORE");
    c
}

pub(crate) fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start listening on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The port `roi serve --port 0` announces on the first line of its standard error
/// (spawned with `stderr(Stdio::piped())`).
pub(crate) fn announced_port(child: &mut Child) -> u16 {
    let mut announced = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stderr.take().unwrap()),
        &mut announced,
    )
    .unwrap();
    announced
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("roi serve did not announce its address: {announced:?}"))
}

/// The sample client served by `roi serve`, a fresh form link, and a browser.
/// Fields drop in order: the server and the driver stop before the directory goes.
struct Session {
    server: Option<Running>,
    _driver: Running,
    browser: Client,
    link: String,
    dir: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// One browser session at a time: chromedriver's port is picked free and then bound by
/// chromedriver, which another session could take in between.
pub(crate) static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn session(width: u32, height: u32) -> Session {
    let turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    assert!(
        roi(&path)
            .arg("demo")
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success()
    );
    // `--port 0` binds a free port and announces it: no race with other tests for a port.
    let mut child = roi(&path)
        .args(["serve", "--port", "0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let port = announced_port(&mut child);
    let server = Running(child);
    let out = roi(&path)
        .args([
            "form-link",
            "--project",
            "acme-logistics-support-assistant",
            "--kind",
            "ongoing",
            "--due",
            "2025-05-31",
        ])
        .args(["--base-url", &format!("http://127.0.0.1:{port}")])
        .output()
        .unwrap();
    let link = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned();

    let (driver, browser) = chromium(width, height).await;
    Session {
        dir,
        server: Some(server),
        _driver: driver,
        browser,
        link,
        _turn: turn,
    }
}

async fn fill(browser: &Client, field: &str, value: &str) {
    let input = browser.find(Locator::Id(field)).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(value).await.unwrap();
}

/// Clicks submit and waits for the answer page: until the page the click was made on is
/// gone (its root element goes stale), so nothing is read from it by mistake.
async fn submit(browser: &Client) {
    let before = browser.find(Locator::Css("html")).await.unwrap();
    browser
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while before.tag_name().await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the form's answer page did not load within 15 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    browser
        .wait()
        .for_element(Locator::Css("main"))
        .await
        .unwrap();
}

pub(crate) async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_fills_in_the_form_and_the_measurement_is_stored() {
    // GIVEN the sample client served locally and a form link for the May measurement
    let mut s = session(390, 844).await;
    s.browser.goto(&s.link).await.unwrap();
    screenshot(&s.browser, "form-phone.png").await;
    // WHEN a person changes a few figures and submits
    fill(&s.browser, "monthly_labor_cost", "34000").await;
    fill(&s.browser, "avg_task_completion_time", "10").await;
    fill(&s.browser, "csat_score", "84").await;
    submit(&s.browser).await;
    // THEN they see the confirmation
    let page = s
        .browser
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Thank you") && page.contains("has been recorded"),
        "{page}"
    );
    s.browser.clone().close().await.unwrap();
    // AND the snapshot is in the store with what they typed
    drop(s.server.take());
    let store = roi_app::Store::new(
        std::sync::Arc::new(
            roi_adapters::redb_table::RedbTable::open(
                &s.dir.path().join("roi.redb"),
                std::sync::Arc::new(roi_domain::ports::SystemClock),
            )
            .unwrap(),
        ),
        std::sync::Arc::new(roi_domain::ports::SystemClock),
    );
    let snaps = store
        .snapshots(&"acme-logistics-support-assistant".parse().unwrap())
        .await
        .unwrap();
    let may = snaps
        .iter()
        .find(|x| x.kind() == SnapshotKind::Ongoing && x.measured_on().to_string() == "2025-05-31")
        .expect("the May measurement");
    assert_eq!(
        may.value(roi_domain::Metric::MonthlyLaborCost),
        Some(34000.into())
    );
    assert_eq!(may.value(roi_domain::Metric::CsatScore), Some(84.into()));
    assert_eq!(
        may.value(roi_domain::Metric::ErrorRatePercentage),
        // the form comes filled in with the last stored values: those of the demo's own
        // form submission for last month
        Some(rust_decimal::Decimal::new(31, 1)),
        "pre-filled values kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_values_are_explained_on_the_page() {
    let s = session(1280, 900).await;
    s.browser.goto(&s.link).await.unwrap();
    screenshot(&s.browser, "form-desktop.png").await;
    fill(&s.browser, "error_rate_percentage", "140").await;
    fill(&s.browser, "nps_score", "12.5").await;
    submit(&s.browser).await;
    let summary = s
        .browser
        .find(Locator::Id("summary"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(summary.contains("Please correct 2 fields"), "{summary}");
    let error = s
        .browser
        .find(Locator::Id("error_rate_percentage-error"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(error, "must be between 0 and 100 (percent), got 140");
    let kept = s
        .browser
        .find(Locator::Id("error_rate_percentage"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("140"), "the typed value is kept");
    screenshot(&s.browser, "form-errors.png").await;
    s.browser.close().await.unwrap();
}

/// Headless Chromium at `width` × `height` through a chromedriver of its own.
pub(crate) async fn chromium(width: u32, height: u32) -> (Running, Client) {
    let driver_port = free_port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={driver_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian package chromium-driver; tests/run.sh installs it)");
    let driver = Running(driver);
    wait_for_port(driver_port, "chromedriver");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     format!("--window-size={width},{height}")],
        }),
    );
    let browser = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a Chromium session through chromedriver");
    (driver, browser)
}
