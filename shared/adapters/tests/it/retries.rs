//! Retries of the DynamoDB adapter, where moto cannot help (it never leaves items
//! unprocessed and never throttles): `aws-smithy-mocks` answers instead.
//!
//! Throttling is simulated as AWS sends it, an HTTP 400 with the error in the body, so the
//! SDK's own retry classifier sees it; a modelled error would not be retried.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput};
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, WriteRequest};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use roi_adapters::backoff::Backoff;
use roi_adapters::dynamodb::DynamoTable;
use roi_domain::ports::{Condition, Item, SystemClock, Table, TableError};

const TABLE: &str = "roi";
const THROTTLED: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."}"#;

fn items(n: usize) -> Vec<Item> {
    (0..n)
        .map(|i| {
            Item::from_record(
                "EVENTS#acme",
                format!("E#{i:04}"),
                &serde_json::json!({"i": i}),
            )
            .unwrap()
        })
        .collect()
}

fn table(client: Client, retries: u32) -> DynamoTable {
    DynamoTable::new(client, TABLE, Arc::new(SystemClock)).with_backoff(Backoff::immediate(retries))
}

fn sent(input: &BatchWriteItemInput) -> Vec<WriteRequest> {
    input
        .request_items()
        .and_then(|m| m.get(TABLE))
        .cloned()
        .unwrap_or_default()
}

fn sdk_retries(
    attempts: u32,
) -> impl Fn(aws_sdk_dynamodb::config::Builder) -> aws_sdk_dynamodb::config::Builder {
    move |c| {
        c.retry_config(
            RetryConfig::standard()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::from_millis(1)),
        )
    }
}

/// A client whose BatchWriteItem leaves unprocessed what `leave` picks from the requests
/// of the `call`-th call (from 1), and the number of items each call carried.
fn leaving_unprocessed(
    leave: impl Fn(usize, Vec<WriteRequest>) -> Vec<WriteRequest> + Send + Sync + 'static,
) -> (Client, Arc<Mutex<Vec<usize>>>) {
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&sizes);
    let rule = mock!(Client::batch_write_item).then_compute_output(move |input| {
        let requests = sent(input);
        let call = {
            let mut sizes = seen.lock().unwrap();
            sizes.push(requests.len());
            sizes.len()
        };
        BatchWriteItemOutput::builder()
            .unprocessed_items(TABLE, leave(call, requests))
            .build()
    });
    (
        mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]),
        sizes,
    )
}

#[tokio::test]
async fn unprocessed_items_are_resent_until_every_item_is_written() {
    // GIVEN DynamoDB leaves the last 10 items of the first call unprocessed, then takes all
    let (client, sizes) = leaving_unprocessed(|call, requests| match call {
        1 => requests[15..].to_vec(),
        _ => vec![],
    });
    // WHEN 30 items are written
    let result = table(client, 5).batch_put(items(30)).await;
    // THEN all are written: 25, then the 10 left over together with the last 5
    assert_eq!(result, Ok(()));
    assert_eq!(*sizes.lock().unwrap(), [25, 15]);
}

#[tokio::test]
async fn calls_stay_full_when_a_fifth_of_every_call_is_left_unprocessed() {
    // GIVEN DynamoDB leaves about 1 item in 5 of every call unprocessed (issue 4's fill)
    let (client, sizes) = leaving_unprocessed(|call, requests| {
        requests
            .into_iter()
            .enumerate()
            .filter(|(i, _)| (i + call) % 5 == 0)
            .map(|(_, r)| r)
            .collect()
    });
    // WHEN 1,000 items are written
    let result = table(client, 50).batch_put(items(1000)).await;
    // THEN all are written, the leftovers travelling with new items: every call but the
    // last few is full, and the calls carry at least 96 % of 25 items on average
    assert_eq!(result, Ok(()));
    let sizes = sizes.lock().unwrap();
    let fill = sizes.iter().sum::<usize>() as f64 / (sizes.len() * 25) as f64;
    assert!(fill >= 0.96, "fill {fill:.3} over {} calls", sizes.len());
    let full = sizes.iter().filter(|n| **n == 25).count();
    assert!(full + 5 >= sizes.len(), "{sizes:?}");
}

#[tokio::test]
async fn throttled_calls_are_retried_by_the_sdk() {
    // GIVEN the first call is throttled (HTTP 400 with the real error body)
    let rule = mock!(Client::batch_write_item)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .output(|| BatchWriteItemOutput::builder().build())
        .build();
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [&rule],
        sdk_retries(3)
    );
    // WHEN a batch is written
    let result = table(client, 0).batch_put(items(3)).await;
    // THEN the SDK retried and it went through
    assert_eq!(result, Ok(()));
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn unprocessed_deletes_are_resent_and_those_left_at_the_end_are_reported() {
    // GIVEN DynamoDB leaves the last 10 deletes of the first call unprocessed, then takes
    // all but the last key forever
    let (client, sizes) = leaving_unprocessed(|call, requests| match call {
        1 => requests[15..].to_vec(),
        _ => requests
            .into_iter()
            .filter(|r| {
                r.delete_request()
                    .is_some_and(|d| d.key()["sk"] == AttributeValue::S("E#0029".into()))
            })
            .collect(),
    });
    // WHEN 30 items are deleted with 2 retries
    let keys = items(30).iter().map(Item::key).collect();
    let result = table(client, 2).batch_delete(keys).await;
    // THEN the leftovers travel with the last 5 (25, 15), the one key never taken is
    // asked 1 + 2 times more, and it alone is reported not deleted
    let Err(TableError::Incomplete { unwritten }) = result else {
        panic!("expected Incomplete, got {result:?}")
    };
    assert_eq!(
        unwritten.iter().map(|k| k.sk.as_str()).collect::<Vec<_>>(),
        ["E#0029"]
    );
    assert_eq!(*sizes.lock().unwrap(), [25, 15, 1, 1, 1]);
}

#[tokio::test]
async fn when_retries_run_out_exactly_the_unwritten_items_are_reported() {
    // GIVEN DynamoDB keeps 5 items of every call unprocessed
    let rule = mock!(Client::batch_write_item).then_compute_output(|input| {
        let requests = sent(input);
        let keep = requests.len().min(5);
        BatchWriteItemOutput::builder()
            .unprocessed_items(TABLE, requests[requests.len() - keep..].to_vec())
            .build()
    });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
    // WHEN 30 items are written with 3 retries
    let result = table(client, 3).batch_put(items(30)).await;
    // THEN the calls go on while they make progress (25 sent, 20 written; 10 sent, 5
    // written), then 1 + 3 calls write nothing, and the error lists exactly the 5 left
    let Err(TableError::Incomplete { unwritten }) = result else {
        panic!("expected Incomplete, got {result:?}")
    };
    let sks: Vec<&str> = unwritten.iter().map(|k| k.sk.as_str()).collect();
    assert_eq!(sks, ["E#0025", "E#0026", "E#0027", "E#0028", "E#0029"]);
    assert_eq!(rule.num_calls(), 6);
}

#[tokio::test]
async fn unprocessed_keys_of_a_batch_get_are_asked_again() {
    // GIVEN DynamoDB answers the first of 3 keys and leaves the others unprocessed once
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&calls);
    let rule = mock!(Client::batch_get_item).then_compute_output(move |input| {
        let keys = input
            .request_items()
            .and_then(|m| m.get(TABLE))
            .map(|k| k.keys().to_vec())
            .unwrap_or_default();
        let mut seen = seen.lock().unwrap();
        seen.push(keys.len());
        let (answer, later) = if seen.len() == 1 {
            (keys[..1].to_vec(), keys[1..].to_vec())
        } else {
            (keys, vec![])
        };
        let found: Vec<_> = answer
            .into_iter()
            .map(|mut k| {
                k.insert("n".into(), AttributeValue::N("1".into()));
                k
            })
            .collect();
        let mut out = BatchGetItemOutput::builder().responses(TABLE, found);
        if !later.is_empty() {
            out = out.unprocessed_keys(
                TABLE,
                KeysAndAttributes::builder()
                    .set_keys(Some(later))
                    .build()
                    .unwrap(),
            );
        }
        out.build()
    });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
    // WHEN the 3 keys are read
    let keys = items(3).iter().map(Item::key).collect();
    let found = table(client, 3).batch_get(keys).await.unwrap();
    // THEN all 3 come back, in two calls
    assert_eq!(found.len(), 3);
    assert_eq!(*calls.lock().unwrap(), [3, 2]);
}

#[tokio::test]
async fn throttling_beyond_the_sdk_retries_is_reported_as_unavailable_and_nothing_is_written() {
    let rule = mock!(Client::put_item)
        .sequence()
        .http_status(400, Some(THROTTLED.into()))
        .times(3)
        .output(|| PutItemOutput::builder().build())
        .build();
    let client = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::Sequential,
        [&rule],
        sdk_retries(3)
    );
    let put = table(client, 0)
        .put(items(1).remove(0), Condition::Always)
        .await;
    assert!(matches!(put, Err(TableError::Unavailable(_))), "{put:?}");
    assert_eq!(rule.num_calls(), 3, "the SDK made its 3 attempts");
}
