//! Daily roll-ups from ingested events on the embedded store: the client's days (time
//! zones, a DST change), distinct users, recomputation, and merged periods.

use std::sync::Arc;

use chrono::NaiveDate;
use roi_adapters::redb_table::RedbTable;
use roi_app::Store;
use roi_app::ingest::ingest;
use roi_app::pricing::PriceTable;
use roi_app::rollup::{RollupView, period, rollup_days};
use roi_app::setup::add_client;
use roi_domain::ClientId;
use roi_domain::client::ClientDraft;
use roi_domain::event::BodyFormat;
use roi_domain::ports::{Clock, FixedClock};
use rust_decimal_macros::dec;
use serde_json::{Value, json};

struct Days {
    store: Store,
    _dir: tempfile::TempDir,
}

async fn days(now: &str, clients: &[(&str, &str)]) -> Days {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::new(now.parse().unwrap()));
    let table = RedbTable::open(&dir.path().join("roi.redb"), Arc::clone(&clock)).unwrap();
    let store = Store::new(Arc::new(table), clock);
    for (name, tz) in clients {
        let draft = ClientDraft {
            company_name: (*name).into(),
            time_zone: Some((*tz).into()),
            ..ClientDraft::default()
        };
        add_client(&store, draft, "test").await.unwrap();
    }
    Days { store, _dir: dir }
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn event(id: &str, kind: &str, time: &str, data: Value) -> Value {
    json!({"specversion": "1.0", "id": id, "source": "https://app.example", "type": kind, "time": time, "data": data})
}

fn usage(id: &str, time: &str, user: &str) -> Value {
    event(
        id,
        "ai.usage",
        time,
        json!({"model": "claude-haiku-4-5", "input_tokens": 1000, "output_tokens": 100, "user": user, "department": "support"}),
    )
}

async fn send(store: &Store, client: &ClientId, events: Vec<Value>) {
    let body = Value::from(events).to_string();
    let report = ingest(
        store,
        PriceTable::shipped(),
        client,
        body.as_bytes(),
        BodyFormat::Batch,
    )
    .await
    .unwrap();
    assert_eq!(report.rejected, 0, "{report:?}");
}

#[tokio::test]
async fn days_are_the_clients_own_across_a_dst_change() {
    // GIVEN a Chicago client and a Tokyo client, and events around Chicago's switch to
    // daylight time (2026-03-08 02:00 local: that day has 23 hours)
    let t = days(
        "2026-03-10T12:00:00Z",
        &[
            ("Chicago Co", "America/Chicago"),
            ("Tokyo Co", "Asia/Tokyo"),
        ],
    )
    .await;
    let times = [
        "2026-03-08T05:30:00Z", // 23:30 CST on the 7th
        "2026-03-08T06:30:00Z", // 00:30 CST on the 8th
        "2026-03-09T04:30:00Z", // 23:30 CDT on the 8th
        "2026-03-09T05:30:00Z", // 00:30 CDT on the 9th
    ];
    for client in ["chicago-co", "tokyo-co"] {
        let events = times
            .iter()
            .enumerate()
            .map(|(i, time)| usage(&format!("e{i}"), time, "u1"))
            .collect();
        send(&t.store, &client.parse().unwrap(), events).await;
    }
    // WHEN each client's days are rolled up
    let chicago = rollup_days(
        &t.store,
        &"chicago-co".parse().unwrap(),
        d("2026-03-07"),
        d("2026-03-09"),
    )
    .await
    .unwrap();
    let tokyo = rollup_days(
        &t.store,
        &"tokyo-co".parse().unwrap(),
        d("2026-03-07"),
        d("2026-03-09"),
    )
    .await
    .unwrap();
    // THEN Chicago's 8th holds the two events of its 23 hours; Tokyo (UTC+9) sees all four on its 8th and 9th
    let counts = |rs: &[roi_app::rollup::Rollup]| rs.iter().map(|r| r.events).collect::<Vec<_>>();
    assert_eq!(counts(&chicago), [1, 2, 1]);
    assert_eq!(counts(&tokyo), [0, 2, 2]);
}

#[tokio::test]
async fn wau_and_mau_count_distinct_users_not_sums_of_dau() {
    // GIVEN u1 active on each of 7 days, u2 on the first, u3 on the last
    let t = days("2026-11-21T12:00:00Z", &[("Alpha", "UTC")]).await;
    let client: ClientId = "alpha".parse().unwrap();
    let mut events = Vec::new();
    for day in 14..=20 {
        events.push(usage(
            &format!("u1-{day}"),
            &format!("2026-11-{day}T10:00:00Z"),
            "u1",
        ));
    }
    events.push(usage("u2", "2026-11-14T11:00:00Z", "u2"));
    events.push(usage("u3", "2026-11-20T11:00:00Z", "u3"));
    send(&t.store, &client, events).await;
    // WHEN the week is rolled up day by day
    let week = rollup_days(&t.store, &client, d("2026-11-14"), d("2026-11-20"))
        .await
        .unwrap();
    // THEN DAU is 2, 1, 1, 1, 1, 1, 2 (9 in sum), but WAU on the 20th is 3
    let dau: Vec<u64> = week.iter().map(|r| r.active_users()).collect();
    assert_eq!(dau, [2, 1, 1, 1, 1, 1, 2]);
    assert_eq!(week[6].wau, Some(3));
    assert_eq!(week[6].mau, Some(3));
    assert_eq!(week[0].wau, Some(2), "nothing before the 14th");
    // AND a later day reads the earlier days' users back from the store
    send(
        &t.store,
        &client,
        vec![usage("u4", "2026-11-21T09:00:00Z", "u4")],
    )
    .await;
    let next = rollup_days(&t.store, &client, d("2026-11-21"), d("2026-11-21"))
        .await
        .unwrap();
    assert_eq!(
        (next[0].active_users(), next[0].wau, next[0].mau),
        (1, Some(3), Some(4))
    );
    // AND the merged week counts each user once
    let merged = period(&t.store, &client, d("2026-11-14"), d("2026-11-20"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(merged.active_users(), 3);
    assert_eq!(merged.usage.events, 9);
    assert_eq!(merged.wau, None);
}

#[tokio::test]
async fn a_recompute_is_idempotent_and_a_late_event_changes_the_day() {
    let t = days("2026-11-21T12:00:00Z", &[("Alpha", "UTC")]).await;
    let client: ClientId = "alpha".parse().unwrap();
    send(
        &t.store,
        &client,
        vec![usage("a", "2026-11-20T10:00:00Z", "u1")],
    )
    .await;
    let day = d("2026-11-20");
    let first = rollup_days(&t.store, &client, day, day).await.unwrap();
    let stored = t.store.rollup(&client, day).await.unwrap().unwrap();
    assert_eq!(stored, first[0], "what is stored reads back whole");
    // WHEN it is computed again from the same events THEN nothing changes
    rollup_days(&t.store, &client, day, day).await.unwrap();
    assert_eq!(t.store.rollup(&client, day).await.unwrap().unwrap(), stored);
    // WHEN a late event of that day arrives and the day is recomputed THEN it counts
    send(
        &t.store,
        &client,
        vec![usage("late", "2026-11-20T23:59:00Z", "u2")],
    )
    .await;
    rollup_days(&t.store, &client, day, day).await.unwrap();
    let after = t.store.rollup(&client, day).await.unwrap().unwrap();
    assert_eq!(after.events, 2);
    assert_eq!(after.usage.cost_usd, stored.usage.cost_usd * dec!(2));
    assert_eq!(after.by["user"].len(), 2);
}

#[tokio::test]
async fn a_day_rolled_up_again_leaves_one_generation_of_its_items() {
    // GIVEN a day of 1,500 users rolled up: more items than a page written, or read and
    // deleted, at once
    let dir = tempfile::tempdir().unwrap();
    let (table, clock) = counting_table(dir.path());
    let store = Store::new(table.clone(), clock);
    let client = add_alpha(&store).await;
    for chunk in (0..1500).collect::<Vec<_>>().chunks(500) {
        let events = chunk
            .iter()
            .map(|i| usage(&format!("e{i}"), "2026-11-20T10:00:00Z", &format!("u{i}")))
            .collect();
        send(&store, &client, events).await;
    }
    let day = d("2026-11-20");
    rollup_days(&store, &client, day, day).await.unwrap();
    let pk = roi_app::store::keys::rollup(&client, day);
    let sort_keys = || async {
        let q = roi_domain::ports::Query::partition(pk.clone());
        roi_domain::ports::query_all(table.as_ref(), q)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.sk)
            .collect::<std::collections::BTreeSet<String>>()
    };
    let first = sort_keys().await;
    assert!(first.len() > 1500, "{} items", first.len());
    // written a page at a time
    let page = |n: &std::sync::atomic::AtomicUsize| n.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(page(&table.largest_put), 1000);
    // WHEN a late event of a new user arrives and the day is rolled up again
    send(
        &store,
        &client,
        vec![usage("late", "2026-11-20T23:00:00Z", "u1500")],
    )
    .await;
    rollup_days(&store, &client, day, day).await.unwrap();
    // THEN only the new generation is stored: one user's group more, none of the first's
    let second = sort_keys().await;
    assert_eq!(second.len(), first.len() + 1);
    assert_eq!(page(&table.largest_put), 1000);
    assert!(
        (900..=1000).contains(&page(&table.largest_delete)),
        "deleted {} at once, a page holds 1,000",
        page(&table.largest_delete)
    );
    let shared: Vec<&String> = first.intersection(&second).collect();
    assert_eq!(
        shared,
        [roi_app::store::keys::CURRENT],
        "only the pointer is kept"
    );
    assert_eq!(
        store
            .rollup(&client, day)
            .await
            .unwrap()
            .unwrap()
            .active_users(),
        1501
    );
}

#[tokio::test]
async fn every_kind_of_event_lands_in_its_figures() {
    let t = days("2026-11-21T12:00:00Z", &[("Alpha", "UTC")]).await;
    let client: ClientId = "alpha".parse().unwrap();
    let mut events = vec![
        usage("u", "2026-11-20T09:00:00Z", "ann"),
        event(
            "s1",
            "session",
            "2026-11-20T09:00:00Z",
            json!({"session_id": "s", "user": "ann", "phase": "start"}),
        ),
        event(
            "s2",
            "session",
            "2026-11-20T09:20:00Z",
            json!({"session_id": "s", "user": "ann", "phase": "end", "duration_ms": 1_200_000}),
        ),
        event(
            "f1",
            "feature.usage",
            "2026-11-20T09:05:00Z",
            json!({"feature": "search", "user": "ann", "count": 3}),
        ),
        event(
            "d1",
            "business.outcome",
            "2026-11-20T10:00:00Z",
            json!({"kind": "deal_won", "value_usd": "12000", "ai_assisted": true}),
        ),
        event(
            "d2",
            "business.outcome",
            "2026-11-20T10:00:00Z",
            json!({"kind": "deal_won", "value_usd": "8000", "ai_assisted": true}),
        ),
        event(
            "t1",
            "business.outcome",
            "2026-11-20T10:00:00Z",
            json!({"kind": "task_automated", "minutes_saved": "12.5", "ai_assisted": true, "count": 5}),
        ),
        event(
            "p1",
            "audit",
            "2026-11-20T11:00:00Z",
            json!({"action": "pii_access", "user": "ann"}),
        ),
    ];
    // 100 runs of an agent: 1..=100 ms, every 10th a timeout
    for i in 1..=100 {
        let outcome = if i % 10 == 0 { "timeout" } else { "success" };
        let mut data = json!({"agent": "triage", "outcome": outcome, "duration_ms": i, "retries": u32::from(i % 10 == 0)});
        if outcome == "timeout" {
            data["error_message"] = json!(format!("no answer within {} s", 30 + i % 20));
        }
        events.push(event(
            &format!("r{i}"),
            "agent.execution",
            "2026-11-20T12:00:00Z",
            data,
        ));
    }
    send(&t.store, &client, events).await;
    let day = d("2026-11-20");
    rollup_days(&t.store, &client, day, day).await.unwrap();
    let view = RollupView::try_from(&t.store.rollup(&client, day).await.unwrap().unwrap()).unwrap();
    assert_eq!(view.active_users, 1);
    assert_eq!(
        view.usage.cost_usd,
        dec!(0.0015),
        "1,000 × $1 + 100 × $5 per million"
    );
    assert_eq!(view.by["department"]["support"].events, 1);
    assert_eq!((view.sessions.started, view.sessions.ended), (1, 1));
    assert_eq!(view.features["search"], 3);
    assert_eq!(view.outcomes.ai_assisted_deals, 2);
    assert_eq!(view.ai_assisted_deal_avg_usd, Some(dec!(10000)));
    assert_eq!(view.outcomes.tasks_automated, 5);
    assert_eq!(view.outcomes.minutes_saved, dec!(12.5));
    assert_eq!(view.audit["pii_access/success"], 1);
    let agent = &view.agents["triage"];
    assert_eq!(agent.total_executions, 100);
    assert_eq!(agent.timeout_rate, Some(dec!(10)));
    assert_eq!(agent.retry_rate, Some(dec!(10)));
    assert_eq!(agent.error_breakdown["timeout"], 10);
    assert_eq!(
        agent.error_examples["timeout"],
        ["no answer within 40 s", "no answer within 30 s"],
        "distinct messages, at most three"
    );
    let ms = agent.execution_time_ms.unwrap();
    assert!(
        (ms.p95 - 95.0).abs() <= 0.95 + 1.0,
        "p95 {} within 1 % (and one rank) of 95",
        ms.p95
    );
}

async fn get(app: &axum::Router, path: &str, key: Option<&str>) -> (axum::http::StatusCode, Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut req = axum::http::Request::get(path);
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let res = app
        .clone()
        .oneshot(req.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_read_endpoints_show_a_client_only_its_own_figures() {
    use axum::http::StatusCode;
    // GIVEN Alpha's events of two days of one week, rolled up, and a key for Alpha and Beta
    let t = days("2026-11-21T12:00:00Z", &[("Alpha", "UTC"), ("Beta", "UTC")]).await;
    let alpha: ClientId = "alpha".parse().unwrap();
    send(
        &t.store,
        &alpha,
        vec![
            usage("a", "2026-11-17T10:00:00Z", "u1"),
            usage("b", "2026-11-18T10:00:00Z", "u2"),
        ],
    )
    .await;
    rollup_days(&t.store, &alpha, d("2026-11-16"), d("2026-11-20"))
        .await
        .unwrap();
    let key = |c: &str| {
        let store = t.store.clone();
        let c: ClientId = c.parse().unwrap();
        async move {
            roi_app::api_keys::create(&store, &c, "read", "test")
                .await
                .unwrap()
                .key
        }
    };
    let (alpha_key, beta_key) = (key("alpha").await, key("beta").await);
    let app = roi_app::http::events::router(Arc::new(roi_app::http::events::EventsState {
        store: t.store.clone(),
        prices: PriceTable::shipped().clone(),
    }));
    // THEN Alpha reads its day and its week (Monday 16th to Sunday 22nd)
    let (s, day) = get(&app, "/v1/rollups/daily/2026-11-17", Some(&alpha_key)).await;
    assert_eq!(s, StatusCode::OK, "{day}");
    assert_eq!(
        (day["events"].as_u64(), day["active_users"].as_u64()),
        (Some(1), Some(1))
    );
    let (s, week) = get(&app, "/v1/rollups/weekly/2026-11-19", Some(&alpha_key)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (week["from"].as_str(), week["to"].as_str()),
        (Some("2026-11-16"), Some("2026-11-22"))
    );
    assert_eq!(
        (week["events"].as_u64(), week["active_users"].as_u64()),
        (Some(2), Some(2))
    );
    // AND Beta's key reads Beta's (empty) figures, never Alpha's
    let (s, _) = get(&app, "/v1/rollups/daily/2026-11-17", Some(&beta_key)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // AND requests without a key or with a bad date are refused
    assert_eq!(
        get(&app, "/v1/rollups/daily/2026-11-17", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&app, "/v1/rollups/daily/17-11-2026", Some(&alpha_key))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    // AND a date chrono reads but no week can be built around is refused, not a panic
    // (issue 13: the week's Sunday overflowed the date range)
    for date in ["+262142-12-31", "1999-12-31", "2100-01-01"] {
        let (s, problem) = get(
            &app,
            &format!("/v1/rollups/weekly/{date}"),
            Some(&alpha_key),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{date}: {problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("2000-01-01 to 2099-12-31"),
            "{problem}"
        );
    }
    let (s, roi) = get(&app, "/v1/roi/current", Some(&alpha_key)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(roi["projects"], json!([]), "Alpha has no project yet");
}

#[tokio::test]
async fn stored_figures_that_cannot_be_summed_are_refused_by_name_not_wrapped() {
    use axum::http::StatusCode;
    // GIVEN two days of Alpha rolled up, one of them then corrupted in the store: its input
    // tokens at the top of u64's range (no events within the documented ranges come near)
    let t = days("2026-11-21T12:00:00Z", &[("Alpha", "UTC")]).await;
    let alpha: ClientId = "alpha".parse().unwrap();
    send(
        &t.store,
        &alpha,
        vec![
            usage("a", "2026-11-17T10:00:00Z", "u1"),
            usage("b", "2026-11-18T10:00:00Z", "u2"),
        ],
    )
    .await;
    rollup_days(&t.store, &alpha, d("2026-11-17"), d("2026-11-18"))
        .await
        .unwrap();
    let mut corrupt = t
        .store
        .rollup(&alpha, d("2026-11-17"))
        .await
        .unwrap()
        .unwrap();
    corrupt.usage.input_tokens = u64::MAX;
    t.store.put_rollup(&corrupt).await.unwrap();
    // WHEN the week is read through the library THEN the figure and the span are named
    let err = period(&t.store, &alpha, d("2026-11-16"), d("2026-11-22"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the roll-up of alpha 2026-11-16 to 2026-11-22: the roll-up figure `input_tokens` \
         leaves its range when summed: the stored roll-ups hold figures no events could produce"
    );
    // AND the read endpoint answers 500 with a problem that names no internals, while the
    // corrupted day alone still reads
    let key = roi_app::api_keys::create(&t.store, &alpha, "read", "test")
        .await
        .unwrap()
        .key;
    let app = roi_app::http::events::router(Arc::new(roi_app::http::events::EventsState {
        store: t.store.clone(),
        prices: PriceTable::shipped().clone(),
    }));
    let (s, problem) = get(&app, "/v1/rollups/weekly/2026-11-19", Some(&key)).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{problem}");
    assert_eq!(
        problem["type"], "/problems/figures-unavailable",
        "{problem}"
    );
    assert!(!problem.to_string().contains("input_tokens"), "{problem}");
    let (s, day) = get(&app, "/v1/rollups/daily/2026-11-17", Some(&key)).await;
    assert_eq!(
        (s, day["usage"]["input_tokens"].as_u64()),
        (StatusCode::OK, Some(u64::MAX))
    );
    // AND the month is not restated from them: the error names it
    let month = roi_app::rollup::restate_month(&t.store, &alpha, d("2026-11-01"))
        .await
        .unwrap_err();
    assert!(
        month
            .to_string()
            .starts_with("the roll-up of alpha 2026-11: "),
        "{month}"
    );
}

/// A redb table in `dir` that counts its queries, and the clock it reads
/// (2026-11-21T12:00:00Z).
fn counting_table(dir: &std::path::Path) -> (Arc<crate::Watched>, Arc<dyn Clock>) {
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::new("2026-11-21T12:00:00Z".parse().unwrap()));
    let redb = RedbTable::open(&dir.join("roi.redb"), Arc::clone(&clock)).unwrap();
    (Arc::new(crate::Watched::new(Arc::new(redb))), clock)
}

/// Adds the client Alpha (UTC); returns its id.
async fn add_alpha(store: &Store) -> ClientId {
    let draft = ClientDraft {
        company_name: "Alpha".into(),
        time_zone: Some("UTC".into()),
        ..ClientDraft::default()
    };
    add_client(store, draft, "test").await.unwrap().0.id
}

#[tokio::test]
async fn a_closed_month_is_read_as_one_monthly_roll_up_equal_to_its_days() {
    // GIVEN a client's usage on every day from 2026-09-01 to 2026-11-20, rolled up, on a
    // table that counts its queries
    let dir = tempfile::tempdir().unwrap();
    let (counting, clock) = counting_table(dir.path());
    let store = Store::new(counting.clone(), clock);
    let client = add_alpha(&store).await;
    let (from, to) = (d("2026-09-01"), d("2026-11-20"));
    let events: Vec<Value> = from
        .iter_days()
        .take_while(|day| *day <= to)
        .enumerate()
        .map(|(n, day)| {
            usage(
                &format!("e{n}"),
                &format!("{day}T10:00:00Z"),
                &format!("u{}", n % 7),
            )
        })
        .collect();
    send(&store, &client, events).await;
    rollup_days(&store, &client, from, to).await.unwrap();

    // THEN September and October, closed, have their monthly roll-ups; November has none
    let september = store
        .monthly_rollup(&client, d("2026-09-01"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (september.from, september.to, september.events),
        (d("2026-09-01"), d("2026-09-30"), 30)
    );
    assert!(
        store
            .monthly_rollup(&client, d("2026-10-01"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .monthly_rollup(&client, d("2026-11-01"))
            .await
            .unwrap()
            .is_none()
    );
    // AND the period reads 2 monthly roll-ups and November's 20 days, not 81 days, and
    // equals the days merged
    let mut days = Vec::new();
    for day in from.iter_days().take_while(|day| *day <= to) {
        days.push(store.rollup(&client, day).await.unwrap().unwrap());
    }
    let expected = roi_domain::rollup::merge_days(&days, from, to)
        .unwrap()
        .unwrap();
    let before = counting.queries.load(std::sync::atomic::Ordering::Relaxed);
    let merged = period(&store, &client, from, to).await.unwrap().unwrap();
    let reads = counting.queries.load(std::sync::atomic::Ordering::Relaxed) - before;
    assert_eq!(merged, expected);
    assert_eq!(reads, 2 + 20, "partitions read for 81 days");

    // WHEN a late event of 2026-09-15 is rolled up THEN September is restated
    send(
        &store,
        &client,
        vec![usage("late", "2026-09-15T23:00:00Z", "u99")],
    )
    .await;
    rollup_days(&store, &client, d("2026-09-15"), d("2026-09-15"))
        .await
        .unwrap();
    let restated = store
        .monthly_rollup(&client, d("2026-09-01"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(restated.events, 31);
    assert_eq!(restated.users.len(), september.users.len() + 1);
}

#[tokio::test]
async fn a_day_of_many_pages_is_folded_page_by_page_to_the_same_roll_up() {
    // GIVEN 9,000 events of one day (about 1,125 per shard, so every shard takes two
    // pages of EVENT_PAGE), on a table that counts its queries, with a raw-event archive
    let dir = tempfile::tempdir().unwrap();
    let (counting, clock) = counting_table(dir.path());
    let archive = Arc::new(roi_adapters::dir_blobs::DirBlobStore::new(
        dir.path().join("archive"),
        "http://127.0.0.1",
        b"0123456789abcdef0123456789abcdef",
        Arc::clone(&clock),
    ));
    let store = Store::new(counting.clone(), clock).with_archive(archive);
    let client = add_alpha(&store).await;
    let day = d("2026-11-20");
    let all: Vec<Value> = (0..9_000)
        .map(|n| {
            usage(
                &format!("e{n}"),
                &format!(
                    "{day}T{:02}:{:02}:{:02}Z",
                    n / 3600 % 24,
                    n / 60 % 60,
                    n % 60
                ),
                &format!("u{}", n % 1_500),
            )
        })
        .collect();
    for chunk in all.chunks(500) {
        send(&store, &client, chunk.to_vec()).await;
    }

    // WHEN the day's events are read page by page
    let before = counting.queries.load(std::sync::atomic::Ordering::Relaxed);
    let mut read = Vec::new();
    let count = store
        .each_event_of_day(&client, day, |e| {
            read.push(e);
            Ok(())
        })
        .await
        .unwrap();
    let pages = counting.queries.load(std::sync::atomic::Ordering::Relaxed) - before;
    // THEN every event comes once, in more pages than shards and no more than needed
    assert_eq!((count, read.len()), (9_000, 9_000));
    let ids: std::collections::BTreeSet<String> = read.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), 9_000);
    let shards = usize::from(roi_domain::event::EVENT_SHARDS);
    let page = roi_app::store::EVENT_PAGE as usize;
    assert!(
        pages > shards && pages <= shards + 9_000 / page + shards,
        "{pages} pages"
    );

    // AND the roll-up folded from the pages equals the fold of the whole day in any order
    let rolled = rollup_days(&store, &client, day, day).await.unwrap();
    let mut whole = read.clone();
    whole.reverse();
    let mut expected = roi_domain::rollup::roll_up(client.clone(), day, &whole).unwrap();
    expected.wau = rolled[0].wau;
    expected.mau = rolled[0].mau;
    assert_eq!(rolled[0], expected);
    assert_eq!((rolled[0].events, rolled[0].users.len()), (9_000, 1_500));
    assert_eq!(rolled[0].usage.input_tokens, 9_000 * 1_000);

    // AND the archive holds the day in the order read, the same bytes when rolled up again
    let first = store.archived_file(&client, day).await.unwrap().unwrap().1;
    let archived = store.archived_events(&client, day).await.unwrap().unwrap();
    assert_eq!(archived, read);
    rollup_days(&store, &client, day, day).await.unwrap();
    let second = store.archived_file(&client, day).await.unwrap().unwrap().1;
    assert_eq!(first, second);
}
