//! Client dashboard links (`/d/{token}`): signed, expiring ([`DASHBOARD_DAYS`] by
//! default), revocable, one client each; the page is read-only and shows no operator data.

use chrono::{DateTime, Duration, Utc};
use roi_domain::ClientId;
use serde::{Deserialize, Serialize};

use crate::form_link::FormSigner;
use crate::store::{AuditEntry, DashboardLinkRecord, Store, StoreError};

/// Default life of a dashboard link, days: a quarter.
pub const DASHBOARD_DAYS: i64 = 90;

#[derive(Debug, Serialize, Deserialize)]
struct DashboardClaims {
    #[serde(rename = "l")]
    link_id: String,
    #[serde(rename = "e")]
    expires_at: i64,
}

/// Why a dashboard link does not open.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// Altered or made with another key: 403.
    #[error("this dashboard link is not valid")]
    Invalid,
    /// Past its expiry: 410.
    #[error("this dashboard link has expired; ask your account manager for a new one")]
    Expired,
    /// Revoked: 410.
    #[error("this dashboard link has been withdrawn")]
    Revoked,
    /// The client does not exist.
    #[error("client '{0}' does not exist")]
    UnknownClient(ClientId),
    /// No randomness for the id.
    #[error("no randomness: {0}")]
    Random(String),
    /// Storage failed: 503.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Makes and checks dashboard links.
#[derive(Debug, Clone)]
pub struct DashboardLinks {
    signer: FormSigner,
    /// Where `/d/{token}` is served.
    pub base_url: String,
}

impl DashboardLinks {
    /// Links signed with a key derived from `signer`'s secret for this purpose only.
    pub fn new(signer: &FormSigner, base_url: &str) -> Self {
        Self {
            signer: signer.for_purpose("dashboard-link/v1"),
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// Stores a new link to `client`'s dashboard valid for `days`, audits it, and returns
    /// it with its URL.
    ///
    /// # Errors
    /// [`DashboardError`].
    pub async fn create(
        &self,
        store: &Store,
        client: &ClientId,
        days: i64,
        actor: &str,
    ) -> Result<(DashboardLinkRecord, String), DashboardError> {
        if store.client(client).await?.is_none() {
            return Err(DashboardError::UnknownClient(client.clone()));
        }
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|e| DashboardError::Random(e.to_string()))?;
        let now = store.clock().now();
        let link = DashboardLinkRecord {
            link_id: hex::encode(id),
            client_id: client.clone(),
            created_by: actor.into(),
            created_at: now,
            valid_until: now + Duration::days(days.clamp(1, 366)),
            revoked_at: None,
        };
        store.put_dashboard_link(&link).await?;
        audit(store, &link, actor, "dashboard_link_created").await?;
        let url = self.url(&link);
        Ok((link, url))
    }

    /// The URL of a stored link.
    pub fn url(&self, link: &DashboardLinkRecord) -> String {
        let token = self.signer.sign_claims(&DashboardClaims {
            link_id: link.link_id.clone(),
            expires_at: link.valid_until.timestamp(),
        });
        format!("{}/d/{token}", self.base_url)
    }

    /// The link a token opens: genuine, unexpired at `now`, stored and not revoked.
    ///
    /// # Errors
    /// [`DashboardError`].
    pub async fn open(
        &self,
        store: &Store,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<DashboardLinkRecord, DashboardError> {
        let claims: DashboardClaims = self
            .signer
            .verify_claims(token)
            .map_err(|_| DashboardError::Invalid)?;
        if now.timestamp() >= claims.expires_at {
            return Err(DashboardError::Expired);
        }
        let link = store
            .dashboard_link(&claims.link_id)
            .await?
            .ok_or(DashboardError::Revoked)?;
        if link.revoked_at.is_some() {
            return Err(DashboardError::Revoked);
        }
        Ok(link)
    }
}

/// Revokes a client's dashboard link; revoking it again changes nothing.
///
/// # Errors
/// [`DashboardError::Revoked`] when the client has no such link; [`DashboardError::Store`].
pub async fn revoke(
    store: &Store,
    client: &ClientId,
    link_id: &str,
    actor: &str,
) -> Result<DashboardLinkRecord, DashboardError> {
    let mut link = store
        .dashboard_link(link_id)
        .await?
        .filter(|l| &l.client_id == client)
        .ok_or(DashboardError::Revoked)?;
    if link.revoked_at.is_none() {
        link.revoked_at = Some(store.clock().now());
        store.put_dashboard_link(&link).await?;
        audit(store, &link, actor, "dashboard_link_revoked").await?;
    }
    Ok(link)
}

async fn audit(
    store: &Store,
    link: &DashboardLinkRecord,
    actor: &str,
    action: &str,
) -> Result<(), StoreError> {
    store
        .audit(
            &link.client_id,
            &AuditEntry {
                at: store.clock().now(),
                action: action.into(),
                actor: actor.into(),
                project_id: None,
                detail: format!(
                    "link {} until {}",
                    &link.link_id[..8],
                    link.valid_until.date_naive()
                ),
            },
        )
        .await
}
