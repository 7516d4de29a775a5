//! Alert states, and the claims taken before a notice or reminder is sent.

use chrono::{DateTime, Utc};
use roi_domain::kpi::Level;
use roi_domain::ports::{Condition, Item, Query, TableError};
use roi_domain::{ClientId, ProjectId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::keys;
use super::{Store, StoreError};

/// The stored state of one alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertState {
    /// The rule (a KPI name).
    pub rule: String,
    /// What it is about.
    pub scope: String,
    /// Whether it is firing.
    pub firing: bool,
    /// Its level while firing (or when it last fired).
    pub level: Level,
    /// The last observed value.
    pub value: Decimal,
    /// The limit crossed.
    pub limit: Decimal,
    /// Since when it fires (or fired).
    pub since: DateTime<Utc>,
    /// When a notice last went out.
    pub last_sent_at: Option<DateTime<Utc>>,
}

impl Store {
    /// A client's alert states.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn alert_states(&self, client: &ClientId) -> Result<Vec<AlertState>, StoreError> {
        self.records(Query::prefix(keys::client(client), keys::prefix::ALERT))
            .await
    }

    /// Stores an alert's state, replacing it.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_alert_state(
        &self,
        client: &ClientId,
        state: &AlertState,
    ) -> Result<(), StoreError> {
        let sk = keys::alert(&state.rule, &state.scope);
        let item = Item::from_record(keys::client(client), sk, state)?;
        Ok(self.table.put(item, Condition::Always).await?)
    }

    /// Claims an alert notice before it is sent: `true` when this call took it, `false`
    /// when another run did (then it is that run's to send). `notice` names the decision
    /// fully (rule, scope, status, level, and when the previous notice went out), so two
    /// runs that read the same alert state make the same claim; it is hashed into the key.
    /// Kept 90 days.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn claim_notice(&self, client: &ClientId, notice: &str) -> Result<bool, StoreError> {
        let record = serde_json::json!({ "notice": notice, "claimed_at": self.clock.now() });
        let mut item = Item::from_record(keys::client(client), keys::notice(notice), &record)?;
        item.expires_at = Some((self.clock.now() + chrono::Duration::days(90)).timestamp());
        match self.table.put(item, Condition::NotExists).await {
            Ok(()) => Ok(true),
            Err(TableError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Releases a notice claim whose sending failed, so the next run tries again.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn release_notice(&self, client: &ClientId, notice: &str) -> Result<(), StoreError> {
        Ok(self
            .table
            .delete(&keys::client(client), &keys::notice(notice))
            .await?)
    }

    /// Claims a reminder (project, due date, kind) before it is sent: `true` when this call
    /// took it, `false` when it was taken already (sent once, ever).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn claim_reminder(
        &self,
        project: &ProjectId,
        due: chrono::NaiveDate,
        kind: &str,
    ) -> Result<bool, StoreError> {
        let record = serde_json::json!({ "due": due, "kind": kind, "sent_at": self.clock.now() });
        let item = Item::from_record(keys::project(project), keys::reminder(due, kind), &record)?;
        match self.table.put(item, Condition::NotExists).await {
            Ok(()) => Ok(true),
            Err(TableError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Releases a reminder claim whose sending failed, so the next run tries again.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn release_reminder(
        &self,
        project: &ProjectId,
        due: chrono::NaiveDate,
        kind: &str,
    ) -> Result<(), StoreError> {
        Ok(self
            .table
            .delete(&keys::project(project), &keys::reminder(due, kind))
            .await?)
    }
}
