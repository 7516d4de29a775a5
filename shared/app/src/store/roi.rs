//! A project's ROI calculations and insights.

use chrono::NaiveDate;
use roi_domain::forecast::CostForecast;
use roi_domain::ports::{Condition, Item, Query, SortKey};
use roi_domain::trend::MetricTrend;
use roi_domain::{ProjectId, RoiCalculation};
use serde::{Deserialize, Serialize};

use super::keys;
use super::{Store, StoreError};

/// What a scheduled run learns about a project beyond its ROI: metric trends and the
/// metered cost forecast. Stored per as-of date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectInsights {
    /// The project.
    pub project_id: ProjectId,
    /// As of.
    pub as_of: NaiveDate,
    /// Trend of each metric measured at least twice (seed 000 §9.1 trend detection).
    pub trends: Vec<MetricTrend>,
    /// Metered AI cost forecast (seed 004 FR-016.2), from up to 90 days of roll-ups.
    pub forecast: Option<CostForecast>,
    /// Completeness and timeliness of the measurements (seed 000 §10).
    pub tracking: roi_domain::cadence::Tracking,
}

impl Store {
    /// Stores an ROI calculation, replacing the one for the same as-of date and period.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_roi(&self, roi: &RoiCalculation) -> Result<(), StoreError> {
        // Months zero-padded, so a day's periods read back shortest first.
        let sk = keys::roi(roi.calculation_date, roi.period_months);
        let item = Item::from_record(keys::project(&roi.project_id), sk, roi)?;
        Ok(self.table.put(item, Condition::Always).await?)
    }

    /// A project's ROI calculations, oldest as-of date first.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn roi_calculations(
        &self,
        project: &ProjectId,
    ) -> Result<Vec<RoiCalculation>, StoreError> {
        self.records(Query::prefix(keys::project(project), keys::prefix::ROI))
            .await
    }

    /// A project's latest ROI calculation: the latest as-of date, and of that day the
    /// longest period (since go-live over a month or a quarter).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn latest_roi(
        &self,
        project: &ProjectId,
    ) -> Result<Option<RoiCalculation>, StoreError> {
        Ok(self
            .roi_calculations(project)
            .await?
            .into_iter()
            .max_by_key(|c| (c.calculation_date, c.period_months)))
    }

    /// Stores a project's insights of an as-of date, replacing them.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_insights(&self, insights: &ProjectInsights) -> Result<(), StoreError> {
        let item = Item::from_record(
            keys::project(&insights.project_id),
            keys::insights(insights.as_of),
            insights,
        )?;
        Ok(self.table.put(item, Condition::Always).await?)
    }

    /// A project's latest insights.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn latest_insights(
        &self,
        project: &ProjectId,
    ) -> Result<Option<ProjectInsights>, StoreError> {
        let q = Query {
            pk: keys::project(project),
            sort: SortKey::Prefix(keys::prefix::INSIGHTS.into()),
            descending: true,
            limit: Some(1),
            cursor: None,
        };
        Ok(self
            .table
            .query(q)
            .await?
            .items
            .first()
            .map(Item::to_record)
            .transpose()?)
    }
}
