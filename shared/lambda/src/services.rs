//! The one builder of a function's services on AWS: each port's AWS adapter, from the SDK
//! configuration and the function's environment. The mains pick what they need:
//!
//! | method | adapter | environment |
//! |---|---|---|
//! | [`Aws::store`] | DynamoDB table, system clock; the S3 archives when set | `ROI_TABLE`; `ROI_ARCHIVE_BUCKET`, `ROI_AUDIT_BUCKET`, `ROI_AUDIT_RETENTION_YEARS` |
//! | [`Aws::signer`] | HMAC-SHA256 link signer | `ROI_FORM_SECRET_ARN` or `ROI_FORM_SECRET` ([`form_secret`]) |
//! | [`Aws::pseudonyms`] | the key of end users' pseudonyms | `ROI_PSEUDONYM_SECRET_ARN` or `ROI_PSEUDONYM_KEY` |
//! | [`Aws::mailer`] | SES v2 | — |
//! | [`Aws::blobs`] | S3 | `ROI_REPORTS_BUCKET` |
//! | [`Aws::secrets`] | Secrets Manager | — |
//! | [`Aws::job_queue`] | SQS, when set | `ROI_JOB_QUEUE_URL` |

use std::sync::Arc;

use roi_adapters::dynamodb::DynamoTable;
use roi_adapters::s3::S3BlobStore;
use roi_adapters::secrets_manager::SecretsManagerStore;
use roi_adapters::ses::SesMailer;
use roi_adapters::sqs::SqsQueue;
use roi_app::Store;
use roi_app::form_link::FormSigner;
use roi_app::pseudonym::{PseudonymKey, Pseudonyms};
use roi_domain::ports::{BlobStore, Clock, Mailer, SecretStore, SystemClock, WorkQueue};

use crate::{Error, SdkConfig, StartError, form_secret, var};

/// Builds the AWS adapters of one function from `config` (kept for the life of the
/// execution environment by [`crate::serve_http`] and [`crate::serve_jobs`]).
#[derive(Debug, Clone, Copy)]
pub struct Aws<'a> {
    config: &'a SdkConfig,
}

impl<'a> Aws<'a> {
    /// The builder over `config`.
    pub fn new(config: &'a SdkConfig) -> Self {
        Self { config }
    }

    /// The records: the DynamoDB table `ROI_TABLE`, stamped with the system clock, with the
    /// raw-event archive in the bucket `ROI_ARCHIVE_BUCKET` and the audit archive in
    /// `ROI_AUDIT_BUCKET` (batches locked `ROI_AUDIT_RETENTION_YEARS`, default 7) when set.
    ///
    /// # Errors
    /// [`StartError::Missing`] without `ROI_TABLE`; [`StartError::Invalid`] for a
    /// `ROI_AUDIT_RETENTION_YEARS` that is not 1 to 100.
    pub fn store(&self) -> Result<Store, StartError> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let table = DynamoTable::new(
            aws_sdk_dynamodb::Client::new(self.config),
            var("ROI_TABLE")?,
            Arc::clone(&clock),
        );
        let mut store = Store::new(Arc::new(table), clock).with_pseudonyms(self.pseudonyms()?);
        // the archives, for compute-roi: raw events as days are rolled up, audit batches
        let (archive, audit) = (
            std::env::var("ROI_ARCHIVE_BUCKET"),
            std::env::var("ROI_AUDIT_BUCKET"),
        );
        if archive.is_err() && audit.is_err() {
            return Ok(store);
        }
        let s3 = aws_sdk_s3::Client::new(self.config);
        if let Ok(bucket) = archive {
            store = store.with_archive(Arc::new(S3BlobStore::new(s3.clone(), bucket)));
        }
        if let Ok(bucket) = audit {
            let blobs = Arc::new(S3BlobStore::new(s3, bucket));
            let retention = std::env::var("ROI_AUDIT_RETENTION_YEARS").ok();
            let audit = roi_app::store::AuditArchive::new(blobs, retention.as_deref())
                .map_err(StartError::Invalid)?;
            store = store.with_audit_archive(audit);
        }
        Ok(store)
    }

    /// The pseudonym key of end users (`roi_app::pseudonym`): `ROI_PSEUDONYM_KEY` (a literal,
    /// for local runs), else the secret `ROI_PSEUDONYM_SECRET_ARN` names, read when an event
    /// is first stored. With neither, storing an event with a user fails and says so.
    ///
    /// # Errors
    /// [`StartError::Secret`] for a literal key under 32 characters.
    pub fn pseudonyms(&self) -> Result<Pseudonyms, StartError> {
        if let Ok(key) = std::env::var("ROI_PSEUDONYM_KEY") {
            let key =
                PseudonymKey::from_secret(&key).map_err(|e| StartError::Secret(e.to_string()))?;
            return Ok(Pseudonyms::fixed(key));
        }
        Ok(match std::env::var("ROI_PSEUDONYM_SECRET_ARN") {
            Ok(arn) => Pseudonyms::secret(self.secrets(), arn, false),
            Err(_) => Pseudonyms::missing(
                "no pseudonym key: set ROI_PSEUDONYM_SECRET_ARN (the stack's PseudonymSecret)",
            ),
        })
    }

    /// The form-link and report-link signer, keyed by [`form_secret`].
    ///
    /// # Errors
    /// A missing or unreadable secret, or one too short to sign with.
    pub async fn signer(&self) -> Result<FormSigner, Error> {
        Ok(FormSigner::new(form_secret(self.config).await?.as_bytes())?)
    }

    /// E-mail through SES v2.
    pub fn mailer(&self) -> Arc<dyn Mailer> {
        Arc::new(SesMailer::new(aws_sdk_sesv2::Client::new(self.config)))
    }

    /// The reports bucket `ROI_REPORTS_BUCKET` on S3.
    ///
    /// # Errors
    /// [`StartError::Missing`] without `ROI_REPORTS_BUCKET`.
    pub fn blobs(&self) -> Result<Arc<dyn BlobStore>, StartError> {
        Ok(Arc::new(S3BlobStore::new(
            aws_sdk_s3::Client::new(self.config),
            var("ROI_REPORTS_BUCKET")?,
        )))
    }

    /// Webhook secrets in Secrets Manager.
    pub fn secrets(&self) -> Arc<dyn SecretStore> {
        Arc::new(SecretsManagerStore::new(
            aws_sdk_secretsmanager::Client::new(self.config),
        ))
    }

    /// The SQS queue of scheduled units at `ROI_JOB_QUEUE_URL`; `None` when unset (the
    /// units then run in the invocation).
    pub fn job_queue(&self) -> Option<Arc<dyn WorkQueue>> {
        let url = var("ROI_JOB_QUEUE_URL").ok()?;
        Some(Arc::new(SqsQueue::new(
            aws_sdk_sqs::Client::new(self.config),
            url,
        )))
    }
}
