//! Clients, their settings and negotiated prices, and their projects.

use roi_domain::ports::{Condition, Item, Query, TableError};
use roi_domain::{Client, ClientId, Project, ProjectId};
use serde::Deserialize;

use super::keys;
use super::{Store, StoreError, Written};

impl Store {
    /// Stores a new client; storing the same client again changes nothing.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when another client has the id; [`StoreError::Table`].
    pub async fn add_client(&self, client: &Client) -> Result<Written, StoreError> {
        let item = Item::from_record(keys::client(&client.id), keys::PROFILE, client)?;
        let written = match self.table.put(item, Condition::NotExists).await {
            Ok(()) => Written::Created,
            Err(TableError::ConditionFailed) => match self.client(&client.id).await? {
                Some(existing) if existing == *client => Written::Unchanged,
                _ => {
                    return Err(StoreError::Conflict(format!(
                        "client '{}' exists already with other details",
                        client.id
                    )));
                }
            },
            Err(e) => return Err(e.into()),
        };
        let listing = Item::from_record(keys::CLIENTS, keys::client(&client.id), client)?;
        self.table.put(listing, Condition::Always).await?;
        Ok(written)
    }

    /// Every client, by id (the scheduled jobs' starting point).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn clients(&self) -> Result<Vec<Client>, StoreError> {
        self.records(Query::prefix(keys::CLIENTS, keys::prefix::CLIENT))
            .await
    }

    /// Reads a client.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        self.get_record(&keys::client(id), keys::PROFILE).await
    }

    /// A client's settings, or the defaults when none are stored.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn settings(
        &self,
        client: &ClientId,
    ) -> Result<crate::settings::ClientSettings, StoreError> {
        Ok(self
            .get_record(&keys::client(client), keys::SETTINGS)
            .await?
            .unwrap_or_default())
    }

    /// Replaces a client's settings.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_settings(
        &self,
        client: &ClientId,
        settings: &crate::settings::ClientSettings,
    ) -> Result<(), StoreError> {
        let item = Item::from_record(keys::client(client), keys::SETTINGS, settings)?;
        Ok(self.table.put(item, Condition::Always).await?)
    }

    /// Stores a new project and its listing under the client; storing the same project
    /// again changes nothing.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when another project has the id; [`StoreError::Table`].
    pub async fn add_project(&self, project: &Project) -> Result<Written, StoreError> {
        let item = Item::from_record(keys::project(&project.id), keys::PROFILE, project)?;
        let written = match self.table.put(item, Condition::NotExists).await {
            Ok(()) => Written::Created,
            Err(TableError::ConditionFailed) => match self.project(&project.id).await? {
                Some(existing) if existing == *project => Written::Unchanged,
                _ => {
                    return Err(StoreError::Conflict(format!(
                        "project '{}' exists already with other details",
                        project.id
                    )));
                }
            },
            Err(e) => return Err(e.into()),
        };
        let listing = Item::from_record(
            keys::client(&project.client_id),
            keys::project(&project.id),
            project,
        )?;
        self.table.put(listing, Condition::Always).await?;
        Ok(written)
    }

    /// Reads a project.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn project(&self, id: &ProjectId) -> Result<Option<Project>, StoreError> {
        self.get_record(&keys::project(id), keys::PROFILE).await
    }

    /// A client's projects, by id.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn projects_of(&self, client: &ClientId) -> Result<Vec<Project>, StoreError> {
        self.records(Query::prefix(keys::client(client), keys::prefix::PROJECT))
            .await
    }

    /// A client's negotiated prices, if any.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn price_overrides(
        &self,
        client: &ClientId,
    ) -> Result<Vec<crate::pricing::ModelPrice>, StoreError> {
        #[derive(Deserialize)]
        struct Overrides {
            models: Vec<crate::pricing::ModelPrice>,
        }
        let found: Option<Overrides> = self.get_record(&keys::client(client), keys::PRICES).await?;
        Ok(found.map(|o| o.models).unwrap_or_default())
    }

    /// Replaces a client's negotiated prices.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_price_overrides(
        &self,
        client: &ClientId,
        models: &[crate::pricing::ModelPrice],
    ) -> Result<(), StoreError> {
        let item = Item::from_record(
            keys::client(client),
            keys::PRICES,
            &serde_json::json!({ "models": models }),
        )?;
        Ok(self.table.put(item, Condition::Always).await?)
    }
}
