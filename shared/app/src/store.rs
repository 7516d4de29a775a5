//! The key design (ARCHITECTURE.md, "Key design"), written once over the [`Table`] port:
//!
//! | record | pk | sk |
//! |---|---|---|
//! | client | `CLIENT#{client}` | `PROFILE` |
//! | client listing | `CLIENTS` | `CLIENT#{client}` |
//! | client settings | `CLIENT#{client}` | `SETTINGS` |
//! | project | `PROJECT#{project}` | `PROFILE` |
//! | project listing | `CLIENT#{client}` | `PROJECT#{project}` |
//! | metric snapshot | `PROJECT#{project}` | `SNAPSHOT#{date}#{kind}#{id}` |
//! | ROI calculation | `PROJECT#{project}` | `ROI#{as_of}#{months:03}m` |
//! | project insights | `PROJECT#{project}` | `INSIGHTS#{as_of}` |
//! | reminder sent | `PROJECT#{project}` | `REMINDER#{due}#{kind}` |
//! | alert state | `CLIENT#{client}` | `ALERT#{rule}#{scope}` |
//! | alert notice claim | `CLIENT#{client}` | `NOTICE#{sha256(rule, scope, status, level, previous notice)}` (TTL 90 days) |
//! | idempotency record | `PROJECT#{project}` | `IDEMPOTENCY#{sha256(key)}` (TTL 90 days) |
//! | audit entry | `AUDIT#{client}#{YYYY-MM}` | `{time}#{id}` |
//! | API key | `APIKEY#{sha256(key)}` | `KEY` |
//! | API key listing | `CLIENT#{client}` | `APIKEY#{key_id}` |
//! | negotiated prices | `CLIENT#{client}` | `PRICES` |
//! | raw event | `EVENTS#{client}#{day}#{shard}` | `{time}#{event_id}` (TTL 90 days) |
//! | event identity claim | `EVENTID#{client}#{event_id}` | `ID` (TTL 90 days) |
//! | changed client-day | `CLIENT#{client}` | `CHANGED#{day}` (TTL 90 days) |
//! | rate counter | `RATE#{key id}` | `{minute}` (TTL 3 minutes) |
//! | daily roll-up | `ROLLUP#{client}#{day}` | `CURRENT` (the generation in force), then per generation `G{id}#` + `SUMMARY`, `USERS#{n}`, `usage#{dimension}#{value}`, `agent#{agent}`, `project#{project}` (a name over 200 bytes as `~{hash}`: [`group_sk`]) |
//!
//! A project's own record sits in its partition so that `--project P` needs no client; the
//! listing item under the client lets a client's projects be listed with one query.
//! Every key is deterministic, so every write is a safe retry.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use roi_domain::event::EventClaim;
use roi_domain::ports::{
    Clock, Condition, Item, Key, Query, SortKey, Table, TableError, query_all,
};
use roi_domain::{
    Client, ClientId, MetricSnapshot, Project, ProjectId, RoiCalculation, SnapshotKind,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Typed access to the single table.
#[derive(Clone)]
pub struct Store {
    table: Arc<dyn Table>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// The result of writing a record that may already be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Written {
    /// Stored for the first time.
    Created,
    /// The same record was stored already; nothing changed.
    Unchanged,
    /// A different record was replaced (a correction).
    Corrected,
}

/// One audit entry: who did what to which project, when (ARCHITECTURE.md, Security).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When, UTC.
    pub at: DateTime<Utc>,
    /// What happened, e.g. `baseline_imported`, `baseline_approved`.
    pub action: String,
    /// Who or what did it: `cli`, `form`, `api` (never a person's e-mail or IP).
    pub actor: String,
    /// The project concerned.
    pub project_id: Option<ProjectId>,
    /// A short description, free of personal data.
    pub detail: String,
}

const SNAPSHOT: &str = "SNAPSHOT#";

/// How long an idempotency record is kept, days.
pub const IDEMPOTENCY_TTL_DAYS: i64 = 90;

/// Keys are hashed: an `Idempotency-Key` header is the caller's text, of any length.
fn idempotency_sk(key: &str) -> String {
    format!(
        "IDEMPOTENCY#{}",
        hex::encode(Sha256::digest(key.as_bytes()))
    )
}

/// Alert notices are named by free text (a scope is a department or agent name): hashed.
fn notice_sk(notice: &str) -> String {
    format!(
        "NOTICE#{}",
        hex::encode(&Sha256::digest(notice.as_bytes())[..16])
    )
}

fn client_pk(id: &ClientId) -> String {
    format!("CLIENT#{id}")
}
fn project_pk(id: &ProjectId) -> String {
    format!("PROJECT#{id}")
}
fn snapshot_sk(s: &MetricSnapshot) -> String {
    format!("{SNAPSHOT}{}#{}#{}", s.measured_on(), s.kind(), s.id())
}

/// User hashes per roll-up item: 10,000 × 17 bytes stays well inside DynamoDB's 400 KB.
pub const ROLLUP_USERS_PER_ITEM: usize = 10_000;

/// One chunk of a roll-up's user set.
#[derive(Deserialize)]
struct Users {
    users: Vec<String>,
}

/// The longest group name (a department, model, agent, project… from event data) written
/// into a roll-up sort key as it is, bytes; a longer one is hashed ([`group_sk`]).
pub const MAX_NAME_BYTES_IN_KEY: usize = 200;

/// The attribute of a roll-up group item that holds the group's name.
const GROUP_NAME: &str = "group_name";

/// The sort key of a roll-up group item: `{prefix}{name}` while the name is at most
/// [`MAX_NAME_BYTES_IN_KEY`] bytes, else `{prefix}~{first 128 bits of SHA-256(name), hex}`.
/// Either way under 300 bytes, far from DynamoDB's 1,024.
pub fn group_sk(prefix: &str, name: &str) -> String {
    if name.len() <= MAX_NAME_BYTES_IN_KEY {
        format!("{prefix}{name}")
    } else {
        format!(
            "{prefix}~{}",
            hex::encode(&Sha256::digest(name.as_bytes())[..16])
        )
    }
}

/// A roll-up group's name: the one its item carries, else (items written before names were
/// kept) the one in its sort key.
fn group_name(item: &Item, from_key: &str) -> Result<String, StoreError> {
    #[derive(Deserialize)]
    struct Named {
        group_name: Option<String>,
    }
    Ok(item
        .to_record::<Named>()?
        .group_name
        .unwrap_or_else(|| from_key.to_owned()))
}

/// A roll-up group item: the record under [`group_sk`], with its name beside it.
fn group_item<T: Serialize>(
    pk: &str,
    prefix: &str,
    name: &str,
    record: &T,
) -> Result<Item, TableError> {
    let mut item = Item::from_record(pk, group_sk(prefix, name), record)?;
    item.attrs.insert(GROUP_NAME.into(), Value::from(name));
    Ok(item)
}

/// The sort key of the item naming a roll-up day's generation in force.
const CURRENT: &str = "CURRENT";

/// Which generation of a roll-up day is in force: a random id per write, so two runs
/// writing the same day at once never share (or delete) each other's items.
#[derive(Serialize, Deserialize)]
struct Generation {
    generation: String,
}

impl Generation {
    /// A new generation id: 16 random hex digits (the clock's nanoseconds if the system
    /// has no randomness to give).
    fn new(now: DateTime<Utc>) -> Self {
        let mut bytes = [0u8; 8];
        let generation = match getrandom::fill(&mut bytes) {
            Ok(()) => hex::encode(bytes),
            Err(_) => format!("{:016x}", now.timestamp_nanos_opt().unwrap_or_default()),
        };
        Self { generation }
    }
}

/// The sort-key prefix of a roll-up generation's items: `G{id}#`.
fn generation_prefix(generation: &str) -> String {
    format!("G{generation}#")
}

fn rollup_pk(client: &ClientId, day: chrono::NaiveDate) -> String {
    format!("ROLLUP#{client}#{day}")
}

/// An audit entry's item: pk `AUDIT#{client}#{YYYY-MM}`, sk `{time}#{id}`, the id a hash of
/// the entry, so a retried write lands on the same key.
fn audit_item(client: &ClientId, entry: &AuditEntry) -> Result<Item, StoreError> {
    let body = serde_json::to_vec(entry).map_err(|e| TableError::InvalidItem(e.to_string()))?;
    let id = hex::encode(&Sha256::digest(&body)[..6]);
    let pk = format!("AUDIT#{client}#{}", entry.at.format("%Y-%m"));
    let sk = format!("{}#{id}", entry.at.format("%Y-%m-%dT%H:%M:%S%.6fZ"));
    Ok(Item::from_record(pk, sk, entry)?)
}

/// An API key's two records: its listing under the client, and the hash record requests
/// are authenticated by.
fn api_key_items(key: &crate::api_keys::ApiKeyRecord) -> Result<[Item; 2], TableError> {
    Ok([
        Item::from_record(
            client_pk(&key.client_id),
            format!("APIKEY#{}", key.key_id),
            key,
        )?,
        Item::from_record(format!("APIKEY#{}", key.hash), "KEY", key)?,
    ])
}

fn report_item(record: &crate::reports::ReportRecord) -> Result<Item, TableError> {
    Item::from_record(
        project_pk(&record.project_id),
        format!(
            "REPORT#{}#{}#v{:03}",
            record.kind, record.period, record.version
        ),
        record,
    )
}

impl Store {
    /// A store over `table`, stamping records with `clock`.
    pub fn new(table: Arc<dyn Table>, clock: Arc<dyn Clock>) -> Self {
        Self { table, clock }
    }

    /// The clock records are stamped with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Today in `client`'s time zone (ARCHITECTURE.md: days are the client's own), or in
    /// UTC when the client is unknown.
    pub fn client_today(&self, client: Option<&Client>) -> chrono::NaiveDate {
        let tz = client.map_or(chrono_tz::UTC, |c| c.time_zone);
        self.clock.now().with_timezone(&tz).date_naive()
    }

    /// Stores a new client; storing the same client again changes nothing.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when another client has the id; [`StoreError::Table`].
    pub async fn add_client(&self, client: &Client) -> Result<Written, StoreError> {
        let item = Item::from_record(client_pk(&client.id), "PROFILE", client)?;
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
        let listing = Item::from_record("CLIENTS", format!("CLIENT#{}", client.id), client)?;
        self.table.put(listing, Condition::Always).await?;
        Ok(written)
    }

    /// Every client, by id (the scheduled jobs' starting point).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn clients(&self) -> Result<Vec<Client>, StoreError> {
        self.records(Query::prefix("CLIENTS", "CLIENT#")).await
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
            .get_record(&client_pk(client), "SETTINGS")
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
        let item = Item::from_record(client_pk(client), "SETTINGS", settings)?;
        Ok(self.table.put(item, Condition::Always).await?)
    }

    /// Reads a client.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        self.get_record(&client_pk(id), "PROFILE").await
    }

    /// Stores a new project and its listing under the client; storing the same project
    /// again changes nothing.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when another project has the id; [`StoreError::Table`].
    pub async fn add_project(&self, project: &Project) -> Result<Written, StoreError> {
        let item = Item::from_record(project_pk(&project.id), "PROFILE", project)?;
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
            client_pk(&project.client_id),
            format!("PROJECT#{}", project.id),
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
        self.get_record(&project_pk(id), "PROFILE").await
    }

    /// A client's projects, by id.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn projects_of(&self, client: &ClientId) -> Result<Vec<Project>, StoreError> {
        self.records(Query::prefix(client_pk(client), "PROJECT#"))
            .await
    }

    /// Every snapshot of a project, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn snapshots(&self, project: &ProjectId) -> Result<Vec<MetricSnapshot>, StoreError> {
        self.records(Query::prefix(project_pk(project), SNAPSHOT))
            .await
    }

    /// Writes a snapshot. A new one is created; the same measurement again is
    /// [`Written::Unchanged`]; a changed one replaces the stored one ([`Written::Corrected`])
    /// unless that one is an approved (locked) baseline.
    ///
    /// # Errors
    /// [`StoreError::Locked`] for an approved baseline; [`StoreError::Conflict`] when the
    /// stored record changed under us; [`StoreError::Table`].
    pub async fn put_snapshot(&self, snapshot: &MetricSnapshot) -> Result<Written, StoreError> {
        let pk = project_pk(snapshot.project_id());
        let sk = snapshot_sk(snapshot);
        let existing: Option<MetricSnapshot> = self.get_record(&pk, &sk).await?;
        let condition = match &existing {
            None => Condition::NotExists,
            Some(old) if old.same_measurement(snapshot) => return Ok(Written::Unchanged),
            Some(old) if old.status() == roi_domain::SnapshotStatus::Approved => {
                return Err(StoreError::Locked(format!(
                    "the baseline of {} is approved and locked",
                    old.measured_on()
                )));
            }
            Some(old) => Condition::AttributeEquals {
                name: "recorded_at".into(),
                value: serde_json::to_value(old.recorded_at()).unwrap_or(Value::Null),
            },
        };
        let item = Item::from_record(pk, sk, snapshot)?;
        match self.table.put(item, condition).await {
            Ok(()) if existing.is_some() => Ok(Written::Corrected),
            Ok(()) => Ok(Written::Created),
            Err(TableError::ConditionFailed) => Err(StoreError::Conflict(format!(
                "snapshot {} was changed by someone else meanwhile; try again",
                snapshot.id()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores a form submission: the snapshot (created, or replacing a stored one as
    /// [`Store::put_snapshot`] decides), the idempotency record of `key`, and `audit` (built
    /// for the outcome) in one transaction, so none is stored without the others. The same
    /// measurement again writes nothing but a missing idempotency record.
    ///
    /// # Errors
    /// [`StoreError::Locked`] for an approved baseline; [`StoreError::Conflict`] when the
    /// snapshot or the key changed under us; [`StoreError::Table`].
    pub async fn put_submission(
        &self,
        snapshot: &MetricSnapshot,
        key: &str,
        record: &crate::forms::IdempotencyRecord,
        audit: impl FnOnce(Written) -> (ClientId, AuditEntry),
    ) -> Result<Written, StoreError> {
        let pk = project_pk(snapshot.project_id());
        let sk = snapshot_sk(snapshot);
        let existing: Option<MetricSnapshot> = self.get_record(&pk, &sk).await?;
        let mut idempotency = Item::from_record(pk.clone(), idempotency_sk(key), record)?;
        idempotency.expires_at =
            Some((self.clock.now() + chrono::Duration::days(IDEMPOTENCY_TTL_DAYS)).timestamp());
        let (condition, written) = match &existing {
            None => (Condition::NotExists, Written::Created),
            Some(old) if old.same_measurement(snapshot) => {
                self.table.put(idempotency, Condition::Always).await?;
                return Ok(Written::Unchanged);
            }
            Some(old) if old.status() == roi_domain::SnapshotStatus::Approved => {
                return Err(StoreError::Locked(format!(
                    "the baseline of {} is approved and locked",
                    old.measured_on()
                )));
            }
            Some(old) => (
                Condition::AttributeEquals {
                    name: "recorded_at".into(),
                    value: serde_json::to_value(old.recorded_at()).unwrap_or(Value::Null),
                },
                Written::Corrected,
            ),
        };
        let (client, entry) = audit(written);
        let puts = vec![
            (Item::from_record(pk, sk, snapshot)?, condition),
            (idempotency, Condition::Always),
            (audit_item(&client, &entry)?, Condition::NotExists),
        ];
        match self.table.transact_put(puts).await {
            Ok(()) => Ok(written),
            Err(TableError::ConditionFailed) => Err(StoreError::Conflict(format!(
                "snapshot {} was changed by someone else meanwhile; try again",
                snapshot.id()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores an approved baseline over its submitted self; only a `submitted` one is
    /// replaced, so two approvals racing cannot both win.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the stored baseline is no longer `submitted`.
    pub async fn put_approved_baseline(&self, snapshot: &MetricSnapshot) -> Result<(), StoreError> {
        let item = Item::from_record(
            project_pk(snapshot.project_id()),
            snapshot_sk(snapshot),
            snapshot,
        )?;
        let condition = Condition::AttributeEquals {
            name: "status".into(),
            value: Value::from("submitted"),
        };
        match self.table.put(item, condition).await {
            Ok(()) => Ok(()),
            Err(TableError::ConditionFailed) => Err(StoreError::Conflict(format!(
                "baseline {} is no longer awaiting approval",
                snapshot.id()
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a snapshot that was replaced (a submitted baseline re-imported with another
    /// date).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn remove_snapshot(&self, snapshot: &MetricSnapshot) -> Result<(), StoreError> {
        Ok(self
            .table
            .delete(&project_pk(snapshot.project_id()), &snapshot_sk(snapshot))
            .await?)
    }

    /// Stores an ROI calculation, replacing the one for the same as-of date and period.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_roi(&self, roi: &RoiCalculation) -> Result<(), StoreError> {
        // Months zero-padded, so a day's periods read back shortest first.
        let sk = format!("ROI#{}#{:03}m", roi.calculation_date, roi.period_months);
        let item = Item::from_record(project_pk(&roi.project_id), sk, roi)?;
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
        self.records(Query::prefix(project_pk(project), "ROI#"))
            .await
    }

    /// A client's alert states.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn alert_states(
        &self,
        client: &ClientId,
    ) -> Result<Vec<crate::alerts::AlertState>, StoreError> {
        self.records(Query::prefix(client_pk(client), "ALERT#"))
            .await
    }

    /// Stores an alert's state, replacing it.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_alert_state(
        &self,
        client: &ClientId,
        state: &crate::alerts::AlertState,
    ) -> Result<(), StoreError> {
        let sk = format!("ALERT#{}#{}", state.rule, state.scope);
        let item = Item::from_record(client_pk(client), sk, state)?;
        Ok(self.table.put(item, Condition::Always).await?)
    }

    /// Claims a reminder (project, due date, kind) before it is sent: `true` when this call
    /// took it, `false` when it was taken already (sent once, ever).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn claim_reminder(
        &self,
        project: &ProjectId,
        due: chrono::NaiveDate,
        kind: &str,
    ) -> Result<bool, StoreError> {
        let record = serde_json::json!({ "due": due, "kind": kind, "sent_at": self.clock.now() });
        let item = Item::from_record(
            project_pk(project),
            format!("REMINDER#{due}#{kind}"),
            &record,
        )?;
        match self.table.put(item, Condition::NotExists).await {
            Ok(()) => Ok(true),
            Err(TableError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Releases a reminder claim whose sending failed, so the next run tries again.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn release_reminder(
        &self,
        project: &ProjectId,
        due: chrono::NaiveDate,
        kind: &str,
    ) -> Result<(), StoreError> {
        Ok(self
            .table
            .delete(&project_pk(project), &format!("REMINDER#{due}#{kind}"))
            .await?)
    }

    /// Claims an alert notice before it is sent: `true` when this call took it, `false`
    /// when another run did (then it is that run's to send). `notice` names the decision
    /// fully (rule, scope, status, level, and when the previous notice went out), so two
    /// runs that read the same alert state make the same claim; it is hashed into the key.
    /// Kept 90 days.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn claim_notice(&self, client: &ClientId, notice: &str) -> Result<bool, StoreError> {
        let record = serde_json::json!({ "notice": notice, "claimed_at": self.clock.now() });
        let mut item = Item::from_record(client_pk(client), notice_sk(notice), &record)?;
        item.expires_at = Some((self.clock.now() + chrono::Duration::days(90)).timestamp());
        match self.table.put(item, Condition::NotExists).await {
            Ok(()) => Ok(true),
            Err(TableError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Releases a notice claim whose sending failed, so the next run tries again.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn release_notice(&self, client: &ClientId, notice: &str) -> Result<(), StoreError> {
        Ok(self
            .table
            .delete(&client_pk(client), &notice_sk(notice))
            .await?)
    }

    /// Stores a project's insights of an as-of date, replacing them.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_insights(
        &self,
        insights: &crate::compute::ProjectInsights,
    ) -> Result<(), StoreError> {
        let item = Item::from_record(
            project_pk(&insights.project_id),
            format!("INSIGHTS#{}", insights.as_of),
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
    ) -> Result<Option<crate::compute::ProjectInsights>, StoreError> {
        let q = Query {
            pk: project_pk(project),
            sort: SortKey::Prefix("INSIGHTS#".into()),
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

    /// The measurement an idempotency key wrote for `project`, if any.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn idempotency(
        &self,
        project: &ProjectId,
        key: &str,
    ) -> Result<Option<crate::forms::IdempotencyRecord>, StoreError> {
        self.get_record(&project_pk(project), &idempotency_sk(key))
            .await
    }

    /// Appends an audit entry for `client` (append-only: written only if absent).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn audit(&self, client: &ClientId, entry: &AuditEntry) -> Result<(), StoreError> {
        let item = audit_item(client, entry)?;
        match self.table.put(item, Condition::NotExists).await {
            Ok(()) | Err(TableError::ConditionFailed) => Ok(()), // the same entry, retried
            Err(e) => Err(e.into()),
        }
    }

    /// A client's audit entries of one month (`YYYY-MM`), oldest first.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn audit_entries(
        &self,
        client: &ClientId,
        month: &str,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let q = Query::partition(format!("AUDIT#{client}#{month}"));
        self.records(q).await
    }

    /// Stores a new API key: its hash record (the only way in) and its listing under the
    /// client, each written only if absent.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the hash or the key id is taken (never, for random keys);
    /// [`StoreError::Table`].
    pub async fn add_api_key(&self, key: &crate::api_keys::ApiKeyRecord) -> Result<(), StoreError> {
        for item in api_key_items(key)? {
            match self.table.put(item, Condition::NotExists).await {
                Ok(()) => {}
                Err(TableError::ConditionFailed) => {
                    return Err(StoreError::Conflict("the API key exists already".into()));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Replaces both records of an API key (after a revocation).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn update_api_key(
        &self,
        key: &crate::api_keys::ApiKeyRecord,
    ) -> Result<(), StoreError> {
        for item in api_key_items(key)? {
            self.table.put(item, Condition::Always).await?;
        }
        Ok(())
    }

    /// The API key whose SHA-256 (hex) is `hash`.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn api_key_by_hash(
        &self,
        hash: &str,
    ) -> Result<Option<crate::api_keys::ApiKeyRecord>, StoreError> {
        self.get_record(&format!("APIKEY#{hash}"), "KEY").await
    }

    /// A client's API keys, by key id.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn api_keys_of(
        &self,
        client: &ClientId,
    ) -> Result<Vec<crate::api_keys::ApiKeyRecord>, StoreError> {
        self.records(Query::prefix(client_pk(client), "APIKEY#"))
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
        let found: Option<Overrides> = self.get_record(&client_pk(client), "PRICES").await?;
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
            client_pk(client),
            "PRICES",
            &serde_json::json!({ "models": models }),
        )?;
        Ok(self.table.put(item, Condition::Always).await?)
    }

    /// The identity claims stored under these keys ([`EventKey::claim`]), by key.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    ///
    /// [`EventKey::claim`]: roi_domain::event::EventKey::claim
    pub async fn event_claims(
        &self,
        keys: Vec<Key>,
    ) -> Result<std::collections::HashMap<Key, EventClaim>, StoreError> {
        if keys.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        self.table
            .batch_get(keys)
            .await?
            .iter()
            .map(|i| Ok((i.key(), i.to_record()?)))
            .collect()
    }

    /// Claims an event's identity with a conditional put of `claim` (an item built from an
    /// [`EventClaim`]): `None` when this call took it, or the claim stored before.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn claim_event(&self, claim: Item) -> Result<Option<EventClaim>, StoreError> {
        let (pk, sk) = (claim.pk.clone(), claim.sk.clone());
        match self.table.put(claim, Condition::NotExists).await {
            Ok(()) => Ok(None),
            Err(TableError::ConditionFailed) => match self.get_record(&pk, &sk).await? {
                Some(theirs) => Ok(Some(theirs)),
                // claimed, then expired in between: the identity is free again
                None => Err(StoreError::Conflict(format!(
                    "the claim {pk} changed while being read; send the event again"
                ))),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// Marks client-days as changed (an event or an import was written for them), so the
    /// next scheduled run rolls them up again; each marker stamps `changed_at` (now).
    /// Written before the events they announce, so a write cut short after them is still
    /// followed by a roll-up.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn mark_days_changed(
        &self,
        client: &ClientId,
        days: &std::collections::BTreeSet<chrono::NaiveDate>,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        for day in days {
            let marker = ChangedDay {
                day: *day,
                changed_at: now,
                rolled_up: false,
            };
            let mut item = Item::from_record(client_pk(client), format!("CHANGED#{day}"), &marker)?;
            item.expires_at =
                Some((now + chrono::Duration::days(roi_domain::event::EVENT_TTL_DAYS)).timestamp());
            self.table.put(item, Condition::Always).await?;
        }
        Ok(())
    }

    /// A client's days changed since they were last rolled up, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn changed_days(&self, client: &ClientId) -> Result<Vec<ChangedDay>, StoreError> {
        let all: Vec<ChangedDay> = self
            .records(Query::prefix(client_pk(client), "CHANGED#"))
            .await?;
        Ok(all.into_iter().filter(|m| !m.rolled_up).collect())
    }

    /// Records that `marker`'s day was rolled up, unless it changed again meanwhile (then
    /// it stays for the next run).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn day_rolled_up(
        &self,
        client: &ClientId,
        marker: &ChangedDay,
    ) -> Result<(), StoreError> {
        let done = ChangedDay {
            rolled_up: true,
            ..marker.clone()
        };
        let mut item =
            Item::from_record(client_pk(client), format!("CHANGED#{}", marker.day), &done)?;
        item.expires_at = Some(
            (marker.changed_at + chrono::Duration::days(roi_domain::event::EVENT_TTL_DAYS))
                .timestamp(),
        );
        let unchanged = Condition::AttributeEquals {
            name: "changed_at".into(),
            value: serde_json::to_value(marker.changed_at).unwrap_or(Value::Null),
        };
        match self.table.put(item, unchanged).await {
            Ok(()) | Err(TableError::ConditionFailed) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Takes `requests` and `events` from an API key's budget of the minute starting at
    /// `window` (a counter item per key and minute, pk `RATE#{key id}`, sk the minute,
    /// expiring two minutes after it), unless that would exceed `limits` (requests, events).
    /// The counter is updated with a conditional write on the count read, retried when
    /// another request got in between, so concurrent requests never both take the last of
    /// a budget. Returns whether the budget allowed it.
    ///
    /// # Errors
    /// [`StoreError::Table`]; [`StoreError::Conflict`] when the counter kept changing.
    pub async fn take_rate(
        &self,
        key_id: &str,
        window: DateTime<Utc>,
        (requests, events): (u64, u64),
        (max_requests, max_events): (u64, u64),
    ) -> Result<bool, StoreError> {
        #[derive(Serialize, Deserialize)]
        struct Counter {
            requests: u64,
            events: u64,
        }
        let pk = format!("RATE#{key_id}");
        let sk = window.format("%Y-%m-%dT%H:%M").to_string();
        for _ in 0..8 {
            let seen: Option<Counter> = self.get_record(&pk, &sk).await?;
            let (used_requests, used_events) =
                seen.as_ref().map_or((0, 0), |c| (c.requests, c.events));
            let next = Counter {
                requests: used_requests.saturating_add(requests),
                events: used_events.saturating_add(events),
            };
            if next.requests > max_requests || next.events > max_events {
                return Ok(false);
            }
            let condition = match &seen {
                None => Condition::NotExists,
                Some(c) => Condition::AttributeEquals {
                    name: "requests".into(),
                    value: Value::from(c.requests),
                },
            };
            let mut item = Item::from_record(pk.clone(), sk.clone(), &next)?;
            item.expires_at = Some(window.timestamp() + 180);
            match self.table.put(item, condition).await {
                Ok(()) => return Ok(true),
                Err(TableError::ConditionFailed) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict(format!(
            "the rate counter of key {key_id} kept changing"
        )))
    }

    /// Which of these keys hold an item already (events already stored).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn existing_keys(&self, keys: Vec<Key>) -> Result<Vec<Key>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let found = self.table.batch_get(keys).await?;
        Ok(found.iter().map(Item::key).collect())
    }

    /// Writes prepared items with BatchWriteItem (raw events). On
    /// [`TableError::Incomplete`] the unlisted items are written.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_batch(&self, items: Vec<Item>) -> Result<(), StoreError> {
        Ok(self.table.batch_put(items).await?)
    }

    /// Every stored raw event of a client's day, all shards, in no particular order.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn events_of_day(
        &self,
        client: &ClientId,
        day: chrono::NaiveDate,
    ) -> Result<Vec<crate::ingest::StoredEvent>, StoreError> {
        let mut events = Vec::new();
        for shard in 0..roi_domain::event::EVENT_SHARDS {
            let q = Query::partition(roi_domain::event::EventKey::partition(
                client.as_str(),
                day,
                shard,
            ));
            events.extend(self.records(q).await?);
        }
        Ok(events)
    }

    /// Stores a client-day's roll-up, replacing the one stored, so that a reader sees the
    /// old roll-up or the new one, never a mixture: the new one is written as a new
    /// generation (sort keys `G{id}#…`, the id random: a summary item, the user set in chunks of
    /// [`ROLLUP_USERS_PER_ITEM`], one item per usage group, per agent and per project), then
    /// the `CURRENT` item is moved to it with a write conditioned on the generation read
    /// before, then the items of other generations are deleted. A write cut short leaves the old generation
    /// in force (its stray items go with the next write). Its open-ended maps are capped
    /// first (`Rollup::capped`).
    ///
    /// Group names come from event data (up to 256 characters, so up to 1 KiB of UTF-8):
    /// a name longer than [`MAX_NAME_BYTES_IN_KEY`] bytes is replaced in the sort key by its
    /// hash ([`group_sk`]), and every group item carries its name, so DynamoDB's 1,024-byte
    /// sort-key limit is never reached.
    ///
    /// # Errors
    /// [`StoreError::Table`]; [`StoreError::Conflict`] when another write moved the day's
    /// generation meanwhile (its roll-up is in force; this one's items are removed).
    pub async fn put_rollup(&self, r: &crate::rollup::Rollup) -> Result<(), StoreError> {
        let pk = rollup_pk(&r.client_id, r.from);
        let r = &r.capped();
        let current: Option<Generation> = self.get_record(&pk, CURRENT).await?;
        let next = Generation::new(self.clock.now());
        let prefix = generation_prefix(&next.generation);
        let mut items = Vec::new();
        let mut summary = r.clone();
        summary.by.clear();
        summary.users.clear();
        summary.agents.clear();
        summary.projects.clear();
        items.push(Item::from_record(
            pk.clone(),
            format!("{prefix}SUMMARY"),
            &summary,
        )?);
        let users: Vec<&String> = r.users.iter().collect();
        for (n, chunk) in users.chunks(ROLLUP_USERS_PER_ITEM).enumerate() {
            let record = serde_json::json!({ "users": chunk });
            items.push(Item::from_record(
                pk.clone(),
                format!("{prefix}USERS#{n:03}"),
                &record,
            )?);
        }
        for (dim, groups) in &r.by {
            for (value, totals) in groups {
                items.push(group_item(
                    &pk,
                    &format!("{prefix}usage#{dim}#"),
                    value,
                    totals,
                )?);
            }
        }
        for (agent, stats) in &r.agents {
            items.push(group_item(&pk, &format!("{prefix}agent#"), agent, stats)?);
        }
        for (project, totals) in &r.projects {
            items.push(group_item(
                &pk,
                &format!("{prefix}project#"),
                project,
                totals,
            )?);
        }
        self.table.batch_put(items).await?;
        let pointer = Item::from_record(pk.clone(), CURRENT, &next)?;
        let condition = match &current {
            None => Condition::NotExists,
            Some(c) => Condition::AttributeEquals {
                name: "generation".into(),
                value: Value::from(c.generation.clone()),
            },
        };
        let moved = self.table.put(pointer, condition).await;
        // What no reader is pointed at any more (or, when another write won, ours).
        let stored = query_all(self.table.as_ref(), Query::partition(pk.clone())).await?;
        let keep = |sk: &str| match &moved {
            Ok(()) => sk == CURRENT || sk.starts_with(&prefix),
            Err(_) => !sk.starts_with(&prefix),
        };
        for gone in stored.iter().filter(|i| !keep(&i.sk)) {
            self.table.delete(&pk, &gone.sk).await?;
        }
        match moved {
            Ok(()) => Ok(()),
            Err(TableError::ConditionFailed) => Err(StoreError::Conflict(format!(
                "the roll-up of {} {} was replaced by another run meanwhile",
                r.client_id, r.from
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// A client-day's stored roll-up: the generation `CURRENT` names, or the items of a
    /// roll-up written before generations (no `CURRENT`).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn rollup(
        &self,
        client: &ClientId,
        day: chrono::NaiveDate,
    ) -> Result<Option<crate::rollup::Rollup>, StoreError> {
        let pk = rollup_pk(client, day);
        let items = query_all(self.table.as_ref(), Query::partition(pk)).await?;
        let prefix = match items.iter().find(|i| i.sk == CURRENT) {
            Some(c) => generation_prefix(&c.to_record::<Generation>()?.generation),
            None => String::new(),
        };
        let items: Vec<(&Item, &str)> = items
            .iter()
            .filter_map(|i| Some((i, i.sk.strip_prefix(prefix.as_str())?)))
            .collect();
        let Some((summary, _)) = items.iter().find(|(_, sk)| *sk == "SUMMARY") else {
            return Ok(None);
        };
        let mut r: crate::rollup::Rollup = summary.to_record()?;
        for (item, sk) in &items {
            if sk.starts_with("USERS#") {
                r.users.extend(item.to_record::<Users>()?.users);
            } else if let Some(rest) = sk.strip_prefix("usage#") {
                let (dim, value) = rest.split_once('#').unwrap_or((rest, ""));
                r.by.entry(dim.to_owned())
                    .or_default()
                    .insert(group_name(item, value)?, item.to_record()?);
            } else if let Some(agent) = sk.strip_prefix("agent#") {
                r.agents.insert(group_name(item, agent)?, item.to_record()?);
            } else if let Some(project) = sk.strip_prefix("project#") {
                r.projects
                    .insert(group_name(item, project)?, item.to_record()?);
            }
        }
        Ok(Some(r))
    }

    /// The distinct users of a stored client-day roll-up (empty when none is stored).
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn rollup_users(
        &self,
        client: &ClientId,
        day: chrono::NaiveDate,
    ) -> Result<Vec<String>, StoreError> {
        let pk = rollup_pk(client, day);
        let current: Option<Generation> = self.get_record(&pk, CURRENT).await?;
        let prefix = current.map_or_else(String::new, |c| generation_prefix(&c.generation));
        let chunks: Vec<Users> = self
            .records(Query::prefix(pk, format!("{prefix}USERS#")))
            .await?;
        Ok(chunks.into_iter().flat_map(|c| c.users).collect())
    }

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
            project_pk(project),
            format!("REPORT#{kind}#{period}#v"),
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
        self.records(Query::prefix(project_pk(project), "REPORT#"))
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
        let mut by_id = Item::from_record(format!("REPORTLINK#{}", link.link_id), "LINK", link)?;
        by_id.expires_at = expires;
        let mut listed = Item::from_record(
            project_pk(&link.project_id),
            format!("REPORTLINK#{}", link.link_id),
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
        self.get_record(&format!("REPORTLINK#{link_id}"), "LINK")
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
        self.records(Query::prefix(project_pk(project), "REPORTLINK#"))
            .await
    }

    async fn records<T: for<'de> Deserialize<'de>>(&self, q: Query) -> Result<Vec<T>, StoreError> {
        query_all(self.table.as_ref(), q)
            .await?
            .iter()
            .map(|i| i.to_record().map_err(StoreError::from))
            .collect()
    }

    async fn get_record<T: for<'de> Deserialize<'de>>(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        match self.table.get(pk, sk).await? {
            Some(item) => Ok(Some(item.to_record()?)),
            None => Ok(None),
        }
    }
}

/// The measurement an ongoing measurement of `date` is compared with for variance: the
/// latest ongoing one before `date`, else the project's baseline.
pub fn measurement_before(
    snapshots: &[MetricSnapshot],
    date: chrono::NaiveDate,
) -> Option<&MetricSnapshot> {
    snapshots
        .iter()
        .filter(|s| s.kind() == SnapshotKind::Ongoing && s.measured_on() < date)
        .max_by_key(|s| s.measured_on())
        .or_else(|| current_baseline(snapshots))
}

/// Picks the baseline of a project from its snapshots: the latest approved one, else the
/// latest submitted one.
pub fn current_baseline(snapshots: &[MetricSnapshot]) -> Option<&MetricSnapshot> {
    let baselines = snapshots
        .iter()
        .filter(|s| s.kind() == SnapshotKind::Baseline);
    baselines
        .clone()
        .filter(|s| s.status() == roi_domain::SnapshotStatus::Approved)
        .max_by_key(|s| s.measured_on())
        .or_else(|| baselines.max_by_key(|s| s.measured_on()))
}

/// A client-day whose raw events changed after it was rolled up (pk `CLIENT#{client}`, sk
/// `CHANGED#{day}`, TTL 90 days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedDay {
    /// The client's day.
    pub day: chrono::NaiveDate,
    /// When an event for it was last written, UTC.
    pub changed_at: DateTime<Utc>,
    /// Whether the roll-up has caught up with `changed_at`.
    pub rolled_up: bool,
}

/// What went wrong reading or writing records.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A different record holds the key.
    #[error("{0}")]
    Conflict(String),
    /// The record is locked against change.
    #[error("{0}")]
    Locked(String),
    /// The table failed.
    #[error(transparent)]
    Table(#[from] TableError),
}
