//! The [`Table`] contract.

use std::sync::Arc;

use roi_domain::ports::{
    Clock, Condition, Cursor, FixedClock, Item, Key, Query, SortKey, Table, TableError, query_all,
};
use serde_json::{Value, json};

/// What a table case needs: the adapter, the clock it reads, and a partition of its own.
pub struct Fixture {
    pub table: Arc<dyn Table>,
    pub clock: Arc<FixedClock>,
    pub pk: String,
    /// Whether the engine serialises concurrent conditional writes to one item, as
    /// DynamoDB and redb do. moto's server does not: it checks a condition and applies
    /// the update without a lock, so under load concurrent takes pass a budget there.
    pub serialises_writes: bool,
}

fn item(pk: &str, sk: &str, attrs: Value) -> Item {
    let Value::Object(attrs) = attrs else {
        panic!("attrs must be an object")
    };
    Item {
        pk: pk.into(),
        sk: sk.into(),
        expires_at: None,
        attrs,
    }
}

pub async fn add_within_takes_exactly_the_budget_under_concurrency(f: &Fixture) {
    // GIVEN 20 concurrent takes of 1 request and 30 events from a budget of 10 and 250
    // (one after the other on an engine that does not serialise writes)
    let expires = f.clock.now().timestamp() + 180;
    let take = || {
        f.table.add_within(
            &f.pk,
            "RATE",
            &[("requests", 1, 10), ("events", 30, 250)],
            Some(expires),
        )
    };
    let taken = if f.serialises_writes {
        futures_util::future::join_all((0..20).map(|_| take())).await
    } else {
        let mut taken = Vec::new();
        for _ in 0..20 {
            taken.push(take().await);
        }
        taken
    };
    // THEN none fails, and exactly 8 are taken: the ninth would pass 250 events
    assert!(taken.iter().all(Result::is_ok), "{taken:?}");
    assert_eq!(taken.iter().filter(|t| t == &&Ok(true)).count(), 8);
    let stored = f.table.get(&f.pk, "RATE").await.unwrap().unwrap();
    assert_eq!(
        (
            stored.attrs["requests"].as_u64(),
            stored.attrs["events"].as_u64()
        ),
        (Some(8), Some(240))
    );
    assert_eq!(stored.expires_at, Some(expires));
    // AND a take that fits still goes in; one over a limit on its own changes nothing
    assert_eq!(
        f.table
            .add_within(
                &f.pk,
                "RATE",
                &[("requests", 1, 10), ("events", 10, 250)],
                None
            )
            .await,
        Ok(true)
    );
    assert_eq!(
        f.table
            .add_within(&f.pk, "RATE", &[("requests", 11, 10)], None)
            .await,
        Ok(false)
    );
    let stored = f.table.get(&f.pk, "RATE").await.unwrap().unwrap();
    assert_eq!(stored.attrs["requests"].as_u64(), Some(9));
}

pub async fn put_each_absent_writes_each_new_key_and_keeps_the_stored_ones(f: &Fixture) {
    // GIVEN one of five keys stored already
    let t = f.table.as_ref();
    t.put(
        item(&f.pk, "C#2", json!({"v": "stored"})),
        Condition::Always,
    )
    .await
    .unwrap();
    // WHEN all five are written only where absent, with a bad item among them
    let mut items: Vec<Item> = (0..5)
        .map(|n| item(&f.pk, &format!("C#{n}"), json!({"v": format!("new {n}")})))
        .collect();
    items.push(item(&f.pk, "C#5", json!({"pk": "other"})));
    let written = t.put_each_absent(items).await;
    // THEN each says, in order, whether it was written; the stored one stays; the bad one
    // fails on its own
    assert_eq!(written.len(), 6);
    let ok: Vec<bool> = written[..5].iter().map(|w| *w.as_ref().unwrap()).collect();
    assert_eq!(ok, [true, true, false, true, true]);
    assert!(
        matches!(written[5], Err(TableError::InvalidItem(_))),
        "{:?}",
        written[5]
    );
    let stored = t.get(&f.pk, "C#2").await.unwrap().unwrap();
    assert_eq!(stored.attrs["v"], "stored");
    assert_eq!(
        t.get(&f.pk, "C#4").await.unwrap().unwrap().attrs["v"],
        "new 4"
    );
    // AND writing them again writes none
    let again: Vec<Item> = (0..5)
        .map(|n| item(&f.pk, &format!("C#{n}"), json!({"v": "again"})))
        .collect();
    let written = t.put_each_absent(again).await;
    assert!(written.iter().all(|w| w == &Ok(false)), "{written:?}");
}

pub async fn conditional_put_refuses_a_duplicate(f: &Fixture) {
    // GIVEN an item written only if absent
    let t = f.table.as_ref();
    t.put(
        item(&f.pk, "PROFILE", json!({"name": "first"})),
        Condition::NotExists,
    )
    .await
    .unwrap();
    // WHEN another is written under the same key, also only if absent
    let again = t
        .put(
            item(&f.pk, "PROFILE", json!({"name": "second"})),
            Condition::NotExists,
        )
        .await;
    // THEN it is refused and the first one stays
    assert_eq!(again, Err(TableError::ConditionFailed));
    let stored = t.get(&f.pk, "PROFILE").await.unwrap().unwrap();
    assert_eq!(stored.attrs["name"], "first");

    // AND a write conditioned on an attribute's value succeeds only when it matches
    let wrong = Condition::AttributeEquals {
        name: "name".into(),
        value: json!("other"),
    };
    assert_eq!(
        t.put(item(&f.pk, "PROFILE", json!({"name": "x"})), wrong)
            .await,
        Err(TableError::ConditionFailed)
    );
    let right = Condition::AttributeEquals {
        name: "name".into(),
        value: json!("first"),
    };
    t.put(item(&f.pk, "PROFILE", json!({"name": "third"})), right)
        .await
        .unwrap();
    assert_eq!(
        t.get(&f.pk, "PROFILE").await.unwrap().unwrap().attrs["name"],
        "third"
    );
    // AND a condition on a missing item fails
    let on_missing = Condition::AttributeEquals {
        name: "name".into(),
        value: json!("third"),
    };
    assert_eq!(
        t.put(item(&f.pk, "NOPE", json!({})), on_missing).await,
        Err(TableError::ConditionFailed)
    );
}

pub async fn attributes_round_trip_and_missing_items_read_as_none(f: &Fixture) {
    let attrs = json!({
        "text": "Grüße, \"quoted\"",
        "whole": 42,
        "negative": -7,
        "money": "1234.56",
        "flag": true,
        "nothing": null,
        "list": ["a", 1, false],
        "nested": {"inner": {"deep": "yes"}, "empty_text": ""},
    });
    f.table
        .put(item(&f.pk, "ALL", attrs.clone()), Condition::Always)
        .await
        .unwrap();
    let back = f.table.get(&f.pk, "ALL").await.unwrap().unwrap();
    assert_eq!(Value::Object(back.attrs), attrs);
    assert_eq!(back.pk, f.pk);
    assert_eq!(f.table.get(&f.pk, "ABSENT").await.unwrap(), None);
}

pub async fn reserved_attribute_names_are_refused(f: &Fixture) {
    let bad = item(&f.pk, "X", json!({"pk": "other"}));
    assert!(matches!(
        f.table.put(bad.clone(), Condition::Always).await,
        Err(TableError::InvalidItem(_))
    ));
    assert!(matches!(
        f.table.batch_put(vec![bad]).await,
        Err(TableError::InvalidItem(_))
    ));
    assert_eq!(
        f.table.get(&f.pk, "X").await.unwrap(),
        None,
        "nothing was written"
    );
}

async fn seed(f: &Fixture, sks: &[&str]) {
    let items = sks
        .iter()
        .map(|sk| item(&f.pk, sk, json!({"sk_copy": sk})))
        .collect();
    f.table.batch_put(items).await.unwrap();
}

fn sks(items: &[Item]) -> Vec<&str> {
    items.iter().map(|i| i.sk.as_str()).collect()
}

pub async fn query_selects_by_prefix_and_range_in_sort_key_order(f: &Fixture) {
    seed(
        f,
        &[
            "SNAPSHOT#2025-03-01",
            "ROI#2025-01-31",
            "SNAPSHOT#2025-01-15",
            "SNAPSHOT#2025-02-28",
            "SNAPSHOTX",
        ],
    )
    .await;
    let q = |sort, descending| Query {
        pk: f.pk.clone(),
        sort,
        descending,
        limit: None,
        cursor: None,
    };

    let by_prefix = query_all(
        f.table.as_ref(),
        q(SortKey::Prefix("SNAPSHOT#".into()), false),
    )
    .await
    .unwrap();
    assert_eq!(
        sks(&by_prefix),
        [
            "SNAPSHOT#2025-01-15",
            "SNAPSHOT#2025-02-28",
            "SNAPSHOT#2025-03-01"
        ]
    );

    let newest_first = query_all(
        f.table.as_ref(),
        q(SortKey::Prefix("SNAPSHOT#".into()), true),
    )
    .await
    .unwrap();
    assert_eq!(
        sks(&newest_first),
        [
            "SNAPSHOT#2025-03-01",
            "SNAPSHOT#2025-02-28",
            "SNAPSHOT#2025-01-15"
        ]
    );

    let range = q(
        SortKey::Between("SNAPSHOT#2025-02-01".into(), "SNAPSHOT#2025-03-01".into()),
        false,
    );
    let in_range = query_all(f.table.as_ref(), range).await.unwrap();
    assert_eq!(
        sks(&in_range),
        ["SNAPSHOT#2025-02-28", "SNAPSHOT#2025-03-01"],
        "both ends inclusive"
    );

    let all = query_all(f.table.as_ref(), q(SortKey::All, false))
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    let other = Query {
        pk: format!("{}-other", f.pk),
        sort: SortKey::All,
        descending: false,
        limit: None,
        cursor: None,
    };
    assert!(
        query_all(f.table.as_ref(), other).await.unwrap().is_empty(),
        "partitions do not leak"
    );
}

pub async fn pages_follow_the_cursor_in_both_directions(f: &Fixture) {
    let keys: Vec<String> = (0..7).map(|i| format!("E#{i:02}")).collect();
    seed(f, &keys.iter().map(String::as_str).collect::<Vec<_>>()).await;
    for descending in [false, true] {
        let mut query = Query {
            pk: f.pk.clone(),
            sort: SortKey::Prefix("E#".into()),
            descending,
            limit: Some(3),
            cursor: None,
        };
        let mut sizes = Vec::new();
        let mut seen = Vec::new();
        loop {
            let page = f.table.query(query.clone()).await.unwrap();
            sizes.push(page.items.len());
            seen.extend(page.items.iter().map(|i| i.sk.clone()));
            match page.next {
                Some(c) => query.cursor = Some(c),
                None => break,
            }
            assert!(sizes.len() < 10, "pagination does not end");
        }
        let mut expected = keys.clone();
        if descending {
            expected.reverse();
        }
        assert_eq!(seen, expected, "descending={descending}");
        assert_eq!(&sizes[..3], [3, 3, 1], "descending={descending}");
    }
    // A cursor from the middle continues after it.
    let q = Query {
        pk: f.pk.clone(),
        sort: SortKey::Prefix("E#".into()),
        descending: false,
        limit: Some(2),
        cursor: Some(Cursor("E#04".into())),
    };
    assert_eq!(
        sks(&f.table.query(q).await.unwrap().items),
        ["E#05", "E#06"]
    );
}

pub async fn batch_put_writes_more_than_25_items(f: &Fixture) {
    let items: Vec<Item> = (0..61)
        .map(|i| item(&f.pk, &format!("B#{i:03}"), json!({"n": i})))
        .collect();
    f.table.batch_put(items).await.unwrap();
    let back = query_all(f.table.as_ref(), Query::prefix(f.pk.clone(), "B#"))
        .await
        .unwrap();
    assert_eq!(back.len(), 61);
    assert_eq!(back[60].attrs["n"], 60);
    // Writing the same batch again leaves one copy of each.
    let again: Vec<Item> = (0..61)
        .map(|i| item(&f.pk, &format!("B#{i:03}"), json!({"n": i})))
        .collect();
    f.table.batch_put(again).await.unwrap();
    assert_eq!(
        query_all(f.table.as_ref(), Query::prefix(f.pk.clone(), "B#"))
            .await
            .unwrap()
            .len(),
        61
    );
}

pub async fn batch_delete_removes_more_than_25_items_and_tolerates_absence(f: &Fixture) {
    let items: Vec<Item> = (0..61)
        .map(|i| item(&f.pk, &format!("X#{i:03}"), json!({"n": i})))
        .collect();
    f.table.batch_put(items).await.unwrap();
    // every other item, and three keys never written
    let keys: Vec<Key> = (0..64)
        .filter(|i| i % 2 == 0 || *i > 60)
        .map(|i| Key {
            pk: f.pk.clone(),
            sk: format!("X#{i:03}"),
        })
        .collect();
    f.table.batch_delete(keys.clone()).await.unwrap();
    let left = query_all(f.table.as_ref(), Query::prefix(f.pk.clone(), "X#"))
        .await
        .unwrap();
    assert_eq!(left.len(), 30);
    assert!(left.iter().all(|i| i.attrs["n"].as_u64().unwrap() % 2 == 1));
    // deleting them again is no error
    f.table.batch_delete(keys).await.unwrap();
    f.table.batch_delete(Vec::new()).await.unwrap();
}

pub async fn batch_get_reads_found_keys_beyond_100_and_skips_the_rest(f: &Fixture) {
    // GIVEN 130 items, one of them expiring in a minute
    let mut items: Vec<Item> = (0..130)
        .map(|i| item(&f.pk, &format!("G#{i:03}"), json!({"n": i})))
        .collect();
    items[7].expires_at = Some(f.clock.now_ts() + 60);
    f.table.batch_put(items).await.unwrap();
    f.clock.advance(chrono::Duration::seconds(61));
    // WHEN 150 keys are asked for: the 130, 20 absent ones, and one key twice
    let mut keys: Vec<Key> = (0..150)
        .map(|i| Key {
            pk: f.pk.clone(),
            sk: format!("G#{i:03}"),
        })
        .collect();
    keys.push(keys[3].clone());
    let mut found = f.table.batch_get(keys).await.unwrap();
    // THEN the 129 live items come back once each, whole; absent and expired ones do not
    found.sort_by(|a, b| a.sk.cmp(&b.sk));
    assert_eq!(found.len(), 129);
    assert!(found.iter().all(|i| i.sk != "G#007"));
    assert_eq!(found[128].attrs["n"], 129);
    assert_eq!(f.table.batch_get(vec![]).await.unwrap(), vec![]);
}

pub async fn expiry_is_kept_and_expired_items_are_never_read(f: &Fixture) {
    // GIVEN an item that expires in an hour, and one without expiry
    let now = f.clock.now_ts();
    let mut expiring = item(&f.pk, "T#1", json!({"v": 1}));
    expiring.expires_at = Some(now + 3600);
    f.table.put(expiring, Condition::Always).await.unwrap();
    f.table
        .put(item(&f.pk, "T#2", json!({"v": 2})), Condition::Always)
        .await
        .unwrap();
    // THEN it reads back with its expiry
    assert_eq!(
        f.table.get(&f.pk, "T#1").await.unwrap().unwrap().expires_at,
        Some(now + 3600)
    );
    // WHEN the hour has passed (the engine has not deleted it yet)
    f.clock.advance(chrono::Duration::seconds(3601));
    // THEN neither get nor query returns it
    assert_eq!(f.table.get(&f.pk, "T#1").await.unwrap(), None);
    let left = query_all(f.table.as_ref(), Query::prefix(f.pk.clone(), "T#"))
        .await
        .unwrap();
    assert_eq!(sks(&left), ["T#2"]);
}

pub async fn delete_removes_and_tolerates_absence(f: &Fixture) {
    f.table
        .put(item(&f.pk, "D", json!({})), Condition::Always)
        .await
        .unwrap();
    f.table.delete(&f.pk, "D").await.unwrap();
    assert_eq!(f.table.get(&f.pk, "D").await.unwrap(), None);
    f.table.delete(&f.pk, "D").await.unwrap();
    // and a deleted key can be created again only-if-absent
    f.table
        .put(item(&f.pk, "D", json!({})), Condition::NotExists)
        .await
        .unwrap();
}

/// Seconds since the epoch of a fixed clock.
pub trait NowTs {
    fn now_ts(&self) -> i64;
}
impl NowTs for FixedClock {
    fn now_ts(&self) -> i64 {
        roi_domain::ports::Clock::now(self).timestamp()
    }
}

pub async fn a_transaction_writes_all_or_nothing(f: &Fixture) {
    // GIVEN one item stored
    let t = f.table.as_ref();
    t.put(item(&f.pk, "A", json!({"v": 1})), Condition::Always)
        .await
        .unwrap();
    // WHEN a transaction writes B and C but conditions A on a value it does not hold
    let refused = t
        .transact_put(vec![
            (item(&f.pk, "B", json!({"v": 2})), Condition::NotExists),
            (item(&f.pk, "C", json!({"v": 3})), Condition::Always),
            (
                item(&f.pk, "A", json!({"v": 10})),
                Condition::AttributeEquals {
                    name: "v".into(),
                    value: json!(9),
                },
            ),
        ])
        .await;
    // THEN it is refused and nothing of it is written
    assert_eq!(refused, Err(TableError::ConditionFailed));
    assert!(t.get(&f.pk, "B").await.unwrap().is_none());
    assert!(t.get(&f.pk, "C").await.unwrap().is_none());
    assert_eq!(t.get(&f.pk, "A").await.unwrap().unwrap().attrs["v"], 1);
    // WHEN every condition holds THEN every item is written
    t.transact_put(vec![
        (item(&f.pk, "B", json!({"v": 2})), Condition::NotExists),
        (
            item(&f.pk, "A", json!({"v": 10})),
            Condition::AttributeEquals {
                name: "v".into(),
                value: json!(1),
            },
        ),
    ])
    .await
    .unwrap();
    assert_eq!(t.get(&f.pk, "A").await.unwrap().unwrap().attrs["v"], 10);
    assert_eq!(t.get(&f.pk, "B").await.unwrap().unwrap().attrs["v"], 2);
    // AND a transaction naming one key twice, or none, is refused before any write
    let twice = t
        .transact_put(vec![
            (item(&f.pk, "D", json!({})), Condition::Always),
            (item(&f.pk, "D", json!({})), Condition::Always),
        ])
        .await;
    assert!(
        matches!(twice, Err(TableError::InvalidItem(_))),
        "{twice:?}"
    );
    assert!(t.get(&f.pk, "D").await.unwrap().is_none());
    assert!(matches!(
        t.transact_put(Vec::new()).await,
        Err(TableError::InvalidItem(_))
    ));
}
