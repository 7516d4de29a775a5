//! A project's metric snapshots (baselines and measurements) and the idempotency records of their submissions.

use chrono::NaiveDate;
use roi_domain::ports::{Condition, Item, Query, TableError};
use roi_domain::{ClientId, MetricSnapshot, ProjectId, SnapshotKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::audit::{AuditEntry, audit_item};
use super::keys;
use super::{Store, StoreError, Written};

/// How long an idempotency record is kept, days.
pub const IDEMPOTENCY_TTL_DAYS: i64 = 90;

/// Records which measurement an idempotency key wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// The snapshot written.
    pub snapshot_id: String,
    /// Its kind.
    pub kind: SnapshotKind,
    /// Its date.
    pub measured_on: NaiveDate,
    /// SHA-256 of the submitted fields (absent in records written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_sha256: Option<String>,
}

impl Store {
    /// Every snapshot of a project, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn snapshots(&self, project: &ProjectId) -> Result<Vec<MetricSnapshot>, StoreError> {
        self.records(Query::prefix(
            keys::project(project),
            keys::prefix::SNAPSHOT,
        ))
        .await
    }

    /// Writes a snapshot. A new one is created; the same measurement again is
    /// [`Written::Unchanged`]; a changed one replaces the stored one ([`Written::Corrected`])
    /// unless that one is an approved (locked) baseline.
    ///
    /// # Errors
    /// [`StoreError::Locked`] for an approved baseline; [`StoreError::Conflict`] when the
    /// stored record changed under us; [`StoreError::Table`].
    pub async fn put_snapshot(&self, snapshot: &MetricSnapshot) -> Result<Written, StoreError> {
        let pk = keys::project(snapshot.project_id());
        let sk = keys::snapshot(snapshot);
        let existing: Option<MetricSnapshot> = self.get_record(&pk, &sk).await?;
        let condition = match &existing {
            None => Condition::NotExists,
            Some(old) if old.same_measurement(snapshot) => return Ok(Written::Unchanged),
            Some(old) if old.status() == roi_domain::SnapshotStatus::Approved => {
                return Err(StoreError::Locked(format!(
                    "the baseline of {} is approved and locked",
                    old.measured_on()
                )));
            }
            Some(old) => Condition::AttributeEquals {
                name: "recorded_at".into(),
                value: serde_json::to_value(old.recorded_at()).unwrap_or(Value::Null),
            },
        };
        let item = Item::from_record(pk, sk, snapshot)?;
        match self.table.put(item, condition).await {
            Ok(()) if existing.is_some() => Ok(Written::Corrected),
            Ok(()) => Ok(Written::Created),
            Err(TableError::ConditionFailed) => Err(StoreError::Conflict(format!(
                "snapshot {} was changed by someone else meanwhile; try again",
                snapshot.id()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores a form submission: the snapshot (created, or replacing a stored one as
    /// [`Store::put_snapshot`] decides), the idempotency record of `key`, and `audit` (built
    /// for the outcome) in one transaction, so none is stored without the others. The same
    /// measurement again writes nothing but a missing idempotency record.
    ///
    /// # Errors
    /// [`StoreError::Locked`] for an approved baseline; [`StoreError::Conflict`] when the
    /// snapshot or the key changed under us; [`StoreError::Table`].
    pub async fn put_submission(
        &self,
        snapshot: &MetricSnapshot,
        key: &str,
        record: &IdempotencyRecord,
        audit: impl FnOnce(Written) -> (ClientId, AuditEntry),
    ) -> Result<Written, StoreError> {
        let pk = keys::project(snapshot.project_id());
        let sk = keys::snapshot(snapshot);
        let existing: Option<MetricSnapshot> = self.get_record(&pk, &sk).await?;
        let mut idempotency = Item::from_record(pk.clone(), keys::idempotency(key), record)?;
        idempotency.expires_at =
            Some((self.clock.now() + chrono::Duration::days(IDEMPOTENCY_TTL_DAYS)).timestamp());
        let (condition, written) = match &existing {
            None => (Condition::NotExists, Written::Created),
            Some(old) if old.same_measurement(snapshot) => {
                self.table.put(idempotency, Condition::Always).await?;
                return Ok(Written::Unchanged);
            }
            Some(old) if old.status() == roi_domain::SnapshotStatus::Approved => {
                return Err(StoreError::Locked(format!(
                    "the baseline of {} is approved and locked",
                    old.measured_on()
                )));
            }
            Some(old) => (
                Condition::AttributeEquals {
                    name: "recorded_at".into(),
                    value: serde_json::to_value(old.recorded_at()).unwrap_or(Value::Null),
                },
                Written::Corrected,
            ),
        };
        let (client, entry) = audit(written);
        let puts = vec![
            (Item::from_record(pk, sk, snapshot)?, condition),
            (idempotency, Condition::Always),
            (audit_item(&client, &entry)?, Condition::NotExists),
        ];
        match self.table.transact_put(puts).await {
            Ok(()) => Ok(written),
            Err(TableError::ConditionFailed) => Err(StoreError::Conflict(format!(
                "snapshot {} was changed by someone else meanwhile; try again",
                snapshot.id()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores an approved baseline over its submitted self; only a `submitted` one is
    /// replaced, so two approvals racing cannot both win.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the stored baseline is no longer `submitted`.
    pub async fn put_approved_baseline(&self, snapshot: &MetricSnapshot) -> Result<(), StoreError> {
        self.put_over(snapshot, "submitted", || {
            format!("baseline {} is no longer awaiting approval", snapshot.id())
        })
        .await
    }

    /// Stores a measurement's review decision, only while the stored one still needs
    /// review (two operators deciding at once: one wins, the other is told).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when it was decided already; [`StoreError::Table`].
    pub async fn put_reviewed_measurement(
        &self,
        snapshot: &MetricSnapshot,
    ) -> Result<(), StoreError> {
        self.put_over(snapshot, "needs_review", || {
            format!("measurement {} was reviewed already", snapshot.id())
        })
        .await
    }

    /// Replaces a stored snapshot by the same one without its free text
    /// ([`MetricSnapshot::without_free_text`]), only while its status is the one read.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when its status changed meanwhile; [`StoreError::Table`].
    pub async fn put_without_free_text(&self, snapshot: MetricSnapshot) -> Result<(), StoreError> {
        let status = serde_json::to_value(snapshot.status())
            .map_err(|e| TableError::InvalidItem(e.to_string()))?;
        let status = status.as_str().unwrap_or_default().to_owned();
        let snapshot = snapshot.without_free_text();
        self.put_over(&snapshot, &status, || {
            format!(
                "measurement {} changed while it was anonymised; run it again",
                snapshot.id()
            )
        })
        .await
    }

    /// Replaces a snapshot only while the stored one has `status`; otherwise a conflict
    /// saying `conflict()`.
    async fn put_over(
        &self,
        snapshot: &MetricSnapshot,
        status: &str,
        conflict: impl FnOnce() -> String,
    ) -> Result<(), StoreError> {
        let item = Item::from_record(
            keys::project(snapshot.project_id()),
            keys::snapshot(snapshot),
            snapshot,
        )?;
        let condition = Condition::AttributeEquals {
            name: "status".into(),
            value: Value::from(status),
        };
        match self.table.put(item, condition).await {
            Ok(()) => Ok(()),
            Err(TableError::ConditionFailed) => Err(StoreError::Conflict(conflict())),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a snapshot that was replaced (a submitted baseline re-imported with another
    /// date).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn remove_snapshot(&self, snapshot: &MetricSnapshot) -> Result<(), StoreError> {
        Ok(self
            .table
            .delete(
                &keys::project(snapshot.project_id()),
                &keys::snapshot(snapshot),
            )
            .await?)
    }

    /// The measurement an idempotency key wrote for `project`, if any.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn idempotency(
        &self,
        project: &ProjectId,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.get_record(&keys::project(project), &keys::idempotency(key))
            .await
    }
}
