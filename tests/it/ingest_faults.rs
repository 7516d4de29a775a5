//! Ingestion under storage faults (issue 4, "Done means"): 10,000 events sent through
//! `POST /v1/events` while the table loses writes, throttles and fails; the sender resends
//! what is not reported accepted or duplicate. At the end every event is stored once and
//! was reported accepted exactly once, and no event was reported accepted before it was
//! written.
//!
//! The chaos run (issue 13) sends 20,000 events the same way, mixed with re-stamped resends
//! and same-identity-other-content copies of events already taken, over ten days, while
//! single writes fail too; every answer must be explained by what was sent, and the days
//! rolled up from the table must equal a straight sum over the unique events.
//!
//! Two fault sources: a fault-injecting [`Table`] wrapper over the embedded store, and
//! DynamoDB itself through `aws-smithy-mocks` (unprocessed items and keys; throttling as an
//! HTTP 400 with the real error body, which the SDK retries).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_smithy_mocks::{MockResponse, RuleMode, mock, mock_client};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use roi_adapters::backoff::Backoff;
use roi_adapters::dynamodb::DynamoTable;
use roi_adapters::redb_table::RedbTable;
use roi_app::Store;
use roi_app::http::events::{EventsState, router};
use roi_app::pricing::PriceTable;
use roi_domain::event::EventKey;
use roi_domain::ports::{Clock, Condition, FixedClock, Item, Key, Page, Query, Table, TableError};
use roi_e2e::samples::DEV_API_KEY;
use serde_json::{Value, json};
use tower::ServiceExt;

const EVENTS: usize = 10_000;
const SOURCE: &str = "https://crm.example/assistant";
const THROTTLED: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."}"#;

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::new("2026-11-21T12:00:00Z".parse().unwrap()))
}

/// A small deterministic generator (xorshift64): the same faults on every run.
#[derive(Clone)]
struct Dice(Arc<Mutex<u64>>);

impl Dice {
    fn new(seed: u64) -> Self {
        Self(Arc::new(Mutex::new(seed)))
    }
    /// True with `percent` % chance.
    fn roll(&self, percent: u64) -> bool {
        let mut x = self.0.lock().unwrap();
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x % 100 < percent
    }
}

fn event(i: usize) -> Value {
    json!({
        "specversion": "1.0", "id": format!("e-{i:05}"), "source": SOURCE, "type": "ai.usage",
        "time": format!("2026-11-20T{:02}:{:02}:{:02}Z", 12 + i / 3600 % 12, i / 60 % 60, i % 60),
        "data": {"model": "claude-haiku-4-5", "input_tokens": 100 + i, "output_tokens": 20, "user": format!("u-{}", i % 37)},
    })
}

fn key_of(e: &Value) -> Key {
    let k = EventKey::new(
        chrono_tz::America::Chicago,
        SOURCE,
        e["id"].as_str().unwrap(),
        e["time"].as_str().unwrap().parse().unwrap(),
    );
    let (pk, sk) = roi_app::store::keys::raw_event(&"acme-logistics".parse().unwrap(), &k);
    Key { pk, sk }
}

/// What the sender saw.
#[derive(Debug, Default)]
struct Tally {
    accepted: usize,
    unavailable_answers: usize,
    rounds: usize,
}

/// Sends every event in batches of 1,000 and resends what was not taken, as a client
/// following the API's answers would. `written` says which keys storage holds right now.
async fn send_until_stored<F, Fut>(app: &axum::Router, written: F) -> Tally
where
    F: Fn(Vec<Key>) -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut pending: Vec<Value> = (0..EVENTS).map(event).collect();
    let mut tally = Tally::default();
    while !pending.is_empty() {
        tally.rounds += 1;
        assert!(tally.rounds <= 100, "{} events never got in", pending.len());
        let mut again = Vec::new();
        for chunk in pending.chunks(1000) {
            let req = Request::post("/v1/events")
                .header(header::CONTENT_TYPE, "application/cloudevents-batch+json")
                .header(header::AUTHORIZATION, format!("Bearer {DEV_API_KEY}"))
                .body(Body::from(Value::from(chunk.to_vec()).to_string()))
                .unwrap();
            let res = app.clone().oneshot(req).await.unwrap();
            let status = res.status();
            let retry_after = res.headers().get(header::RETRY_AFTER).cloned();
            let body: Value =
                serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes())
                    .unwrap();
            match status {
                StatusCode::OK | StatusCode::MULTI_STATUS => {}
                StatusCode::SERVICE_UNAVAILABLE => {
                    assert!(retry_after.is_some(), "a 503 says when to retry");
                    tally.unavailable_answers += 1;
                }
                other => panic!("unexpected {other}: {body}"),
            }
            let Some(results) = body["results"].as_array() else {
                again.extend_from_slice(chunk); // nothing was written
                continue;
            };
            let mut accepted_now = Vec::new();
            for (r, e) in results.iter().zip(chunk) {
                match r["status"].as_str().unwrap() {
                    "accepted" => accepted_now.push(key_of(e)),
                    "duplicate" => {}
                    "not_written" => again.push(e.clone()),
                    other => panic!("event {} {other}: {r}", e["id"]),
                }
            }
            let n = accepted_now.len();
            assert_eq!(written(accepted_now).await, n, "accepted means written");
            tally.accepted += n;
        }
        pending = again;
    }
    tally
}

/// A [`Table`] that fails: `batch_put` loses each item with `lose_percent` % chance (and
/// says so, as DynamoDB does), and any batch call fails outright with `fail_percent` %.
struct FaultyTable {
    inner: Arc<dyn Table>,
    dice: Dice,
    lose_percent: u64,
    fail_percent: u64,
    /// Single writes (identity claims, day markers) that fail outright, percent.
    put_fail_percent: u64,
}

#[async_trait]
impl Table for FaultyTable {
    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
        if self.dice.roll(self.put_fail_percent) {
            return Err(TableError::Unavailable("injected".into()));
        }
        self.inner.put(item, condition).await
    }
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, TableError> {
        self.inner.get(pk, sk).await
    }
    async fn add_within(
        &self,
        pk: &str,
        sk: &str,
        adds: &[(&str, u64, u64)],
        expires_at: Option<i64>,
    ) -> Result<bool, TableError> {
        if self.dice.roll(self.put_fail_percent) {
            return Err(TableError::Unavailable("injected".into()));
        }
        self.inner.add_within(pk, sk, adds, expires_at).await
    }
    async fn query(&self, query: Query) -> Result<Page, TableError> {
        self.inner.query(query).await
    }
    async fn batch_get(&self, keys: Vec<Key>) -> Result<Vec<Item>, TableError> {
        if self.dice.roll(self.fail_percent) {
            return Err(TableError::Unavailable("injected".into()));
        }
        self.inner.batch_get(keys).await
    }
    async fn batch_put(&self, items: Vec<Item>) -> Result<(), TableError> {
        if self.dice.roll(self.fail_percent) {
            return Err(TableError::Incomplete {
                unwritten: items.iter().map(Item::key).collect(),
            });
        }
        let (lost, kept): (Vec<Item>, Vec<Item>) = items
            .into_iter()
            .partition(|_| self.dice.roll(self.lose_percent));
        self.inner.batch_put(kept).await?;
        if lost.is_empty() {
            Ok(())
        } else {
            Err(TableError::Incomplete {
                unwritten: lost.iter().map(Item::key).collect(),
            })
        }
    }
    async fn delete(&self, pk: &str, sk: &str) -> Result<(), TableError> {
        self.inner.delete(pk, sk).await
    }
    async fn transact_put(&self, puts: Vec<(Item, Condition)>) -> Result<(), TableError> {
        if self.dice.roll(self.put_fail_percent) {
            return Err(TableError::Unavailable("injected".into()));
        }
        self.inner.transact_put(puts).await
    }
}

/// The events API over `inner` seen through a [`FaultyTable`] that loses 10 % of batch
/// writes, fails 15 % of batch calls and `put_fail_percent` % of single writes, its dice
/// seeded with `seed`.
fn faulty_app(inner: &Arc<dyn Table>, seed: u64, put_fail_percent: u64) -> axum::Router {
    let faulty = FaultyTable {
        inner: Arc::clone(inner),
        dice: Dice::new(seed),
        lose_percent: 10,
        fail_percent: 15,
        put_fail_percent,
    };
    router(Arc::new(EventsState {
        store: Store::new(Arc::new(faulty), clock()),
        prices: PriceTable::shipped().clone(),
    }))
}

/// The sample client's rate limits at their maximum: these runs send every event in one
/// minute of a stopped clock.
async fn unlimited(store: &Store) {
    let client = "acme-logistics".parse().unwrap();
    let mut settings = store.settings(&client).await.unwrap();
    settings.requests_per_minute = 1_000_000;
    settings.events_per_minute = 100_000_000;
    store.put_settings(&client, &settings).await.unwrap();
}

async fn stored_count(store: &Store) -> usize {
    store
        .events_of_day(
            &"acme-logistics".parse().unwrap(),
            "2026-11-20".parse().unwrap(),
        )
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_through_a_faulty_table_are_stored_once_each() {
    // GIVEN the sample client and a table that loses 10 % of writes and fails 15 % of calls
    let dir = tempfile::tempdir().unwrap();
    let inner: Arc<dyn Table> =
        Arc::new(RedbTable::open(&dir.path().join("roi.redb"), clock()).unwrap());
    let clean = Store::new(Arc::clone(&inner), clock());
    roi_e2e::samples::sample_project(&clean).await;
    roi_e2e::samples::register_dev_api_key(&clean).await;
    unlimited(&clean).await;
    let app = faulty_app(&inner, 0x5eed, 0);
    // WHEN 10,000 events are sent, and resent until taken
    let tally = send_until_stored(&app, |keys| {
        let clean = clean.clone();
        async move { clean.existing_keys(keys).await.unwrap().len() }
    })
    .await;
    // THEN each was reported accepted once, is stored once, none is lost
    assert_eq!(tally.accepted, EVENTS);
    assert_eq!(stored_count(&clean).await, EVENTS);
    assert!(
        tally.unavailable_answers > 0 && tally.rounds > 1,
        "{tally:?}: faults were injected"
    );
}

type Attributes = HashMap<String, AttributeValue>;
type State = Arc<Mutex<HashMap<(String, String), Attributes>>>;

fn key_text(item: &Attributes) -> (String, String) {
    let s = |n: &str| match item.get(n) {
        Some(AttributeValue::S(s)) => s.clone(),
        _ => String::new(),
    };
    (s("pk"), s("sk"))
}

/// A DynamoDB client answering from `state`, throttling `throttle_percent` % of batch
/// calls and leaving `unprocessed_percent` % of batch items (and keys) unprocessed.
///
/// A throttled call stays throttled through the SDK's attempts: the mock serves a retried
/// attempt without its input, so it cannot compute a success for it. (That throttled calls
/// are retried and then succeed is `roi-adapters`' `throttled_calls_are_retried_by_the_sdk`.)
fn faulty_dynamodb(
    state: &State,
    dice: &Dice,
    throttle_percent: u64,
    unprocessed_percent: u64,
) -> Client {
    let s = Arc::clone(state);
    let put = mock!(Client::put_item).then_compute_output(move |input| {
        let item = input.item().cloned().unwrap_or_default();
        s.lock().unwrap().insert(key_text(&item), item);
        PutItemOutput::builder().build()
    });
    let s = Arc::clone(state);
    let get = mock!(Client::get_item).then_compute_output(move |input| {
        let key = key_text(input.key().unwrap());
        let found = s.lock().unwrap().get(&key).cloned();
        GetItemOutput::builder().set_item(found).build()
    });
    // The API key's rate counter: its budget is lifted, so each addition goes in.
    let update = mock!(Client::update_item).then_output(|| UpdateItemOutput::builder().build());
    // Only the client's project listing is queried on this path: it has none.
    let query = mock!(Client::query).then_output(|| QueryOutput::builder().count(0).build());
    let d = dice.clone();
    let throttle_get = mock!(Client::batch_get_item)
        .match_requests(move |_| d.roll(throttle_percent))
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .repeatedly()
        .build();
    let d = dice.clone();
    let throttle_write = mock!(Client::batch_write_item)
        .match_requests(move |_| d.roll(throttle_percent))
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .repeatedly()
        .build();
    let (s, d) = (Arc::clone(state), dice.clone());
    let batch_get = mock!(Client::batch_get_item).then_compute_response(move |input| {
        let (table, request) = input.request_items().unwrap().iter().next().unwrap();
        let (later, now): (Vec<Attributes>, Vec<Attributes>) = request
            .keys()
            .iter()
            .cloned()
            .partition(|_| d.roll(unprocessed_percent));
        let map = s.lock().unwrap();
        let found: Vec<Attributes> = now
            .iter()
            .filter_map(|k| map.get(&key_text(k)).cloned())
            .collect();
        let mut out = BatchGetItemOutput::builder().responses(table, found);
        if !later.is_empty() {
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(later))
                .build()
                .unwrap();
            out = out.unprocessed_keys(table, keys);
        }
        MockResponse::Output(out.build())
    });
    let (s, d) = (Arc::clone(state), dice.clone());
    let batch_write = mock!(Client::batch_write_item).then_compute_response(move |input| {
        let (table, requests) = input.request_items().unwrap().iter().next().unwrap();
        let (later, now): (Vec<_>, Vec<_>) = requests
            .iter()
            .cloned()
            .partition(|_| d.roll(unprocessed_percent));
        let mut map = s.lock().unwrap();
        for w in now {
            let item = w.put_request().unwrap().item().clone();
            map.insert(key_text(&item), item);
        }
        MockResponse::Output(
            BatchWriteItemOutput::builder()
                .unprocessed_items(table, later)
                .build(),
        )
    });
    mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [
            &put,
            &get,
            &update,
            &query,
            &throttle_get,
            &throttle_write,
            &batch_get,
            &batch_write
        ],
        |c| c.retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
        )
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_through_a_throttling_dynamodb_are_stored_once_each() {
    // GIVEN DynamoDB that throttles 5 % of batch calls through all 3 SDK attempts and
    // leaves 20 % of batch items and keys unprocessed
    let state: State = Arc::default();
    let dice = Dice::new(0xd1ce);
    let table = DynamoTable::new(faulty_dynamodb(&state, &dice, 5, 20), "roi", clock())
        .with_backoff(Backoff::immediate(5));
    let store = Store::new(Arc::new(table), clock());
    let client = roi_domain::client::ClientDraft {
        company_name: "Acme Logistics".into(),
        time_zone: Some("America/Chicago".into()),
        ..Default::default()
    };
    roi_app::setup::add_client(&store, client, "test")
        .await
        .unwrap();
    roi_e2e::samples::register_dev_api_key(&store).await;
    unlimited(&store).await;
    let app = router(Arc::new(EventsState {
        store,
        prices: PriceTable::shipped().clone(),
    }));
    // WHEN 10,000 events are sent, and resent until taken
    let seen = Arc::clone(&state);
    let tally = send_until_stored(&app, |keys| {
        let map = seen.lock().unwrap();
        let n = keys
            .iter()
            .filter(|k| map.contains_key(&(k.pk.clone(), k.sk.clone())))
            .count();
        std::future::ready(n)
    })
    .await;
    // THEN each was reported accepted once and is stored once
    assert_eq!(tally.accepted, EVENTS);
    let events = state
        .lock()
        .unwrap()
        .keys()
        .filter(|(pk, _)| pk.starts_with("EVENTS#acme-logistics#"))
        .count();
    assert_eq!(events, EVENTS);
    assert!(
        tally.unavailable_answers > 0,
        "{tally:?}: the SDK's retries ran out at times"
    );
}

/// The departments and projects of the chaos run's events.
const DEPARTMENTS: [&str; 4] = ["support", "billing", "sales", "operations"];

/// The i-th of the chaos run's unique events: one of 10 days (2026-11-11 to 11-20, late
/// ones included), one of two projects, one of four departments, and its own token counts.
fn chaos_event(i: usize, projects: &[String; 2]) -> Value {
    json!({
        "specversion": "1.0", "id": format!("c-{i:05}"), "source": SOURCE, "type": "ai.usage",
        "time": format!("2026-11-{:02}T15:{:02}:{:02}Z", 11 + i % 10, i / 60 % 60, i % 60),
        "data": {"model": "claude-haiku-4-5", "input_tokens": 1_000 + i, "output_tokens": 10 + i % 50,
                 "project": projects[i % 2], "department": DEPARTMENTS[i % 4]},
    })
}

/// What the chaos run must add up to, summed straight from the unique events: per day,
/// project and department, cost (claude-haiku-4-5 at $1 and $5 per million input and output
/// tokens) and tokens.
#[derive(Debug, Default, PartialEq)]
struct Sums {
    cost: std::collections::BTreeMap<(String, String, String), rust_decimal::Decimal>,
    tokens: std::collections::BTreeMap<(String, String, String), u64>,
}

fn straight_sums(events: &[Value]) -> Sums {
    let mut sums = Sums::default();
    for e in events {
        let d = &e["data"];
        let (input, output) = (
            d["input_tokens"].as_u64().unwrap(),
            d["output_tokens"].as_u64().unwrap(),
        );
        let key = (
            e["time"].as_str().unwrap()[..10].to_owned(), // 15:xx UTC is the same day in Chicago
            d["project"].as_str().unwrap().to_owned(),
            d["department"].as_str().unwrap().to_owned(),
        );
        let cost = (rust_decimal::Decimal::from(input) + rust_decimal::Decimal::from(output * 5))
            / rust_decimal::Decimal::from(1_000_000);
        *sums.cost.entry(key.clone()).or_default() += cost;
        *sums.tokens.entry(key).or_default() += input + output;
    }
    sums
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_events_resent_restamped_and_conflicting_roll_up_to_a_straight_sum() {
    // GIVEN the sample client with two projects, and a table that loses 10 % of batch writes,
    // fails 15 % of batch calls and 5 % of single writes
    let dir = tempfile::tempdir().unwrap();
    let inner: Arc<dyn Table> =
        Arc::new(RedbTable::open(&dir.path().join("roi.redb"), clock()).unwrap());
    let clean = Store::new(Arc::clone(&inner), clock());
    let first = roi_e2e::samples::sample_project(&clean).await;
    roi_e2e::samples::register_dev_api_key(&clean).await;
    unlimited(&clean).await;
    let second = roi_e2e::samples::second_project(&clean).await;
    let projects = [first.to_string(), second.to_string()];
    let app = faulty_app(&inner, 0xc4a05, 5);
    const UNIQUE: usize = 20_000;
    let originals: Vec<Value> = (0..UNIQUE).map(|i| chaos_event(i, &projects)).collect();
    let dice = Dice::new(0x5ca1e);

    // WHEN every event is sent until taken, each batch mixed with re-stamped resends and
    // same-id-other-content copies of events already taken
    let mut accepted = vec![0u32; UNIQUE];
    let mut pending: Vec<usize> = (0..UNIQUE).collect();
    let (mut restamped, mut conflicting, mut rounds) = (0usize, 0usize, 0usize);
    while !pending.is_empty() {
        rounds += 1;
        assert!(rounds <= 100, "{} events never got in", pending.len());
        let mut again = Vec::new();
        for chunk in pending.chunks(900) {
            // (index of the unique event, what is sent, what it is)
            let mut batch: Vec<(usize, Value, &str)> = chunk
                .iter()
                .map(|&i| (i, originals[i].clone(), "original"))
                .collect();
            for i in (0..UNIQUE).filter(|&i| accepted[i] > 0).take(100) {
                if dice.roll(50) {
                    let mut copy = originals[i].clone();
                    copy["time"] = json!(format!("2026-11-{:02}T16:00:00Z", 11 + (i + 3) % 10));
                    batch.push((i, copy, "restamped"));
                } else {
                    let mut copy = originals[i].clone();
                    copy["data"]["output_tokens"] = json!(999);
                    batch.push((i, copy, "conflicting"));
                }
            }
            let body: Vec<Value> = batch.iter().map(|(_, e, _)| e.clone()).collect();
            let req = Request::post("/v1/events")
                .header(header::CONTENT_TYPE, "application/cloudevents-batch+json")
                .header(header::AUTHORIZATION, format!("Bearer {DEV_API_KEY}"))
                .body(Body::from(Value::from(body).to_string()))
                .unwrap();
            let res = app.clone().oneshot(req).await.unwrap();
            let status = res.status();
            let answer: Value =
                serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes())
                    .unwrap();
            let Some(results) = answer["results"].as_array() else {
                assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
                again.extend_from_slice(chunk);
                continue;
            };
            // THEN every status is explained by what was sent
            for (r, (i, _, what)) in results.iter().zip(&batch) {
                match (*what, r["status"].as_str().unwrap()) {
                    ("original", "accepted") => accepted[*i] += 1,
                    ("original", "not_written") => again.push(*i),
                    ("original", "duplicate") => {
                        assert!(accepted[*i] > 0, "c-{i} duplicate before it was accepted")
                    }
                    ("restamped", "duplicate") => restamped += 1,
                    ("conflicting", "conflict") => conflicting += 1,
                    (_, "not_written") => {}
                    (what, status) => panic!("a {what} copy of c-{i} was {status}: {r}"),
                }
            }
        }
        pending = again;
    }
    assert!(
        accepted.iter().all(|n| *n == 1),
        "each accepted exactly once"
    );
    assert!(
        restamped > 1_000 && conflicting > 1_000,
        "{restamped} re-stamped, {conflicting} conflicting"
    );

    // AND the days rolled up from what is stored equal the straight sums of the unique events
    let client: roi_domain::ClientId = "acme-logistics".parse().unwrap();
    let (from, to) = ("2026-11-11".parse().unwrap(), "2026-11-20".parse().unwrap());
    let days = roi_app::rollup::rollup_days(&clean, &client, from, to)
        .await
        .unwrap();
    let expected = straight_sums(&originals);
    let mut stored = Sums::default();
    for day in &days {
        assert_eq!(day.events, (UNIQUE / 10) as u64, "{}", day.from);
    }
    // The roll-up keeps each breakdown on its own, so the straight sums' finer cells (day,
    // project, department) are compared through their two marginals.
    let marginal = |sums: &Sums, pick: fn(&(String, String, String)) -> String| {
        let mut cost: std::collections::BTreeMap<String, rust_decimal::Decimal> =
            Default::default();
        let mut tokens: std::collections::BTreeMap<String, u64> = Default::default();
        for (k, v) in &sums.cost {
            *cost.entry(pick(k)).or_default() += v;
        }
        for (k, v) in &sums.tokens {
            *tokens.entry(pick(k)).or_default() += v;
        }
        (cost, tokens)
    };
    for day in &days {
        let d = day.from.to_string();
        for (project, t) in &day.projects {
            let key = (d.clone(), project.clone(), String::new());
            *stored.cost.entry(key.clone()).or_default() += t.usage.cost_usd;
            *stored.tokens.entry(key).or_default() += t.usage.total_tokens();
        }
        for (dept, t) in &day.by["department"] {
            let key = (d.clone(), String::new(), dept.clone());
            *stored.cost.entry(key.clone()).or_default() += t.cost_usd;
            *stored.tokens.entry(key).or_default() += t.total_tokens();
        }
    }
    let by_day_project = |k: &(String, String, String)| format!("{} {}", k.0, k.1);
    let by_day_department = |k: &(String, String, String)| format!("{} {}", k.0, k.2);
    let only = |sums: &Sums, projects: bool| Sums {
        cost: sums
            .cost
            .iter()
            .filter(|(k, _)| k.1.is_empty() != projects)
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
        tokens: sums
            .tokens
            .iter()
            .filter(|(k, _)| k.1.is_empty() != projects)
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
    };
    assert_eq!(
        marginal(&only(&stored, true), by_day_project),
        marginal(&expected, by_day_project),
        "cost and tokens per day and project"
    );
    assert_eq!(
        marginal(&only(&stored, false), by_day_department),
        marginal(&expected, by_day_department),
        "cost and tokens per day and department"
    );
    let total: rust_decimal::Decimal = expected.cost.values().sum();
    let rolled: rust_decimal::Decimal = days.iter().map(|d| d.usage.cost_usd).sum();
    assert_eq!(rolled, total, "cost in all");
}
