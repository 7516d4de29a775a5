//! Typed reads and writes of the single table over the [`Table`] port: one file per
//! aggregate, and [`keys`], the key table and the only code that formats a key.
//!
//! | file | records |
//! |---|---|
//! | `clients.rs` | clients, settings, negotiated prices, projects |
//! | `snapshots.rs` | metric snapshots, idempotency records |
//! | `roi.rs` | ROI calculations, insights |
//! | `alerts.rs` | alert states, notice and reminder claims |
//! | `audit.rs` | audit entries, the audit archive's head (and its batches, in S3) |
//! | `api_keys.rs` | API keys, rate counters |
//! | `events.rs` | raw events, identity claims, changed client-days |
//! | `archive.rs` | (S3, not the table) the raw-event archive |
//! | `export.rs` | (reads only) every item of one client |
//! | `rollups.rs` | daily roll-ups |
//! | `costs.rs` | providers' invoiced cost lines |
//! | `reports.rs` | report versions and links |
//! | `console.rs` | sign-in claims, sessions, dashboard links, project summaries |

mod alerts;
mod api_keys;
mod archive;
mod audit;
mod clients;
mod console;
mod costs;
mod erasure;
mod events;
mod export;
pub mod keys;
mod kpis;
mod reports;
mod roi;
mod rollups;
mod snapshots;

pub use alerts::AlertState;
pub use api_keys::ApiKeyRecord;
pub use archive::DayArchive;
pub use audit::{
    AuditArchive, AuditBatch, AuditEntry, AuditHead, BatchLink, ChainCheck,
    DEFAULT_AUDIT_RETENTION_YEARS,
};
pub use clients::{AdminKey, ClientSettings, ModelPrice, WebhookSubscription};
pub use console::{
    AlertCounts, DashboardLinkRecord, FormLinkRecord, LatestReport, ProjectSummary, SessionRecord,
};
pub use costs::InvoicedCost;
pub use events::{ChangedDay, EVENT_PAGE};
pub use export::{ClientSpan, MAX_HISTORY_DAYS};
pub use kpis::{KpiDefinitions, KpiValueRecord};
pub use reports::{LinkRecord, ReportRecord, Review};
pub use roi::ProjectInsights;
pub use roi_domain::stored_event::StoredEvent;
pub use rollups::ROLLUP_USERS_PER_ITEM;
pub use snapshots::IDEMPOTENCY_TTL_DAYS;
pub use snapshots::IdempotencyRecord;

use std::sync::Arc;

use roi_domain::ports::{Clock, Query, Table, TableError, query_all};
use roi_domain::{Client, MetricSnapshot, SnapshotKind};
use serde::{Deserialize, Serialize};

/// Typed access to the single table.
#[derive(Clone)]
pub struct Store {
    table: Arc<dyn Table>,
    clock: Arc<dyn Clock>,
    pseudonyms: Arc<crate::pseudonym::Pseudonyms>,
    archive: Option<Arc<dyn roi_domain::ports::BlobStore>>,
    audit_archive: Option<AuditArchive>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// The result of writing a record that may already be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Written {
    /// Stored for the first time.
    Created,
    /// The same record was stored already; nothing changed.
    Unchanged,
    /// A different record was replaced (a correction).
    Corrected,
}

impl Store {
    /// A store over `table`, stamping records with `clock`.
    ///
    /// Its pseudonym key is random, for this process only: a deployment sets its own with
    /// [`Store::with_pseudonyms`], so that pseudonyms stay the same from run to run.
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>) -> Self {
        let key = crate::pseudonym::PseudonymKey::random()
            .unwrap_or_else(|_| unreachable!("the system's random source works"));
        Self {
            table,
            clock,
            pseudonyms: Arc::new(crate::pseudonym::Pseudonyms::fixed(key)),
            archive: None,
            audit_archive: None,
        }
    }

    /// This store with a raw-event archive (`archive.rs`): each client-day's raw events are
    /// archived when the day is rolled up, and read back to roll up a day whose table
    /// events have expired.
    #[must_use]
    pub fn with_archive(mut self, archive: Arc<dyn roi_domain::ports::BlobStore>) -> Self {
        self.archive = Some(archive);
        self
    }

    /// This store with the deployment's pseudonym key (`crate::pseudonym`).
    #[must_use]
    pub fn with_pseudonyms(mut self, pseudonyms: crate::pseudonym::Pseudonyms) -> Self {
        self.pseudonyms = Arc::new(pseudonyms);
        self
    }

    /// The pseudonym key, read from its secret the first time.
    ///
    /// # Errors
    /// [`StoreError::Table`] (unavailable) when the secret cannot be read.
    pub async fn pseudonym_key(&self) -> Result<crate::pseudonym::PseudonymKey, StoreError> {
        self.pseudonyms
            .key()
            .await
            .cloned()
            .map_err(|e| StoreError::Table(TableError::Unavailable(e.to_string())))
    }

    /// The clock records are stamped with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Today in `client`'s time zone (ARCHITECTURE.md: days are the client's own), or in
    /// UTC when the client is unknown.
    pub fn client_today(&self, client: Option<&Client>) -> chrono::NaiveDate {
        let tz = client.map_or(chrono_tz::UTC, |c| c.time_zone);
        self.clock.now().with_timezone(&tz).date_naive()
    }

    async fn records<T: for<'de> Deserialize<'de>>(&self, q: Query) -> Result<Vec<T>, StoreError> {
        query_all(self.table.as_ref(), q)
            .await?
            .into_iter()
            .map(|i| i.into_record().map_err(StoreError::from))
            .collect()
    }

    async fn get_record<T: for<'de> Deserialize<'de>>(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        match self.table.get(pk, sk).await? {
            Some(item) => Ok(Some(item.into_record()?)),
            None => Ok(None),
        }
    }
}

/// The measurement an ongoing measurement of `date` is compared with for variance: the
/// latest ongoing one before `date`, else the project's baseline.
pub fn measurement_before(
    snapshots: &[MetricSnapshot],
    date: chrono::NaiveDate,
) -> Option<&MetricSnapshot> {
    snapshots
        .iter()
        .filter(|s| s.kind() == SnapshotKind::Ongoing && s.measured_on() < date)
        .max_by_key(|s| s.measured_on())
        .or_else(|| current_baseline(snapshots))
}

/// Picks the baseline of a project from its snapshots: the latest approved one, else the
/// latest submitted one.
pub fn current_baseline(snapshots: &[MetricSnapshot]) -> Option<&MetricSnapshot> {
    let baselines = snapshots
        .iter()
        .filter(|s| s.kind() == SnapshotKind::Baseline);
    baselines
        .clone()
        .filter(|s| s.status() == roi_domain::SnapshotStatus::Approved)
        .max_by_key(|s| s.measured_on())
        .or_else(|| baselines.max_by_key(|s| s.measured_on()))
}

/// What went wrong reading or writing records.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A different record holds the key.
    #[error("{0}")]
    Conflict(String),
    /// The record is locked against change.
    #[error("{0}")]
    Locked(String),
    /// The table failed.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The raw-event archive failed, or holds what is not a day's events.
    #[error("the raw-event archive: {0}")]
    Archive(String),
}
