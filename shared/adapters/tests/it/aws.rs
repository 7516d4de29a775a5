//! The conformance suite on the AWS adapters, against moto's server on loopback.

use std::sync::Arc;

use roi_adapters::dynamodb::DynamoTable;
use roi_adapters::s3::S3BlobStore;
use roi_adapters::ses::SesMailer;
use roi_domain::ports::{Clock, FixedClock};

use crate::conformance::{blob, mail, secret, table};
use roi_e2e::moto;

mod dynamodb {
    use super::*;

    async fn fixture() -> table::Fixture {
        let config = moto::sdk_config().await;
        let clock = Arc::new(FixedClock::new(chrono::Utc::now()));
        let t = DynamoTable::new(
            aws_sdk_dynamodb::Client::new(&config),
            moto::unique("roi"),
            Arc::clone(&clock) as Arc<dyn Clock>,
        );
        t.create_if_missing().await.expect("table created in moto");
        table::Fixture {
            table: Arc::new(t),
            clock,
            pk: "CLIENT#acme".into(),
            // moto's server applies concurrent conditional updates without a lock
            serialises_writes: false,
        }
    }

    crate::table_suite!(fixture());

    #[tokio::test]
    async fn the_table_has_the_key_schema_and_ttl_of_the_template() {
        let config = moto::sdk_config().await;
        let client = aws_sdk_dynamodb::Client::new(&config);
        let name = moto::unique("schema");
        DynamoTable::new(
            client.clone(),
            &name,
            Arc::new(roi_domain::ports::SystemClock),
        )
        .create_if_missing()
        .await
        .unwrap();
        let ttl = client
            .describe_time_to_live()
            .table_name(&name)
            .send()
            .await
            .unwrap();
        assert_eq!(
            ttl.time_to_live_description()
                .and_then(|d| d.attribute_name()),
            Some("expires_at")
        );
        let described = client
            .describe_table()
            .table_name(&name)
            .send()
            .await
            .unwrap();
        let keys: Vec<&str> = described
            .table()
            .unwrap()
            .key_schema()
            .iter()
            .map(|k| k.attribute_name())
            .collect();
        assert_eq!(keys, ["pk", "sk"]);
    }
}

mod s3 {
    use super::*;

    async fn fixture() -> blob::Fixture {
        let config = moto::sdk_config().await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        let store = S3BlobStore::new(s3, moto::unique("reports"));
        store
            .create_if_missing()
            .await
            .expect("bucket created in moto");
        let fetch: blob::Fetch = Box::new(|url: String| {
            Box::pin(async move {
                // moto checks neither the signature nor the expiry, so assert the expiry here.
                assert!(url.contains("X-Amz-Expires=300"), "{url}");
                tokio::task::spawn_blocking(move || {
                    ureq::get(&url)
                        .call()
                        .expect("presigned GET")
                        .body_mut()
                        .read_to_vec()
                        .unwrap()
                })
                .await
                .unwrap()
            })
        });
        blob::Fixture {
            store: Arc::new(store),
            prefix: "t".into(),
            fetch,
        }
    }

    crate::blob_suite!(fixture());
}

mod ses {
    use super::*;

    async fn client() -> aws_sdk_sesv2::Client {
        aws_sdk_sesv2::Client::new(&moto::sdk_config().await)
    }

    async fn fixture() -> mail::Fixture {
        let client = client().await;
        let sender = format!("{}@roi.example", moto::unique("reports"));
        client
            .create_email_identity()
            .email_identity(&sender)
            .send()
            .await
            .expect("identity in moto");
        let read_back: mail::ReadBack = Box::new(|id: String| {
            Box::pin(async move {
                let data = tokio::task::spawn_blocking(moto::data_json).await.unwrap();
                let messages = data["ses"]["Message"]
                    .as_array()
                    .expect("ses.Message in moto's data.json");
                let m = messages
                    .iter()
                    .find(|m| m["id"] == id.as_str())
                    .expect("the sent message");
                mail::Delivered {
                    from: m["source"].as_str().unwrap_or_default().to_owned(),
                    to: serde_json::from_value(m["destinations"]["ToAddresses"].clone())
                        .unwrap_or_default(),
                    subject: m["subject"].as_str().unwrap_or_default().to_owned(),
                    bodies: vec![m["body"].as_str().unwrap_or_default().to_owned()],
                }
            })
        });
        mail::Fixture {
            mailer: Arc::new(SesMailer::new(client)),
            sender,
            read_back,
            keeps_text_body: false,
        }
    }

    crate::mail_suite!(fixture());

    #[tokio::test]
    async fn an_unverified_sender_is_rejected() {
        let mailer = SesMailer::new(client().await);
        let email = roi_domain::ports::Email {
            from: format!("{}@roi.example", moto::unique("nobody")),
            to: vec!["a@client.example".into()],
            subject: "s".into(),
            text: "t".into(),
            html: "h".into(),
        };
        let got = roi_domain::ports::Mailer::send(&mailer, &email).await;
        assert!(
            matches!(got, Err(roi_domain::ports::MailError::Rejected(_))),
            "{got:?}"
        );
    }
}

mod secrets_manager {
    use super::*;

    async fn fixture() -> secret::Fixture {
        let config = moto::sdk_config().await;
        secret::Fixture {
            store: Arc::new(roi_adapters::secrets_manager::SecretsManagerStore::new(
                aws_sdk_secretsmanager::Client::new(&config),
            )),
            prefix: moto::unique("roi"),
        }
    }

    crate::secret_suite!(fixture());
}
