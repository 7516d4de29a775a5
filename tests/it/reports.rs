//! Reports from the sample client's data: every kind renders and reads right as text
//! (pdftotext), user text is printed literally, issuing is idempotent and restates on a
//! correction, and the e-mailed link opens the same PDF (embedded store, and moto).

use std::path::PathBuf;
use std::sync::Arc;

use roi_adapters::dir_blobs::DirBlobStore;
use roi_adapters::outbox::OutboxMailer;
use roi_adapters::redb_table::RedbTable;
use roi_app::Store;
use roi_app::form_link::FormSigner;
use roi_app::reports::{
    self, Issued, ReportData, ReportKind, ReportLinks, ReportMeta, ReportPeriod, ReportServices,
};
use roi_domain::ports::{BlobStore, Clock, FixedClock, Table};
use roi_domain::{ClientId, ProjectId};
use roi_e2e::samples;
use roi_reports::TypstRenderer;
use rust_decimal::Decimal;

const SECRET: &[u8] = b"report-link-test-secret-0123456789abcdef";

fn d(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

/// 2026-03-01: every sample period, the first year of operation included, has ended.
fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new("2026-03-01T12:00:00Z".parse().unwrap()))
}

/// The sample client with its measurements and four months of usage, on `table`.
async fn sample(table: Arc<dyn Table>, clock: Arc<FixedClock>) -> (Store, ProjectId) {
    let store = Store::new(table, clock.clone() as Arc<dyn Clock>);
    let project = samples::sample_project(&store).await;
    samples::sample_usage(&store, &clock, d("2025-02-03"), d("2025-05-31")).await;
    (store, project)
}

/// The sample client set to send reports without review, as most tests here expect.
async fn auto_send(store: &Store) {
    let client: roi_domain::ClientId = "acme-logistics".parse().unwrap();
    let mut settings = store.settings(&client).await.unwrap();
    settings.auto_send_reports = true;
    store.put_settings(&client, &settings).await.unwrap();
}

fn redb(dir: &tempfile::TempDir, clock: &Arc<FixedClock>) -> Arc<dyn Table> {
    Arc::new(
        RedbTable::open(
            &dir.path().join("roi.redb"),
            clock.clone() as Arc<dyn Clock>,
        )
        .unwrap(),
    )
}

/// Where rendered samples are left for a person to look at (`pdftoppm` them).
fn samples_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/report-samples");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils; tests/run.sh installs it)");
    assert!(out.status.success(), "pdftotext failed");
    String::from_utf8(out.stdout).unwrap()
}

fn pages(pdf: &[u8]) -> usize {
    let text = pdftotext(pdf);
    text.matches('\u{c}').count()
}

/// A figure as the templates print it: rounded to one decimal, trailing zeros dropped,
/// thousands grouped.
fn printed(v: Decimal) -> String {
    let v = v.round_dp(1).normalize();
    let s = v.abs().to_string();
    let (whole, frac) = s.split_once('.').map_or((s.as_str(), ""), |(w, f)| (w, f));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!(
        "{}{grouped}{}",
        if v.is_sign_negative() { "−" } else { "" },
        if frac.is_empty() {
            String::new()
        } else {
            format!(".{frac}")
        }
    )
}

fn meta() -> ReportMeta {
    ReportMeta {
        version: 1,
        restated: false,
        issued_at: "2026-03-01T12:00:00Z".parse().unwrap(),
        digest: "0123456789ab".into(),
    }
}

fn period(kind: ReportKind) -> ReportPeriod {
    let label = match kind {
        ReportKind::Weekly => "2025-W20",
        ReportKind::Monthly | ReportKind::Executive => "2025-04",
        ReportKind::Quarterly => "2025-Q2",
        ReportKind::Annual => "year-1",
    };
    ReportPeriod::parse(kind, label, d("2025-02-03")).unwrap()
}

#[tokio::test]
async fn every_kind_renders_from_the_sample_client_and_reads_right() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let (store, project) = sample(redb(&dir, &clock), clock).await;
    for kind in ReportKind::ALL {
        let data = reports::assemble(&store, &project, kind, &period(kind))
            .await
            .unwrap();
        let pdf = roi_reports::pdf(&data, &meta()).unwrap();
        std::fs::write(samples_dir().join(format!("{kind}.pdf")), &pdf).unwrap();
        assert!(pdf.starts_with(b"%PDF-"), "{kind}");
        let text = pdftotext(&pdf);
        let roi = data
            .roi
            .as_ref()
            .expect("the sample has ROI in every period");
        let roi_text = format!("{} %", printed(roi.roi_percentage));
        let payback = format!(
            "{} months",
            printed(roi.payback_period_months.expect("the sample pays back"))
        );
        assert!(
            text.contains("Acme Logistics"),
            "{kind}: client name\n{text}"
        );
        assert!(text.contains(&roi_text), "{kind}: ROI {roi_text}\n{text}");
        assert!(text.contains(&payback), "{kind}: payback {payback}\n{text}");
        assert!(text.contains(&data.period.label), "{kind}: period");
        // the monthly, quarterly and annual reports end with the method page
        let expected_pages = match kind {
            ReportKind::Executive | ReportKind::Weekly => 1,
            _ => 3,
        };
        if matches!(
            kind,
            ReportKind::Monthly | ReportKind::Quarterly | ReportKind::Annual
        ) {
            assert!(
                text.contains("How these figures were made"),
                "{kind}: the method page\n{text}"
            );
        }
        assert_eq!(pages(&pdf), expected_pages, "{kind}: page count\n{text}");
    }
}

#[tokio::test]
async fn the_monthly_report_holds_the_figures_of_the_month() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let (store, project) = sample(redb(&dir, &clock), clock).await;
    let data = reports::assemble(
        &store,
        &project,
        ReportKind::Monthly,
        &period(ReportKind::Monthly),
    )
    .await
    .unwrap();
    // April 2025 against March: usage grows, every day has events
    let usage = data.usage.as_ref().unwrap();
    assert!(usage.cost_usd > Decimal::ZERO);
    assert!(usage.cost_usd > usage.previous_cost_usd.unwrap());
    assert_eq!(usage.active_users, 8);
    assert_eq!(
        usage.hours_saved,
        Decimal::new(195, 1),
        "30 days × 6 tickets × 6.5 min"
    );
    let departments: Vec<&str> = usage
        .by_department
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(departments[0], "customer-service", "largest first");
    assert_eq!(departments.len(), 4);
    // the comparison is the April measurement against the approved baseline
    assert_eq!(data.current_date, Some(d("2025-04-30")));
    assert!(
        data.metrics
            .iter()
            .any(|m| m.metric == "monthly_labor_cost" && m.improved == Some(true))
    );
    assert!(!data.wins.is_empty(), "labor cost went down: a win");
    // ROI history: a point per month end since go-live and the period's end
    let days: Vec<String> = data.roi_history.iter().map(|p| p.day.to_string()).collect();
    assert_eq!(days, ["2025-03-03", "2025-04-03", "2025-04-30"]);
    // 88 days of cost to the end of April, and a 30-day band after it
    assert_eq!(data.daily_cost.len(), 87);
    assert_eq!(data.forecast_band.len(), 30);
    assert_eq!(data.forecast_band[0].day, d("2025-05-01"));
    // the same stored data gives the same digest
    let again = reports::assemble(
        &store,
        &project,
        ReportKind::Monthly,
        &period(ReportKind::Monthly),
    )
    .await
    .unwrap();
    assert_eq!(data.digest(), again.digest());
}

#[tokio::test]
async fn markup_in_user_text_is_printed_literally() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let (store, project) = sample(redb(&dir, &clock), clock).await;
    let mut data: ReportData = reports::assemble(
        &store,
        &project,
        ReportKind::Executive,
        &period(ReportKind::Executive),
    )
    .await
    .unwrap();
    let hostile = r#"#panic() <script>alert(1)</script> *bold* $x^2$ @ref \ ]"#;
    data.client_name = hostile.into();
    data.project_name = "#import \"/etc/passwd\"".into();
    data.wins.insert(0, "#eval(\"1+1\") _under_".into());
    let pdf = roi_reports::pdf(&data, &meta()).expect("typst markup in data is not evaluated");
    // lines may wrap anywhere: compare with whitespace collapsed
    let text = pdftotext(&pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    std::fs::write(samples_dir().join("injection.pdf"), &pdf).unwrap();
    assert!(
        text.contains("#panic() <script>alert(1)</script> *bold* $x^2$ @ref \\ ]"),
        "{text}"
    );
    assert!(text.contains("#import \"/etc/passwd\""), "{text}");
    assert!(text.contains("#eval(\"1+1\") _under_"), "{text}");
}

fn local_services(dir: &tempfile::TempDir, store: &Store) -> (ReportServices, Arc<DirBlobStore>) {
    let blobs = Arc::new(DirBlobStore::new(
        dir.path().join("blobs"),
        "http://127.0.0.1:8080",
        SECRET,
        Arc::clone(store.clock()),
    ));
    let services = ReportServices {
        store: store.clone(),
        blobs: blobs.clone(),
        mailer: Arc::new(OutboxMailer::new(
            dir.path().join("outbox"),
            Arc::clone(store.clock()),
        )),
        mail_from: "reports@roi.example".into(),
        links: ReportLinks::new(&FormSigner::new(SECRET).unwrap(), "http://127.0.0.1:8080"),
    };
    (services, blobs)
}

#[tokio::test]
async fn issuing_again_does_nothing_and_a_correction_restates() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let (store, project) = sample(redb(&dir, &clock), clock).await;
    auto_send(&store).await;
    let (services, blobs) = local_services(&dir, &store);
    let month = period(ReportKind::Monthly);
    let renderer = TypstRenderer;

    let first: Issued = reports::issue(&services, &renderer, &project, ReportKind::Monthly, &month)
        .await
        .unwrap();
    assert!(first.new && first.emailed);
    assert_eq!(first.record.version, 1);
    assert_eq!(
        first.record.pdf_key,
        "reports/acme-logistics/acme-logistics-support-assistant/monthly/2025-04/v1.pdf"
    );
    let pdf = blobs.get(&first.record.pdf_key).await.unwrap().unwrap();
    assert_eq!(pdf.content_type, "application/pdf");
    let csv = blobs.get(&first.record.csv_key).await.unwrap().unwrap();
    let csv = String::from_utf8(csv.bytes).unwrap();
    assert!(csv.starts_with("section,name,value,unit\n"));
    assert!(csv.contains("roi,roi_percentage,"));
    assert!(!csv.contains("agent-000"), "user ids appear only hashed");
    let hashed = store
        .pseudonym_key()
        .await
        .unwrap()
        .pseudonym(&"acme-logistics".parse().unwrap(), "agent-0003");
    assert!(csv.contains(&format!("user,{hashed},")));
    let xlsx = blobs.get(&first.record.xlsx_key).await.unwrap().unwrap();
    assert!(xlsx.bytes.starts_with(b"PK"), "an XLSX is a zip");

    let again = reports::issue(&services, &renderer, &project, ReportKind::Monthly, &month)
        .await
        .unwrap();
    assert!(
        !again.new && !again.emailed,
        "same data: nothing issued, nothing sent"
    );
    assert_eq!(again.record, first.record);
    let outbox = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .count();
    assert_eq!(outbox, 1, "one e-mail");

    // A late correction of the April measurement changes the figures: v2, restated.
    let corrected = String::from_utf8(samples::TRACKING.to_vec())
        .unwrap()
        .replace(
            "2025-04-30,cost,monthly_labor_cost,36000",
            "2025-04-30,cost,monthly_labor_cost,35000",
        );
    assert_ne!(
        corrected.as_bytes(),
        samples::TRACKING,
        "the sample has the April line"
    );
    roi_app::measurements::import_tracking(&store, &project, corrected.as_bytes(), "test")
        .await
        .unwrap();
    let restated = reports::issue(&services, &renderer, &project, ReportKind::Monthly, &month)
        .await
        .unwrap();
    assert!(restated.new && restated.record.restated);
    assert_eq!(restated.record.version, 2);
    assert!(restated.record.pdf_key.ends_with("/2025-04/v2.pdf"));
    assert!(
        blobs.get(&first.record.pdf_key).await.unwrap().is_some(),
        "v1 is kept"
    );
    let text = pdftotext(
        &blobs
            .get(&restated.record.pdf_key)
            .await
            .unwrap()
            .unwrap()
            .bytes,
    );
    assert!(text.contains("RESTATED"), "{text}");
    let audit = store
        .audit_entries(&"acme-logistics".parse().unwrap(), "2026-03")
        .await
        .unwrap();
    let issued: Vec<&str> = audit
        .iter()
        .filter(|e| e.action == "report_issued")
        .map(|e| e.detail.as_str())
        .collect();
    assert_eq!(
        issued,
        ["monthly 2025-04 v1", "monthly 2025-04 v2 (restated)"]
    );
}

/// Review before delivery (issue 15): a draft goes to the account manager only; its
/// approval sends the client's e-mail once; a newer version supersedes an older draft; a
/// withdrawal needs a reason and cannot be approved afterwards.
#[tokio::test]
async fn a_draft_reaches_the_client_only_once_approved() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let (store, project) = sample(redb(&dir, &clock), clock).await;
    let client: roi_domain::ClientId = "acme-logistics".parse().unwrap();
    let mut settings = store.settings(&client).await.unwrap();
    settings.account_manager_email = Some("am@consultancy.example".into());
    store.put_settings(&client, &settings).await.unwrap();
    let (services, _) = local_services(&dir, &store);
    let month = period(ReportKind::Monthly);
    let outbox = || -> Vec<String> {
        let mut mails: Vec<String> = std::fs::read_dir(dir.path().join("outbox"))
            .map(|d| {
                d.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                    .collect()
            })
            .unwrap_or_default();
        mails.sort();
        mails
    };
    let to_client = |mails: &[String]| {
        mails
            .iter()
            .filter(|m| m.contains(samples::REPORT_RECIPIENT))
            .count()
    };

    // GIVEN a monthly report issued by the schedule: a draft
    let issued = reports::issue(
        &services,
        &TypstRenderer,
        &project,
        ReportKind::Monthly,
        &month,
    )
    .await
    .unwrap();
    assert!(issued.new && !issued.emailed);
    assert_eq!(issued.record.review, roi_app::store::Review::Draft);
    assert!(issued.record.draft_notified);
    let mails = outbox();
    assert_eq!(mails.len(), 1, "the account manager alone is told");
    assert!(mails[0].contains("To: am@consultancy.example"));
    assert!(mails[0].contains("Draft to review"));
    assert!(
        mails[0]
            .replace("=\r\n", "")
            .replace("=\n", "")
            .contains("/console/projects/acme-logistics-support-assistant#reports")
    );
    // issuing again neither sends nor announces it twice
    reports::issue(
        &services,
        &TypstRenderer,
        &project,
        ReportKind::Monthly,
        &month,
    )
    .await
    .unwrap();
    assert_eq!(outbox().len(), 1);

    // WHEN an operator approves it
    let r = reports::ReportRef {
        project: project.clone(),
        kind: ReportKind::Monthly,
        period: "2025-04".into(),
        version: None,
    };
    let approved = reports::approve(&services, &r, "am@consultancy.example")
        .await
        .unwrap();
    // THEN the client's recipients get it, once
    assert!(approved.delivered && approved.review == roi_app::store::Review::Approved);
    assert_eq!(to_client(&outbox()), 1);
    reports::approve(&services, &r, "am@consultancy.example")
        .await
        .unwrap();
    assert_eq!(to_client(&outbox()), 1, "approving again sends nothing");
    let audit = store.audit_entries(&client, "2026-03").await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "report_approved" && e.actor == "am@consultancy.example")
    );

    // a correction issues v2 as a new draft; v1 cannot be approved over it
    let corrected = String::from_utf8(samples::TRACKING.to_vec())
        .unwrap()
        .replace(
            "2025-04-30,cost,monthly_labor_cost,36000",
            "2025-04-30,cost,monthly_labor_cost,35000",
        );
    roi_app::measurements::import_tracking(&store, &project, corrected.as_bytes(), "test")
        .await
        .unwrap();
    let v2 = reports::issue(
        &services,
        &TypstRenderer,
        &project,
        ReportKind::Monthly,
        &month,
    )
    .await
    .unwrap();
    assert_eq!(v2.record.version, 2);
    assert_eq!(v2.record.review, roi_app::store::Review::Draft);
    let v1 = reports::ReportRef {
        version: Some(1),
        ..r.clone()
    };
    let e = reports::approve(&services, &v1, "am@consultancy.example")
        .await
        .unwrap_err();
    assert!(matches!(e, reports::ReviewError::Superseded(_, 2)), "{e}");

    // a withdrawal needs a reason; a withdrawn draft is never sent
    let e = reports::withdraw(&services, &r, "am@consultancy.example", "  ")
        .await
        .unwrap_err();
    assert!(matches!(e, reports::ReviewError::BadReason));
    let withdrawn = reports::withdraw(
        &services,
        &r,
        "am@consultancy.example",
        "the April labour cost is under query",
    )
    .await
    .unwrap();
    assert_eq!(withdrawn.review, roi_app::store::Review::Withdrawn);
    let e = reports::approve(&services, &r, "am@consultancy.example")
        .await
        .unwrap_err();
    assert!(matches!(e, reports::ReviewError::Withdrawn(_)), "{e}");
    assert_eq!(
        to_client(&outbox()),
        1,
        "only the approved v1 reached the client"
    );
}

/// The monthly report sets metered cost against the providers' bills (issue 17): the
/// sample Anthropic cost report, moved into April, against the month's metered usage.
#[tokio::test]
async fn the_monthly_report_reconciles_metered_cost_with_the_bill() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let (store, project) = sample(redb(&dir, &clock), clock).await;
    let client: roi_domain::ClientId = "acme-logistics".parse().unwrap();
    let report = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../events/usage-reports/anthropic-cost-report.json"),
    )
    .unwrap()
    .replace("2026-11-18", "2025-04-10")
    .replace("2026-11-19", "2025-04-11")
    .replace("2026-11-20", "2025-04-12");
    roi_app::cost_import::import_cost(
        &store,
        &client,
        &report,
        roi_app::usage_import::ReportFormat::Anthropic,
        "test",
    )
    .await
    .unwrap();
    let kind = ReportKind::Monthly;
    let data = reports::assemble(&store, &project, kind, &period(kind))
        .await
        .unwrap();
    let r = data
        .reconciliation
        .as_ref()
        .expect("a cost report covers April");
    // the oracle: the stored provider-days of April, summed here
    let rows: Vec<_> = store
        .reconciled_since(&client, d("2025-04-01"))
        .await
        .unwrap()
        .into_iter()
        .filter(|x| x.day <= d("2025-04-30") && x.invoiced_usd.is_some())
        .collect();
    assert_eq!(r.days as usize, rows.len());
    let invoiced: Decimal = rows.iter().map(|x| x.invoiced_usd.unwrap()).sum();
    let metered: Decimal = rows.iter().map(|x| x.metered_usd).sum();
    assert_eq!(r.invoiced_usd, invoiced.round_dp(2));
    assert_eq!(r.metered_usd, metered.round_dp(2));
    assert_eq!(
        r.over_tolerance_days as usize,
        rows.iter().filter(|x| x.over_tolerance).count()
    );
    let rendered = roi_domain::report::Renderer::render(&TypstRenderer, &data, &meta()).unwrap();
    let text = pdftotext(&rendered.pdf)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains("Against the providers"), "{text}");
    assert!(
        text.contains(&format!("over {} provider-days", r.days)),
        "{text}"
    );
    let csv = String::from_utf8(rendered.csv).unwrap();
    assert!(csv.contains("reconciliation,invoiced,"), "{csv}");
}

#[tokio::test]
async fn a_period_that_has_not_ended_is_not_issued() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let (store, project) = sample(redb(&dir, &clock), clock).await;
    let (services, _) = local_services(&dir, &store);
    let march = ReportPeriod::parse(ReportKind::Monthly, "2026-03", d("2025-02-03")).unwrap();
    let e = reports::issue(
        &services,
        &TypstRenderer,
        &project,
        ReportKind::Monthly,
        &march,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("runs to 2026-03-31"), "{e}");
    assert!(store.reports_of(&project).await.unwrap().is_empty());
}

mod links {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt as _;

    async fn get(router: &axum::Router, path: &str) -> axum::response::Response {
        router
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    fn token_of(text: &str) -> String {
        let start = text.find("/r/").expect("a report link in the e-mail") + 3;
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == '.')
            .collect()
    }

    fn query_param(url: &str, name: &str) -> Option<String> {
        url.split_once('?')?.1.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
    }

    /// On moto: the report goes to S3, the e-mail through SES v2; the link in the e-mail
    /// moto recorded redirects to a presigned URL (5 minutes) that downloads the same
    /// bytes; tampered, expired and revoked links are refused; each visit is audited.
    #[tokio::test]
    async fn the_emailed_link_downloads_the_same_pdf_from_s3() {
        use roi_e2e::moto;
        let config = moto::sdk_config().await;
        let clock = clock();
        let table = roi_adapters::dynamodb::DynamoTable::new(
            aws_sdk_dynamodb::Client::new(&config),
            moto::unique("reports"),
            clock.clone() as Arc<dyn Clock>,
        );
        table.create_if_missing().await.unwrap();
        let (store, project) = sample(Arc::new(table), clock.clone()).await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        let blobs = roi_adapters::s3::S3BlobStore::new(s3, moto::unique("reports"));
        blobs.create_if_missing().await.unwrap();
        let blobs: Arc<dyn BlobStore> = Arc::new(blobs);
        let ses = aws_sdk_sesv2::Client::new(&config);
        let sender = format!("{}@roi.example", moto::unique("reports"));
        ses.create_email_identity()
            .email_identity(&sender)
            .send()
            .await
            .unwrap();
        let links = ReportLinks::new(&FormSigner::new(SECRET).unwrap(), "https://api.roi.example");
        let services = ReportServices {
            store: store.clone(),
            blobs: blobs.clone(),
            mailer: Arc::new(roi_adapters::ses::SesMailer::new(ses)),
            mail_from: sender.clone(),
            links: links.clone(),
        };
        let issued = reports::issue(
            &services,
            &TypstRenderer,
            &project,
            ReportKind::Executive,
            &period(ReportKind::Executive),
        )
        .await
        .unwrap();
        // a draft (no account manager to tell in the sample), approved by an operator:
        // the approval reads the figures the PDF was rendered from back from S3
        assert!(!issued.emailed);
        assert_eq!(issued.record.review, roi_app::store::Review::Draft);
        let approved = reports::approve(
            &services,
            &reports::ReportRef {
                project: project.clone(),
                kind: ReportKind::Executive,
                period: "2025-04".into(),
                version: None,
            },
            "am@consultancy.example",
        )
        .await
        .unwrap();
        assert!(approved.delivered);
        assert_eq!(
            approved.reviewed_by.as_deref(),
            Some("am@consultancy.example")
        );

        let data = tokio::task::spawn_blocking(moto::data_json).await.unwrap();
        let message = data["ses"]["Message"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m["source"] == sender.as_str())
            .expect("the report e-mail in moto")
            .clone();
        assert_eq!(
            message["destinations"]["ToAddresses"][0],
            samples::REPORT_RECIPIENT
        );
        assert!(
            message["subject"]
                .as_str()
                .unwrap()
                .contains("Executive summary")
        );
        let token = token_of(message["body"].as_str().unwrap());

        let router = roi_app::http::links::router(Arc::new(roi_app::http::links::LinkState {
            store: store.clone(),
            blobs: blobs.clone(),
            links: links.clone(),
        }));
        let r = get(&router, &format!("/r/{token}")).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(
            query_param(&location, "X-Amz-Expires").as_deref(),
            Some("300"),
            "presigned for 5 minutes: {location}"
        );
        let downloaded = tokio::task::spawn_blocking(move || {
            ureq::get(&location)
                .call()
                .expect("the presigned URL")
                .body_mut()
                .read_to_vec()
                .unwrap()
        })
        .await
        .unwrap();
        let stored = blobs.get(&issued.record.pdf_key).await.unwrap().unwrap();
        assert_eq!(downloaded, stored.bytes, "the same bytes");
        assert!(downloaded.starts_with(b"%PDF-"));

        // tampered: one character of the signature changed
        let mut bad = token.clone();
        let last = bad.pop().unwrap();
        bad.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(
            get(&router, &format!("/r/{bad}")).await.status(),
            StatusCode::FORBIDDEN
        );
        // signed with another secret
        let other = ReportLinks::new(
            &FormSigner::new(b"another-secret-another-secret-another").unwrap(),
            "https://api.roi.example",
        );
        let forged = other.url(&reports::ReportLinkClaims {
            link_id: "0".repeat(32),
            expires_at: i64::MAX,
        });
        let forged = forged.rsplit('/').next().unwrap();
        assert_eq!(
            get(&router, &format!("/r/{forged}")).await.status(),
            StatusCode::FORBIDDEN
        );

        let client: ClientId = "acme-logistics".parse().unwrap();
        let opened = store
            .audit_entries(&client, "2026-03")
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "report_opened")
            .count();
        assert_eq!(opened, 1, "the visit is in the audit log, refusals are not");

        // revoked
        assert_eq!(
            reports::revoke_links(&store, &project, ReportKind::Executive, "2025-04")
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            get(&router, &format!("/r/{token}")).await.status(),
            StatusCode::GONE
        );
    }

    #[tokio::test]
    async fn a_link_expires_after_thirty_days() {
        let dir = tempfile::tempdir().unwrap();
        let clock = clock();
        let (store, project) = sample(redb(&dir, &clock), clock.clone()).await;
        auto_send(&store).await;
        let (services, blobs) = local_services(&dir, &store);
        reports::issue(
            &services,
            &TypstRenderer,
            &project,
            ReportKind::Weekly,
            &period(ReportKind::Weekly),
        )
        .await
        .unwrap();
        let eml = std::fs::read_dir(dir.path().join("outbox"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        // quoted-printable: soft line breaks end in '='
        let eml = std::fs::read_to_string(eml)
            .unwrap()
            .replace("=\r\n", "")
            .replace("=\n", "");
        let token = token_of(&eml);
        let router = roi_app::http::links::router(Arc::new(roi_app::http::links::LinkState {
            store: store.clone(),
            blobs,
            links: services.links.clone(),
        }));
        clock.advance(chrono::Duration::days(29));
        assert_eq!(
            get(&router, &format!("/r/{token}")).await.status(),
            StatusCode::SEE_OTHER
        );
        clock.advance(chrono::Duration::days(1));
        let r = get(&router, &format!("/r/{token}")).await;
        assert_eq!(r.status(), StatusCode::GONE);
        let body = http_body_util::BodyExt::collect(r.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert!(String::from_utf8_lossy(&body).contains("expired"));
    }
}

/// Each file of `events/generate-report/` through the handler of the `generate-report`
/// function, on 1 May 2025 at 10:00 in Chicago: the monthly and executive reports of April
/// are due; the weekly (last week ended 4 days ago), quarterly and annual are not; the
/// request by hand finds April's monthly report issued already.
#[tokio::test]
async fn every_scheduler_payload_runs_the_reports_due() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new("2025-05-01T15:00:00Z".parse().unwrap()));
    let store = Store::new(redb(&dir, &clock), clock.clone() as Arc<dyn Clock>);
    let project = samples::sample_project(&store).await;
    samples::sample_usage(&store, &clock, d("2025-04-01"), d("2025-04-30")).await;
    let (services, _) = local_services(&dir, &store);
    let events = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/generate-report");
    let mut ran = Vec::new();
    for name in [
        "monthly",
        "executive",
        "weekly",
        "quarterly",
        "annual",
        "by-hand",
    ] {
        let payload: serde_json::Value =
            serde_json::from_slice(&std::fs::read(events.join(format!("{name}.json"))).unwrap())
                .unwrap();
        let run = reports::run(&services, &TypstRenderer, payload)
            .await
            .unwrap();
        assert!(run.failures.is_empty(), "{name}: {:?}", run.failures);
        ran.push((
            name,
            run.issued,
            run.emailed,
            run.already_issued,
            run.not_due,
        ));
    }
    assert_eq!(
        ran,
        [
            // issued as drafts for review: nothing goes to the client yet
            ("monthly", 1, 0, 0, 0),
            ("executive", 1, 0, 0, 0),
            ("weekly", 0, 0, 0, 1),
            ("quarterly", 0, 0, 0, 1),
            ("annual", 0, 0, 0, 1),
            ("by-hand", 0, 0, 1, 0),
        ]
    );
    let kinds: Vec<String> = store
        .reports_of(&project)
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.kind, r.period))
        .collect();
    assert_eq!(kinds, ["executive 2025-04", "monthly 2025-04"]);
    // not a report job
    let e = reports::run(
        &services,
        &TypstRenderer,
        serde_json::json!({"job": "daily"}),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("not a report job"), "{e}");
}

#[tokio::test]
async fn the_pdf_carries_its_data_as_a_json_attachment_with_the_records_digest() {
    // GIVEN the sample's monthly report data
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let (store, project) = sample(redb(&dir, &clock), clock).await;
    let kind = ReportKind::Monthly;
    let data = reports::assemble(&store, &project, kind, &period(kind))
        .await
        .unwrap();
    let pdf = roi_reports::pdf(&data, &meta()).unwrap();

    // WHEN poppler's pdfdetach saves the PDF's attachments
    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("r.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let listed = std::process::Command::new("pdfdetach")
        .args(["-list", path.to_str().unwrap()])
        .output()
        .expect("pdfdetach (poppler-utils; tests/run.sh installs it)");
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("report-data.json"),
        "{}",
        String::from_utf8_lossy(&listed.stdout)
    );
    let saved = std::process::Command::new("pdfdetach")
        .args([
            "-saveall",
            "-o",
            out.path().to_str().unwrap(),
            path.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(saved.success());

    // THEN the attachment is the report's data, and its SHA-256 is the digest a report
    // record keeps
    let file = out.path().join("report-data.json");
    let sum = std::process::Command::new("sha256sum")
        .arg(&file)
        .output()
        .unwrap();
    let sha = String::from_utf8(sum.stdout).unwrap();
    assert_eq!(sha.split_whitespace().next(), Some(data.digest().as_str()));
    let attached = std::fs::read(&file).unwrap();
    let back: serde_json::Value = serde_json::from_slice(&attached).unwrap();
    assert_eq!(back["project_id"], project.to_string());
}
