//! The console and the client dashboard in headless Chromium against `roi serve` on the
//! demo's data (issue 15): an operator signs in through the e-mailed link, finds the demo
//! client in the portfolio, confirms a measurement that needs review, approves the draft
//! one-pager (the client's e-mail lands in the outbox), makes and revokes a dashboard link,
//! and moves a planned project to `deployed`, after which the daily job sends its
//! reminder. axe-core (tests/run.sh installs it) runs in every page; screenshots at 390 and
//! 1280 px go to `target/screenshots/`.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

use crate::browser::{ONE_AT_A_TIME, Running, announced_port, chromium, roi, screenshot};

const PROJECT: &str = "acme-logistics-support-assistant";

fn axe_source() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/axe/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core at {} ({e}); tests/run.sh installs it",
            path.display()
        )
    })
}

/// Runs axe-core in the page and fails on any serious or critical violation.
async fn axe(browser: &Client, page: &str) {
    browser.execute(&axe_source(), vec![]).await.unwrap();
    let found = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at '
                   + v.nodes.map(n => n.target.join(' ')).join(', '))))
               .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .unwrap();
    let violations: Vec<String> = serde_json::from_value(found).unwrap();
    assert!(
        violations.is_empty(),
        "{page}: axe-core found {violations:#?}"
    );
}

async fn text(browser: &Client) -> String {
    browser
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Clicks `css` and waits until the page it was on is gone and a `main` is there.
async fn click_and_wait(browser: &Client, css: &str) {
    let before = browser.find(Locator::Css("html")).await.unwrap();
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while before.tag_name().await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "no new page after clicking {css}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser
        .wait()
        .for_element(Locator::Css("main"))
        .await
        .unwrap();
}

/// The outbox's e-mails (quoted-printable soft breaks joined), oldest first by name.
fn outbox(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut mails: Vec<(PathBuf, String)> = std::fs::read_dir(dir.join("outbox"))
        .map(|d| {
            d.map(|e| {
                let p = e.unwrap().path();
                let text = std::fs::read_to_string(&p)
                    .unwrap()
                    .replace("=\r\n", "")
                    .replace("=\n", "");
                (p, text)
            })
            .collect()
        })
        .unwrap_or_default();
    mails.sort();
    mails
}

fn serve(dir: &Path, schedules: bool) -> (Running, u16) {
    let mut args = vec!["serve", "--port", "0"];
    if !schedules {
        args.push("--no-schedule");
    }
    let mut child: Child = roi(dir).args(&args).stderr(Stdio::piped()).spawn().unwrap();
    let port = announced_port(&mut child);
    (Running(child), port)
}

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let out = roi(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "roi {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_reviews_and_delivers_in_the_console() {
    let _turn = ONE_AT_A_TIME.lock().await;
    // GIVEN the demo's data, a measurement whose figures jumped, and a planned project
    // that went live 8 days ago (its week-1 measurement is due)
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(d, &["demo"]);
    let jump = d.join("jump.csv");
    std::fs::write(
        &jump,
        "measurement_date,metric_category,metric_name,value,unit,notes\n\
         2026-11-15,cost,monthly_labor_cost,33000,USD,\n\
         2026-11-15,time,avg_task_completion_time,3,minutes,New routing rule\n\
         2026-11-15,quality,error_rate,3.0,percentage,\n",
    )
    .unwrap();
    let imported = run_ok(
        d,
        &[
            "import",
            "tracking",
            jump.to_str().unwrap(),
            "--project",
            PROJECT,
        ],
    );
    assert!(imported.contains("needs review"), "{imported}");
    let go_live = (chrono::Utc::now().date_naive() - chrono::Days::new(8)).to_string();
    run_ok(
        d,
        &[
            "project",
            "add",
            "--client",
            "acme-logistics",
            "Invoice Triage",
            "--go-live",
            &go_live,
            "--investment",
            "20000",
        ],
    );
    let (server, port) = serve(d, false);
    let base = format!("http://127.0.0.1:{port}");
    let (_driver, browser) = chromium(1280, 900).await;

    // WHEN the operator opens the console: sent to sign in, asks for a link by e-mail
    browser.goto(&format!("{base}/console")).await.unwrap();
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/console/sign-in")
    );
    axe(&browser, "sign-in").await;
    screenshot(&browser, "console-sign-in.png").await;
    browser
        .find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys("operator@localhost")
        .await
        .unwrap();
    click_and_wait(&browser, "button[type=submit]").await;
    assert!(text(&browser).await.contains("on its way"));
    let mail = outbox(d)
        .into_iter()
        .map(|(_, m)| m)
        .find(|m| m.contains("sign-in link"))
        .expect("the sign-in e-mail");
    let at = mail
        .find(&format!("{base}/console/sign-in/"))
        .expect("the link");
    let link: String = mail[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(*c))
        .collect();
    browser.goto(&link).await.unwrap();
    axe(&browser, "sign-in confirmation").await;
    click_and_wait(&browser, "main button[type=submit]").await;

    // THEN the portfolio lists the demo client with its figures
    let portfolio = text(&browser).await;
    assert!(
        portfolio.contains("Acme Logistics · Support Assistant"),
        "{portfolio}"
    );
    assert!(
        portfolio.contains("Acme Logistics · Invoice Triage"),
        "{portfolio}"
    );
    assert!(
        portfolio.contains("executive") && portfolio.contains("draft"),
        "{portfolio}"
    );
    axe(&browser, "portfolio").await;
    screenshot(&browser, "console-portfolio-desktop.png").await;

    // AND the client's page and the new-client form read well
    browser
        .goto(&format!("{base}/console/clients/acme-logistics"))
        .await
        .unwrap();
    assert!(text(&browser).await.contains("API keys"));
    axe(&browser, "client").await;
    screenshot(&browser, "console-client-desktop.png").await;
    browser
        .goto(&format!("{base}/console/new-client"))
        .await
        .unwrap();
    for (field, value) in [
        ("company_name", "Initech"),
        ("report_recipients", "ceo at initech"),
    ] {
        browser
            .find(Locator::Id(field))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    click_and_wait(&browser, "main button[type=submit]").await; // a bad address: refused
    assert!(text(&browser).await.contains("Please correct"));
    axe(&browser, "new client, refused").await;
    screenshot(&browser, "console-new-client-errors.png").await;
    browser.goto(&format!("{base}/console")).await.unwrap();

    // AND the measurement that needs review is confirmed
    click_and_wait(&browser, &format!("a[href='/console/projects/{PROJECT}']")).await;
    axe(&browser, "project").await;
    screenshot(&browser, "console-project-desktop.png").await;
    browser
        .goto(&format!("{base}/console/projects/{PROJECT}#month"))
        .await
        .unwrap();
    let page = text(&browser).await;
    assert!(page.contains("AI cost by model"), "{page}");
    // the project's own KPIs, as the demo filled them through the form and an event
    assert!(
        page.contains("Success criteria: 1 of 3 targets met, 2 at risk."),
        "{page}"
    );
    assert!(page.contains("Tickets resolved by the AI"), "{page}");
    screenshot(&browser, "console-project-month-desktop.png").await;
    browser
        .goto(&format!("{base}/console/projects/{PROJECT}"))
        .await
        .unwrap();
    click_and_wait(&browser, "button[id^='confirm-']").await;
    let page = text(&browser).await;
    assert!(page.contains("confirmed by operator@localhost"), "{page}");
    assert!(!page.contains("needs review"), "{page}");

    // AND the draft one-pager, approved, goes to the client
    let before = outbox(d).len();
    click_and_wait(&browser, "button[id^='approve-executive-']").await;
    let page = text(&browser).await;
    assert!(page.contains("e-mailed to"), "{page}");
    let mails = outbox(d);
    assert_eq!(mails.len(), before + 1, "one e-mail: the client's");
    let sent = &mails
        .iter()
        .max_by_key(|(p, _)| std::fs::metadata(p).unwrap().modified().unwrap())
        .unwrap()
        .1;
    assert!(sent.contains("coo@acme-logistics.example"), "{sent}");
    assert!(sent.contains("Executive summary"), "{sent}");

    // AND a dashboard link shows the client the headline ROI, until it is revoked
    click_and_wait(&browser, "form[action$='/dashboard-links'] button").await;
    let url = browser
        .find(Locator::Id("dashboard-url"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    browser.goto(&url).await.unwrap();
    let headline = browser
        .find(Locator::Css(&format!("#project-{PROJECT} .headline-roi")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(headline.ends_with(" %"), "{headline}");
    // the client sees its success criteria too, not the operator's notes
    let dashboard = text(&browser).await;
    assert!(dashboard.contains("Success criteria"), "{dashboard}");
    assert!(
        dashboard.contains("First-contact resolution"),
        "{dashboard}"
    );
    axe(&browser, "dashboard").await;
    screenshot(&browser, "dashboard-desktop.png").await;
    // the figure the operator sees now (the confirmed measurement changed it)
    browser.goto(&format!("{base}/console")).await.unwrap();
    let now = text(&browser).await;
    assert!(
        now.contains(&headline),
        "the portfolio's ROI, {headline}: {now}"
    );
    assert!(now.contains("KPIs: 1 of 3 targets met, 2 at risk"), "{now}");
    browser.goto(&url).await.unwrap();
    browser.set_window_size(390, 844).await.unwrap();
    screenshot(&browser, "dashboard-phone.png").await;
    browser.goto(&format!("{base}/console")).await.unwrap();
    screenshot(&browser, "console-portfolio-phone.png").await;
    browser
        .goto(&format!("{base}/console/projects/{PROJECT}"))
        .await
        .unwrap();
    axe(&browser, "project on a phone").await;
    screenshot(&browser, "console-project-phone.png").await;
    browser.set_window_size(1280, 900).await.unwrap();
    click_and_wait(&browser, "form[action$='/revoke'] button").await;
    let revoked = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        agent.get(&url).call().unwrap().status().as_u16()
    })
    .await
    .unwrap();
    assert_eq!(revoked, 410, "a revoked dashboard link is gone");

    // AND the planned project, moved to deployed, gets its reminder from the daily job
    browser
        .goto(&format!(
            "{base}/console/projects/acme-logistics-invoice-triage"
        ))
        .await
        .unwrap();
    browser
        .find(Locator::Css("#project-status option[value='deployed']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click_and_wait(&browser, "form[action$='/status'] button").await;
    assert!(text(&browser).await.contains("status deployed"));
    click_and_wait(&browser, "header form button").await; // sign out
    browser.clone().close().await.unwrap();
    drop(server);
    let (_server, _) = serve(d, true); // the daily job runs when the schedules start
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if outbox(d)
            .iter()
            .any(|(_, m)| m.contains("Please report") && m.contains("Invoice Triage"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no reminder for the deployed project within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
