//! The scheduled work on the embedded store with a fixed clock: alert deduplication over a
//! sequence of runs, the reminder sequence, and the daily job's ROI periods.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use roi_adapters::dir_secrets::DirSecrets;
use roi_adapters::redb_table::RedbTable;
use roi_app::Store;
use roi_app::alerts::{self, Notifier};
use roi_app::form_link::FormSigner;
use roi_app::ingest::ingest;
use roi_app::jobs::{Job, Services, run};
use roi_app::measurements::{approve_baseline, import_baseline, import_tracking};
use roi_app::pricing::PriceTable;
use roi_app::rollup::rollup_days;
use roi_app::settings::{ClientSettings, DEFAULT_SECRET_PREFIX, WebhookSubscription, save};
use roi_app::setup::{add_client, add_project};
use roi_domain::client::{ClientDraft, ProjectDraft};
use roi_domain::event::BodyFormat;
use roi_domain::ports::{
    Clock, Email, FixedClock, MailError, Mailer, WebhookDelivery, WebhookError, Webhooks,
};
use roi_domain::{Client, ProjectId};
use rust_decimal_macros::dec;
use serde_json::json;

const JUNE: &[u8] = include_bytes!("fixtures/tracking-june.csv");

#[derive(Default)]
struct Outbox(Mutex<Vec<Email>>);

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        let mut sent = self.0.lock().unwrap();
        sent.push(email.clone());
        Ok(format!("m{}", sent.len()))
    }
}

#[derive(Default)]
struct Hooks(Mutex<Vec<WebhookDelivery>>);

#[async_trait]
impl Webhooks for Hooks {
    async fn deliver(&self, d: &WebhookDelivery) -> Result<(), WebhookError> {
        self.0.lock().unwrap().push(d.clone());
        Ok(())
    }
}

struct Ops {
    store: Store,
    clock: Arc<FixedClock>,
    mail: Arc<Outbox>,
    hooks: Arc<Hooks>,
    services: Services,
    client: Client,
    project: ProjectId,
    _dir: tempfile::TempDir,
}

/// Acme Logistics, its deployed project (go-live 2025-02-03) with an approved baseline and
/// three monthly measurements, an account manager, and a webhook.
async fn ops(now: &str) -> Ops {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(now.parse().unwrap()));
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let table = RedbTable::open(&dir.path().join("roi.redb"), Arc::clone(&dyn_clock)).unwrap();
    let store = Store::new(Arc::new(table), dyn_clock);
    let draft = ClientDraft {
        company_name: "Acme Logistics".into(),
        time_zone: Some("UTC".into()),
        report_recipients: vec!["coo@acme.example".into()],
        ..ClientDraft::default()
    };
    let (client, _) = add_client(&store, draft, "test").await.unwrap();
    let project = ProjectDraft {
        client_id: client.id.clone(),
        project_name: "Support Assistant".into(),
        id: None,
        solution_type: None,
        status: Some("deployed".into()),
        go_live_date: "2025-02-03".into(),
        one_time_investment: dec!(45000),
        gross_margin: Some(dec!(40)),
    };
    let (project, _) = add_project(&store, project, "test").await.unwrap();
    import_baseline(&store, &project.id, crate::BASELINE, "test")
        .await
        .unwrap();
    approve_baseline(&store, &project.id, "test").await.unwrap();
    import_tracking(&store, &project.id, crate::TRACKING, "test")
        .await
        .unwrap();
    let settings = ClientSettings {
        account_manager_email: Some("am@consultancy.example".into()),
        alert_recipients: vec!["ops@acme.example".into()],
        webhooks: vec![WebhookSubscription {
            url: "https://hooks.acme.example/roi".into(),
            secret: "whsec-0123456789abcdef".into(),
            secret_name: None,
            events: vec![],
        }],
        ..ClientSettings::default()
    };
    let secrets = Arc::new(DirSecrets::new(dir.path().join("secrets")));
    let stored = save(
        &store,
        secrets.as_ref(),
        DEFAULT_SECRET_PREFIX,
        &client.id,
        settings,
    )
    .await
    .unwrap();
    assert_eq!(
        stored.webhooks[0].secret_name.as_deref(),
        Some("roi-tracker/webhooks/acme-logistics/46f5cd1780d575a6")
    );
    let kept = store.settings(&client.id).await.unwrap();
    assert_eq!(
        (
            kept.webhooks[0].secret.as_str(),
            &kept.webhooks[0].secret_name
        ),
        ("", &stored.webhooks[0].secret_name),
        "the settings item keeps the secret's name, not the secret"
    );
    let (mail, hooks) = (Arc::new(Outbox::default()), Arc::new(Hooks::default()));
    let services = Services {
        store: store.clone(),
        notifier: Notifier {
            mailer: mail.clone(),
            webhooks: hooks.clone(),
            secrets,
            mail_from: "roi@consultancy.example".into(),
        },
        signer: FormSigner::new(b"jobs-test-secret-jobs-test-secret!!").unwrap(),
        base_url: "https://roi.example".into(),
        queue: None,
        admin_api: None,
        blobs: None,
    };
    Ops {
        store,
        clock,
        mail,
        hooks,
        services,
        client,
        project: project.id,
        _dir: dir,
    }
}

impl Ops {
    async fn remind(&self) {
        let settings = self.store.settings(&self.client.id).await.unwrap();
        let services = roi_app::reminders::ReminderServices {
            mailer: self.services.notifier.mailer.as_ref(),
            signer: &self.services.signer,
            base_url: &self.services.base_url,
            mail_from: "roi@consultancy.example",
        };
        let today = self.store.client_today(Some(&self.client));
        roi_app::reminders::send_reminders(
            &self.store,
            &services,
            &self.client,
            &settings,
            today,
            self.clock.now(),
        )
        .await
        .unwrap();
    }

    fn subjects(&self) -> Vec<String> {
        self.mail
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.subject.clone())
            .collect()
    }
    /// A $0.001 monthly budget for support, and today's usage of support rolled up (150 %
    /// of it); returns the settings stored.
    async fn overspent_support_budget(&self) -> ClientSettings {
        let mut settings = self.store.settings(&self.client.id).await.unwrap();
        settings
            .thresholds
            .department_budgets_usd
            .insert("support".into(), dec!(0.001));
        self.store
            .put_settings(&self.client.id, &settings)
            .await
            .unwrap();
        let body = json!([{"specversion": "1.0", "id": "u1", "source": "s", "type": "ai.usage", "time": "2025-06-10T08:00:00Z",
            "data": {"model": "claude-haiku-4-5", "input_tokens": 1000, "output_tokens": 100, "department": "support"}}]);
        ingest(
            &self.store,
            PriceTable::shipped(),
            &self.client.id,
            body.to_string().as_bytes(),
            BodyFormat::Batch,
        )
        .await
        .unwrap();
        let today = "2025-06-10".parse().unwrap();
        rollup_days(&self.store, &self.client.id, today, today)
            .await
            .unwrap();
        settings
    }

    fn clear(&self) {
        self.mail.0.lock().unwrap().clear();
        self.hooks.0.lock().unwrap().clear();
    }
    /// The (event, status) of the notices one check sends about `rule`.
    async fn check(&self, rule: &str) -> Vec<(String, String)> {
        let now = self.clock.now();
        alerts::check(&self.store, &self.services.notifier, &self.client, now)
            .await
            .unwrap()
            .notices
            .into_iter()
            .filter(|n| n.rule == rule)
            .map(|n| (n.event, n.status))
            .collect()
    }
}

#[tokio::test]
async fn an_alert_notifies_once_repeats_hourly_and_says_when_it_recovers() {
    // GIVEN a $0.001 monthly budget for support, already spent today
    let o = ops("2025-06-10T12:00:00Z").await;
    let mut settings = o.overspent_support_budget().await;
    // WHEN the check runs: it starts firing (150 % of budget)
    let rule = "department_budget";
    let pair = |e: &str, s: &str| vec![(e.to_owned(), s.to_owned())];
    assert_eq!(o.check(rule).await, pair("alert_triggered", "firing"));
    let subjects = o.subjects();
    assert!(
        subjects
            .iter()
            .any(|s| s == "Critical: AI budget used for Acme Logistics"),
        "{subjects:?}"
    );
    let email = o
        .mail
        .0
        .lock()
        .unwrap()
        .iter()
        .find(|e| e.subject.contains("AI budget used"))
        .cloned()
        .unwrap();
    assert_eq!(email.to, ["ops@acme.example"]);
    let hook = o
        .hooks
        .0
        .lock()
        .unwrap()
        .iter()
        .find(|h| String::from_utf8_lossy(&h.body).contains(rule))
        .cloned()
        .unwrap();
    assert_eq!(hook.event, "alert_triggered");
    assert_eq!(
        hook.secret, "whsec-0123456789abcdef",
        "signed with the secret read back from the secret store"
    );
    let payload: serde_json::Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(
        (payload["rule"].as_str(), payload["scope"].as_str()),
        (Some("department_budget"), Some("support"))
    );
    o.clear();
    // 30 minutes later, still firing: nothing
    o.clock.advance(chrono::Duration::minutes(30));
    assert_eq!(o.check(rule).await, vec![]);
    assert!(
        o.subjects().iter().all(|s| !s.contains(rule)),
        "{:?}",
        o.subjects()
    );
    // an hour after the first notice: one repeat
    o.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(o.check(rule).await, pair("threshold_exceeded", "repeat"));
    o.clear();
    // the budget is raised: one recovery notice, then silence
    settings
        .thresholds
        .department_budgets_usd
        .insert("support".into(), dec!(100));
    o.store.put_settings(&o.client.id, &settings).await.unwrap();
    assert_eq!(o.check(rule).await, pair("alert_triggered", "resolved"));
    assert!(
        o.subjects()
            .iter()
            .any(|s| s == "Resolved: AI budget used for Acme Logistics")
    );
    o.clear();
    o.clock.advance(chrono::Duration::hours(2));
    assert_eq!(o.check(rule).await, vec![]);
}

fn reminders_of(o: &Ops, due: &str) -> Vec<(String, Vec<String>)> {
    o.mail
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.subject.contains(due) || e.text.contains(due))
        .map(|e| (e.subject.clone(), e.to.clone()))
        .collect()
}

#[tokio::test]
async fn reminders_go_at_due_minus_7_due_and_due_plus_3_once_each() {
    // GIVEN the project whose measurement of 2025-06-03 (month 4) is due
    let o = ops("2025-05-27T07:00:00Z").await;
    let due = "2025-06-03";
    // WHEN the runs of D−7 (twice), D and D+3 happen
    o.remind().await;
    o.remind().await;
    let heads_up = reminders_of(&o, due);
    assert_eq!(heads_up.len(), 1, "{heads_up:?}");
    assert_eq!(heads_up[0].1, ["am@consultancy.example"]);
    o.clock.advance(chrono::Duration::days(7));
    o.remind().await;
    let on_due: Vec<Email> = o
        .mail
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.text.contains("due today (2025-06-03)"))
        .cloned()
        .collect();
    assert_eq!(on_due.len(), 1);
    assert_eq!(on_due[0].to, ["coo@acme.example"]);
    assert!(
        on_due[0].text.contains("https://roi.example/forms/"),
        "{}",
        on_due[0].text
    );
    o.clock.advance(chrono::Duration::days(3));
    o.remind().await;
    o.remind().await;
    let follow_ups = o
        .mail
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.subject.starts_with("Reminder:") && e.text.contains(due))
        .count();
    assert_eq!(follow_ups, 1);
    // THEN nothing follows once the measurement is in
    let o = ops("2025-06-03T07:00:00Z").await;
    o.remind().await;
    import_tracking(&o.store, &o.project, JUNE, "test")
        .await
        .unwrap();
    o.clock.advance(chrono::Duration::days(3));
    o.remind().await;
    let late = o
        .mail
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.subject.starts_with("Reminder:") && e.text.contains(due))
        .count();
    assert_eq!(late, 0, "submitted on the 4th: no follow-up");
    let project = o.store.project(&o.project).await.unwrap().unwrap();
    let t = roi_app::reminders::tracking(
        &project,
        &o.store.snapshots(&o.project).await.unwrap(),
        "2025-06-10".parse().unwrap(),
    );
    // due by 06-07: 02-10, 02-17, 02-24, 03-03, 03-17, 03-31, 04-14, 04-28, 05-03, 06-03;
    // measured 02-28, 03-31, 04-30 and 06-04 cover 03-03, 03-31, 04-28, 05-03 and 06-03;
    // only the June one was recorded by its due day (the others were imported on 06-03)
    assert_eq!((t.due_so_far, t.submitted, t.on_time), (10, 5, 1), "{t:?}");
    assert_eq!(t.completeness_percentage, Some(dec!(50)));
}

#[tokio::test]
async fn the_daily_job_rolls_up_computes_every_period_and_tells_the_webhook() {
    // GIVEN the measured project and a day of usage attributed to it
    let o = ops("2025-05-02T06:00:00Z").await;
    let body = json!([{"specversion": "1.0", "id": "u1", "source": "s", "type": "ai.usage", "time": "2025-05-01T10:00:00Z",
        "data": {"model": "claude-haiku-4-5", "input_tokens": 1000000, "output_tokens": 0, "project": o.project.to_string()}}]);
    ingest(
        &o.store,
        PriceTable::shipped(),
        &o.client.id,
        body.to_string().as_bytes(),
        BodyFormat::Batch,
    )
    .await
    .unwrap();
    // WHEN the daily job runs (for yesterday, 2025-05-01)
    let report = run(
        &o.services,
        &Job::Daily {
            date: None,
            client: None,
        },
    )
    .await
    .unwrap();
    // THEN the day is rolled up, and month to date and since go-live are computed
    assert_eq!(report.failures, Vec::<String>::new());
    // (go-live 2025-02-03: two whole months by 2025-05-01, so no "last 3 months" yet)
    assert_eq!(
        (
            report.clients,
            report.days_rolled_up,
            report.roi_calculations
        ),
        (1, 1, 2),
        "{report:?}"
    );
    let calcs = o.store.roi_calculations(&o.project).await.unwrap();
    let labels: Vec<&str> = calcs.iter().map(|c| c.period_analyzed.as_str()).collect();
    assert_eq!(labels, ["month to date", "since go-live"]);
    let hook = o
        .hooks
        .0
        .lock()
        .unwrap()
        .iter()
        .find(|h| h.event == "roi_calculation_complete")
        .cloned()
        .unwrap();
    let payload: serde_json::Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(payload["project_id"], o.project.to_string());
    let insights = o.store.latest_insights(&o.project).await.unwrap().unwrap();
    assert!(
        insights
            .trends
            .iter()
            .any(|t| t.metric == "avg_task_completion_time"),
        "{insights:?}"
    );
    // due by 2025-04-28: eight dates; measured 02-28, 03-31 and 04-30 cover 03-03, 03-31
    // and 04-28
    let t = &insights.tracking;
    assert_eq!((t.due_so_far, t.submitted), (8, 3), "{t:?}");
    // AND running it again changes nothing and sends the same webhook id
    run(
        &o.services,
        &Job::Daily {
            date: None,
            client: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(o.store.roi_calculations(&o.project).await.unwrap(), calcs);
}

#[tokio::test]
async fn a_closed_month_with_three_late_days_is_restated_once_by_the_daily_job() {
    // GIVEN late usage on three days of April, a closed month on 2 May, and a day of May
    let o = ops("2025-05-02T06:00:00Z").await;
    let body = json!(
        ["2025-04-10", "2025-04-11", "2025-04-12", "2025-05-01"]
            .iter()
            .enumerate()
            .map(
                |(n, day)| json!({"specversion": "1.0", "id": format!("late{n}"), "source": "s",
            "type": "ai.usage", "time": format!("{day}T10:00:00Z"),
            "data": {"model": "claude-haiku-4-5", "input_tokens": 1000, "output_tokens": 0}})
            )
            .collect::<Vec<_>>()
    );
    ingest(
        &o.store,
        PriceTable::shipped(),
        &o.client.id,
        body.to_string().as_bytes(),
        BodyFormat::Batch,
    )
    .await
    .unwrap();

    // WHEN the daily job runs
    let daily = Job::Daily {
        date: None,
        client: None,
    };
    let report = run(&o.services, &daily).await.unwrap();

    // THEN the four days are rolled up, and April is restated once, from its three days
    assert_eq!(report.failures, Vec::<String>::new());
    assert_eq!(
        (report.days_rolled_up, report.months_restated),
        (4, 1),
        "{report:?}"
    );
    let april = o
        .store
        .monthly_rollup(&o.client.id, "2025-04-01".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(april.events, 3);
    // AND a run with nothing changed restates nothing
    let again = run(&o.services, &daily).await.unwrap();
    assert_eq!(
        (again.days_rolled_up, again.months_restated),
        (1, 0),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_client_with_issued_reports_is_not_anonymised_without_a_report_store() {
    // GIVEN a client churned a year ago with one issued report, whose files print its name
    let mut o = ops("2025-05-02T06:00:00Z").await;
    roi_app::setup::change_client(&o.store, &o.client.id, "test", |_, d, _| {
        d.status = Some("churned".into());
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let blobs = Arc::new(roi_adapters::dir_blobs::DirBlobStore::new(
        dir.path().to_path_buf(),
        "https://roi.example",
        b"0123456789abcdef0123456789abcdef",
        Arc::clone(o.store.clock()),
    ));
    let key = |ext: &str| format!("reports/{}/monthly-2025-04-v001.{ext}", o.project);
    for ext in ["pdf", "csv", "xlsx", "json"] {
        roi_domain::ports::BlobStore::put(
            blobs.as_ref(),
            &key(ext),
            b"Acme Logistics".to_vec(),
            "application/octet-stream",
        )
        .await
        .unwrap();
    }
    let issued = roi_app::store::ReportRecord {
        client_id: o.client.id.clone(),
        project_id: o.project.clone(),
        kind: roi_domain::report::ReportKind::Monthly,
        period: "2025-04".into(),
        version: 1,
        restated: false,
        digest: "00".repeat(32),
        issued_at: o.store.clock().now(),
        pdf_key: key("pdf"),
        csv_key: key("csv"),
        xlsx_key: key("xlsx"),
        delivered: true,
        recipients: 1,
        files_written: true,
        review: roi_app::store::Review::Approved,
        reviewed_by: None,
        reviewed_at: None,
        withdraw_reason: None,
        draft_notified: true,
    };
    o.store.put_report(&issued).await.unwrap();
    o.clock.set("2026-05-02T06:00:00Z".parse().unwrap());
    let daily = Job::Daily {
        date: None,
        client: None,
    };

    // WHEN the daily job runs without a report store
    let report = run(&o.services, &daily).await.unwrap();

    // THEN it is refused, said so, and nothing changed
    assert_eq!(report.anonymised, 0);
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.contains("anonymisation") && f.contains("no report store")),
        "{:?}",
        report.failures
    );
    let kept = o.store.client(&o.client.id).await.unwrap().unwrap();
    assert_eq!(kept.company_name, "Acme Logistics");

    // WHEN it runs with the report store THEN the client is anonymised and the files go
    o.services.blobs = Some(blobs.clone());
    let report = run(&o.services, &daily).await.unwrap();
    assert_eq!(report.anonymised, 1, "{:?}", report.failures);
    for ext in ["pdf", "csv", "xlsx", "json"] {
        let left = roi_domain::ports::BlobStore::get(blobs.as_ref(), &key(ext))
            .await
            .unwrap();
        assert!(left.is_none(), "{ext}");
    }
}

/// An outbox that takes its time: a run sending through it is overtaken by another.
struct SlowOutbox(Outbox);

#[async_trait]
impl Mailer for SlowOutbox {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        self.0.send(email).await
    }
}

#[tokio::test]
async fn overlapping_alert_checks_send_each_notice_once() {
    // GIVEN a $0.001 monthly budget for support, already spent today, and slow e-mail
    let o = ops("2025-06-10T12:00:00Z").await;
    o.overspent_support_budget().await;
    let slow = Arc::new(SlowOutbox(Outbox::default()));
    let notifier = Notifier {
        mailer: slow.clone(),
        webhooks: o.hooks.clone(),
        secrets: Arc::clone(&o.services.notifier.secrets),
        mail_from: "roi@consultancy.example".into(),
    };
    // WHEN two checks run at once (the hourly daily job and the 5-minute check), each
    // reading the alert's state before the other has written it
    let now = o.clock.now();
    let (a, b) = tokio::join!(
        alerts::check(&o.store, &notifier, &o.client, now),
        alerts::check(&o.store, &notifier, &o.client, now)
    );
    // THEN the alert's notice is sent once, by one of them
    let budget = |run: &alerts::AlertRun| {
        run.notices
            .iter()
            .filter(|n| n.rule == "department_budget")
            .count()
    };
    assert_eq!(budget(&a.unwrap()) + budget(&b.unwrap()), 1);
    let sent = slow.0.0.lock().unwrap();
    let about_budget = sent
        .iter()
        .filter(|e| e.subject.contains("AI budget used"))
        .count();
    assert_eq!(
        about_budget,
        1,
        "{:?}",
        sent.iter().map(|e| &e.subject).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn roi_alerts_go_to_the_account_manager_and_to_the_client_only_when_opted_in() {
    // GIVEN the project's realised ROI as of 10 June (below seed 003's 200 % limit), seed
    // 003's preset and otherwise default alert settings with an account manager
    let o = ops("2025-06-10T12:00:00Z").await;
    let mut settings = ClientSettings {
        account_manager_email: Some("am@consultancy.example".into()),
        thresholds: roi_domain::kpi::Thresholds::seed_003(),
        ..ClientSettings::default()
    };
    o.store.put_settings(&o.client.id, &settings).await.unwrap();
    let project = o.store.project(&o.project).await.unwrap().unwrap();
    roi_app::compute::recompute_project(&o.store, &project)
        .await
        .unwrap();
    let roi_mail = |o: &Ops| -> Vec<Email> {
        let mail = o.mail.0.lock().unwrap();
        mail.iter()
            .filter(|e| e.subject.contains("ROI for"))
            .cloned()
            .collect()
    };

    // WHEN the alert check runs
    assert_eq!(o.check("roi_percentage").await.len(), 1);
    // THEN the notice reads as a sentence, and only the account manager gets it
    let sent = roi_mail(&o);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].to, ["am@consultancy.example"]);
    assert_eq!(sent[0].subject, "Critical: ROI for Acme Logistics");
    assert!(
        sent[0].text.contains("below the critical limit of 200 %"),
        "{}",
        sent[0].text
    );

    // WHEN the client opts in the ROI rule and the ROI alert starts again
    o.clear();
    settings.client_alert_rules = vec!["roi_percentage".into()];
    o.store.put_settings(&o.client.id, &settings).await.unwrap();
    let mut state = o.store.alert_states(&o.client.id).await.unwrap();
    state.iter_mut().for_each(|s| s.firing = false);
    for s in &state {
        o.store.put_alert_state(&o.client.id, s).await.unwrap();
    }
    o.check("roi_percentage").await;
    // THEN the client's report recipients get it too
    assert_eq!(
        roi_mail(&o)[0].to,
        ["am@consultancy.example", "coo@acme.example"]
    );
    // AND an hour later the repeat goes to the account manager only
    o.clear();
    o.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(
        o.check("roi_percentage").await,
        vec![("threshold_exceeded".to_owned(), "repeat".to_owned())]
    );
    assert_eq!(roi_mail(&o)[0].to, ["am@consultancy.example"]);
}

#[tokio::test]
async fn a_project_before_payback_with_default_settings_raises_no_roi_alert() {
    // GIVEN the project on 10 June 2025: go-live 3 February, realised ROI below 0 %, payback
    // expected after 5.1 months (early July), and default settings
    let o = ops("2025-06-10T12:00:00Z").await;
    let settings = ClientSettings {
        account_manager_email: Some("am@consultancy.example".into()),
        ..ClientSettings::default()
    };
    o.store.put_settings(&o.client.id, &settings).await.unwrap();
    let project = o.store.project(&o.project).await.unwrap().unwrap();
    let (calcs, _) = roi_app::compute::recompute_project(&o.store, &project)
        .await
        .unwrap();
    let latest = calcs.last().unwrap();
    assert!(
        latest.roi_percentage < rust_decimal::Decimal::ZERO,
        "{latest:?}"
    );
    assert_eq!(latest.payback_reached_in, None);
    // WHEN the alert check runs
    // THEN it raises no ROI alert, so no one is e-mailed about ROI
    assert_eq!(o.check("roi_percentage").await, Vec::new());
    assert!(
        o.subjects().iter().all(|s| !s.contains("ROI")),
        "{:?}",
        o.subjects()
    );

    // WHEN the expected payback (early July) has passed and the latest ROI is still below 0 %
    o.clock.set("2025-08-01T12:00:00Z".parse().unwrap());
    // THEN the alert fires, to the account manager only
    assert_eq!(
        o.check("roi_percentage").await,
        vec![("alert_triggered".to_owned(), "firing".to_owned())]
    );
    let mail = o.mail.0.lock().unwrap();
    let roi = mail.iter().find(|e| e.subject.contains("ROI")).unwrap();
    assert_eq!(roi.to, ["am@consultancy.example"]);
    assert!(
        roi.text.contains("below the critical limit of 0 %"),
        "{}",
        roi.text
    );
}

#[tokio::test]
async fn a_churned_client_is_anonymised_by_the_daily_job_a_year_later() {
    // GIVEN the measured project (one measurement has a note), and its client marked
    // churned on 2025-05-02
    let o = ops("2025-05-02T06:00:00Z").await;
    let figures = |snapshots: &[roi_domain::MetricSnapshot]| {
        snapshots
            .iter()
            .map(|s| (s.id().clone(), s.values().clone()))
            .collect::<Vec<_>>()
    };
    let before = o.store.snapshots(&o.project).await.unwrap();
    assert!(before.iter().any(|s| !s.notes().is_empty()));
    roi_app::setup::change_client(&o.store, &o.client.id, "test", |_, d, _| {
        d.status = Some("churned".into());
    })
    .await
    .unwrap();
    let churned = o.store.client(&o.client.id).await.unwrap().unwrap();
    assert_eq!(
        churned.profile.churned_on,
        Some("2025-05-02".parse().unwrap())
    );
    let daily = Job::Daily {
        date: None,
        client: None,
    };

    // WHEN the daily job runs 364 days later THEN nothing is anonymised yet
    o.clock.set("2026-05-01T06:00:00Z".parse().unwrap());
    let report = run(&o.services, &daily).await.unwrap();
    assert_eq!(report.anonymised, 0, "{:?}", report.failures);
    let kept = o.store.client(&o.client.id).await.unwrap().unwrap();
    assert_eq!(kept.company_name, "Acme Logistics");

    // WHEN it runs a year after the churn
    o.clock.set("2026-05-02T06:00:00Z".parse().unwrap());
    let report = run(&o.services, &daily).await.unwrap();
    assert_eq!(report.anonymised, 1, "{:?}", report.failures);

    // THEN the name is the client's pseudonym, contacts and notes are gone, figures stay
    let key = o.store.pseudonym_key().await.unwrap();
    let pseudonym = roi_app::privacy::client_pseudonym(&key, &o.client.id);
    assert!(
        pseudonym.starts_with("Client ") && pseudonym.len() == 15,
        "{pseudonym}"
    );
    let c = o.store.client(&o.client.id).await.unwrap().unwrap();
    assert_eq!(c.company_name, pseudonym);
    assert!(c.report_recipients.is_empty() && c.profile.primary_contact.is_none());
    assert_eq!(c.profile.anonymised_on, Some("2026-05-02".parse().unwrap()));
    let settings = o.store.settings(&o.client.id).await.unwrap();
    assert!(settings.alert_recipients.is_empty() && settings.webhooks.is_empty());
    assert_eq!(settings.account_manager_email, None);
    let after = o.store.snapshots(&o.project).await.unwrap();
    assert!(after.iter().all(|s| s.notes().is_empty()));
    assert_eq!(figures(&after), figures(&before));
    let summaries = o.store.summaries_of(&o.client.id).await.unwrap();
    assert!(!summaries.is_empty() && summaries.iter().all(|s| s.client_name == pseudonym));
    let audit = o
        .store
        .audit_entries(&o.client.id, "2026-05")
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "client_anonymised" && e.actor == "daily job")
    );
    // AND the next day's run changes nothing
    o.clock.set("2026-05-03T06:00:00Z".parse().unwrap());
    let report = run(&o.services, &daily).await.unwrap();
    assert_eq!(report.anonymised, 0);
}
