//! Registering clients and projects.

use roi_domain::client::ClientStatus;
use roi_domain::client::{ClientDraft, ProjectDraft};
use roi_domain::{Client, Project, ProjectId, ValidationErrors};

use crate::store::{AuditEntry, Store, StoreError, Written};

/// Why a client or project could not be added.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A field is invalid.
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationErrors),
    /// The project's client is not registered.
    #[error("client '{0}' does not exist; add it with `roi client add` first")]
    UnknownClient(String),
    /// No project has the id.
    #[error("project '{0}' does not exist; see `roi project add`")]
    UnknownProject(String),
    /// Storage failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Validates and stores a client; adding the same client again is not an error.
///
/// # Errors
/// [`SetupError::Invalid`] with every bad field; [`SetupError::Store`] on a conflict.
pub async fn add_client(
    store: &Store,
    draft: ClientDraft,
    actor: &str,
) -> Result<(Client, Written), SetupError> {
    let client = draft.validate()?;
    let written = store.add_client(&client).await?;
    if written == Written::Created {
        let entry = AuditEntry {
            at: store.clock().now(),
            action: "client_added".into(),
            actor: actor.into(),
            project_id: None,
            detail: format!("client {}", client.id),
        };
        store.audit(&client.id, &entry).await?;
    }
    Ok((client, written))
}

/// Changes a stored client: `change` edits the draft of its fields and its seed 000
/// profile (the id is kept);
/// it is validated whole (nothing is stored on error), stored, audited as
/// `client_changed`, and the portfolio lines of its projects follow.
///
/// # Errors
/// [`SetupError::UnknownClient`]; [`SetupError::Invalid`] with every bad field;
/// [`SetupError::Store`].
pub async fn change_client(
    store: &Store,
    id: &roi_domain::ClientId,
    actor: &str,
    change: impl FnOnce(&Client, &mut ClientDraft, &mut roi_domain::client::ClientProfile),
) -> Result<Client, SetupError> {
    let before = store
        .client(id)
        .await?
        .ok_or_else(|| SetupError::UnknownClient(id.to_string()))?;
    let mut draft = ClientDraft {
        company_name: before.company_name.clone(),
        id: Some(before.id.to_string()),
        industry: before.industry.clone(),
        status: Some(before.status.as_str().into()),
        time_zone: Some(before.time_zone.name().into()),
        report_recipients: before.report_recipients.clone(),
    };
    let mut profile = before.profile.clone();
    change(&before, &mut draft, &mut profile);
    let mut client = draft.validate()?;
    client.profile = profile.check()?;
    // the churn day starts the anonymisation's clock (issue 20)
    client.profile.churned_on = match (client.status, before.status) {
        (ClientStatus::Churned, ClientStatus::Churned) => before.profile.churned_on,
        (ClientStatus::Churned, _) => Some(store.client_today(Some(&client))),
        _ => None,
    };
    if client == before {
        return Ok(client);
    }
    store.put_client(&client).await?;
    let entry = AuditEntry {
        at: store.clock().now(),
        action: "client_changed".into(),
        actor: actor.into(),
        project_id: None,
        detail: format!("client {}", client.id),
    };
    store.audit(&client.id, &entry).await?;
    for p in store.projects_of(&client.id).await? {
        listed(store, &p.id).await;
    }
    Ok(client)
}

/// Validates and stores a project of an existing client.
///
/// # Errors
/// [`SetupError::Invalid`], [`SetupError::UnknownClient`], [`SetupError::Store`].
pub async fn add_project(
    store: &Store,
    draft: ProjectDraft,
    actor: &str,
) -> Result<(Project, Written), SetupError> {
    if store.client(&draft.client_id).await?.is_none() {
        return Err(SetupError::UnknownClient(draft.client_id.to_string()));
    }
    let (written, project) = store.add_project(&draft.validate()?).await?;
    if written == Written::Created {
        let entry = AuditEntry {
            at: store.clock().now(),
            action: "project_added".into(),
            actor: actor.into(),
            project_id: Some(project.id.clone()),
            detail: format!(
                "go-live {}, investment {}",
                project.go_live_date, project.one_time_investment
            ),
        };
        store.audit(&project.client_id, &entry).await?;
    }
    listed(store, &project.id).await;
    Ok((project, written))
}

/// Changes a stored project with `change`, which edits it and says what it changed in
/// words (the audit entry's detail). The valuation is validated before anything is
/// written; a change that changes nothing writes nothing.
///
/// # Errors
/// [`SetupError::UnknownProject`]; [`SetupError::Invalid`] from `change` or the
/// valuation's checks; [`SetupError::Store`].
pub async fn change_project(
    store: &Store,
    id: &ProjectId,
    actor: &str,
    change: impl FnOnce(&mut Project) -> Result<String, ValidationErrors>,
) -> Result<Project, SetupError> {
    let before = store
        .project(id)
        .await?
        .ok_or_else(|| SetupError::UnknownProject(id.to_string()))?;
    let mut project = before.clone();
    let detail = change(&mut project)?;
    project.valuation.validate()?;
    project.check_dates()?;
    if project == before {
        return Ok(project);
    }
    store.put_project(&project).await?;
    let entry = AuditEntry {
        at: store.clock().now(),
        action: "project_changed".into(),
        actor: actor.into(),
        project_id: Some(project.id.clone()),
        detail,
    };
    store.audit(&project.client_id, &entry).await?;
    listed(store, &project.id).await;
    Ok(project)
}

/// Brings the project's line in the console's portfolio up to date at once (the daily job
/// keeps it current afterwards); a failure is logged, the change is stored.
async fn listed(store: &Store, project: &ProjectId) {
    if let Err(e) = crate::console::summary::refresh(store, project).await {
        tracing::warn!(%project, error = %e, "the portfolio summary was not refreshed");
    }
}
