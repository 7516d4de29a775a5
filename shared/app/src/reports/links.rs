//! Report links: `{base_url}/r/{token}`, signed, expiring, revocable, audited on each
//! visit, redirecting to a presigned URL of minutes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use roi_domain::ProjectId;
use roi_domain::ports::BlobStore;
use serde::{Deserialize, Serialize};

use super::{ReportError, ReportKind, ReportRecord};
use crate::Store;
use crate::form_link::{FormSigner, LinkError};
use crate::store::AuditEntry;
pub use crate::store::LinkRecord;

/// The claims of a report link: which link record, and until when (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportLinkClaims {
    /// The link's id (its record: `REPORTLINK#{id}`).
    #[serde(rename = "l")]
    pub link_id: String,
    /// Expiry, Unix seconds.
    #[serde(rename = "e")]
    pub expires_at: i64,
}

/// Default life of an e-mailed report link, days (issue 6).
pub const LINK_DAYS: i64 = 30;

/// How long the presigned URL a visit is redirected to lives.
pub const PRESIGNED_FOR: Duration = Duration::from_secs(5 * 60);

/// Signs report links (`{base_url}/r/{token}`) with a key derived from the form-link
/// secret for this purpose only.
#[derive(Debug, Clone)]
pub struct ReportLinks {
    signer: FormSigner,
    /// Where `/r/{token}` is served, e.g. `https://api.example.com`.
    pub base_url: String,
    /// How long a link lives (default [`LINK_DAYS`]).
    pub valid_for: chrono::Duration,
}

impl ReportLinks {
    /// Links signed with a key derived from `signer`'s secret.
    pub fn new(signer: &FormSigner, base_url: &str) -> Self {
        Self {
            signer: signer.for_purpose("report-link/v1"),
            base_url: base_url.trim_end_matches('/').to_owned(),
            valid_for: chrono::Duration::days(LINK_DAYS),
        }
    }

    /// The URL for `claims`.
    pub fn url(&self, claims: &ReportLinkClaims) -> String {
        format!("{}/r/{}", self.base_url, self.signer.sign_claims(claims))
    }

    /// The claims of a genuine, unexpired token.
    ///
    /// # Errors
    /// [`LinkError`].
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<ReportLinkClaims, LinkError> {
        let claims: ReportLinkClaims = self.signer.verify_claims(token)?;
        if now.timestamp() >= claims.expires_at {
            return Err(LinkError::Expired);
        }
        Ok(claims)
    }

    /// Stores a new link to `blob_key` and returns its URL.
    ///
    /// # Errors
    /// [`ReportError::Store`]; [`ReportError::BadRequest`] without randomness.
    pub async fn create(
        &self,
        store: &Store,
        record: &ReportRecord,
    ) -> Result<(LinkRecord, String), ReportError> {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id)
            .map_err(|e| ReportError::BadRequest(format!("no randomness: {e}")))?;
        let expires_at = store.clock().now() + self.valid_for;
        let link = LinkRecord {
            link_id: hex::encode(id),
            client_id: record.client_id.clone(),
            project_id: record.project_id.clone(),
            blob_key: record.pdf_key.clone(),
            report: format!("{}/{}/v{}", record.kind, record.period, record.version),
            valid_until: expires_at,
            revoked: false,
            opened_at: None,
        };
        store.put_report_link(&link).await?;
        let url = self.url(&ReportLinkClaims {
            link_id: link.link_id.clone(),
            expires_at: expires_at.timestamp(),
        });
        Ok((link, url))
    }
}

/// Why a link was not redeemed; each is one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Altered or made with another key: 403.
    #[error("this report link is not valid")]
    Invalid,
    /// Past its expiry: 410.
    #[error("this report link has expired; ask for a new one")]
    Expired,
    /// Revoked: 410.
    #[error("this report link has been withdrawn")]
    Revoked,
    /// Storage failed: 503.
    #[error("the report cannot be opened right now; try again in a minute")]
    Unavailable,
}

/// Redeems a report link: checks the token, then that its record exists and is not
/// revoked, writes `report_opened` to the audit log, and returns a presigned URL valid for
/// [`PRESIGNED_FOR`].
///
/// # Errors
/// [`OpenError`].
pub async fn open(
    store: &Store,
    blobs: &dyn BlobStore,
    links: &ReportLinks,
    token: &str,
) -> Result<roi_domain::ports::PresignedUrl, OpenError> {
    let now = store.clock().now();
    let claims = links.verify(token, now).map_err(|e| match e {
        LinkError::Tampered => OpenError::Invalid,
        LinkError::Expired => OpenError::Expired,
    })?;
    let mut link = store
        .report_link(&claims.link_id)
        .await
        .map_err(|_| OpenError::Unavailable)?
        .ok_or(OpenError::Revoked)?;
    if link.revoked {
        return Err(OpenError::Revoked);
    }
    store
        .audit(
            &link.client_id,
            &AuditEntry {
                at: now,
                action: "report_opened".into(),
                actor: "link".into(),
                project_id: Some(link.project_id.clone()),
                detail: format!("{} via link {}", link.report, &link.link_id[..8]),
            },
        )
        .await
        .map_err(|_| OpenError::Unavailable)?;
    // the portfolio shows whether the client opened its report
    link.opened_at = Some(now);
    if let Err(e) = store.put_report_link(&link).await {
        tracing::warn!(error = %e, "recording a report link's visit failed");
    }
    blobs
        .presigned_get(&link.blob_key, PRESIGNED_FOR)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "presigning a report failed");
            OpenError::Unavailable
        })
}

/// Revokes every link to `project`'s report of `kind` and `period` (all versions); returns
/// how many were revoked.
///
/// # Errors
/// [`ReportError::Store`].
pub async fn revoke_links(
    store: &Store,
    project: &ProjectId,
    kind: ReportKind,
    period: &str,
) -> Result<u32, ReportError> {
    let prefix = format!("{kind}/{period}/");
    let mut n = 0;
    for mut link in store.report_links_of(project).await? {
        if link.report.starts_with(&prefix) && !link.revoked {
            link.revoked = true;
            store.put_report_link(&link).await?;
            n += 1;
        }
    }
    Ok(n)
}
