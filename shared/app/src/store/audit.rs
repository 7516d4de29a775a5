//! The audit trail (append-only).

use chrono::{DateTime, Utc};
use roi_domain::ports::{Condition, Item, Query, TableError};
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
