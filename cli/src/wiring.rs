//! How the CLI builds its services, once: the store (`--store`), e-mail, secrets, the
//! link-signing key, and the AWS configuration when it runs against a stack.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use roi_adapters::dir_blobs::DirBlobStore;
use roi_adapters::dynamodb::DynamoTable;
use roi_adapters::redb_table::RedbTable;
use roi_app::Store;
use roi_app::reports::{ReportLinks, ReportServices};
use roi_domain::ports::{BlobStore, Clock, SystemClock, Table};

use crate::StoreKind;

/// Where a command runs: the data directory, and which store (`--store`, `--table`).
/// Every service a command needs is built from it, once.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// `--data-dir`: the embedded store, the outbox, blobs, secrets.
    pub data_dir: PathBuf,
    /// `--store`.
    pub store_kind: StoreKind,
    /// `--table`, with `--store dynamodb`.
    pub table: String,
}

impl Ctx {
    /// Whether the commands run against a stack on AWS (`ROI_STORE=dynamodb`): then SES,
    /// Secrets Manager and S3 are used instead of the data directory.
    pub fn on_aws(&self) -> bool {
        self.store_kind == StoreKind::Dynamodb
    }

    /// Opens the store.
    ///
    /// # Errors
    /// The embedded store's file cannot be opened (e.g. `roi serve` holds it).
    pub async fn store(&self) -> Result<Store> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let table: Arc<dyn Table> = match self.store_kind {
            StoreKind::Embedded => {
                let path = self.data_dir.join("roi.redb");
                Arc::new(
                    RedbTable::open(&path, Arc::clone(&clock))
                        .with_context(|| format!("opening {}", path.display()))?,
                )
            }
            StoreKind::Dynamodb => {
                let config = aws_config_load().await;
                let client = aws_sdk_dynamodb::Client::new(&config);
                Arc::new(DynamoTable::new(client, &self.table, Arc::clone(&clock)))
            }
        };
        let mut store =
            Store::new(table, Arc::clone(&clock)).with_pseudonyms(self.pseudonyms().await?);
        let [events, audit] = self.archives(&clock).await?;
        if let Some(archive) = events {
            store = store.with_archive(archive);
        }
        if let Some(blobs) = audit {
            let retention = std::env::var("ROI_AUDIT_RETENTION_YEARS").ok();
            let audit = roi_app::store::AuditArchive::new(blobs, retention.as_deref())
                .map_err(anyhow::Error::msg)?;
            store = store.with_audit_archive(audit);
        }
        Ok(store)
    }

    /// The raw-event archive and the audit archive: `<data dir>/archive/` and
    /// `<data dir>/audit-archive/` on the embedded store; with `ROI_STORE=dynamodb`, the
    /// buckets `ROI_ARCHIVE_BUCKET` and `ROI_AUDIT_BUCKET` name (none when unset).
    async fn archives(&self, clock: &Arc<dyn Clock>) -> Result<[Option<Arc<dyn BlobStore>>; 2]> {
        Ok(match self.store_kind {
            StoreKind::Embedded => {
                let secret = form_secret(&self.data_dir)?;
                ["archive", "audit-archive"].map(|dir| {
                    Some(Arc::new(DirBlobStore::new(
                        self.data_dir.join(dir),
                        "http://127.0.0.1",
                        &secret,
                        Arc::clone(clock),
                    )) as Arc<dyn BlobStore>)
                })
            }
            StoreKind::Dynamodb => {
                let mut out = [None, None];
                for (slot, var) in out
                    .iter_mut()
                    .zip(["ROI_ARCHIVE_BUCKET", "ROI_AUDIT_BUCKET"])
                {
                    if let Ok(bucket) = std::env::var(var) {
                        *slot = Some(Arc::new(s3_blobs(bucket).await) as Arc<dyn BlobStore>);
                    }
                }
                out
            }
        })
    }

    /// The key of end users' pseudonyms (`roi_app::pseudonym`): `ROI_PSEUDONYM_KEY` if set;
    /// else, with `ROI_STORE=dynamodb`, the Secrets Manager secret `ROI_PSEUDONYM_SECRET_ARN`
    /// (default `roi-tracker/pseudonym-key`); else the data directory's
    /// `secrets/pseudonym-key` (mode 0600). Made on first use when missing.
    async fn pseudonyms(&self) -> Result<roi_app::pseudonym::Pseudonyms> {
        use roi_app::pseudonym::{LOCAL_SECRET_NAME, PseudonymKey, Pseudonyms};
        if let Ok(key) = std::env::var("ROI_PSEUDONYM_KEY") {
            return Ok(Pseudonyms::fixed(PseudonymKey::from_secret(&key)?));
        }
        let on_aws = self.store_kind == StoreKind::Dynamodb;
        let name = if on_aws {
            std::env::var("ROI_PSEUDONYM_SECRET_ARN")
                .unwrap_or_else(|_| "roi-tracker/pseudonym-key".into())
        } else {
            LOCAL_SECRET_NAME.into()
        };
        Ok(Pseudonyms::secret(
            secrets(&self.data_dir, on_aws).await,
            name,
            true,
        ))
    }

    /// The services of the scheduled jobs on this machine ([`local_services`]).
    ///
    /// # Errors
    /// The form-link secret cannot be read or made.
    pub async fn services(&self, store: &Store) -> Result<roi_app::jobs::Services> {
        local_services(store, &self.data_dir, self.on_aws()).await
    }

    /// The report services of this machine: blobs under `<data dir>/blobs` (or S3 with
    /// `ROI_STORE=dynamodb`), the outbox mailer (or SES), links to `ROI_BASE_URL`; and the
    /// local blob store when there is one, whose signed URLs `roi serve` answers.
    ///
    /// # Errors
    /// `ROI_REPORTS_BUCKET` is missing on AWS, or the form-link secret is unreadable.
    pub async fn report_services(
        &self,
        store: &Store,
    ) -> Result<(ReportServices, Option<Arc<DirBlobStore>>)> {
        let jobs = self.services(store).await?;
        let links = ReportLinks::new(&jobs.signer, &jobs.base_url);
        let (blobs, local): (Arc<dyn BlobStore>, _) = if self.on_aws() {
            let bucket = std::env::var("ROI_REPORTS_BUCKET")
                .context("ROI_REPORTS_BUCKET names the reports bucket when ROI_STORE=dynamodb")?;
            (Arc::new(s3_blobs(bucket).await), None)
        } else {
            let dir = Arc::new(DirBlobStore::new(
                self.data_dir.join("blobs"),
                &jobs.base_url,
                &form_secret(&self.data_dir)?,
                Arc::clone(store.clock()),
            ));
            (dir.clone(), Some(dir))
        };
        Ok((
            ReportServices {
                store: store.clone(),
                blobs,
                mailer: jobs.notifier.mailer,
                mail_from: jobs.notifier.mail_from,
                links,
            },
            local,
        ))
    }
}

/// The local operator, an admin, when `ROI_OPERATORS` is unset on this machine.
pub const LOCAL_OPERATOR: &str = "operator@localhost:admin";

/// The operators allowed into the console: `ROI_OPERATORS` (comma-separated
/// `address[:role]` entries, role `admin` or `account_manager`, the default), else
/// [`LOCAL_OPERATOR`].
///
/// # Errors
/// An entry of `ROI_OPERATORS` is not an e-mail address.
pub fn operators() -> Result<roi_app::console::auth::Operators> {
    let list = std::env::var("ROI_OPERATORS").unwrap_or_else(|_| LOCAL_OPERATOR.into());
    roi_app::console::auth::Operators::parse(&list).map_err(anyhow::Error::msg)
}

impl Ctx {
    /// The console's state on this machine, its links made for `base_url` (where `roi
    /// serve` listens, or `ROI_BASE_URL`).
    ///
    /// # Errors
    /// As [`Ctx::report_services`]; a bad `ROI_OPERATORS`.
    pub async fn console(
        &self,
        store: &Store,
        base_url: &str,
    ) -> Result<(
        roi_app::http::console::ConsoleState,
        Option<Arc<DirBlobStore>>,
    )> {
        let (reports, local) = self.report_services(store).await?;
        let signer = signer(&self.data_dir)?;
        Ok((
            roi_app::http::console::ConsoleState {
                store: store.clone(),
                auth: roi_app::console::auth::ConsoleAuth::new(&signer, operators()?, base_url),
                forms: signer.clone(),
                dashboards: roi_app::console::dashboard::DashboardLinks::new(&signer, base_url),
                reports,
            },
            local,
        ))
    }
}

/// The reports bucket `bucket` on S3. With `AWS_ENDPOINT_URL` set (an emulator such as
/// moto), requests use path-style addressing, which emulators on loopback need.
pub async fn s3_blobs(bucket: String) -> roi_adapters::s3::S3BlobStore {
    let config = aws_config_load().await;
    let s3 = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(std::env::var_os("AWS_ENDPOINT_URL").is_some())
        .build();
    roi_adapters::s3::S3BlobStore::new(aws_sdk_s3::Client::from_conf(s3), bucket)
}

/// What the scheduled jobs need on this machine: the store, an `.eml` outbox under the data
/// directory for e-mail, webhooks over HTTP(S), the form-link signer, the reports' files
/// (`<data dir>/blobs`, or the bucket `ROI_REPORTS_BUCKET` names on AWS) and `ROI_BASE_URL`.
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
        blobs: if on_aws {
            match std::env::var("ROI_REPORTS_BUCKET") {
                Ok(bucket) => Some(Arc::new(s3_blobs(bucket).await)),
                Err(_) => None,
            }
        } else {
            Some(Arc::new(DirBlobStore::new(
                data_dir.join("blobs"),
                &base_url,
                &form_secret(data_dir)?,
                Arc::clone(store.clock()),
            )))
        },
        base_url,
        queue: None,
        admin_api: Some(Arc::new(roi_adapters::admin_api::HttpAdminApi::default())),
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

/// The form-link signer, keyed by [`form_secret`].
///
/// # Errors
/// The secret cannot be read or made, or is shorter than 32 bytes.
pub fn signer(data_dir: &std::path::Path) -> Result<roi_app::form_link::FormSigner> {
    Ok(roi_app::form_link::FormSigner::new(&form_secret(
        data_dir,
    )?)?)
}

/// The AWS SDK configuration of the `roi` command: the SDK's default chain.
pub async fn aws_config_load() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
