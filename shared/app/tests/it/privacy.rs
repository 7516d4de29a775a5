//! Keyed pseudonyms (issue 20): no dictionary leads back to a person, and stored legacy
//! hashes move to pseudonyms in place with the users' history continuous.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use roi_app::pricing::PriceTable;
use roi_app::privacy::migrate_pseudonyms;
use roi_app::pseudonym::{is_legacy, legacy_hash};
use roi_app::rollup::rollup_days;
use roi_domain::event;

use crate::world;

/// 1,000 plausible work e-mail addresses: 25 first names × 8 last names × 5 domains.
fn dictionary() -> Vec<String> {
    let first = [
        "ana", "ben", "carla", "dan", "eva", "femi", "gita", "hugo", "ines", "jon", "kim", "lena",
        "marc", "nora", "omar", "pia", "quinn", "rosa", "sam", "tara", "uma", "vic", "wen", "xavi",
        "yara",
    ];
    let last = [
        "smith", "garcia", "chen", "mueller", "okafor", "rossi", "kowalski", "tanaka",
    ];
    let domains = [
        "acme-logistics.example",
        "gmail.com",
        "outlook.com",
        "acme.example",
        "logistics.example",
    ];
    let mut out = Vec::new();
    for f in first {
        for l in last {
            for d in domains {
                out.push(format!("{f}.{l}@{d}"));
            }
        }
    }
    out
}

fn session(user: &str, day: NaiveDate, n: usize) -> String {
    serde_json::json!({"specversion": "1.0", "id": format!("s-{user}-{day}-{n}"), "source": "app",
        "type": "session", "time": format!("{day}T15:00:00Z"),
        "data": {"session_id": format!("s{n}"), "phase": "start", "user": user}})
    .to_string()
}

#[tokio::test]
async fn a_dictionary_of_a_thousand_e_mail_addresses_recovers_no_stored_pseudonym() {
    // GIVEN 40 of the dictionary's addresses as the users of stored events
    let w = world().await;
    let client = w
        .store
        .project(&w.project)
        .await
        .unwrap()
        .unwrap()
        .client_id;
    let words = dictionary();
    assert_eq!(words.len(), 1_000);
    let users: Vec<&String> = words.iter().step_by(25).collect();
    let day: NaiveDate = "2025-05-01".parse().unwrap();
    let now = w.store.clock().now();
    let events = users
        .iter()
        .enumerate()
        .map(|(n, u)| event::validate(&session(u, day, n), now))
        .collect();
    let report = roi_app::ingest::store_events(&w.store, PriceTable::shipped(), &client, events)
        .await
        .unwrap();
    assert_eq!(report.accepted, users.len());
    let stored: BTreeSet<String> = w
        .store
        .events_of_day(&client, day)
        .await
        .unwrap()
        .iter()
        .filter_map(|e| e.data.attribution().user.map(str::to_owned))
        .collect();
    assert_eq!(stored.len(), users.len());
    // WHEN an attacker hashes every address the ways a hash without a key allows
    let guesses: BTreeSet<String> = words
        .iter()
        .flat_map(|w| {
            let legacy = legacy_hash(&client, w);
            [
                legacy.clone(),
                format!("{}{legacy}", roi_app::pseudonym::PREFIX),
                hex_sha256(w),
            ]
        })
        .collect();
    // THEN none is stored, though the same dictionary finds every legacy hash
    assert!(stored.is_disjoint(&guesses), "a pseudonym was recovered");
    let legacy: BTreeSet<String> = users.iter().map(|u| legacy_hash(&client, u)).collect();
    assert!(
        legacy.is_subset(&guesses),
        "the dictionary does reverse legacy hashes"
    );
}

fn hex_sha256(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))[..16].to_owned()
}

#[tokio::test]
async fn legacy_hashes_move_to_pseudonyms_and_users_stay_the_same_users() {
    // GIVEN three users seen on day 1 and stored as legacy hashes (as earlier releases did),
    // rolled up
    let w = world().await;
    let client = w
        .store
        .project(&w.project)
        .await
        .unwrap()
        .unwrap()
        .client_id;
    let c = w.store.client(&client).await.unwrap().unwrap();
    let now = w.store.clock().now();
    let (day1, day2): (NaiveDate, NaiveDate) =
        ("2025-04-28".parse().unwrap(), "2025-04-29".parse().unwrap());
    let users = ["ana@acme.example", "ben@acme.example", "carla@acme.example"];
    let send = |day: NaiveDate, who: &[&str]| {
        who.iter()
            .enumerate()
            .map(|(n, u)| event::validate(&session(u, day, n), now))
            .collect::<Vec<_>>()
    };
    roi_app::ingest::store_events(&w.store, PriceTable::shipped(), &client, send(day1, &users))
        .await
        .unwrap();
    let key = w.store.pseudonym_key().await.unwrap();
    let back: std::collections::HashMap<String, String> = users
        .iter()
        .map(|u| (key.pseudonym(&client, u), legacy_hash(&client, u)))
        .collect();
    w.store
        .rewrite_events_of_day(&client, day1, |e| {
            let user = e.data.user_mut().as_mut().unwrap();
            *user = back[user.as_str()].clone();
            true
        })
        .await
        .unwrap();
    rollup_days(&w.store, &client, day1, day1).await.unwrap();
    let r1 = w.store.rollup(&client, day1).await.unwrap().unwrap();
    assert!(r1.users.iter().all(|u| is_legacy(u)));
    // AND two of them again on day 2, under keyed pseudonyms
    roi_app::ingest::store_events(
        &w.store,
        PriceTable::shipped(),
        &client,
        send(day2, &users[..2]),
    )
    .await
    .unwrap();

    // WHEN the stored hashes are migrated, and the changed days rolled up again
    let done = migrate_pseudonyms(&w.store, &c).await.unwrap();
    assert_eq!(
        (done.events, done.rollup_days, done.rollup_users),
        (3, 1, 3)
    );
    rollup_days(&w.store, &client, day1, day2).await.unwrap();

    // THEN day 1's users are their pseudonyms, and day 2 counts two users active and three
    // in its week, not five
    let want: BTreeSet<String> = users.iter().map(|u| key.pseudonym(&client, u)).collect();
    let r1 = w.store.rollup(&client, day1).await.unwrap().unwrap();
    assert_eq!(r1.users, want);
    let r2 = w.store.rollup(&client, day2).await.unwrap().unwrap();
    assert_eq!((r2.users.len(), r2.wau), (2, Some(3)));
    for e in w.store.events_of_day(&client, day1).await.unwrap() {
        assert!(want.contains(e.data.attribution().user.unwrap()));
    }
    // AND a second run changes nothing
    let again = migrate_pseudonyms(&w.store, &c).await.unwrap();
    assert_eq!((again.events, again.rollup_days), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_uses_read_or_make_one_key() {
    use roi_app::pseudonym::Pseudonyms;
    use std::sync::Arc;
    // GIVEN a fresh data directory's secrets, and 16 requests needing the key at once
    let dir = tempfile::tempdir().unwrap();
    let secrets = Arc::new(roi_adapters::dir_secrets::DirSecrets::new(
        dir.path().join("secrets"),
    ));
    let pseudonyms = Arc::new(Pseudonyms::secret(secrets.clone(), "pseudonym-key", true));
    let client: roi_domain::ClientId = "acme".parse().unwrap();
    let uses: Vec<_> = (0..16)
        .map(|_| {
            let (p, c) = (Arc::clone(&pseudonyms), client.clone());
            tokio::spawn(async move { p.key().await.map(|k| k.pseudonym(&c, "ana@example.com")) })
        })
        .collect();
    let mut seen = BTreeSet::new();
    for u in uses {
        seen.insert(u.await.unwrap().unwrap());
    }
    // THEN all got the same key, the one stored for the next run
    assert_eq!(seen.len(), 1);
    let stored = roi_domain::ports::SecretStore::get(secrets.as_ref(), "pseudonym-key")
        .await
        .unwrap()
        .unwrap();
    let again = roi_app::pseudonym::PseudonymKey::from_secret(&stored).unwrap();
    assert!(seen.contains(&again.pseudonym(&client, "ana@example.com")));
}
