//! Report versions and report links.

use roi_domain::ProjectId;
use roi_domain::ports::{Condition, Item, Query, TableError};

use super::keys;
use super::{Store, StoreError};

fn report_item(record: &crate::reports::ReportRecord) -> Result<Item, TableError> {
    Item::from_record(
        keys::project(&record.project_id),
        keys::report(&record.kind.to_string(), &record.period, record.version),
        record,
    )
}

impl Store {
    /// Every record a query finds, read as `T`.
    /// Records a new version of a report, only if that version is not taken.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the version exists; [`StoreError::Table`].
    pub async fn put_report(
        &self,
        record: &crate::reports::ReportRecord,
    ) -> Result<(), StoreError> {
        match self
            .table
            .put(report_item(record)?, Condition::NotExists)
            .await
        {
            Ok(()) => Ok(()),
            Err(TableError::ConditionFailed) => Err(StoreError::Conflict(format!(
                "{} {} v{} is already issued",
                record.kind, record.period, record.version
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces a report's record (its delivery state).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn update_report(
        &self,
        record: &crate::reports::ReportRecord,
    ) -> Result<(), StoreError> {
        Ok(self
            .table
            .put(report_item(record)?, Condition::Always)
            .await?)
    }

    /// Every version of a report, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn report_versions(
        &self,
        project: &ProjectId,
        kind: crate::reports::ReportKind,
        period: &str,
    ) -> Result<Vec<crate::reports::ReportRecord>, StoreError> {
        self.records(Query::prefix(
            keys::project(project),
            keys::report_versions(&kind.to_string(), period),
        ))
        .await
    }

    /// Every report of a project, by kind, period and version.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn reports_of(
        &self,
        project: &ProjectId,
    ) -> Result<Vec<crate::reports::ReportRecord>, StoreError> {
        self.records(Query::prefix(keys::project(project), keys::prefix::REPORT))
            .await
    }

    /// Stores a report link (and its listing under the project), replacing it; it expires
    /// with the link.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_report_link(
        &self,
        link: &crate::reports::LinkRecord,
    ) -> Result<(), StoreError> {
        let expires = Some(link.valid_until.timestamp());
        let mut by_id = Item::from_record(keys::report_link(&link.link_id), keys::LINK, link)?;
        by_id.expires_at = expires;
        let mut listed = Item::from_record(
            keys::project(&link.project_id),
            keys::report_link(&link.link_id),
            link,
        )?;
        listed.expires_at = expires;
        self.table.put(by_id, Condition::Always).await?;
        Ok(self.table.put(listed, Condition::Always).await?)
    }

    /// The report link with this id, if stored and unexpired.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn report_link(
        &self,
        link_id: &str,
    ) -> Result<Option<crate::reports::LinkRecord>, StoreError> {
        self.get_record(&keys::report_link(link_id), keys::LINK)
            .await
    }

    /// A project's unexpired report links.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn report_links_of(
        &self,
        project: &ProjectId,
    ) -> Result<Vec<crate::reports::LinkRecord>, StoreError> {
        self.records(Query::prefix(
            keys::project(project),
            keys::prefix::REPORT_LINK,
        ))
        .await
    }
}
