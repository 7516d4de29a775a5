//! The audit trail (append-only), and its seven-year archive.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use roi_domain::ports::{BlobStore, Condition, Item, Query, TableError};
use roi_domain::{ClientId, ProjectId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::keys;
use super::{Store, StoreError};

/// One audit entry: who did what to which project, when (ARCHITECTURE.md, Security).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When, UTC.
    pub at: DateTime<Utc>,
    /// What happened, e.g. `baseline_imported`, `baseline_approved`.
    pub action: String,
    /// Who or what did it: `cli`, `form`, `api` (never a person's e-mail or IP).
    pub actor: String,
    /// The project concerned.
    pub project_id: Option<ProjectId>,
    /// A short description, free of personal data.
    pub detail: String,
}

/// An audit entry's item: pk `AUDIT#{client}#{YYYY-MM}`, sk `{time}#{id}`, the id a hash of
/// the entry, so a retried write lands on the same key.
pub(super) fn audit_item(client: &ClientId, entry: &AuditEntry) -> Result<Item, StoreError> {
    let body = serde_json::to_vec(entry).map_err(|e| TableError::InvalidItem(e.to_string()))?;
    let id = hex::encode(&Sha256::digest(&body)[..6]);
    let (pk, sk) = keys::audit(client, entry.at, &id);
    Ok(Item::from_record(pk, sk, entry)?)
}

impl Store {
    /// Appends an audit entry for `client` (append-only: written only if absent).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn audit(&self, client: &ClientId, entry: &AuditEntry) -> Result<(), StoreError> {
        let item = audit_item(client, entry)?;
        match self.table.put(item, Condition::NotExists).await {
            Ok(()) | Err(TableError::ConditionFailed) => Ok(()), // the same entry, retried
            Err(e) => Err(e.into()),
        }
    }

    /// A client's audit entries of one month (`YYYY-MM`), oldest first.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn audit_entries(
        &self,
        client: &ClientId,
        month: &str,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let q = Query::partition(keys::audit_month(client, month));
        self.records(q).await
    }
}

/// The seven-year audit archive (issue 20, seed 004): a client's audit entries, one batch
/// per UTC day, each naming the SHA-256 of the batch before it, stored for good
/// ([`BlobStore::put_retained`]: S3 Object Lock in compliance mode).
#[derive(Clone)]
pub struct AuditArchive {
    /// Where batches go (the stack's `AuditBucket`; `<data dir>/audit-archive/` locally).
    pub blobs: std::sync::Arc<dyn BlobStore>,
    /// How long each batch is locked, years (1 to 100; default
    /// [`DEFAULT_AUDIT_RETENTION_YEARS`]).
    pub retention_years: u32,
}

/// Seed 004: audit records are kept seven years.
pub const DEFAULT_AUDIT_RETENTION_YEARS: u32 = 7;

impl AuditArchive {
    /// An archive in `blobs` whose batches are locked `retention` years: a whole number
    /// from 1 to 100 (`ROI_AUDIT_RETENTION_YEARS`), [`DEFAULT_AUDIT_RETENTION_YEARS`] when
    /// `None`.
    ///
    /// # Errors
    /// A message naming the accepted range.
    pub fn new(
        blobs: std::sync::Arc<dyn BlobStore>,
        retention: Option<&str>,
    ) -> Result<Self, String> {
        let retention_years = match retention {
            None => DEFAULT_AUDIT_RETENTION_YEARS,
            Some(text) => text
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|y| (1..=100).contains(y))
                .ok_or_else(|| {
                    format!(
                        "the audit retention is a whole number of years from 1 to 100, not '{text}'"
                    )
                })?,
        };
        Ok(Self {
            blobs,
            retention_years,
        })
    }
}

/// A link in the audit chain: a batch's day and the SHA-256 (hex) of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchLink {
    /// The batch's UTC day.
    pub day: NaiveDate,
    /// SHA-256 of the batch as stored, 64 hex digits.
    pub sha256: String,
}

/// One archived batch: a client's audit entries of one UTC day, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditBatch {
    /// The client.
    pub client_id: ClientId,
    /// The UTC day.
    pub day: NaiveDate,
    /// The batch before it, `None` for the first.
    pub previous: Option<BatchLink>,
    /// The entries.
    pub entries: Vec<AuditEntry>,
}

/// A client's archive head (`CLIENT#{client}` / `AUDITHEAD`): its last batch, and the
/// last UTC day looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    /// The last batch written.
    pub last: Option<BatchLink>,
    /// Every day up to this one is sealed.
    pub sealed_through: NaiveDate,
}

/// What a check of a client's audit chain found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChainCheck {
    /// Batches read, newest to oldest.
    pub batches: usize,
    /// Entries in them.
    pub entries: usize,
    /// The oldest batch's day.
    pub first_day: Option<NaiveDate>,
    /// The newest batch's day.
    pub last_day: Option<NaiveDate>,
    /// Every break found: a missing batch, a batch whose SHA-256 is not the one its
    /// successor names, or a day whose entries in the table differ from the archive's.
    pub problems: Vec<String>,
}

fn archive_failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::Archive(format!("audit archive: {e}"))
}

impl Store {
    /// This store with the audit archive.
    #[must_use]
    pub fn with_audit_archive(mut self, archive: AuditArchive) -> Self {
        self.audit_archive = Some(archive);
        self
    }

    /// Whether this store archives audit entries.
    pub fn archives_audit(&self) -> bool {
        self.audit_archive.is_some()
    }

    /// The client's audit archive head, if a batch was ever sealed.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn audit_head(&self, client: &ClientId) -> Result<Option<AuditHead>, StoreError> {
        self.get_record(&keys::client(client), keys::AUDIT_HEAD)
            .await
    }

    /// Seals `client`'s audit entries of every UTC day after the last sealed one up to
    /// `through` (at most [`MAX_HISTORY_DAYS`](super::MAX_HISTORY_DAYS) back): one batch per day that
    /// has entries, oldest first, each naming the SHA-256 of the one before, stored for
    /// good; the head moves after each batch, so a run cut short resumes where it stopped.
    /// Returns the batches written (0 without an archive). Days from today (UTC) on are
    /// never sealed, whatever `through` says: an entry is stamped with the time it is
    /// written, so no entry is added to a sealed day.
    ///
    /// # Errors
    /// [`StoreError::Archive`]; [`StoreError::Table`].
    pub async fn seal_audit(
        &self,
        client: &ClientId,
        through: NaiveDate,
    ) -> Result<usize, StoreError> {
        let Some(archive) = &self.audit_archive else {
            return Ok(0);
        };
        // only days that are over: an entry is stamped now, so none lands on a sealed day
        let yesterday = self.clock.now().date_naive().pred_opt().unwrap_or(through);
        let through = through.min(yesterday);
        let mut head = self.audit_head(client).await?;
        let start = match &head {
            Some(h) => h.sealed_through.succ_opt().unwrap_or(h.sealed_through),
            None => through
                .checked_sub_days(chrono::Days::new(super::MAX_HISTORY_DAYS))
                .unwrap_or(through),
        };
        if start > through {
            return Ok(0);
        }
        let mut by_day: std::collections::BTreeMap<NaiveDate, Vec<AuditEntry>> =
            std::collections::BTreeMap::new();
        let mut month = start.with_day(1).unwrap_or(start);
        while month <= through {
            let label = month.format("%Y-%m").to_string();
            for e in self.audit_entries(client, &label).await? {
                let day = e.at.date_naive();
                if (start..=through).contains(&day) {
                    by_day.entry(day).or_default().push(e);
                }
            }
            let Some(next) = month.checked_add_months(chrono::Months::new(1)) else {
                break;
            };
            month = next;
        }
        let retain_until = self
            .clock
            .now()
            .checked_add_months(chrono::Months::new(
                archive.retention_years.saturating_mul(12),
            ))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let mut written = 0;
        for (day, entries) in by_day {
            let batch = AuditBatch {
                client_id: client.clone(),
                day,
                previous: head.as_ref().and_then(|h| h.last.clone()),
                entries,
            };
            let bytes = serde_json::to_vec_pretty(&batch).map_err(archive_failed)?;
            let sha256 = hex::encode(Sha256::digest(&bytes));
            archive
                .blobs
                .put_retained(
                    &keys::audit_batch(client, day),
                    bytes,
                    "application/json",
                    retain_until,
                )
                .await
                .map_err(archive_failed)?;
            let moved = AuditHead {
                last: Some(BatchLink { day, sha256 }),
                sealed_through: day,
            };
            self.put_audit_head(client, &moved).await?;
            head = Some(moved);
            written += 1;
        }
        let last = head.and_then(|h| h.last);
        self.put_audit_head(
            client,
            &AuditHead {
                last,
                sealed_through: through,
            },
        )
        .await?;
        Ok(written)
    }

    async fn put_audit_head(&self, client: &ClientId, head: &AuditHead) -> Result<(), StoreError> {
        let item = Item::from_record(keys::client(client), keys::AUDIT_HEAD, head)?;
        Ok(self.table.put(item, Condition::Always).await?)
    }

    /// The archived batch of `client`'s UTC `day` with its bytes' SHA-256, or `None`.
    ///
    /// # Errors
    /// [`StoreError::Archive`] when it cannot be read or is not a batch.
    pub async fn audit_batch(
        &self,
        client: &ClientId,
        day: NaiveDate,
    ) -> Result<Option<(AuditBatch, String)>, StoreError> {
        let Some((key, bytes)) = self.audit_batch_file(client, day).await? else {
            return Ok(None);
        };
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let batch = serde_json::from_slice(&bytes)
            .map_err(|e| archive_failed(format!("{key} is not a batch: {e}")))?;
        Ok(Some((batch, sha256)))
    }

    /// The archived batch of `client`'s UTC `day` as stored: its key and bytes, or `None`.
    ///
    /// # Errors
    /// [`StoreError::Archive`] when it cannot be read.
    pub async fn audit_batch_file(
        &self,
        client: &ClientId,
        day: NaiveDate,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let Some(archive) = &self.audit_archive else {
            return Ok(None);
        };
        let key = keys::audit_batch(client, day);
        let blob = archive.blobs.get(&key).await.map_err(archive_failed)?;
        Ok(blob.map(|b| (key, b.bytes)))
    }

    /// Checks `client`'s audit chain from its head back to its first batch: each batch is
    /// there, its SHA-256 is the one the next batch (or the head) names, it is the client's
    /// and the day's, and its entries are the table's entries of that day.
    ///
    /// # Errors
    /// [`StoreError::Table`]; [`StoreError::Archive`] when the archive cannot be reached.
    pub async fn verify_audit(&self, client: &ClientId) -> Result<ChainCheck, StoreError> {
        let mut check = ChainCheck::default();
        let mut next = self.audit_head(client).await?.and_then(|h| h.last);
        while let Some(link) = next {
            let Some((batch, sha256)) = self.audit_batch(client, link.day).await? else {
                check
                    .problems
                    .push(format!("{}: the batch is missing", link.day));
                break;
            };
            if sha256 != link.sha256 {
                check.problems.push(format!(
                    "{}: the batch's SHA-256 is {sha256}, its successor names {}",
                    link.day, link.sha256
                ));
            }
            if batch.client_id != *client || batch.day != link.day {
                check.problems.push(format!(
                    "{}: the batch says it is {}'s of {}",
                    link.day, batch.client_id, batch.day
                ));
            }
            let label = link.day.format("%Y-%m").to_string();
            let table: Vec<AuditEntry> = self
                .audit_entries(client, &label)
                .await?
                .into_iter()
                .filter(|e| e.at.date_naive() == link.day)
                .collect();
            if table != batch.entries {
                check.problems.push(format!(
                    "{}: the table holds {} entries, the archive {}, not the same",
                    link.day,
                    table.len(),
                    batch.entries.len()
                ));
            }
            check.batches += 1;
            check.entries += batch.entries.len();
            check.last_day.get_or_insert(link.day);
            check.first_day = Some(link.day);
            if let Some(previous) = &batch.previous
                && previous.day >= link.day
            {
                check.problems.push(format!(
                    "{}: it names a later batch, {}, as the one before it",
                    link.day, previous.day
                ));
                break;
            }
            next = batch.previous;
        }
        Ok(check)
    }
}
