//! Clients, their settings and negotiated prices, and their projects.

use roi_domain::kpi::Thresholds;
use roi_domain::ports::{Condition, Item, Query, TableError};
use roi_domain::{Client, ClientId, Project, ProjectId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::keys;
use super::{Store, StoreError, Written};

/// One model's prices, USD per million tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelPrice {
    /// `anthropic`, `openai`, or a client's own label.
    pub provider: String,
    /// The model id the row matches (exactly, or as a dated snapshot).
    pub model: String,
    /// Uncached input, USD/MTok.
    pub input: Decimal,
    /// Output, USD/MTok.
    pub output: Decimal,
    /// Cache reads, USD/MTok.
    pub cache_read: Decimal,
    /// 5-minute cache writes, USD/MTok.
    pub cache_write: Decimal,
    /// 1-hour cache writes, USD/MTok.
    pub cache_write_1h: Decimal,
    /// Server-side web search, USD per 1,000 searches (0 for rows stored before it).
    #[serde(default)]
    pub web_search: Decimal,
}

/// One webhook subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSubscription {
    /// Where to POST (https; http only to loopback).
    pub url: String,
    /// The HMAC-SHA256 signing secret (at least 16 characters), as a person writes it in a
    /// settings file; [`save`](crate::settings::save) moves it to the secret store and empties it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secret: String,
    /// The name of the signing secret in the secret store, set by [`save`](crate::settings::save).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// Which of [`WEBHOOK_EVENTS`](crate::settings::WEBHOOK_EVENTS) to send (all when empty).
    #[serde(default)]
    pub events: Vec<String>,
}

/// A client's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientSettings {
    /// KPI limits (defaults: seed 003's table).
    pub thresholds: Thresholds,
    /// What an hour of staff time saved is worth, USD; time saved is not valued without it.
    pub hourly_rate_usd: Option<Decimal>,
    /// Who gets alert e-mails inside the consultancy (default: the account manager).
    pub alert_recipients: Vec<String>,
    /// The alert rules (`roi_percentage`, `error_rate`, …, the names of
    /// `roi_domain::kpi::Kpi`) whose notices the client's report recipients get too. Empty
    /// by default: alerts are internal until a rule is opted in (issue 16). A client gets
    /// a rule's notice when it starts, worsens and resolves, never its hourly repeats.
    pub client_alert_rules: Vec<String>,
    /// The account manager, e-mailed 7 days before a measurement is due (seed 000 §9.1).
    pub account_manager_email: Option<String>,
    /// Webhook subscriptions.
    pub webhooks: Vec<WebhookSubscription>,
    /// Minutes between repeats of a still-firing alert (seed 003: at most once an hour).
    pub alert_repeat_minutes: u32,
    /// Whether a recovery is notified.
    pub notify_recovery: bool,
    /// Whether success signals (a target beaten) are notified.
    pub notify_success: bool,
    /// Requests each of the client's API keys may make to `POST /v1/events` per minute
    /// (default [`DEFAULT_REQUESTS_PER_MINUTE`](crate::settings::DEFAULT_REQUESTS_PER_MINUTE); 1 to 1,000,000).
    pub requests_per_minute: u32,
    /// Events each of the client's API keys may send per minute (default
    /// [`DEFAULT_EVENTS_PER_MINUTE`](crate::settings::DEFAULT_EVENTS_PER_MINUTE); 1 to 100,000,000).
    pub events_per_minute: u32,
    /// Whether reports go to the client's recipients as soon as they are issued. Off by
    /// default: a report is issued as a draft, the account manager is told, and an
    /// operator approves it (console or `roi report approve`) before the client gets it
    /// (issue 15; seed 000 §9.2).
    pub auto_send_reports: bool,
    /// The providers' admin keys the daily job pulls usage and cost reports with (issue
    /// 17), each named in the secret store, never stored here.
    pub admin_keys: Vec<AdminKey>,
    /// Days from the client's churn to its automatic anonymisation by the daily job (1 to
    /// 3,650; default [`DEFAULT_ANONYMISE_AFTER_DAYS`](crate::settings::DEFAULT_ANONYMISE_AFTER_DAYS),
    /// seed 000 §7.3).
    pub anonymise_after_days: u32,
}

/// A provider admin key of a client, by the name of its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminKey {
    /// `anthropic` or `openai`.
    pub provider: String,
    /// The secret holding the key (Secrets Manager on AWS, under the stack's
    /// `{stack}/admin-keys/` prefix; the data directory's `secrets/` locally).
    pub secret_name: String,
    /// The API's base URL when not the provider's own (a proxy), `https://`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

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

    /// Replaces a stored client's profile and its listing (an edit).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        let item = Item::from_record(keys::client(&client.id), keys::PROFILE, client)?;
        self.table.put(item, Condition::Always).await?;
        let listing = Item::from_record(keys::CLIENTS, keys::client(&client.id), client)?;
        Ok(self.table.put(listing, Condition::Always).await?)
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
    pub async fn settings(&self, client: &ClientId) -> Result<ClientSettings, StoreError> {
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
        settings: &ClientSettings,
    ) -> Result<(), StoreError> {
        let item = Item::from_record(keys::client(client), keys::SETTINGS, settings)?;
        Ok(self.table.put(item, Condition::Always).await?)
    }

    /// Stores a new project and its listing under the client; storing the same project
    /// again changes nothing. Returns the project as stored (with the valuation it was
    /// given since, when it was stored already).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when another project has the id; [`StoreError::Table`].
    pub async fn add_project(&self, project: &Project) -> Result<(Written, Project), StoreError> {
        let item = Item::from_record(keys::project(&project.id), keys::PROFILE, project)?;
        let (written, listed) = match self.table.put(item, Condition::NotExists).await {
            Ok(()) => (Written::Created, project.clone()),
            Err(TableError::ConditionFailed) => match self.project(&project.id).await? {
                // The valuation is changed after adding (`setup::change_project`); adding the
                // same project again leaves it as it is.
                Some(existing)
                    if existing
                        == (Project {
                            valuation: existing.valuation.clone(),
                            ..project.clone()
                        }) =>
                {
                    (Written::Unchanged, existing)
                }
                _ => {
                    return Err(StoreError::Conflict(format!(
                        "project '{}' exists already with other details",
                        project.id
                    )));
                }
            },
            Err(e) => return Err(e.into()),
        };
        // Written again when unchanged: it repairs a listing lost between the two writes.
        let listing = Item::from_record(
            keys::client(&project.client_id),
            keys::project(&project.id),
            &listed,
        )?;
        self.table.put(listing, Condition::Always).await?;
        Ok((written, listed))
    }

    /// Replaces a stored project and its listing under the client (its id and client stay).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when no such project is stored; [`StoreError::Table`].
    pub async fn put_project(&self, project: &Project) -> Result<(), StoreError> {
        if self.project(&project.id).await?.is_none() {
            return Err(StoreError::Conflict(format!(
                "project '{}' does not exist; add it with `roi project add` first",
                project.id
            )));
        }
        for (pk, sk) in [
            (keys::project(&project.id), keys::PROFILE.to_owned()),
            (keys::client(&project.client_id), keys::project(&project.id)),
        ] {
            let item = Item::from_record(pk, sk, project)?;
            self.table.put(item, Condition::Always).await?;
        }
        Ok(())
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
    pub async fn price_overrides(&self, client: &ClientId) -> Result<Vec<ModelPrice>, StoreError> {
        #[derive(Deserialize)]
        struct Overrides {
            models: Vec<ModelPrice>,
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
        models: &[ModelPrice],
    ) -> Result<(), StoreError> {
        let item = Item::from_record(
            keys::client(client),
            keys::PRICES,
            &serde_json::json!({ "models": models }),
        )?;
        Ok(self.table.put(item, Condition::Always).await?)
    }
}
