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

/// The export's files in memory.
#[derive(Default)]
struct Files(Vec<(String, Vec<u8>)>);

impl roi_app::privacy::ExportWriter for Files {
    fn begin(&mut self, path: &str) -> std::io::Result<()> {
        self.0.push((path.to_owned(), Vec::new()));
        Ok(())
    }
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.last_mut().unwrap().1.extend_from_slice(bytes);
        Ok(())
    }
}

/// Every stored item of the client, each as its JSON text.
async fn all_items(store: &roi_app::Store, c: &roi_domain::Client) -> Vec<String> {
    let span = roi_app::privacy::client_span(store, c).await.unwrap();
    let mut items = Vec::new();
    store
        .each_client_item(c, span, |i| -> Result<(), roi_app::store::StoreError> {
            items.push(format!(
                "{} {} {}",
                i.pk,
                i.sk,
                serde_json::Value::Object(i.fields().unwrap().into_owned())
            ));
            Ok(())
        })
        .await
        .unwrap();
    items
}

/// What a day's roll-up counts: events, cost, tokens, DAU, WAU, MAU, and the per-user
/// usage as a multiset of (cost, tokens).
fn figures(r: &roi_domain::rollup::Rollup) -> String {
    let mut per_user: Vec<String> =
        r.by.get("user")
            .map(|g| {
                g.values()
                    .map(|t| format!("{} {}", t.cost_usd, t.input_tokens))
                    .collect()
            })
            .unwrap_or_default();
    per_user.sort();
    format!(
        "{} events, {} USD, {} users, WAU {:?}, MAU {:?}, per user {per_user:?}",
        r.events,
        r.usage.cost_usd,
        r.users.len(),
        r.wau,
        r.mau
    )
}

#[tokio::test]
async fn an_erased_user_is_in_no_record_and_every_figure_stays() {
    // GIVEN ana, ben and carla active on two days, ana and ben with AI usage, rolled up
    // (and so archived)
    let w = world().await;
    let blob_dir = tempfile::tempdir().unwrap();
    let blobs = roi_adapters::dir_blobs::DirBlobStore::new(
        blob_dir.path().join("blobs"),
        "https://roi.example",
        b"0123456789abcdef0123456789abcdef",
        std::sync::Arc::clone(w.store.clock()),
    );
    let archive = std::sync::Arc::new(roi_adapters::dir_blobs::DirBlobStore::new(
        blob_dir.path().join("archive"),
        "https://roi.example",
        b"0123456789abcdef0123456789abcdef",
        std::sync::Arc::clone(w.store.clock()),
    ));
    let w = crate::World {
        store: w.store.clone().with_archive(archive),
        ..w
    };
    let client = w
        .store
        .project(&w.project)
        .await
        .unwrap()
        .unwrap()
        .client_id;
    let c = w.store.client(&client).await.unwrap().unwrap();
    let now = w.store.clock().now();
    let days: [NaiveDate; 2] = ["2025-04-28".parse().unwrap(), "2025-04-29".parse().unwrap()];
    let (ana, ben, carla) = ("ana@acme.example", "ben@acme.example", "carla@acme.example");
    let usage = |user: &str, day: NaiveDate, tokens: u32| {
        serde_json::json!({"specversion": "1.0", "id": format!("u-{user}-{day}"), "source": "app",
            "type": "ai.usage", "time": format!("{day}T16:00:00Z"),
            "data": {"model": "claude-haiku-4-5", "input_tokens": tokens, "output_tokens": 10, "user": user}})
        .to_string()
    };
    let mut events = Vec::new();
    for (n, u) in [ana, ben, carla].iter().enumerate() {
        events.push(event::validate(&session(u, days[0], n), now));
    }
    events.push(event::validate(&session(ana, days[1], 0), now));
    events.push(event::validate(&usage(ana, days[0], 1_000), now));
    events.push(event::validate(&usage(ana, days[1], 2_000), now));
    events.push(event::validate(&usage(ben, days[1], 3_000), now));
    let stored = roi_app::ingest::store_events(&w.store, PriceTable::shipped(), &client, events)
        .await
        .unwrap();
    assert_eq!(stored.accepted, 7);
    rollup_days(&w.store, &client, days[0], days[1])
        .await
        .unwrap();
    let before: Vec<String> = rollups(&w.store, &client, &days).await;
    let key = w.store.pseudonym_key().await.unwrap();
    let (ana_p, ben_p) = (key.pseudonym(&client, ana), key.pseudonym(&client, ben));
    let named = |items: &[String], p: &str| items.iter().filter(|i| i.contains(p)).count();
    // ana's 2 sessions and 2 usage events, the 2 roll-ups' user sets and usage
    assert!(named(&all_items(&w.store, &c).await, &ana_p) >= 6);

    // WHEN ana is erased
    let done = roi_app::privacy::erase_user(&w.store, &blobs, &c, ana, "test")
        .await
        .unwrap();
    assert_eq!(
        (done.events, done.archived_events, done.rollup_days),
        (4, 4, 2)
    );

    // THEN no stored item names her pseudonym (nor a legacy hash of her id), ben's still
    // are, and every figure of both days is as it was
    let items = all_items(&w.store, &c).await;
    assert_eq!(named(&items, &ana_p), 0);
    assert_eq!(named(&items, &legacy_hash(&client, ana)), 0);
    assert!(named(&items, &ben_p) >= 3);
    for day in days {
        let archived = w
            .store
            .archived_events(&client, day)
            .await
            .unwrap()
            .unwrap();
        let text = serde_json::to_string(&archived).unwrap();
        assert!(!text.contains(&ana_p) && text.contains(roi_app::privacy::ERASED_PREFIX));
    }
    assert_eq!(rollups(&w.store, &client, &days).await, before);
    // AND recomputing the days from the raw events gives the same roll-ups, still without her
    rollup_days(&w.store, &client, days[0], days[1])
        .await
        .unwrap();
    assert_eq!(rollups(&w.store, &client, &days).await, before);
    assert_eq!(named(&all_items(&w.store, &c).await, &ana_p), 0);
    // AND the audit says a user was erased, without naming her; a second run finds nothing
    let audit = w.store.audit_entries(&client, "2025-05").await.unwrap();
    let entry = audit.iter().find(|e| e.action == "user_erased").unwrap();
    assert!(!entry.detail.contains(&ana_p) && !entry.detail.contains(ana));
    let again = roi_app::privacy::erase_user(&w.store, &blobs, &c, ana, "test")
        .await
        .unwrap();
    assert_eq!((again.events, again.rollup_days), (0, 0));

    // AND the client's export holds these records by kind, alert states and notice claims
    // among them
    let state = roi_app::store::AlertState {
        rule: "roi_percentage".into(),
        scope: w.project.to_string(),
        firing: true,
        level: roi_domain::kpi::Level::Warning,
        value: 5.into(),
        limit: 10.into(),
        since: now,
        last_sent_at: None,
    };
    w.store.put_alert_state(&client, &state).await.unwrap();
    assert!(
        w.store
            .claim_notice(&client, "roi_percentage|p|firing")
            .await
            .unwrap()
    );
    let link = roi_app::store::FormLinkRecord {
        nonce: "00112233445566778899aabbccddeeff".into(),
        project_id: w.project.clone(),
        kind: "ongoing".into(),
        due: None,
        created_by: "am@consultancy.example".into(),
        created_at: now,
        valid_until: now + chrono::Duration::days(14),
        revoked_at: None,
    };
    w.store.put_form_link(&link).await.unwrap();
    let mut files = Files::default();
    let exported = roi_app::privacy::export_client(&w.store, &blobs, &c, "test", &mut files)
        .await
        .unwrap();
    let names: Vec<&str> = files.0.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(names.first(), Some(&"records.ndjson"));
    assert_eq!(names.last(), Some(&"manifest.json"));
    // the two archived days
    assert_eq!(
        names
            .iter()
            .filter(|n| n.starts_with("archive/events/"))
            .count(),
        2,
        "{names:?}"
    );
    let records = String::from_utf8(files.0[0].1.clone()).unwrap();
    assert_eq!(
        records.lines().count(),
        exported.records.values().sum::<usize>()
    );
    for kind in [
        "alert state",
        "alert notice claim",
        "form link",
        "form link listing",
        "raw event",
        "daily roll-up",
        "audit entry",
    ] {
        assert!(
            exported.records.contains_key(kind),
            "{kind}: {:?}",
            exported.records
        );
    }
    assert!(records.contains(&ben_p) && !records.contains(&ana_p));
    assert!(records.contains(roi_app::privacy::ERASED_PREFIX));
}

async fn rollups(
    store: &roi_app::Store,
    client: &roi_domain::ClientId,
    days: &[NaiveDate],
) -> Vec<String> {
    let mut out = Vec::new();
    for d in days {
        out.push(figures(&store.rollup(client, *d).await.unwrap().unwrap()));
    }
    out
}

#[tokio::test]
async fn audit_batches_chain_by_sha256_and_a_changed_batch_is_found() {
    use roi_app::store::{AuditArchive, AuditEntry};
    // GIVEN a store with an audit archive, and entries on three UTC days (with the world's
    // own of 2025-05-02)
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let blobs = std::sync::Arc::new(roi_adapters::dir_blobs::DirBlobStore::new(
        dir.path().join("audit-archive"),
        "https://roi.example",
        b"0123456789abcdef0123456789abcdef",
        std::sync::Arc::clone(w.store.clock()),
    ));
    let store = w
        .store
        .clone()
        .with_audit_archive(AuditArchive::new(blobs.clone(), None).unwrap());
    let client = store.project(&w.project).await.unwrap().unwrap().client_id;
    for (at, action) in [
        ("2025-04-29T09:00:00Z", "baseline_imported"),
        ("2025-04-29T17:30:00Z", "baseline_approved"),
        ("2025-04-30T08:00:00Z", "tracking_imported"),
        ("2025-05-01T23:59:59Z", "report_issued"),
    ] {
        let entry = AuditEntry {
            at: at.parse().unwrap(),
            action: action.into(),
            actor: "cli".into(),
            project_id: Some(w.project.clone()),
            detail: format!("{action} by hand"),
        };
        store.audit(&client, &entry).await.unwrap();
    }

    // WHEN the days through 2025-05-02 are sealed: today's is not, it is not over
    let through: NaiveDate = "2025-05-01".parse().unwrap();
    let asked: NaiveDate = "2025-05-02".parse().unwrap();
    assert_eq!(store.seal_audit(&client, asked).await.unwrap(), 3);
    assert_eq!(
        store
            .audit_head(&client)
            .await
            .unwrap()
            .unwrap()
            .sealed_through,
        through
    );

    // THEN each batch names the one before it, the chain checks out, and reading a day
    // back gives the table's entries
    let check = store.verify_audit(&client).await.unwrap();
    assert_eq!(check.problems, Vec::<String>::new());
    assert_eq!(check.batches, 3);
    assert_eq!(check.first_day, Some("2025-04-29".parse().unwrap()));
    let (day2, sha2) = store
        .audit_batch(&client, "2025-04-30".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let (day3, _) = store.audit_batch(&client, through).await.unwrap().unwrap();
    assert_eq!(day3.previous.as_ref().unwrap().sha256, sha2);
    assert_eq!(day2.entries.len(), 1);
    assert_eq!(
        day2.previous.unwrap().day,
        "2025-04-29".parse::<NaiveDate>().unwrap()
    );
    let table: Vec<AuditEntry> = store
        .audit_entries(&client, "2025-05")
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.at.date_naive() == through)
        .collect();
    assert_eq!(day3.entries, table);
    assert_eq!(table.len(), 1);
    // AND sealing again writes nothing; a batch is not replaced by other bytes
    assert_eq!(store.seal_audit(&client, through).await.unwrap(), 0);
    let key = roi_app::store::keys::audit_batch(&client, through);
    let retained = roi_domain::ports::BlobStore::put_retained(
        blobs.as_ref(),
        &key,
        b"{}".to_vec(),
        "application/json",
        chrono::Utc::now(),
    )
    .await;
    assert!(matches!(
        retained,
        Err(roi_domain::ports::BlobError::Taken(_))
    ));

    // AND the client's export carries the three batches as stored
    let c = store.client(&client).await.unwrap().unwrap();
    let mut files = Files::default();
    roi_app::privacy::export_client(&store, blobs.as_ref(), &c, "test", &mut files)
        .await
        .unwrap();
    let batches: Vec<&(String, Vec<u8>)> = files
        .0
        .iter()
        .filter(|(p, _)| p.starts_with("archive/audit/"))
        .collect();
    assert_eq!(batches.len(), 3);
    assert_eq!(
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&batches[1].1)),
        sha2
    );

    // WHEN someone edits the middle batch on disk
    let path = dir
        .path()
        .join("audit-archive")
        .join(roi_app::store::keys::audit_batch(
            &client,
            "2025-04-30".parse().unwrap(),
        ));
    let mut permissions = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)] // the test plays the intruder
    permissions.set_readonly(false);
    std::fs::set_permissions(&path, permissions).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("tracking_imported by hand", "nothing happened"),
    )
    .unwrap();

    // THEN the check names that day: its SHA-256 is not the one the next batch names, and
    // its entries are not the table's
    let check = store.verify_audit(&client).await.unwrap();
    assert_eq!(check.problems.len(), 2, "{:?}", check.problems);
    assert!(check.problems.iter().all(|p| p.starts_with("2025-04-30")));
}

#[tokio::test]
async fn the_new_inputs_are_checked_at_their_extremes() {
    // the days from churn to anonymisation: 1 to 3,650
    for (days, ok) in [(0, false), (1, true), (3_650, true), (3_651, false)] {
        let settings = roi_app::settings::ClientSettings {
            anonymise_after_days: days,
            ..roi_app::settings::ClientSettings::default()
        };
        let checked = settings.check();
        assert_eq!(checked.is_ok(), ok, "{days}: {checked:?}");
        if !ok {
            assert!(
                checked
                    .unwrap_err()
                    .0
                    .contains("anonymise_after_days must be from 1 to 3650")
            );
        }
    }
    // the audit retention: 1 to 100 whole years, 7 when unset
    let dir = tempfile::tempdir().unwrap();
    let blobs: std::sync::Arc<dyn roi_domain::ports::BlobStore> =
        std::sync::Arc::new(roi_adapters::dir_blobs::DirBlobStore::new(
            dir.path(),
            "https://roi.example",
            b"0123456789abcdef0123456789abcdef",
            std::sync::Arc::new(roi_domain::ports::SystemClock),
        ));
    let years = |text: Option<&str>| {
        roi_app::store::AuditArchive::new(blobs.clone(), text).map(|a| a.retention_years)
    };
    assert_eq!(years(None), Ok(7));
    assert_eq!(years(Some("1")), Ok(1));
    assert_eq!(years(Some(" 100 ")), Ok(100));
    for bad in ["0", "101", "-1", "seven", "", "4294967296"] {
        let refused = years(Some(bad)).unwrap_err();
        assert!(refused.contains("from 1 to 100"), "{bad}: {refused}");
    }
    // an erasure needs a user id
    let w = world().await;
    let client = w
        .store
        .project(&w.project)
        .await
        .unwrap()
        .unwrap()
        .client_id;
    let c = w.store.client(&client).await.unwrap().unwrap();
    let erased = roi_app::privacy::erase_user(&w.store, blobs.as_ref(), &c, "  ", "test").await;
    assert!(matches!(
        erased,
        Err(roi_app::privacy::EraseError::EmptyUser)
    ));
}

#[tokio::test]
async fn on_the_first_before_the_clients_midnight_the_export_holds_this_utc_months_audit() {
    use roi_app::store::AuditEntry;
    // GIVEN a client in New York, at 00:30 UTC on 1 December: its today is still 30
    // November, while an audit entry of now is filed under the UTC month 2026-12
    let dir = tempfile::tempdir().unwrap();
    let clock: std::sync::Arc<dyn roi_domain::ports::Clock> = std::sync::Arc::new(
        roi_domain::ports::FixedClock::new("2026-12-01T00:30:00Z".parse().unwrap()),
    );
    let table =
        roi_adapters::redb_table::RedbTable::open(&dir.path().join("roi.redb"), clock.clone())
            .unwrap();
    let store = roi_app::Store::new(std::sync::Arc::new(table), clock);
    let draft = roi_domain::client::ClientDraft {
        company_name: "Gamma".into(),
        time_zone: Some("America/New_York".into()),
        ..roi_domain::client::ClientDraft::default()
    };
    let c = roi_app::setup::add_client(&store, draft, "test")
        .await
        .unwrap()
        .0;
    assert_eq!(store.client_today(Some(&c)).to_string(), "2026-11-30");
    let entry = AuditEntry {
        at: "2026-12-01T00:29:00Z".parse().unwrap(),
        action: "report_issued".into(),
        actor: "cli".into(),
        project_id: None,
        detail: "issued just after UTC midnight".into(),
    };
    store.audit(&c.id, &entry).await.unwrap();

    // WHEN every record of the client is read for its export
    let items = all_items(&store, &c).await;

    // THEN the entry filed under 2026-12 is among them
    let december = roi_app::store::keys::audit_month(&c.id, "2026-12");
    assert!(
        items
            .iter()
            .any(|i| i.starts_with(&format!("{december} ")) && i.contains("report_issued")),
        "{items:#?}"
    );
}

#[tokio::test]
async fn an_erasure_cut_short_and_run_again_leaves_one_token() {
    // GIVEN ana active on two days, rolled up, on a table that will fail the first write
    // to the second day's raw events
    let dir = tempfile::tempdir().unwrap();
    let clock: std::sync::Arc<dyn roi_domain::ports::Clock> = std::sync::Arc::new(
        roi_domain::ports::FixedClock::new("2025-05-02T12:00:00Z".parse().unwrap()),
    );
    let table = std::sync::Arc::new(crate::Watched::new(std::sync::Arc::new(
        roi_adapters::redb_table::RedbTable::open(&dir.path().join("roi.redb"), clock.clone())
            .unwrap(),
    )));
    let store = roi_app::Store::new(table.clone(), clock);
    let draft = roi_domain::client::ClientDraft {
        company_name: "Delta".into(),
        time_zone: Some("UTC".into()),
        ..roi_domain::client::ClientDraft::default()
    };
    let c = roi_app::setup::add_client(&store, draft, "test")
        .await
        .unwrap()
        .0;
    let days: [NaiveDate; 2] = ["2025-04-28".parse().unwrap(), "2025-04-29".parse().unwrap()];
    let now = store.clock().now();
    let events = days
        .iter()
        .map(|d| event::validate(&session("ana@delta.example", *d, 0), now))
        .collect();
    roi_app::ingest::store_events(&store, PriceTable::shipped(), &c.id, events)
        .await
        .unwrap();
    rollup_days(&store, &c.id, days[0], days[1]).await.unwrap();
    let blobs = roi_adapters::dir_blobs::DirBlobStore::new(
        dir.path().join("blobs"),
        "https://roi.example",
        b"0123456789abcdef0123456789abcdef",
        std::sync::Arc::clone(store.clock()),
    );

    // WHEN her erasure is cut short on the second day, then run again to its end
    table.fail_next_write_to(&format!("EVENTS#{}#{}", c.id, days[1]));
    let cut = roi_app::privacy::erase_user(&store, &blobs, &c, "ana@delta.example", "test").await;
    assert!(cut.is_err(), "{cut:?}");
    // every erased token named in the items: `"x_` and 16 hex digits
    let erased = |items: &[String]| -> BTreeSet<String> {
        let quoted = format!("\"{}", roi_app::privacy::ERASED_PREFIX);
        items
            .iter()
            .flat_map(|i| {
                i.match_indices(quoted.as_str())
                    .filter_map(move |(at, q)| i.get(at + 1..at + q.len() + 16))
            })
            .filter(|t| t[2..].bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_owned)
            .collect()
    };
    let halfway = erased(&all_items(&store, &c).await);
    assert_eq!(halfway.len(), 1, "the first day is erased: {halfway:?}");
    roi_app::privacy::erase_user(&store, &blobs, &c, "ana@delta.example", "test")
        .await
        .unwrap();

    // THEN both days carry the one token of the first run, and no record of the erasure
    // is left to link it to her
    let items = all_items(&store, &c).await;
    assert_eq!(erased(&items), halfway, "{items:#?}");
    assert!(!items.iter().any(|i| i.contains("ERASING#")), "{items:#?}");
    let key = store.pseudonym_key().await.unwrap();
    let ana = key.pseudonym(&c.id, "ana@delta.example");
    assert!(!items.iter().any(|i| i.contains(&ana)));
}
