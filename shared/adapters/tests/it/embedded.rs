//! The conformance suite on the embedded adapters: redb, a directory, an `.eml` outbox.

use std::sync::Arc;

use roi_adapters::dir_blobs::DirBlobStore;
use roi_adapters::outbox::OutboxMailer;
use roi_adapters::redb_table::RedbTable;
use roi_domain::ports::{Clock, FixedClock};

use crate::conformance::{blob, mail, secret, table};

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(chrono::Utc::now()))
}

mod redb {
    use super::*;

    pub struct Guarded(table::Fixture, #[allow(dead_code)] tempfile::TempDir);
    impl std::ops::Deref for Guarded {
        type Target = table::Fixture;
        fn deref(&self) -> &table::Fixture {
            &self.0
        }
    }

    async fn fixture() -> Guarded {
        let dir = tempfile::tempdir().unwrap();
        let clock = clock();
        let t = RedbTable::open(
            &dir.path().join("roi.redb"),
            Arc::clone(&clock) as Arc<dyn Clock>,
        )
        .unwrap();
        Guarded(
            table::Fixture {
                table: Arc::new(t),
                clock,
                pk: "CLIENT#acme".into(),
                serialises_writes: true,
            },
            dir,
        )
    }

    crate::table_suite!(fixture());

    #[tokio::test]
    async fn records_survive_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/roi.redb");
        let c: Arc<dyn Clock> = clock();
        {
            let t = RedbTable::open(&path, Arc::clone(&c)).unwrap();
            let item = roi_domain::ports::Item::from_record("P", "S", &serde_json::json!({"v": 1}))
                .unwrap();
            roi_domain::ports::Table::put(&t, item, roi_domain::ports::Condition::Always)
                .await
                .unwrap();
        }
        let t = RedbTable::open(&path, c).unwrap();
        assert!(
            roi_domain::ports::Table::get(&t, "P", "S")
                .await
                .unwrap()
                .is_some()
        );
    }

    /// 64 concurrent writes of four kinds, interleaved, each with the outcome it would have
    /// alone, and all of them durable after reopening.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writes_of_every_kind_keep_their_own_outcomes() {
        use roi_domain::ports::{Condition, Item, Table, TableError};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roi.redb");
        let c: Arc<dyn Clock> = clock();
        let item = |sk: &str, v: usize| {
            Item::from_record("P", sk, &serde_json::json!({ "v": v })).unwrap()
        };
        let t = Arc::new(RedbTable::open(&path, Arc::clone(&c)).unwrap());
        t.put(item("TAKEN", 0), Condition::Always).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..64usize {
            let t = Arc::clone(&t);
            tasks.spawn(async move {
                let won = match i % 4 {
                    // 16 claims of one key: one wins
                    0 => t.put(item("SAME", i), Condition::NotExists).await.is_ok(),
                    // a transaction whose second condition fails writes nothing
                    1 => {
                        let puts = vec![
                            (item(&format!("HALF#{i:02}"), i), Condition::Always),
                            (item("TAKEN", i), Condition::NotExists),
                        ];
                        assert_eq!(t.transact_put(puts).await, Err(TableError::ConditionFailed));
                        false
                    }
                    // batches of 30 new items: all written
                    2 => {
                        let items = (0..30).map(|k| item(&format!("BATCH#{i:02}#{k:02}"), k));
                        t.batch_put(items.collect()).await.unwrap();
                        false
                    }
                    // a budget of 8 taken by 16
                    _ => t
                        .add_within("P", "COUNTER", &[("n", 1, 8)], None)
                        .await
                        .unwrap(),
                };
                (i % 4, won)
            });
        }
        let mut won = [0usize; 4];
        while let Some(done) = tasks.join_next().await {
            let (kind, it_won) = done.unwrap();
            won[kind] += usize::from(it_won);
        }
        // one claim of SAME, 8 takes of the budget
        assert_eq!(won, [1, 0, 0, 8]);
        drop(t);
        let mut stored = [0usize; 4];
        let t = RedbTable::open(&path, c).unwrap();
        let all = roi_domain::ports::query_all(&t, roi_domain::ports::Query::partition("P"))
            .await
            .unwrap();
        for it in &all {
            let kind = it.sk.split('#').next().unwrap();
            stored[match kind {
                "SAME" => 0,
                "HALF" => 1,
                "BATCH" => 2,
                _ => 3,
            }] += 1;
        }
        // one SAME, no HALF, 16 × 30 BATCH, and TAKEN with COUNTER
        assert_eq!(stored, [1, 0, 480, 2]);
        let counter = all.iter().find(|it| it.sk == "COUNTER").unwrap();
        assert_eq!(counter.attrs["n"], 8);
        let taken = all.iter().find(|it| it.sk == "TAKEN").unwrap();
        assert_eq!(taken.attrs["v"], 0);
    }
}

mod directory {
    use super::*;

    pub struct Guarded(blob::Fixture, #[allow(dead_code)] tempfile::TempDir);
    impl std::ops::Deref for Guarded {
        type Target = blob::Fixture;
        fn deref(&self) -> &blob::Fixture {
            &self.0
        }
    }

    async fn fixture() -> Guarded {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(DirBlobStore::new(
            dir.path(),
            "http://127.0.0.1:8080",
            b"test-key",
            clock(),
        ));
        let redeem = Arc::clone(&store);
        // Follows a link as `roi serve` does: check the signature and expiry, then read.
        let fetch: blob::Fetch = Box::new(move |url: String| {
            let store = Arc::clone(&redeem);
            Box::pin(async move {
                let rest = url
                    .strip_prefix("http://127.0.0.1:8080/blobs/")
                    .expect("link on the base URL");
                let (path, query) = rest.split_once('?').unwrap();
                let params: std::collections::HashMap<&str, &str> = query
                    .split('&')
                    .filter_map(|kv| kv.split_once('='))
                    .collect();
                let expires: i64 = params["expires"].parse().unwrap();
                store
                    .verify_link(path, expires, params["signature"])
                    .unwrap();
                assert!(
                    store
                        .verify_link(path, expires + 1, params["signature"])
                        .is_err(),
                    "a changed expiry is refused"
                );
                roi_domain::ports::BlobStore::get(store.as_ref(), path)
                    .await
                    .unwrap()
                    .unwrap()
                    .bytes
            })
        });
        Guarded(
            blob::Fixture {
                store,
                prefix: "t".into(),
                fetch,
            },
            dir,
        )
    }

    crate::blob_suite!(fixture());

    #[tokio::test]
    async fn an_expired_link_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let c = clock();
        let store = DirBlobStore::new(
            dir.path(),
            "http://h",
            b"k",
            Arc::clone(&c) as Arc<dyn Clock>,
        );
        roi_domain::ports::BlobStore::put(&store, "a.pdf", b"x".to_vec(), "application/pdf")
            .await
            .unwrap();
        let link = roi_domain::ports::BlobStore::presigned_get(
            &store,
            "a.pdf",
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
        let sig = link.url.rsplit("signature=").next().unwrap().to_owned();
        c.advance(chrono::Duration::seconds(61));
        assert_eq!(
            store.verify_link("a.pdf", link.expires_at.timestamp(), &sig),
            Err(roi_adapters::dir_blobs::LinkError::Expired)
        );
    }
}

mod outbox {
    use super::*;

    pub struct Guarded(mail::Fixture, #[allow(dead_code)] tempfile::TempDir);
    impl std::ops::Deref for Guarded {
        type Target = mail::Fixture;
        fn deref(&self) -> &mail::Fixture {
            &self.0
        }
    }

    async fn fixture() -> Guarded {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Arc::new(OutboxMailer::new(dir.path().join("outbox"), clock()));
        let reader = Arc::clone(&outbox);
        let read_back: mail::ReadBack = Box::new(move |id: String| {
            let outbox = Arc::clone(&reader);
            Box::pin(async move {
                let file = outbox
                    .messages()
                    .unwrap()
                    .into_iter()
                    .find(|p| p.to_string_lossy().contains(&id))
                    .expect("the .eml file");
                let raw = std::fs::read(file).unwrap();
                let msg = mail_parser::MessageParser::default()
                    .parse(&raw)
                    .expect("a parseable message");
                let addresses = |a: Option<&mail_parser::Address>| -> Vec<String> {
                    a.map(|a| {
                        a.iter()
                            .filter_map(|x| x.address().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
                };
                mail::Delivered {
                    from: addresses(msg.from()).join(","),
                    to: addresses(msg.to()),
                    subject: msg.subject().unwrap_or_default().to_owned(),
                    bodies: vec![
                        msg.body_text(0).unwrap_or_default().into_owned(),
                        msg.body_html(0).unwrap_or_default().into_owned(),
                    ],
                }
            })
        });
        Guarded(
            mail::Fixture {
                mailer: outbox,
                sender: "reports@roi.example".into(),
                read_back,
                keeps_text_body: true,
            },
            dir,
        )
    }

    crate::mail_suite!(fixture());
}

mod directory_secrets {
    use super::*;

    pub struct Guarded(secret::Fixture, #[allow(dead_code)] tempfile::TempDir);
    impl std::ops::Deref for Guarded {
        type Target = secret::Fixture;
        fn deref(&self) -> &secret::Fixture {
            &self.0
        }
    }

    async fn fixture() -> Guarded {
        let dir = tempfile::tempdir().unwrap();
        let store = roi_adapters::dir_secrets::DirSecrets::new(dir.path().join("secrets"));
        Guarded(
            secret::Fixture {
                store: Arc::new(store),
                prefix: "roi-tracker".into(),
            },
            dir,
        )
    }

    crate::secret_suite!(fixture());

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_puts_of_one_secret_all_succeed() {
        // two first runs creating the same key at once must not trip over each other's
        // temporary file
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(roi_adapters::dir_secrets::DirSecrets::new(
            dir.path().join("secrets"),
        ));
        let puts: Vec<_> = (0..16)
            .map(|i| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    roi_domain::ports::SecretStore::put(store.as_ref(), "k", &format!("value-{i}"))
                        .await
                })
            })
            .collect();
        for put in puts {
            put.await.unwrap().unwrap();
        }
        let value = roi_domain::ports::SecretStore::get(store.as_ref(), "k")
            .await
            .unwrap()
            .unwrap();
        assert!(value.starts_with("value-"), "{value}");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn only_the_owner_can_read_a_secret() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let store = roi_adapters::dir_secrets::DirSecrets::new(dir.path().join("secrets"));
        roi_domain::ports::SecretStore::put(&store, "roi-tracker/webhooks/acme/1", "s3cret-value")
            .await
            .unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let file = dir.path().join("secrets/roi-tracker/webhooks/acme/1");
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(file.parent().unwrap()), 0o700);
    }
}
