//! Figures that cannot be lost, doubled or poisoned (issue 13): each finding replayed on the
//! embedded store and on DynamoDB in moto, through the same use cases.

use std::sync::Arc;

use roi_adapters::redb_table::RedbTable;
use roi_app::Store;
use roi_app::compute::{ComputeError, ComputeRequest, compute_roi};
use roi_app::ingest::{EventStatus, IngestReport, ingest};
use roi_app::jobs::{Job, Services, run};
use roi_app::pricing::PriceTable;
use roi_app::rollup::rollup_days;
use roi_domain::event::BodyFormat;
use roi_domain::ports::{Clock, FixedClock, Item, Table};
use roi_domain::{ClientId, RoiError};
use roi_e2e::{moto, samples};
use rust_decimal_macros::dec;
use serde_json::{Value, json};

/// 2026-11-21 noon UTC: the sample client's (Chicago) yesterday is 2026-11-20.
fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new("2026-11-21T12:00:00Z".parse().unwrap()))
}

/// Both engines, each with its own table and `clock`: redb in `dir`, and DynamoDB in moto.
async fn engines(
    dir: &tempfile::TempDir,
    clock: &Arc<FixedClock>,
) -> [(&'static str, Arc<dyn Table>); 2] {
    let redb = RedbTable::open(
        &dir.path().join("roi.redb"),
        clock.clone() as Arc<dyn Clock>,
    )
    .unwrap();
    let dynamo = moto::table(moto::unique("integrity"), clock.clone() as Arc<dyn Clock>).await;
    [("redb", Arc::new(redb)), ("dynamodb", Arc::new(dynamo))]
}

fn acme() -> ClientId {
    "acme-logistics".parse().unwrap()
}

fn usage(id: &str, time: &str, data: Value) -> Value {
    json!({"specversion": "1.0", "id": id, "source": "https://crm.acme.example", "type": "ai.usage", "time": time, "data": data})
}

async fn send(store: &Store, events: &[Value]) -> IngestReport {
    let body = Value::from(events.to_vec()).to_string();
    ingest(
        store,
        PriceTable::shipped(),
        &acme(),
        body.as_bytes(),
        BodyFormat::Batch,
    )
    .await
    .unwrap()
}

/// The scheduled jobs' services over `store`, e-mail to an outbox in `dir`.
fn services(store: &Store, dir: &tempfile::TempDir) -> Services {
    Services {
        store: store.clone(),
        notifier: roi_app::alerts::Notifier {
            mailer: Arc::new(roi_adapters::outbox::OutboxMailer::new(
                dir.path(),
                Arc::clone(store.clock()),
            )),
            webhooks: Arc::new(roi_adapters::webhook::HttpWebhooks::default()),
            secrets: Arc::new(roi_adapters::dir_secrets::DirSecrets::new(
                dir.path().join("secrets"),
            )),
            mail_from: "roi@consultancy.example".into(),
        },
        signer: roi_app::form_link::FormSigner::new(b"integrity-test-secret-0123456789").unwrap(),
        base_url: "http://127.0.0.1".into(),
        queue: None,
        admin_api: None,
        blobs: None,
    }
}

fn daily() -> Job {
    Job::Daily {
        date: None,
        client: None,
    }
}

/// Rewrites the project's latest measurement as if stored before the bounds existed: a
/// labour and a software cost of 5 × 10^28 USD each. Returns the item as it was.
async fn poison_latest_measurement(
    store: &Store,
    table: &dyn Table,
    project: &roi_domain::ProjectId,
) -> Item {
    let latest = store.snapshots(project).await.unwrap().pop().unwrap();
    let pk = format!("PROJECT#{project}");
    let sk = format!(
        "SNAPSHOT#{}#{}#{}",
        latest.measured_on(),
        latest.kind(),
        latest.id()
    );
    let healthy = table
        .get(&pk, &sk)
        .await
        .unwrap()
        .expect("the snapshot's item");
    let mut record: Value = healthy.to_record().unwrap();
    record["values"]["monthly_labor_cost"] = json!("50000000000000000000000000000");
    record["values"]["monthly_software_cost"] = json!("50000000000000000000000000000");
    let poisoned = Item {
        attrs: record.as_object().unwrap().clone(),
        ..healthy.clone()
    };
    table
        .put(poisoned, roi_domain::ports::Condition::Always)
        .await
        .unwrap();
    healthy
}

fn statuses(report: &IngestReport) -> Vec<EventStatus> {
    report.results.iter().map(|r| r.status).collect()
}

#[tokio::test]
async fn usage_per_project_survives_the_stored_rollup_and_long_names_fit_the_key() {
    for (engine, table) in engines(&tempfile::tempdir().unwrap(), &clock()).await {
        // GIVEN the sample client with a second project, and usage of both on one day, one
        // event from a department whose name is 256 four-byte characters (1 KiB)
        let store = Store::new(table, clock());
        samples::sample_project(&store).await;
        let second = samples::second_project(&store).await;
        let long_name = "𝔇".repeat(256);
        let data = |project: &str, tokens: u64, department: &str| {
            json!({"model": "claude-haiku-4-5", "input_tokens": tokens, "output_tokens": 0,
                   "project": project, "department": department})
        };
        let report = send(
            &store,
            &[
                usage(
                    "a",
                    "2026-11-20T15:00:00Z",
                    data("acme-logistics-support-assistant", 1_000_000, "support"),
                ),
                usage(
                    "b",
                    "2026-11-20T15:01:00Z",
                    data(second.as_str(), 2_000_000, &long_name),
                ),
            ],
        )
        .await;
        assert_eq!(report.accepted, 2, "{engine}: {report:?}");
        // WHEN the day is rolled up and read back from the table
        let day = "2026-11-20".parse().unwrap();
        let computed = rollup_days(&store, &acme(), day, day).await.unwrap();
        let stored = store.rollup(&acme(), day).await.unwrap().unwrap();
        // THEN each project keeps its own usage (claude-haiku-4-5: $1 per million input tokens)
        assert_eq!(
            stored, computed[0],
            "{engine}: what is stored is what was computed"
        );
        let cost = |p: &str| stored.projects[p].usage.cost_usd;
        assert_eq!(
            cost("acme-logistics-support-assistant"),
            dec!(1),
            "{engine}"
        );
        assert_eq!(cost(second.as_str()), dec!(2), "{engine}");
        // AND the long department name reads back whole
        assert_eq!(stored.by["department"][&long_name].events, 1, "{engine}");
    }
}

#[tokio::test]
async fn a_resend_with_another_time_is_a_duplicate_and_another_payload_a_conflict() {
    for (engine, table) in engines(&tempfile::tempdir().unwrap(), &clock()).await {
        // GIVEN one $3 event (3 million input tokens of claude-haiku-4-5) stored
        let store = Store::new(table, clock());
        samples::sample_project(&store).await;
        let data =
            json!({"model": "claude-haiku-4-5", "input_tokens": 3_000_000, "output_tokens": 0});
        let first = send(
            &store,
            &[usage("e-1", "2026-11-20T15:00:00Z", data.clone())],
        )
        .await;
        assert_eq!(statuses(&first), [EventStatus::Accepted], "{engine}");
        // WHEN the producer resends it re-stamped 5 s later, and once across midnight
        let restamped = send(
            &store,
            &[
                usage("e-1", "2026-11-20T15:00:05Z", data.clone()),
                usage("e-1", "2026-11-21T07:00:00Z", data.clone()),
            ],
        )
        .await;
        // AND sends the same identity with other content
        let mut other = data.clone();
        other["input_tokens"] = json!(4_000_000);
        let conflicting = send(&store, &[usage("e-1", "2026-11-20T15:00:00Z", other)]).await;
        // THEN the resends are duplicates, the other content a conflict, and one copy is stored
        assert_eq!(
            statuses(&restamped),
            [EventStatus::Duplicate, EventStatus::Duplicate],
            "{engine}"
        );
        assert_eq!(statuses(&conflicting), [EventStatus::Conflict], "{engine}");
        assert_eq!(conflicting.conflict, 1);
        let day = "2026-11-20".parse().unwrap();
        rollup_days(&store, &acme(), day, "2026-11-21".parse().unwrap())
            .await
            .unwrap();
        let rolled = store.rollup(&acme(), day).await.unwrap().unwrap();
        assert_eq!(rolled.usage.cost_usd, dec!(3), "{engine}: counted once");
        let next = store
            .rollup(&acme(), "2026-11-21".parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(next.events, 0, "{engine}: not on the re-stamped day either");
    }
}

#[tokio::test]
async fn a_claimed_event_whose_record_was_lost_is_completed_by_its_resend() {
    for (engine, table) in engines(&tempfile::tempdir().unwrap(), &clock()).await {
        // GIVEN an event whose raw record was lost after its identity was claimed (a write
        // cut short)
        let store = Store::new(Arc::clone(&table), clock());
        samples::sample_project(&store).await;
        let event = usage(
            "e-9",
            "2026-11-20T15:00:00Z",
            json!({"model": "claude-haiku-4-5", "input_tokens": 1_000_000, "output_tokens": 0}),
        );
        send(&store, std::slice::from_ref(&event)).await;
        let day = "2026-11-20".parse().unwrap();
        let raw = store.events_of_day(&acme(), day).await.unwrap();
        assert_eq!(raw.len(), 1);
        for shard in 0..roi_domain::event::EVENT_SHARDS {
            let pk = roi_app::store::keys::raw_events(&acme(), day, shard);
            for item in roi_domain::ports::query_all(
                table.as_ref(),
                roi_domain::ports::Query::partition(pk.clone()),
            )
            .await
            .unwrap()
            {
                table.delete(&pk, &item.sk).await.unwrap();
            }
        }
        // WHEN it is resent, re-stamped
        let mut resent = event.clone();
        resent["time"] = json!("2026-11-20T15:00:09Z");
        let report = send(&store, &[resent]).await;
        // THEN it is accepted and stored once, at the time it was first received
        assert_eq!(statuses(&report), [EventStatus::Accepted], "{engine}");
        let raw = store.events_of_day(&acme(), day).await.unwrap();
        assert_eq!(raw.len(), 1, "{engine}");
        assert_eq!(
            raw[0].time.to_rfc3339(),
            "2026-11-20T15:00:00+00:00",
            "{engine}"
        );
    }
}

#[tokio::test]
async fn a_backfill_over_days_whose_events_expired_keeps_their_rollups() {
    let start = clock();
    for (engine, table) in engines(&tempfile::tempdir().unwrap(), &start).await {
        // GIVEN a day rolled up from its events
        start.set("2026-11-21T12:00:00Z".parse().unwrap());
        let store = Store::new(table, start.clone() as Arc<dyn Clock>);
        samples::sample_project(&store).await;
        let data =
            json!({"model": "claude-haiku-4-5", "input_tokens": 1_000_000, "output_tokens": 0});
        send(
            &store,
            &[usage("old", "2026-11-20T15:00:00Z", data.clone())],
        )
        .await;
        let day = "2026-11-20".parse().unwrap();
        rollup_days(&store, &acme(), day, day).await.unwrap();
        let before = store.rollup(&acme(), day).await.unwrap().unwrap();
        assert_eq!(before.events, 1);
        // WHEN 100 days later its raw events have expired and a backfill covers the day
        start.advance(chrono::Duration::days(100));
        assert!(
            store.events_of_day(&acme(), day).await.unwrap().is_empty(),
            "{engine}: expired"
        );
        let rolled = rollup_days(&store, &acme(), day, day + chrono::Days::new(20))
            .await
            .unwrap();
        // THEN only the days still open are rolled up; the expired day keeps its roll-up
        let today = store.client_today(store.client(&acme()).await.unwrap().as_ref());
        let first_open = roi_domain::event::first_open_day(today);
        assert!(first_open > day, "{engine}: the day is final");
        let days: Vec<_> = rolled.iter().map(|r| r.from).collect();
        let open: Vec<_> = first_open
            .iter_days()
            .take_while(|d| *d <= day + chrono::Days::new(20))
            .collect();
        assert_eq!(days, open, "{engine}");
        assert_eq!(
            store.rollup(&acme(), day).await.unwrap().unwrap(),
            before,
            "{engine}"
        );
        // AND a late event for that day is refused with the reason
        let late = send(&store, &[usage("late", "2026-11-20T16:00:00Z", data)]).await;
        assert_eq!(statuses(&late), [EventStatus::Rejected], "{engine}");
        let reason = late.results[0].reason.clone().unwrap();
        assert!(reason.contains("roll-up is final"), "{reason}");
    }
}

#[tokio::test]
async fn a_poisoned_measurement_fails_its_own_project_and_the_daily_job_goes_on() {
    for (engine, table) in engines(&tempfile::tempdir().unwrap(), &clock()).await {
        // GIVEN the sample project, whose latest measurement was stored (before the bounds
        // existed) with a labour cost of 5 × 10^28 USD
        let store = Store::new(Arc::clone(&table), clock());
        let project = samples::sample_project(&store).await;
        let latest = store.snapshots(&project).await.unwrap().pop().unwrap();
        poison_latest_measurement(&store, table.as_ref(), &project).await;
        // AND a healthy second client
        let other = roi_domain::client::ClientDraft {
            company_name: "Beta Co".into(),
            time_zone: Some("UTC".into()),
            ..Default::default()
        };
        roi_app::setup::add_client(&store, other, "test")
            .await
            .unwrap();
        // WHEN its ROI is computed
        let refused = compute_roi(&store, &project, ComputeRequest::default()).await;
        // THEN the computation refuses, naming the measurement and the field; nothing panics
        match refused {
            Err(ComputeError::Roi(RoiError::OutOfRange {
                snapshot, field, ..
            })) => {
                assert_eq!(&snapshot, latest.id(), "{engine}");
                assert_eq!(field, "monthly_labor_cost");
            }
            other => panic!("{engine}: {other:?}"),
        }
        // AND the daily job reports the failure and still rolls up both clients' days
        let dir = tempfile::tempdir().unwrap();
        let report = run(&services(&store, &dir), &daily()).await.unwrap();
        assert_eq!(
            (report.clients, report.days_rolled_up),
            (2, 2),
            "{engine}: {report:?}"
        );
        assert!(
            report
                .failures
                .iter()
                .any(|f| f.contains("monthly_labor_cost")),
            "{engine}: {report:?}"
        );
    }
}

#[tokio::test]
async fn late_events_are_rolled_up_by_the_next_daily_run() {
    for (engine, table) in engines(&tempfile::tempdir().unwrap(), &clock()).await {
        // GIVEN the sample client; on the 21st, usage of yesterday and of four days ago
        let store = Store::new(table, clock());
        samples::sample_project(&store).await;
        let dir = tempfile::tempdir().unwrap();
        let services = services(&store, &dir);
        let data =
            json!({"model": "claude-haiku-4-5", "input_tokens": 1_000_000, "output_tokens": 0});
        send(
            &store,
            &[
                usage("now", "2026-11-20T15:00:00Z", data.clone()),
                usage("late-1", "2026-11-17T15:00:00Z", data.clone()),
            ],
        )
        .await;
        // WHEN the daily job runs
        let first = run(&services, &daily()).await.unwrap();
        // THEN it rolls up yesterday and the late day
        assert_eq!(first.days_rolled_up, 2, "{engine}: {first:?}");
        let day = "2026-11-17".parse().unwrap();
        assert_eq!(
            store.rollup(&acme(), day).await.unwrap().unwrap().events,
            1,
            "{engine}"
        );
        // AND the next run only yesterday, the late day being caught up
        let second = run(&services, &daily()).await.unwrap();
        assert_eq!(second.days_rolled_up, 1, "{engine}: {second:?}");
        // WHEN another late event of that day arrives THEN the next run counts it
        send(&store, &[usage("late-2", "2026-11-17T16:00:00Z", data)]).await;
        let third = run(&services, &daily()).await.unwrap();
        assert_eq!(third.days_rolled_up, 2, "{engine}: {third:?}");
        let rolled = store.rollup(&acme(), day).await.unwrap().unwrap();
        assert_eq!(
            (rolled.events, rolled.usage.cost_usd),
            (2, dec!(2)),
            "{engine}"
        );
    }
}

#[tokio::test]
async fn a_day_of_many_names_is_stored_and_shown_within_bounds() {
    for (engine, table) in engines(&tempfile::tempdir().unwrap(), &clock()).await {
        // GIVEN a day with 300 distinct features and 300 distinct users
        let store = Store::new(table, clock());
        samples::sample_project(&store).await;
        let events: Vec<Value> = (0..300)
            .flat_map(|i| {
                let time = "2026-11-20T15:00:00Z";
                [
                    json!({"specversion": "1.0", "id": format!("f-{i}"), "source": "app", "type": "feature.usage",
                           "time": time, "data": {"feature": format!("feature-{i:03}"), "user": format!("u-{i}"), "count": i + 1}}),
                    usage(&format!("u-{i}"), time, json!({"model": "claude-haiku-4-5", "input_tokens": 1000 + i,
                           "output_tokens": 0, "user": format!("u-{i}")})),
                ]
            })
            .collect();
        assert_eq!(send(&store, &events).await.accepted, 600, "{engine}");
        // WHEN the day is rolled up and read back
        let day = "2026-11-20".parse().unwrap();
        rollup_days(&store, &acme(), day, day).await.unwrap();
        let stored = store.rollup(&acme(), day).await.unwrap().unwrap();
        // THEN the stored features are the 200 largest plus the rest summed, nothing lost
        assert_eq!(
            stored.features.len(),
            roi_app::rollup::MAX_NAMED_ENTRIES + 1,
            "{engine}"
        );
        assert_eq!(
            stored.features.values().sum::<u64>(),
            (1..=300).sum::<u64>()
        );
        assert_eq!(
            stored.features[roi_app::rollup::OTHER],
            (1..=100).sum::<u64>()
        );
        // AND every user counts, while the read endpoint shows the 200 costliest users
        assert_eq!(stored.active_users(), 300, "{engine}");
        let view = roi_app::rollup::RollupView::try_from(&stored).unwrap();
        assert_eq!(
            view.by["user"].len(),
            roi_app::rollup::MAX_NAMED_ENTRIES + 1
        );
        assert_eq!(view.by["user"][roi_app::rollup::OTHER].events, 100);
        assert_eq!(view.usage.events, 300);
    }
}

/// A table whose next `batch_put` writes only its first half (then says so), as a write
/// cut short by throttling or a crash would.
struct CutShort {
    inner: Arc<dyn Table>,
    armed: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl Table for CutShort {
    async fn put(
        &self,
        item: Item,
        condition: roi_domain::ports::Condition,
    ) -> Result<(), roi_domain::ports::TableError> {
        self.inner.put(item, condition).await
    }
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, roi_domain::ports::TableError> {
        self.inner.get(pk, sk).await
    }
    async fn add_within(
        &self,
        pk: &str,
        sk: &str,
        adds: &[(&str, u64, u64)],
        expires_at: Option<i64>,
    ) -> Result<bool, roi_domain::ports::TableError> {
        self.inner.add_within(pk, sk, adds, expires_at).await
    }
    async fn query(
        &self,
        query: roi_domain::ports::Query,
    ) -> Result<roi_domain::ports::Page, roi_domain::ports::TableError> {
        self.inner.query(query).await
    }
    async fn batch_get(
        &self,
        keys: Vec<roi_domain::ports::Key>,
    ) -> Result<Vec<Item>, roi_domain::ports::TableError> {
        self.inner.batch_get(keys).await
    }
    async fn batch_put(&self, items: Vec<Item>) -> Result<(), roi_domain::ports::TableError> {
        if !self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return self.inner.batch_put(items).await;
        }
        let mut items = items;
        let lost = items.split_off(items.len() / 2);
        self.inner.batch_put(items).await?;
        Err(roi_domain::ports::TableError::Incomplete {
            unwritten: lost.iter().map(Item::key).collect(),
        })
    }
    async fn delete(&self, pk: &str, sk: &str) -> Result<(), roi_domain::ports::TableError> {
        self.inner.delete(pk, sk).await
    }
    async fn transact_put(
        &self,
        puts: Vec<(Item, roi_domain::ports::Condition)>,
    ) -> Result<(), roi_domain::ports::TableError> {
        self.inner.transact_put(puts).await
    }
}

#[tokio::test]
async fn a_rollup_write_cut_short_leaves_the_previous_one_whole() {
    for (engine, table) in engines(&tempfile::tempdir().unwrap(), &clock()).await {
        // GIVEN a day rolled up from events of three departments
        let cut = Arc::new(CutShort {
            inner: table,
            armed: std::sync::atomic::AtomicBool::new(false),
        });
        let store = Store::new(cut.clone(), clock());
        samples::sample_project(&store).await;
        let data = |dept: &str| json!({"model": "claude-haiku-4-5", "input_tokens": 1_000_000, "output_tokens": 0, "department": dept});
        let first: Vec<Value> = ["a", "b", "c"]
            .iter()
            .enumerate()
            .map(|(i, d)| usage(&format!("e-{i}"), "2026-11-20T15:00:00Z", data(d)))
            .collect();
        send(&store, &first).await;
        let day = "2026-11-20".parse().unwrap();
        rollup_days(&store, &acme(), day, day).await.unwrap();
        let before = store.rollup(&acme(), day).await.unwrap().unwrap();
        // WHEN late events of other departments arrive and the day's new roll-up is cut
        // short half-way through its write
        let late: Vec<Value> = ["d", "e", "f"]
            .iter()
            .enumerate()
            .map(|(i, d)| usage(&format!("l-{i}"), "2026-11-20T16:00:00Z", data(d)))
            .collect();
        send(&store, &late).await;
        cut.armed.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(
            rollup_days(&store, &acme(), day, day).await.is_err(),
            "{engine}"
        );
        // THEN readers still see the previous roll-up whole, not a mixture
        assert_eq!(
            store.rollup(&acme(), day).await.unwrap().unwrap(),
            before,
            "{engine}"
        );
        // AND the next run writes the new one whole
        let after = rollup_days(&store, &acme(), day, day).await.unwrap();
        let stored = store.rollup(&acme(), day).await.unwrap().unwrap();
        assert_eq!(stored, after[0], "{engine}");
        assert_eq!(stored.by["department"].len(), 6, "{engine}");
        assert_eq!(store.rollup_users(&acme(), day).await.unwrap().len(), 0);
    }
}

/// 2026-11-03 noon in Chicago: a measurement of the sample project is due today (21 months
/// after go-live), and yesterday is 2026-11-02.
fn reminder_day() -> Arc<FixedClock> {
    Arc::new(FixedClock::new("2026-11-03T18:00:00Z".parse().unwrap()))
}

/// The clients of the fan-out tests, in the order a job meets them; the middle one is
/// poisoned.
const THREE: [(&str, &str, &str); 3] = [
    ("alpha-freight", "Alpha Freight", "cfo@alpha.example"),
    ("mango-foods", "Mango Foods", "cfo@mango.example"),
    ("zulu-parts", "Zulu Parts", "cfo@zulu.example"),
];

/// Adds the three clients, each with the sample project and measurements, and poisons the
/// middle one's latest measurement. Returns each client's project and the healthy item.
async fn three_clients_the_middle_poisoned(
    store: &Store,
    table: &dyn Table,
) -> (Vec<roi_domain::ProjectId>, Item) {
    let mut projects = Vec::new();
    for (_, company, recipient) in THREE {
        projects.push(samples::client_like_the_sample(store, company, recipient).await);
    }
    let healthy = poison_latest_measurement(store, table, &projects[1]).await;
    (projects, healthy)
}

/// Whether `client` got its roll-up of 2026-11-02, its ROI as of that day, and its reminder.
async fn got_its_daily_work(
    store: &Store,
    outbox: &std::path::Path,
    (client, project, recipient): (&str, &roi_domain::ProjectId, &str),
) -> (bool, bool, bool) {
    let yesterday: chrono::NaiveDate = "2026-11-02".parse().unwrap();
    let client: ClientId = client.parse().unwrap();
    let rolled = store.rollup(&client, yesterday).await.unwrap().is_some();
    let roi = store
        .roi_calculations(project)
        .await
        .unwrap()
        .iter()
        .any(|c| c.calculation_date == yesterday);
    let mailer = roi_adapters::outbox::OutboxMailer::new(outbox, Arc::clone(store.clock()));
    let reminded = mailer.messages().unwrap().iter().any(|path| {
        let eml = std::fs::read_to_string(path).unwrap();
        eml.contains(&format!("To: {recipient}")) && eml.contains("/forms/")
    });
    (rolled, roi, reminded)
}

#[tokio::test]
async fn a_poisoned_client_between_two_healthy_ones_fails_alone_in_process() {
    for (engine, table) in engines(&tempfile::tempdir().unwrap(), &reminder_day()).await {
        // GIVEN three clients, the middle one's latest measurement poisoned
        let store = Store::new(Arc::clone(&table), reminder_day());
        let (projects, _) = three_clients_the_middle_poisoned(&store, table.as_ref()).await;
        // WHEN the daily job runs in-process (roi serve)
        let dir = tempfile::tempdir().unwrap();
        let report = run(&services(&store, &dir), &daily()).await.unwrap();
        // THEN one unit failed, naming its client and the field
        assert_eq!(
            (report.clients, report.units_failed),
            (3, 1),
            "{engine}: {report:?}"
        );
        assert!(
            report.failures.len() == 1
                && report.failures[0].starts_with("mango-foods: ROI of mango-foods")
                && report.failures[0].contains("monthly_labor_cost"),
            "{engine}: {report:?}"
        );
        // AND both healthy clients got their roll-up, ROI and reminder
        for i in [0, 2] {
            let (client, _, recipient) = THREE[i];
            assert_eq!(
                got_its_daily_work(&store, dir.path(), (client, &projects[i], recipient)).await,
                (true, true, true),
                "{engine}: {client}"
            );
        }
        // AND the poisoned one everything but its ROI
        let (client, _, recipient) = THREE[1];
        assert_eq!(
            got_its_daily_work(&store, dir.path(), (client, &projects[1], recipient)).await,
            (true, false, true),
            "{engine}"
        );
    }
}

/// What Lambda's SQS event source does: receives up to ten messages and hands them to the
/// function as one event. Returns the event and each message's (id, receipt handle).
async fn deliver(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    arn: &str,
) -> (Value, Vec<(String, String)>) {
    let out = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let mut records = Vec::new();
    let mut receipts = Vec::new();
    for m in out.messages.unwrap_or_default() {
        let (id, receipt) = (m.message_id.unwrap(), m.receipt_handle.unwrap());
        records.push(
            json!({"messageId": id, "receiptHandle": receipt, "body": m.body.unwrap(),
            "attributes": {}, "messageAttributes": {}, "md5OfBody": m.md5_of_body,
            "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "us-east-1"}),
        );
        receipts.push((id, receipt));
    }
    (json!({ "Records": records }), receipts)
}

/// What the event source does with the function's answer: deletes every message it did not
/// name as failed. Returns the failed message ids.
async fn settle(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    receipts: &[(String, String)],
    answer: roi_app::jobs::Answer,
) -> Vec<String> {
    let roi_app::jobs::Answer::Units(response) = answer else {
        panic!("an SQS event is answered with batch item failures: {answer:?}");
    };
    let failed: Vec<String> = response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect();
    for (id, receipt) in receipts.iter().filter(|(id, _)| !failed.contains(id)) {
        sqs.delete_message()
            .queue_url(url)
            .receipt_handle(receipt)
            .send()
            .await
            .unwrap_or_else(|e| panic!("deleting {id}: {e}"));
    }
    failed
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    use aws_sdk_sqs::types::QueueAttributeName;
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone()
}

#[tokio::test]
async fn on_aws_a_poisoned_clients_unit_is_retried_dead_lettered_and_replayed() {
    use aws_sdk_sqs::types::QueueAttributeName;
    use roi_app::jobs::{Answer, handle_invocation};
    // GIVEN DynamoDB and SQS in moto: the units queue redrives to a dead-letter queue after
    // two receives (the template says three), with no visibility delay for the test
    let config = moto::sdk_config().await;
    let table = moto::table(moto::unique("fan-out"), reminder_day() as Arc<dyn Clock>).await;
    let table: Arc<dyn Table> = Arc::new(table);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let create = |name: String| sqs.create_queue().queue_name(name);
    let dlq = create(moto::unique("units-dlq"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let policy = json!({"deadLetterTargetArn": queue_arn(&sqs, &dlq).await, "maxReceiveCount": 2});
    let units = create(moto::unique("units"))
        .attributes(QueueAttributeName::RedrivePolicy, policy.to_string())
        .attributes(QueueAttributeName::VisibilityTimeout, "0")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let (units_arn, dlq_arn) = (queue_arn(&sqs, &units).await, queue_arn(&sqs, &dlq).await);
    // AND three clients, the middle one poisoned
    let store = Store::new(Arc::clone(&table), reminder_day());
    let (projects, healthy) = three_clients_the_middle_poisoned(&store, table.as_ref()).await;
    let dir = tempfile::tempdir().unwrap();
    let services = Services {
        queue: Some(Arc::new(roi_adapters::sqs::SqsQueue::new(
            sqs.clone(),
            units.clone(),
        ))),
        ..services(&store, &dir)
    };

    // WHEN the daily schedule fires THEN it only queues one unit per client
    let answer = handle_invocation(
        &services,
        json!({"job": "daily", "correlation_id": "sched-daily-7"}),
    )
    .await
    .unwrap();
    let Answer::Job(report) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(
        (report.units_queued, report.days_rolled_up),
        (3, 0),
        "{report:?}"
    );
    assert!(
        !got_its_daily_work(
            &store,
            dir.path(),
            ("alpha-freight", &projects[0], "cfo@alpha.example")
        )
        .await
        .0
    );

    // WHEN the event source hands the units to compute-roi
    let (event, receipts) = deliver(&sqs, &units, &units_arn).await;
    assert_eq!(receipts.len(), 3);
    let answer = handle_invocation(&services, event).await.unwrap();
    let failed = settle(&sqs, &units, &receipts, answer).await;
    // THEN only the poisoned client's message is named as failed
    let poisoned: Vec<&String> = receipts
        .iter()
        .map(|(id, _)| id)
        .filter(|id| failed.contains(id))
        .collect();
    assert_eq!(poisoned.len(), 1, "{failed:?}");
    // AND both healthy clients got their roll-up, ROI and reminder
    for i in [0, 2] {
        let (client, _, recipient) = THREE[i];
        assert_eq!(
            got_its_daily_work(&store, dir.path(), (client, &projects[i], recipient)).await,
            (true, true, true),
            "{client}"
        );
    }

    // WHEN SQS delivers the failed unit again, it fails again, and after its second receive
    // it is moved to the dead-letter queue
    let (event, receipts) = deliver(&sqs, &units, &units_arn).await;
    assert_eq!(receipts.len(), 1, "only the failed unit comes back");
    let again = handle_invocation(&services, event).await.unwrap();
    assert_eq!(settle(&sqs, &units, &receipts, again).await.len(), 1);
    let (event, receipts) = deliver(&sqs, &units, &units_arn).await;
    assert!(receipts.is_empty(), "{event}");
    let (event, receipts) = deliver(&sqs, &dlq, &dlq_arn).await;
    assert_eq!(receipts.len(), 1);
    let body: Value = serde_json::from_str(event["Records"][0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        (body["job"].as_str(), body["client"].as_str()),
        (Some("daily"), Some("mango-foods")),
        "the dead letter names its job and client: {body}"
    );
    assert_eq!(
        body["correlation_id"], "sched-daily-7",
        "and the schedule's correlation id"
    );

    // WHEN the measurement is corrected and the dead letter replayed THEN the unit succeeds
    table
        .put(healthy, roi_domain::ports::Condition::Always)
        .await
        .unwrap();
    let replayed = handle_invocation(&services, event).await.unwrap();
    assert_eq!(
        settle(&sqs, &dlq, &receipts, replayed).await,
        Vec::<String>::new()
    );
    let (client, _, recipient) = THREE[1];
    assert_eq!(
        got_its_daily_work(&store, dir.path(), (client, &projects[1], recipient)).await,
        (true, true, true)
    );
}
