//! How the CLI builds its services, once: the store (`--store`), e-mail, secrets, the
//! link-signing key, and the AWS configuration when it runs against a stack.

use std::sync::Arc;

use anyhow::{Context, Result};
use roi_adapters::dynamodb::DynamoTable;
use roi_adapters::redb_table::RedbTable;
use roi_app::Store;
use roi_domain::ports::{Clock, SystemClock, Table};

use crate::{Cli, StoreKind};

/// What the scheduled jobs need on this machine: the store, an `.eml` outbox under the data
/// directory for e-mail, webhooks over HTTP(S), the form-link signer and `ROI_BASE_URL`.
pub async fn local_services(
    store: &Store,
    data_dir: &std::path::Path,
    on_aws: bool,
) -> Result<roi_app::jobs::Services> {
    let base_url = std::env::var("ROI_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let mail_from =
        std::env::var("ROI_MAIL_FROM").unwrap_or_else(|_| "roi-tracker@localhost".into());
    Ok(roi_app::jobs::Services {
        store: store.clone(),
        notifier: roi_app::alerts::Notifier {
            mailer: mailer(store, data_dir, on_aws).await,
            webhooks: Arc::new(roi_adapters::webhook::HttpWebhooks::default().allowing_loopback()),
            secrets: secrets(data_dir, on_aws).await,
            mail_from,
        },
        signer: signer(data_dir)?,
        base_url,
        queue: None,
    })
}

/// Where webhook secrets are kept: Secrets Manager with `ROI_STORE=dynamodb`, else the data
/// directory's `secrets/` (files readable by their owner only).
pub async fn secrets(
    data_dir: &std::path::Path,
    on_aws: bool,
) -> Arc<dyn roi_domain::ports::SecretStore> {
    if on_aws {
        let config = aws_config_load().await;
        Arc::new(roi_adapters::secrets_manager::SecretsManagerStore::new(
            aws_sdk_secretsmanager::Client::new(&config),
        ))
    } else {
        Arc::new(roi_adapters::dir_secrets::DirSecrets::new(
            data_dir.join("secrets"),
        ))
    }
}

/// SES with `ROI_STORE=dynamodb`, else the `.eml` outbox under the data directory.
pub async fn mailer(
    store: &Store,
    data_dir: &std::path::Path,
    on_aws: bool,
) -> Arc<dyn roi_domain::ports::Mailer> {
    if on_aws {
        let config = aws_config_load().await;
        Arc::new(roi_adapters::ses::SesMailer::new(
            aws_sdk_sesv2::Client::new(&config),
        ))
    } else {
        Arc::new(roi_adapters::outbox::OutboxMailer::new(
            data_dir.join("outbox"),
            Arc::clone(store.clock()),
        ))
    }
}

/// The form-link secret: `ROI_FORM_SECRET`, or else a random one kept in the data
/// directory (created on first use, readable by its owner only).
pub fn form_secret(data_dir: &std::path::Path) -> Result<Vec<u8>> {
    if let Ok(s) = std::env::var("ROI_FORM_SECRET") {
        return Ok(s.into_bytes());
    }
    let path = data_dir.join("form-secret");
    match std::fs::read(&path) {
        Ok(bytes) => return Ok(bytes),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("reading {}", path.display()));
        }
        Err(_) => {}
    }
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no randomness for a secret: {e}"))?;
    let secret = hex::encode(raw);
    std::fs::create_dir_all(data_dir)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    use std::io::Write as _;
    options
        .open(&path)
        .and_then(|mut f| f.write_all(secret.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(secret.into_bytes())
}

pub fn signer(data_dir: &std::path::Path) -> Result<roi_app::form_link::FormSigner> {
    Ok(roi_app::form_link::FormSigner::new(&form_secret(
        data_dir,
    )?)?)
}

pub async fn open_store(cli: &Cli) -> Result<Store> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let table: Arc<dyn Table> = match cli.store {
        StoreKind::Embedded => {
            let path = cli.data_dir.join("roi.redb");
            Arc::new(
                RedbTable::open(&path, Arc::clone(&clock))
                    .with_context(|| format!("opening {}", path.display()))?,
            )
        }
        StoreKind::Dynamodb => {
            let config = aws_config_load().await;
            let client = aws_sdk_dynamodb::Client::new(&config);
            Arc::new(DynamoTable::new(client, &cli.table, Arc::clone(&clock)))
        }
    };
    Ok(Store::new(table, clock))
}

/// The AWS SDK configuration of the `roi` command: the SDK's default chain.
pub async fn aws_config_load() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
