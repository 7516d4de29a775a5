//! Report versions and report links.

use chrono::{DateTime, Utc};
use roi_domain::ports::{Condition, Item, Query, TableError};
use roi_domain::report::ReportKind;
use roi_domain::{ClientId, ProjectId};
use serde::{Deserialize, Serialize};

use super::keys;
use super::{Store, StoreError};

fn report_item(record: &ReportRecord) -> Result<Item, TableError> {
    Item::from_record(
        keys::project(&record.project_id),
        keys::report(&record.kind.to_string(), &record.period, record.version),
        record,
    )
}

/// A stored report link: what it opens, and whether it was revoked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkRecord {
    /// The link's id, 128 random bits in hex.
    pub link_id: String,
    /// The client.
    pub client_id: ClientId,
    /// The project.
    pub project_id: ProjectId,
    /// The blob it opens.
    pub blob_key: String,
    /// Kind, period and version, for the audit log.
    pub report: String,
    /// When it stops working.
    pub valid_until: DateTime<Utc>,
    /// Whether it was revoked.
    pub revoked: bool,
    /// When it was last opened, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<DateTime<Utc>>,
}

/// A stored issue of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRecord {
    /// The client.
    pub client_id: ClientId,
    /// The project.
    pub project_id: ProjectId,
    /// The kind.
    pub kind: ReportKind,
    /// The period's label.
    pub period: String,
    /// Version, from 1.
    pub version: u32,
    /// Whether it replaces an earlier version.
    pub restated: bool,
    /// SHA-256 of the report data, hex.
    pub digest: String,
    /// When issued.
    pub issued_at: DateTime<Utc>,
    /// Blob key of the PDF.
    pub pdf_key: String,
    /// Blob key of the CSV export.
    pub csv_key: String,
    /// Blob key of the XLSX export.
    pub xlsx_key: String,
    /// Whether the e-mail went out.
    pub delivered: bool,
    /// How many recipients it went to.
    pub recipients: u32,
    /// Whether the PDF, CSV and XLSX are stored: the version is claimed (recorded with
    /// `false`) before its files are written, and committed after. Records from before
    /// claims existed were written after their files, so they read as `true`.
    #[serde(default = "written")]
    pub files_written: bool,
    /// Where the version stands in review before delivery (issue 15). Records from
    /// before review existed were sent as issued, so they read as approved.
    #[serde(default)]
    pub review: Review,
    /// Who approved or withdrew it (an operator's e-mail address, `auto-send`, or `cli`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_by: Option<String>,
    /// When it was approved or withdrawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_at: Option<DateTime<Utc>>,
    /// Why it was withdrawn (1–500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdraw_reason: Option<String>,
    /// Whether the account manager was told of the draft.
    #[serde(default = "written")]
    pub draft_notified: bool,
}

impl ReportRecord {
    /// The blob key of the report data the version was rendered from (JSON beside the
    /// PDF): an approval e-mails the figures of the PDF it approves, even when the data has
    /// moved on since.
    pub fn data_key(&self) -> String {
        self.pdf_key.trim_end_matches(".pdf").to_owned() + ".json"
    }

    /// Every file of the version: the PDF, the CSV and XLSX exports, and the report data.
    pub fn files(&self) -> [String; 4] {
        [
            self.pdf_key.clone(),
            self.csv_key.clone(),
            self.xlsx_key.clone(),
            self.data_key(),
        ]
    }
}

/// Where a report version stands in review (issue 15; seed 000 §9.2 asks for a person's
/// review before figures reach the client).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Review {
    /// Issued, waiting for an operator: not e-mailed to the client.
    Draft,
    /// Approved by an operator (or by the client's auto-send setting): e-mailed.
    #[default]
    Approved,
    /// Withdrawn with a reason: never e-mailed; its links are revoked.
    Withdrawn,
}

impl Review {
    /// `draft`, `approved` or `withdrawn`.
    pub fn as_str(self) -> &'static str {
        match self {
            Review::Draft => "draft",
            Review::Approved => "approved",
            Review::Withdrawn => "withdrawn",
        }
    }
}

/// Records written before `files_written` existed had their files.
fn written() -> bool {
    true
}

impl Store {
    /// Every record a query finds, read as `T`.
    /// Records a new version of a report, only if that version is not taken.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the version exists; [`StoreError::Table`].
    pub async fn put_report(&self, record: &ReportRecord) -> Result<(), StoreError> {
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
    pub async fn update_report(&self, record: &ReportRecord) -> Result<(), StoreError> {
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
        kind: ReportKind,
        period: &str,
    ) -> Result<Vec<ReportRecord>, StoreError> {
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
    pub async fn reports_of(&self, project: &ProjectId) -> Result<Vec<ReportRecord>, StoreError> {
        self.records(Query::prefix(keys::project(project), keys::prefix::REPORT))
            .await
    }

    /// Stores a report link (and its listing under the project), replacing it; it expires
    /// with the link.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_report_link(&self, link: &LinkRecord) -> Result<(), StoreError> {
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
    pub async fn report_link(&self, link_id: &str) -> Result<Option<LinkRecord>, StoreError> {
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
    ) -> Result<Vec<LinkRecord>, StoreError> {
        self.records(Query::prefix(
            keys::project(project),
            keys::prefix::REPORT_LINK,
        ))
        .await
    }
}
