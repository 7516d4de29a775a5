//! Ingestion benchmark (issue 4): prints its figures; it asserts nothing.
//!
//! `cargo bench -p roi-bench --bench ingest`
//!
//! 1. CPU per event through split + validate + price + key + marshal of both items an event
//!    writes (its identity claim and its raw record, to the DynamoDB attribute maps that the
//!    claim's conditional PutItem and the records' BatchWriteItem send), side by side with `serde_json::from_slice`
//!    of the same bytes into a plain struct, in one run. Aim: ratio ≤ 1.5.
//! 2. Write units per event: the DynamoDB size of a typical event item. Aim: ≤ 1 KiB (1 WCU).
//!
//! How full BatchWriteItem calls are when DynamoDB leaves items unprocessed is a test of the
//! adapter (`calls_stay_full_when_a_fifth_of_every_call_is_left_unprocessed`): it needs
//! the SDK's mocks, which this package does not build with.

#![allow(clippy::unwrap_used, missing_docs)] // a measuring program, not library code

use std::collections::HashSet;
use std::hint::black_box;
use std::time::{Duration, Instant};

use roi_adapters::dynamodb::{item_size_bytes, to_attributes, write_units};
use roi_app::ingest::{ClientContext, prepare};
use roi_app::pricing::PriceTable;
use roi_domain::event::{BodyFormat, split, validate};
use roi_domain::ports::Item;
use serde::Deserialize;
use serde_json::json;

const EVENTS: usize = 1000;
const RUNS: usize = 31;

/// The same event as a plain struct: what a hand-rolled endpoint would parse into.
#[derive(Deserialize)]
#[allow(dead_code)]
struct PlainEvent {
    specversion: String,
    id: String,
    source: String,
    #[serde(rename = "type")]
    kind: String,
    time: String,
    datacontenttype: Option<String>,
    data: PlainUsage,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct PlainUsage {
    model: String,
    input_tokens: u64,
    output_tokens: u64,
    cache_read_tokens: Option<u64>,
    cache_write_tokens: Option<u64>,
    requests: Option<u32>,
    cost_usd: Option<String>,
    user: Option<String>,
    department: Option<String>,
    agent: Option<String>,
    prompt_type: Option<String>,
    feature: Option<String>,
    project: Option<String>,
}

/// A typical `ai.usage` event: a model call with cache reads, attributed to a user,
/// department, agent, prompt type, feature and project.
fn body() -> Vec<u8> {
    let events: Vec<_> = (0..EVENTS)
        .map(|i| {
            json!({
                "specversion": "1.0",
                "id": format!("01JD8X{i:08}"),
                "source": "https://crm.acme-logistics.example/assistant",
                "type": "ai.usage",
                "time": format!("2026-11-20T14:{:02}:{:02}.{:03}Z", i / 60 % 60, i % 60, i % 1000),
                "datacontenttype": "application/json",
                "data": {
                    "model": "claude-sonnet-4-5-20250929",
                    "input_tokens": 1200 + i,
                    "output_tokens": 300 + i % 200,
                    "cache_read_tokens": 12000,
                    "cache_write_tokens": 0,
                    "requests": 1,
                    "cost_usd": "0.0153",
                    "user": format!("agent-{:04}", i % 150),
                    "department": "customer-service",
                    "agent": "ticket-triage",
                    "prompt_type": "classify-ticket",
                    "feature": "triage",
                    "project": "acme-logistics-support-assistant",
                }
            })
        })
        .collect();
    serde_json::to_vec(&events).unwrap()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ours(body: &[u8], ctx: &ClientContext) -> usize {
    let mut bytes = 0;
    for raw in split(body, BodyFormat::Batch).unwrap() {
        let event = validate(raw.unwrap(), ctx.now).unwrap();
        let prepared = prepare(ctx, event).unwrap();
        let claim = to_attributes(prepared.claim_item).unwrap();
        let attributes = to_attributes(prepared.item).unwrap();
        bytes += black_box(claim).len() + black_box(attributes).len();
    }
    bytes
}

fn main() {
    // The functions build serde_json without `preserve_order` (its maps are B-trees, the
    // item's attributes one of them); built with it, this would measure other maps.
    let probe: serde_json::Map<String, serde_json::Value> =
        [("b".to_owned(), 1.into()), ("a".to_owned(), 2.into())]
            .into_iter()
            .collect();
    assert_eq!(
        probe.keys().next().map(String::as_str),
        Some("a"),
        "serde_json is built with preserve_order here, unlike in the functions"
    );
    let body = body();
    let now = "2026-11-21T12:00:00Z".parse().unwrap();
    let ctx = ClientContext {
        client: "acme-logistics".parse().unwrap(),
        time_zone: chrono_tz::America::Chicago,
        projects: HashSet::from(["acme-logistics-support-assistant".to_owned()]),
        prices: PriceTable::shipped().clone(),
        now,
        pseudonyms: roi_app::pseudonym::PseudonymKey::from_secret(
            "a-benchmark-pseudonym-key-of-32-characters",
        )
        .unwrap(),
    };

    // Warm up both, then alternate them so both see the same machine state.
    for _ in 0..3 {
        black_box(serde_json::from_slice::<Vec<PlainEvent>>(&body).unwrap());
        black_box(ours(&body, &ctx));
    }
    let (mut plain, mut full) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let t = Instant::now();
        black_box(serde_json::from_slice::<Vec<PlainEvent>>(black_box(&body)).unwrap());
        plain.push(t.elapsed());
        let t = Instant::now();
        black_box(ours(black_box(&body), &ctx));
        full.push(t.elapsed());
    }
    let (plain, full) = (median(plain), median(full));

    // Where the time goes: each stage alone, over the same events.
    let raws: Vec<&str> = split(&body, BodyFormat::Batch)
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let stage = |f: &dyn Fn() -> usize| {
        let samples = (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                black_box(f());
                t.elapsed()
            })
            .collect();
        median(samples)
    };
    let t_split = stage(&|| split(black_box(&body), BodyFormat::Batch).unwrap().len());
    let t_validate = stage(&|| raws.iter().map(|r| validate(r, now).is_ok() as usize).sum());
    let events: Vec<_> = raws.iter().map(|r| validate(r, now).unwrap()).collect();
    let t_prepare = stage(&|| {
        events
            .iter()
            .map(|e| prepare(&ctx, e.clone()).unwrap().item.attrs.len())
            .sum()
    });
    let usage: Vec<_> = events
        .iter()
        .map(|e| match &e.data {
            roi_domain::event::EventData::AiUsage(u) => u.clone(),
            _ => unreachable!("every event is ai.usage"),
        })
        .collect();
    let t_price = stage(&|| {
        usage
            .iter()
            .map(|u| ctx.prices.price(u).is_some() as usize)
            .sum()
    });
    let t_key = stage(&|| {
        events
            .iter()
            .map(|e| {
                let key = roi_domain::event::EventKey::new(ctx.time_zone, &e.source, &e.id, e.time);
                roi_app::store::keys::raw_event(&ctx.client, &key).1.len()
            })
            .sum()
    });
    let t_clone = stage(&|| events.iter().map(|e| e.clone().id.len()).sum());
    let t_digest = stage(&|| events.iter().map(|e| e.payload_digest().len()).sum());
    let t_pseudonym = stage(&|| {
        events
            .iter()
            .filter_map(|e| e.data.attribution().user)
            .map(|u| ctx.pseudonyms.pseudonym(&ctx.client, u).len())
            .sum()
    });
    let stored: Vec<_> = events
        .iter()
        .map(|e| prepare(&ctx, e.clone()).unwrap().stored)
        .collect();
    let t_record = stage(&|| {
        stored
            .iter()
            .map(|s| Item::packed("pk", "sk", s).unwrap().attrs.len())
            .sum()
    });
    let prepared: Vec<Item> = events
        .iter()
        .map(|e| prepare(&ctx, e.clone()).unwrap().item)
        .collect();
    let t_marshal = stage(&|| {
        prepared
            .iter()
            .map(|i| to_attributes(i.clone()).unwrap().len())
            .sum()
    });
    let per_event = |d: Duration| d.as_nanos() as f64 / EVENTS as f64;

    // Item sizes of the same events.
    let items: Vec<Item> = split(&body, BodyFormat::Batch)
        .unwrap()
        .into_iter()
        .map(|raw| {
            prepare(&ctx, validate(raw.unwrap(), now).unwrap())
                .unwrap()
                .item
        })
        .collect();
    let item_sizes: Vec<usize> = items
        .iter()
        .map(|i| item_size_bytes(&to_attributes(i.clone()).unwrap()))
        .collect();
    let max_size = *item_sizes.iter().max().unwrap();
    let mean_size = item_sizes.iter().sum::<usize>() as f64 / item_sizes.len() as f64;
    let wcu: usize = item_sizes.iter().map(|s| write_units(*s)).sum();

    println!(
        "ingest benchmark: {EVENTS} typical ai.usage events in one batch, median of {RUNS} runs"
    );
    println!(
        "  serde_json::from_slice into a plain struct        {:>9.1} µs  {:>7.0} ns/event",
        plain.as_secs_f64() * 1e6,
        per_event(plain)
    );
    println!(
        "  split + validate + price + key + marshal          {:>9.1} µs  {:>7.0} ns/event",
        full.as_secs_f64() * 1e6,
        per_event(full)
    );
    println!(
        "  ratio                                             {:>9.2}      (aim ≤ 1.5)",
        full.as_secs_f64() / plain.as_secs_f64()
    );
    for (name, t) in [
        ("split (find each event's JSON)", t_split),
        ("validate (envelope + typed data)", t_validate),
        ("prepare (clone, price, key, hash, record)", t_prepare),
        ("marshal (record clone + DynamoDB attribute map)", t_marshal),
        ("  of prepare: event clone", t_clone),
        ("  of prepare: price", t_price),
        ("  of prepare: key (SHA-256, time zone, sk)", t_key),
        ("  of prepare: payload digest (JSON, SHA-256)", t_digest),
        ("  of prepare: user pseudonym (SHA-256, HMAC)", t_pseudonym),
        ("  of prepare: record (to the item's JSON text)", t_record),
    ] {
        println!("    {name:<46} {:>7.0} ns/event", per_event(t));
    }
    println!(
        "  item size: mean {mean_size:.0} B, max {max_size} B; write units per event {:.2} (aim 1)",
        wcu as f64 / EVENTS as f64
    );
}
