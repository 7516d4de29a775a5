//! Adapters of the roi-tracker ports (`roi_domain::ports`).
//!
//! | port | AWS | embedded (the local default) |
//! |---|---|---|
//! | [`Table`](roi_domain::ports::Table) | [`dynamodb::DynamoTable`] | [`redb_table::RedbTable`] |
//! | [`BlobStore`](roi_domain::ports::BlobStore) | [`s3::S3BlobStore`] | [`dir_blobs::DirBlobStore`] |
//! | [`Mailer`](roi_domain::ports::Mailer) | [`ses::SesMailer`] | [`outbox::OutboxMailer`] |
//! | [`SecretStore`](roi_domain::ports::SecretStore) | [`secrets_manager::SecretsManagerStore`] | [`dir_secrets::DirSecrets`] |
//! | [`WorkQueue`](roi_domain::ports::WorkQueue) | [`sqs::SqsQueue`] | none: `roi serve` runs each unit in-process (`roi_app::jobs::run`) |
//!
//! Every adapter of a port passes the same conformance suite (`tests/it/conformance`).

pub mod admin_api;
pub mod backoff;
pub mod dir_blobs;
pub mod dir_secrets;
pub mod dynamodb;
pub mod outbox;
pub mod redb_table;
pub mod s3;
pub mod secrets_manager;
pub mod ses;
pub mod sqs;
pub mod webhook;
