//! A project's KPI definitions and the values entered for its measured KPIs (issue 18).

use chrono::{DateTime, NaiveDate, Utc};
use roi_domain::ProjectId;
use roi_domain::project_kpi::KpiSet;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use roi_domain::ports::{Condition, Item, Query};

use super::keys;
use super::{Store, StoreError};

/// A project's KPI definitions as stored (`PROJECT#{project}` / `KPIS`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiDefinitions {
    /// The validated definitions.
    pub kpis: KpiSet,
    /// When they were last saved.
    pub updated_at: DateTime<Utc>,
    /// Who saved them.
    pub updated_by: String,
}

/// One value of a measured KPI (`PROJECT#{project}` / `KPIVAL#{kpi}#{date}`); a later
/// value of the same day replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiValueRecord {
    /// The KPI's name.
    pub kpi: String,
    /// The day it describes.
    pub on: NaiveDate,
    /// The value, in the KPI's unit.
    pub value: Decimal,
    /// `form`, `csv`, `event`, `cli` or `console`.
    pub source: String,
    /// When it was written.
    pub recorded_at: DateTime<Utc>,
}

impl Store {
    /// A project's KPI definitions (none stored: an empty set).
    ///
    /// # Errors
    /// [`StoreError::Table`], or a stored set that no longer validates.
    pub async fn kpi_definitions(
        &self,
        project: &ProjectId,
    ) -> Result<Option<KpiDefinitions>, StoreError> {
        self.get_record(&keys::project(project), keys::KPIS).await
    }

    /// Stores a project's KPI definitions, replacing them.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_kpi_definitions(
        &self,
        project: &ProjectId,
        defs: &KpiDefinitions,
    ) -> Result<(), StoreError> {
        let item = Item::from_record(keys::project(project), keys::KPIS, defs)?;
        Ok(self.table.put(item, Condition::Always).await?)
    }

    /// Stores a KPI value, replacing the one of the same KPI and day.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_kpi_value(
        &self,
        project: &ProjectId,
        value: &KpiValueRecord,
    ) -> Result<(), StoreError> {
        let item = Item::from_record(
            keys::project(project),
            keys::kpi_value(&value.kpi, value.on),
            value,
        )?;
        Ok(self.table.put(item, Condition::Always).await?)
    }

    /// Every stored KPI value of a project, by KPI then day.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn kpi_values(&self, project: &ProjectId) -> Result<Vec<KpiValueRecord>, StoreError> {
        self.records(Query::prefix(
            keys::project(project),
            keys::prefix::KPI_VALUE,
        ))
        .await
    }
}
