//! The console's records: sign-in claims, operator sessions, client dashboard links, and
//! the per-project summaries the portfolio reads (issue 15).

use chrono::{DateTime, NaiveDate, Utc};
use roi_domain::report::Point;
use roi_domain::{ClientId, ProjectId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use roi_domain::ports::{Condition, Item, Query, TableError};

use super::keys;
use super::{Store, StoreError};

/// An operator's session: the cookie names it, and signing out deletes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// 128 random bits, hex.
    pub session_id: String,
    /// The operator's e-mail address.
    pub operator: String,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it ends.
    pub ends_at: DateTime<Utc>,
}

/// A client dashboard link (`/d/{token}`): signed, expiring, revocable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardLinkRecord {
    /// 128 random bits, hex.
    pub link_id: String,
    /// The client whose dashboard it opens.
    pub client_id: ClientId,
    /// Who made it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub valid_until: DateTime<Utc>,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A form link made in the console: recorded so it can be listed and revoked (links made
/// by reminders and `roi form-link` have no record and run to their expiry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormLinkRecord {
    /// The link's nonce (its claims' `n`), 128 bits in hex.
    pub nonce: String,
    /// The project it writes.
    pub project_id: ProjectId,
    /// `baseline` or `ongoing`.
    pub kind: String,
    /// The measurement's due date, if the link names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
    /// Who made it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub valid_until: DateTime<Utc>,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Active alerts of a project by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertCounts {
    /// Critical alerts firing.
    pub critical: u32,
    /// Warnings firing.
    pub warning: u32,
}

/// The latest report of a project, as the portfolio shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatestReport {
    /// `monthly`, `executive`, …
    pub kind: String,
    /// The period's label.
    pub period: String,
    /// Version, from 1.
    pub version: u32,
    /// `draft`, `approved` or `withdrawn`.
    pub review: String,
    /// Whether it was e-mailed to the client.
    pub sent: bool,
    /// When its link was last opened, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<DateTime<Utc>>,
}

/// What the portfolio shows of one project, kept current by the daily job and by every
/// console action on the project, so the landing page reads one partition and never the
/// history (issue 15).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectSummary {
    /// The client.
    pub client_id: ClientId,
    /// The client's name.
    pub client_name: String,
    /// The project.
    pub project_id: ProjectId,
    /// The project's name.
    pub project_name: String,
    /// `planning`, `deployed`, … (seed 000 project status).
    pub status: String,
    /// Go-live date.
    pub go_live: NaiveDate,
    /// The account manager's e-mail address.
    pub account_manager: Option<String>,
    /// ROI since go-live, percent (seed 000 §7.1), as of `as_of`.
    pub roi_percentage: Option<Decimal>,
    /// Payback period, months.
    pub payback_period_months: Option<Decimal>,
    /// The day the ROI figures are as of.
    pub as_of: Option<NaiveDate>,
    /// ROI since go-live at each of the last 12 month ends, percent.
    pub roi_history: Vec<Point>,
    /// AI cost this month to date, USD.
    pub ai_cost_mtd_usd: Decimal,
    /// The monthly AI budget, USD (the `ai_cost_budget` threshold), if set.
    pub ai_budget_usd: Option<Decimal>,
    /// Active alerts by severity.
    pub alerts: AlertCounts,
    /// Measurements submitted of those due so far, percent.
    pub completeness_percentage: Option<Decimal>,
    /// The next measurement due.
    pub next_due: Option<NaiveDate>,
    /// Measurements waiting for a person's review.
    pub measurements_to_review: u32,
    /// Report drafts waiting for approval.
    pub drafts: u32,
    /// The latest report.
    pub latest_report: Option<LatestReport>,
    /// The project's success criteria: "1 of 3 targets met, 2 at risk" (issue 18).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kpi_status: Option<String>,
    /// When this summary was computed.
    pub updated_at: DateTime<Utc>,
}

impl ProjectSummary {
    /// Whether the project needs someone: a critical alert, a draft or a measurement to
    /// review, a payback not in sight, or measurements under 80 % complete.
    pub fn needs_attention(&self) -> bool {
        self.alerts.critical > 0
            || self.drafts > 0
            || self.measurements_to_review > 0
            || self
                .completeness_percentage
                .is_some_and(|c| c < Decimal::from(80))
            || self.roi_percentage.is_some_and(|r| r < Decimal::ZERO)
    }

    /// A case-study candidate (issue 15): positive ROI, every due measurement in, nothing
    /// waiting for review, no active alert.
    pub fn case_study_candidate(&self) -> bool {
        self.roi_percentage.is_some_and(|r| r > Decimal::ZERO)
            && self
                .completeness_percentage
                .is_some_and(|c| c >= Decimal::ONE_HUNDRED)
            && self.measurements_to_review == 0
            && self.drafts == 0
            && self.alerts.critical == 0
            && self.alerts.warning == 0
    }
}

impl Store {
    /// Claims a sign-in link's nonce: `true` the first time, `false` when it was used.
    /// The claim expires with the link.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn claim_sign_in(
        &self,
        nonce: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut item = Item::from_record(
            keys::sign_in(nonce),
            keys::CLAIM,
            &serde_json::json!({ "at": self.clock.now() }),
        )?;
        item.expires_at = Some(expires_at.timestamp());
        match self.table.put(item, Condition::NotExists).await {
            Ok(()) => Ok(true),
            Err(TableError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores a new session (it expires with itself).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let mut item =
            Item::from_record(keys::session(&session.session_id), keys::SESSION, session)?;
        item.expires_at = Some(session.ends_at.timestamp());
        Ok(self.table.put(item, Condition::NotExists).await?)
    }

    /// The session with this id, if stored (it may be past its expiry: callers check).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.get_record(&keys::session(id), keys::SESSION).await
    }

    /// Ends a session (signing out).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn end_session(&self, id: &str) -> Result<(), StoreError> {
        Ok(self.table.delete(&keys::session(id), keys::SESSION).await?)
    }

    /// Stores a dashboard link and its listing under the client, replacing them.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_dashboard_link(&self, link: &DashboardLinkRecord) -> Result<(), StoreError> {
        let expires = Some(link.valid_until.timestamp());
        let mut by_id = Item::from_record(keys::dashboard_link(&link.link_id), keys::LINK, link)?;
        by_id.expires_at = expires;
        let mut listed = Item::from_record(
            keys::client(&link.client_id),
            keys::dashboard_link(&link.link_id),
            link,
        )?;
        listed.expires_at = expires;
        self.table.put(by_id, Condition::Always).await?;
        Ok(self.table.put(listed, Condition::Always).await?)
    }

    /// The dashboard link with this id.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn dashboard_link(
        &self,
        id: &str,
    ) -> Result<Option<DashboardLinkRecord>, StoreError> {
        self.get_record(&keys::dashboard_link(id), keys::LINK).await
    }

    /// A client's dashboard links.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn dashboard_links_of(
        &self,
        client: &ClientId,
    ) -> Result<Vec<DashboardLinkRecord>, StoreError> {
        self.records(Query::prefix(
            keys::client(client),
            keys::prefix::DASHBOARD_LINK,
        ))
        .await
    }

    /// Stores a console-made form link and its listing under the project, replacing them;
    /// they expire with the link.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_form_link(&self, link: &FormLinkRecord) -> Result<(), StoreError> {
        let expires = Some(link.valid_until.timestamp());
        let mut by_nonce = Item::from_record(keys::form_link(&link.nonce), keys::LINK, link)?;
        by_nonce.expires_at = expires;
        let mut listed = Item::from_record(
            keys::project(&link.project_id),
            keys::form_link(&link.nonce),
            link,
        )?;
        listed.expires_at = expires;
        self.table.put(by_nonce, Condition::Always).await?;
        Ok(self.table.put(listed, Condition::Always).await?)
    }

    /// The console-made form link with this nonce, if any.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn form_link(&self, nonce: &str) -> Result<Option<FormLinkRecord>, StoreError> {
        self.get_record(&keys::form_link(nonce), keys::LINK).await
    }

    /// A project's console-made form links.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn form_links_of(
        &self,
        project: &ProjectId,
    ) -> Result<Vec<FormLinkRecord>, StoreError> {
        self.records(Query::prefix(
            keys::project(project),
            keys::prefix::FORM_LINK,
        ))
        .await
    }

    /// Stores a project's summary, replacing it.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_summary(&self, summary: &ProjectSummary) -> Result<(), StoreError> {
        let item = Item::from_record(
            keys::PORTFOLIO,
            keys::summary(&summary.client_id, &summary.project_id),
            summary,
        )?;
        Ok(self.table.put(item, Condition::Always).await?)
    }

    /// Every project's summary, by client and project: one query.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn summaries(&self) -> Result<Vec<ProjectSummary>, StoreError> {
        self.records(Query::prefix(keys::PORTFOLIO, "")).await
    }

    /// A client's project summaries.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn summaries_of(&self, client: &ClientId) -> Result<Vec<ProjectSummary>, StoreError> {
        self.records(Query::prefix(keys::PORTFOLIO, keys::summaries_of(client)))
            .await
    }
}
