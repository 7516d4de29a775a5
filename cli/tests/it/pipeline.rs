//! The main job against AWS APIs: `roi demo` with `ROI_STORE=dynamodb` on moto's DynamoDB,
//! S3 and SES v2, then the report e-mail read back from moto, its link followed through
//! `roi serve`, and the PDF fetched from the presigned S3 URL it redirects to.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use roi_e2e::moto;

use super::{ok, stdout};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_on_aws_apis_ends_with_a_pdf_behind_the_emailed_link() {
    // GIVEN a fresh table, bucket and verified sender in moto
    let dir = tempfile::tempdir().unwrap();
    let table = moto::unique("pipeline");
    let bucket = moto::unique("reports");
    let sender = format!("{}@roi.example", moto::unique("demo"));
    let port = free_port();
    let base_url = format!("http://127.0.0.1:{port}");
    let env = [
        ("ROI_STORE", "dynamodb"),
        ("ROI_TABLE", table.as_str()),
        ("ROI_REPORTS_BUCKET", bucket.as_str()),
        ("ROI_MAIL_FROM", sender.as_str()),
        ("ROI_BASE_URL", base_url.as_str()),
        ("ROI_FORM_SECRET", "a-test-secret-of-at-least-32-bytes-long"),
        ("AWS_ENDPOINT_URL", moto::endpoint()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ];
    let roi = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_roi"));
        c.args(args).env("ROI_DATA_DIR", dir.path()).envs(env);
        c
    };
    aws_sdk_sesv2::Client::new(&moto::sdk_config().await)
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .unwrap();
    ok(roi(&["store-init"]).output().unwrap());

    // WHEN the demo runs against them
    let demo = ok(roi(&["demo"]).output().unwrap());
    let text = stdout(&demo);
    assert!(text.contains("E-mail went out through SES"), "{text}");
    assert!(
        text.contains(&format!("s3://{bucket}/reports/acme-logistics/")),
        "{text}"
    );

    // THEN moto holds the monthly report's e-mail to the client, with a link to our host
    let data = tokio::task::spawn_blocking(moto::data_json).await.unwrap();
    let ours: Vec<&serde_json::Value> = data["ses"]["Message"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["source"] == sender.as_str())
        .collect();
    // (and the alert check's notice on the 1st of a month: the demo month's last day)
    assert_eq!(
        ours.len(),
        4 + crate::alert_notices(&text),
        "a reminder, two drafts announced, the approved monthly report: {ours:?}"
    );
    let monthly = ours
        .iter()
        .find(|m| {
            m["subject"]
                .as_str()
                .unwrap()
                .starts_with("Acme Logistics: Monthly")
        })
        .expect("the monthly report's e-mail");
    assert_eq!(
        monthly["destinations"]["ToAddresses"][0],
        "coo@acme-logistics.example"
    );
    let body = monthly["body"].as_str().unwrap();
    let start = body.find(&format!("{base_url}/r/")).expect("a report link");
    let link: String = body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(*c))
        .collect();

    // AND following it through `roi serve` redirects to a presigned URL serving the PDF
    let mut serve = roi(&["serve", "--port", &port.to_string(), "--no-schedule"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut announced = String::new();
    BufReader::new(serve.stderr.take().unwrap())
        .read_line(&mut announced)
        .unwrap();
    assert!(announced.contains("listening"), "{announced}");
    let pdf = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .into();
        let answer = agent.get(&link).call().unwrap();
        assert_eq!(answer.status(), 303, "{link}");
        let location = answer.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.contains("X-Amz-Signature="), "{location}");
        let mut file = ureq::get(&location).call().unwrap();
        file.body_mut()
            .with_config()
            .limit(20 << 20)
            .read_to_vec()
            .unwrap()
    })
    .await
    .unwrap();
    let _ = serve.kill();
    let _ = serve.wait();
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF: {} bytes", pdf.len());
    assert!(pdf.len() > 20_000, "{} bytes", pdf.len());
}
