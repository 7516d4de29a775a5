//! The data lifecycle (issue 20): moving stored legacy user hashes to keyed pseudonyms
//! ([`crate::pseudonym`]) in place, a client's export (GDPR Art. 20), the erasure of
//! one of its users (Art. 17), and a churned client's anonymisation (seed 000 §7.3).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Days, Utc};
use roi_domain::event::EVENT_TTL_DAYS;
use roi_domain::ports::{BlobError, BlobStore};
use roi_domain::{Client, ClientId};
use serde::Serialize;

use crate::pseudonym::{is_legacy, legacy_hash};
use crate::rollup::RollupError;
use crate::store::{AuditBatch, AuditEntry, ClientSpan, ReportRecord, Store, StoreError, keys};

pub use crate::store::MAX_HISTORY_DAYS;

/// What a migration changed for one client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Migrated {
    /// The client.
    pub client_id: String,
    /// Raw events (in the table and in the archive) whose user was rekeyed.
    pub events: usize,
    /// Daily roll-ups whose user sets or per-user usage were rekeyed.
    pub rollup_days: usize,
    /// Users rekeyed in those roll-ups (counted once per day).
    pub rollup_users: usize,
}

/// Rekeys `client`'s stored legacy user hashes: the raw events still kept (their last
/// [`EVENT_TTL_DAYS`] days) and every daily roll-up since its earliest go-live (its user
/// set and its per-user usage). Distinct users stay distinct and the same user keeps one
/// pseudonym across old and new days, so DAU/WAU/MAU and retention are continuous (the
/// days whose events changed are marked changed, so the next scheduled run restates their
/// WAU and MAU). Keyed pseudonyms are left as they are, so running it again changes nothing.
///
/// # Errors
/// [`RollupError::Store`]; what was rekeyed before the failure stays rekeyed, and a rerun
/// finishes. [`RollupError::Overflow`] when a closed month's restated figures leave their
/// range.
pub async fn migrate_pseudonyms(store: &Store, client: &Client) -> Result<Migrated, RollupError> {
    let key = store.pseudonym_key().await?;
    let span = client_span(store, client).await?;
    let mut done = Migrated {
        client_id: client.id.to_string(),
        ..Migrated::default()
    };
    let rekey_event = |e: &mut roi_domain::stored_event::StoredEvent| {
        let Some(user) = e.data.user_mut() else {
            return false;
        };
        if !is_legacy(user) {
            return false;
        }
        *user = key.rekey(user);
        true
    };
    for day in span.days() {
        done.events += store
            .rewrite_archived_day(&client.id, day, rekey_event)
            .await?;
        let legacy = store
            .events_of_day(&client.id, day)
            .await?
            .iter()
            .any(|e| e.data.attribution().user.is_some_and(is_legacy));
        if !legacy {
            continue;
        }
        // marked first: the next scheduled run restates the day's WAU and MAU over the
        // rekeyed user sets, even when this run stops before the end
        store
            .mark_days_changed(&client.id, &std::collections::BTreeSet::from([day]))
            .await?;
        done.events += store
            .rewrite_events_of_day(&client.id, day, rekey_event)
            .await?;
    }
    let rekey = |u: &str| is_legacy(u).then(|| key.rekey(u));
    let mut months = BTreeSet::new();
    for day in span.days() {
        if let Some(users) = rewrite_rollup_users(store, &client.id, day, rekey).await? {
            done.rollup_days += 1;
            done.rollup_users += users;
            months.insert(day);
        }
    }
    restate_closed_months(store, client, months).await?;
    tracing::info!(client = %client.id, events = done.events, rollup_days = done.rollup_days, "pseudonyms migrated");
    Ok(done)
}

/// Restates the monthly roll-ups of the closed months of `days` from their daily roll-ups,
/// after those were rewritten.
async fn restate_closed_months(
    store: &Store,
    client: &Client,
    days: BTreeSet<chrono::NaiveDate>,
) -> Result<(), RollupError> {
    use crate::rollup::{month_end, month_start, restate_month};
    let today = store.client_today(Some(client));
    let months: BTreeSet<chrono::NaiveDate> = days
        .into_iter()
        .filter(|d| month_end(*d) < today)
        .map(month_start)
        .collect();
    for month in months {
        restate_month(store, &client.id, month).await?;
    }
    Ok(())
}

/// Rewrites the users of one stored roll-up that `map` renames (its user set and its
/// per-user usage); the users renamed, or `None` when `map` renamed none.
async fn rewrite_rollup_users(
    store: &Store,
    client: &ClientId,
    day: chrono::NaiveDate,
    map: impl Fn(&str) -> Option<String>,
) -> Result<Option<usize>, StoreError> {
    let Some(mut r) = store.rollup(client, day).await? else {
        return Ok(None);
    };
    let renamed = r.users.iter().filter(|u| map(u).is_some()).count();
    let by_user =
        r.by.get("user")
            .is_some_and(|g| g.keys().any(|u| map(u).is_some()));
    if renamed == 0 && !by_user {
        return Ok(None);
    }
    r.users = r.users.into_iter().map(|u| map(&u).unwrap_or(u)).collect();
    if let Some(groups) = r.by.remove("user") {
        let renamed = groups
            .into_iter()
            .map(|(u, t)| (map(&u).unwrap_or(u), t))
            .collect();
        r.by.insert("user".into(), renamed);
    }
    store.put_rollup(&r).await?;
    Ok(Some(renamed))
}

/// The days and months a client's records can be on: raw events and roll-ups from its
/// earliest go-live or onboarding (or [`EVENT_TTL_DAYS`] back, when later) to its
/// tomorrow, audit entries from [`MAX_HISTORY_DAYS`] back; nothing before
/// [`MAX_HISTORY_DAYS`] back.
///
/// # Errors
/// [`StoreError::Table`].
pub async fn client_span(store: &Store, client: &Client) -> Result<ClientSpan, StoreError> {
    let today = store.client_today(Some(client));
    let oldest = today
        .checked_sub_days(Days::new(MAX_HISTORY_DAYS))
        .unwrap_or(today);
    let kept = today
        .checked_sub_days(Days::new(EVENT_TTL_DAYS.unsigned_abs() + 2))
        .unwrap_or(today);
    let from = store
        .projects_of(&client.id)
        .await?
        .iter()
        .map(|p| p.go_live_date)
        .chain(client.profile.onboarding_date)
        .chain([kept])
        .min()
        .unwrap_or(kept)
        .max(oldest);
    Ok(ClientSpan {
        from,
        audit_from: oldest,
        to: today,
    })
}

/// Writes the files of a client's export, one after the other (a zip archive's entries).
pub trait ExportWriter {
    /// Starts the file at `path` (`/`-separated, relative); what follows goes into it.
    ///
    /// # Errors
    /// The archive cannot be written.
    fn begin(&mut self, path: &str) -> std::io::Result<()>;
    /// Appends `bytes` to the file begun last.
    ///
    /// # Errors
    /// The archive cannot be written.
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()>;
}

/// What went wrong in [`export_client`].
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The records could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A report file could not be read.
    #[error("reading a report file: {0}")]
    Blob(#[from] BlobError),
    /// The archive could not be written.
    #[error("writing the export: {0}")]
    Write(#[from] std::io::Error),
}

/// What a client's export holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exported {
    /// The client.
    pub client_id: String,
    /// When it was made, UTC.
    pub exported_at: DateTime<Utc>,
    /// Records in `records.ndjson`, by record kind (the key table's names).
    pub records: BTreeMap<String, usize>,
    /// The files in the archive: archived raw-event days and audit batches under
    /// `archive/`, report files under `files/`, each + its blob key.
    pub files: Vec<String>,
    /// Report files a report version names that are not stored (a version whose files
    /// were never written, or were removed).
    pub missing_files: Vec<String>,
}

/// Writes everything stored for `client` through `out`:
/// - `records.ndjson`: every record of [`Store::each_client_item`] over [`client_span`],
///   one JSON object per line: `{"record": kind, "pk", "sk", "expires_at", "attrs"}` (the
///   kind as named in the key table, `expires_at` in Unix seconds or null);
/// - `archive/{blob key}`: the raw-event archive's days (gzip-compressed NDJSON) and the
///   audit archive's batches (JSON);
/// - `files/{blob key}`: every report version's PDF, CSV and XLSX export and the report
///   data (JSON) it was rendered from;
/// - `manifest.json`: the [`Exported`] summary.
///
/// Records and files are streamed, one at a time. The export is audited
/// (`client_exported`, by `actor`).
///
/// # Errors
/// [`ExportError`]; the archive is then incomplete (its manifest, written last, is
/// missing).
pub async fn export_client(
    store: &Store,
    blobs: &dyn BlobStore,
    client: &Client,
    actor: &str,
    out: &mut dyn ExportWriter,
) -> Result<Exported, ExportError> {
    let span = client_span(store, client).await?;
    let mut done = Exported {
        client_id: client.id.to_string(),
        exported_at: store.clock().now(),
        records: BTreeMap::new(),
        files: Vec::new(),
        missing_files: Vec::new(),
    };
    let mut file_keys = BTreeSet::new();
    out.begin("records.ndjson")?;
    store
        .each_client_item(client, span, |item| -> Result<(), ExportError> {
            let kind = keys::record_kind(&item.pk, &item.sk).unwrap_or("other");
            if kind == "report version" {
                let record: ReportRecord = item.to_record().map_err(StoreError::from)?;
                file_keys.extend(record.files());
            }
            *done.records.entry(kind.to_owned()).or_default() += 1;
            let line = serde_json::json!({
                "record": kind, "pk": item.pk, "sk": item.sk,
                "expires_at": item.expires_at, "attrs": item.fields().map_err(StoreError::from)?,
            });
            let mut bytes = serde_json::to_vec(&line).map_err(std::io::Error::other)?;
            bytes.push(b'\n');
            out.write(&bytes)?;
            Ok(())
        })
        .await?;
    for day in span.days() {
        if let Some((key, bytes)) = store.archived_file(&client.id, day).await? {
            let path = format!("archive/{key}");
            out.begin(&path)?;
            out.write(&bytes)?;
            done.files.push(path);
        }
    }
    // the audit archive's batches, newest first along the chain
    let mut link = store.audit_head(&client.id).await?.and_then(|h| h.last);
    while let Some(l) = link {
        let Some((key, bytes)) = store.audit_batch_file(&client.id, l.day).await? else {
            break;
        };
        let batch: AuditBatch = serde_json::from_slice(&bytes).map_err(std::io::Error::other)?;
        let path = format!("archive/{key}");
        out.begin(&path)?;
        out.write(&bytes)?;
        done.files.push(path);
        link = batch.previous.filter(|p| p.day < l.day);
    }
    for key in file_keys {
        match blobs.get(&key).await? {
            Some(blob) => {
                let path = format!("files/{key}");
                out.begin(&path)?;
                out.write(&blob.bytes)?;
                done.files.push(path);
            }
            None => done.missing_files.push(key),
        }
    }
    out.begin("manifest.json")?;
    let manifest = serde_json::to_vec_pretty(&done).map_err(std::io::Error::other)?;
    out.write(&manifest)?;
    let records: usize = done.records.values().sum();
    audit(
        store,
        client,
        "client_exported",
        actor,
        format!("{records} records and {} files", done.files.len()),
    )
    .await?;
    Ok(done)
}

/// What went wrong in [`erase_user`].
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    /// The user id is empty.
    #[error("the user id is empty")]
    EmptyUser,
    /// The records could not be read or written; what was erased before stays erased,
    /// and running the erasure again finishes it.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A report's CSV export could not be read.
    #[error("reading a report file: {0}")]
    Blob(#[from] BlobError),
    /// A closed month's roll-up could not be restated without the user.
    #[error(transparent)]
    Rollup(#[from] RollupError),
}

/// What an erasure changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Erased {
    /// The client.
    pub client_id: String,
    /// Raw events whose user was replaced.
    pub events: usize,
    /// Archived raw events whose user was replaced.
    pub archived_events: usize,
    /// Daily roll-ups whose user set or per-user usage was rewritten.
    pub rollup_days: usize,
    /// Issued report versions whose files name the person (`{project} {kind} {period}
    /// v{version}`, found in their CSV export): issued documents, kept as issued; issue
    /// the period again (`roi report --project P --kind K --period X`) for a version
    /// without the person.
    pub reports_naming_user: Vec<String>,
}

/// Erases one person from `client`'s records (GDPR Art. 17): wherever their pseudonym
/// (or a legacy hash of their id) is stored — the raw events still kept, the raw-event
/// archive, and every daily roll-up's user set and per-user usage (closed months then
/// restated) — it is replaced by one random token, the same everywhere and kept nowhere
/// once the erasure ends (while it runs, a record keeps it, so an erasure cut short and
/// run again uses the same token: `Store::begin_erasure`),
/// so no key, dictionary or list leads from the person to the records any more, while
/// every count, cost and DAU/WAU/MAU figure stays as it was (the person becomes an
/// anonymous user). The erasure is audited (`user_erased`, by
/// `actor`, without naming the person) and cannot be undone; running it again finds
/// nothing.
///
/// # Errors
/// [`EraseError`].
pub async fn erase_user(
    store: &Store,
    blobs: &dyn BlobStore,
    client: &Client,
    user: &str,
    actor: &str,
) -> Result<Erased, EraseError> {
    let user = user.trim();
    if user.is_empty() {
        return Err(EraseError::EmptyUser);
    }
    let key = store.pseudonym_key().await?;
    let legacy = legacy_hash(&client.id, user);
    let targets = [key.rekey(&legacy), legacy];
    let mut random = [0u8; 8];
    getrandom::fill(&mut random)
        .map_err(|e| StoreError::Conflict(format!("no random token for the erasure: {e}")))?;
    let fresh = format!("{ERASED_PREFIX}{}", hex::encode(random));
    // an erasure of this person cut short left its token: the rest gets the same one
    let token = store.begin_erasure(&client.id, &targets[0], fresh).await?;
    let span = client_span(store, client).await?;
    let mut done = Erased {
        client_id: client.id.to_string(),
        ..Erased::default()
    };
    let mut months = BTreeSet::new();
    let erase = |e: &mut roi_domain::stored_event::StoredEvent| match e.data.user_mut() {
        Some(u) if targets.contains(u) => {
            u.clone_from(&token);
            true
        }
        _ => false,
    };
    let rename = |u: &str| targets.iter().any(|t| t == u).then(|| token.clone());
    for day in span.days() {
        done.events += store.rewrite_events_of_day(&client.id, day, erase).await?;
        done.archived_events += store.rewrite_archived_day(&client.id, day, erase).await?;
        if rewrite_rollup_users(store, &client.id, day, rename)
            .await?
            .is_some()
        {
            done.rollup_days += 1;
            months.insert(day);
        }
    }
    restate_closed_months(store, client, months).await?;
    for project in store.projects_of(&client.id).await? {
        for r in store.reports_of(&project.id).await? {
            let Some(csv) = blobs.get(&r.csv_key).await? else {
                continue;
            };
            let text = String::from_utf8_lossy(&csv.bytes);
            if targets.iter().any(|t| text.contains(t.as_str())) {
                done.reports_naming_user.push(format!(
                    "{} {} {} v{}",
                    project.id, r.kind, r.period, r.version
                ));
            }
        }
    }
    audit(store, client, "user_erased", actor, format!(
                    "a user replaced by an anonymous token in {} raw events, {} archived events and {} daily roll-ups",
                    done.events, done.archived_events, done.rollup_days
                )).await?;
    // From here no record links the person's pseudonym to the token.
    store.end_erasure(&client.id, &targets[0]).await?;
    tracing::info!(client = %client.id, events = done.events, rollup_days = done.rollup_days, "user erased");
    Ok(done)
}

/// Audits one of this module's actions on `client` (the detail names no person).
async fn audit(
    store: &Store,
    client: &Client,
    action: &str,
    actor: &str,
    detail: String,
) -> Result<(), StoreError> {
    let entry = AuditEntry {
        at: store.clock().now(),
        action: action.into(),
        actor: actor.into(),
        project_id: None,
        detail,
    };
    store.audit(&client.id, &entry).await
}

/// What starts the anonymous token an erased person's pseudonym is replaced by.
pub const ERASED_PREFIX: &str = "x_";

/// What went wrong in [`anonymise_client`].
#[derive(Debug, thiserror::Error)]
pub enum AnonymiseError {
    /// The records could not be read or written; what was replaced stays replaced, and
    /// running it again finishes it.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A report file could not be removed.
    #[error("removing a report file: {0}")]
    Blob(#[from] BlobError),
    /// Issued reports' files print the client's name, and no report store was given to
    /// delete them from; nothing was changed.
    #[error(
        "{0} issued report versions have files that print the client's name, and no report store is configured to delete them (on AWS, set ROI_REPORTS_BUCKET for compute-roi); nothing was changed"
    )]
    NoReportStore(usize),
}

/// What an anonymisation changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Anonymised {
    /// The client.
    pub client_id: String,
    /// The name it now has, e.g. `Client 3f9a0c12` ([`client_pseudonym`]).
    pub pseudonym: String,
    /// Whether it was anonymised before (then nothing changed).
    pub already: bool,
    /// Measurements whose notes or review reasons were removed.
    pub measurements: usize,
    /// Report files removed (issued PDFs, CSV and XLSX exports and report data, which carry
    /// the old name).
    pub files_removed: usize,
}

/// The name an anonymised client is shown under: `Client ` + 8 hex digits of an HMAC of its
/// id under the deployment's pseudonym key, the same on every run and not reversible
/// without the key.
pub fn client_pseudonym(key: &crate::pseudonym::PseudonymKey, client: &ClientId) -> String {
    let mac = key.rekey(&format!("client\u{0}{client}"));
    let digits = mac.strip_prefix(crate::pseudonym::PREFIX).unwrap_or(&mac);
    format!("Client {}", &digits[..8.min(digits.len())])
}

/// Anonymises `client` for good (seed 000 §7.3): its name becomes [`client_pseudonym`];
/// its report recipients, primary contact, alert recipients, account manager, webhooks
/// and admin keys are removed; every measurement's notes and review reasons are removed;
/// and every issued report's files (which print the old name) are deleted, their records
/// kept. Every figure stays: baselines, measurements, ROI, roll-ups, costs and KPIs, so
/// reports issued afterwards render under the pseudonym. The client's id, which every
/// stored key holds, is kept. Audited (`client_anonymised`, by `actor`); running it again
/// changes nothing. `blobs` is the report store; without one, a client with issued
/// reports is refused (their files would keep its name), one without is anonymised.
///
/// # Errors
/// [`AnonymiseError`]; [`AnonymiseError::NoReportStore`] before anything is changed.
pub async fn anonymise_client(
    store: &Store,
    blobs: Option<&dyn BlobStore>,
    client: &Client,
    actor: &str,
) -> Result<Anonymised, AnonymiseError> {
    let key = store.pseudonym_key().await?;
    let pseudonym = client_pseudonym(&key, &client.id);
    let mut done = Anonymised {
        client_id: client.id.to_string(),
        pseudonym: pseudonym.clone(),
        already: client.profile.anonymised_on.is_some(),
        ..Anonymised::default()
    };
    if done.already {
        return Ok(done);
    }
    let projects = store.projects_of(&client.id).await?;
    let mut issued = Vec::new();
    for p in &projects {
        issued.extend(store.reports_of(&p.id).await?);
    }
    // the files first: a run cut short leaves the name in records, never in a file alone
    match blobs {
        None if !issued.is_empty() => return Err(AnonymiseError::NoReportStore(issued.len())),
        None => {}
        Some(blobs) => {
            for k in issued.iter().flat_map(ReportRecord::files) {
                if blobs.get(&k).await?.is_some() {
                    blobs.delete(&k).await?;
                    done.files_removed += 1;
                }
            }
        }
    }
    for p in &projects {
        for s in store.snapshots(&p.id).await? {
            let reviewed_text = s.reviewed().is_some_and(|r| {
                !r.reason.is_empty() && r.reason != roi_domain::snapshot::REMOVED_TEXT
            });
            if !s.notes().is_empty() || reviewed_text {
                store.put_without_free_text(s).await?;
                done.measurements += 1;
            }
        }
    }
    let mut settings = store.settings(&client.id).await?;
    settings.alert_recipients.clear();
    settings.account_manager_email = None;
    settings.webhooks.clear();
    settings.admin_keys.clear();
    store.put_settings(&client.id, &settings).await?;
    let mut anonymous = client.clone();
    anonymous.company_name = pseudonym;
    anonymous.report_recipients.clear();
    anonymous.profile.primary_contact = None;
    anonymous.profile.anonymised_on = Some(store.client_today(Some(client)));
    store.put_client(&anonymous).await?;
    for p in &projects {
        if let Err(e) = crate::console::summary::refresh(store, &p.id).await {
            tracing::warn!(project = %p.id, error = %e, "the portfolio summary was not refreshed");
        }
    }
    audit(
        store,
        client,
        "client_anonymised",
        actor,
        format!(
            "name, contacts and free text replaced; {} measurements, {} report files removed",
            done.measurements, done.files_removed
        ),
    )
    .await?;
    tracing::info!(client = %client.id, measurements = done.measurements, files = done.files_removed, "client anonymised");
    Ok(done)
}

/// Whether `client` is due its automatic anonymisation on `today`: churned at least
/// `after_days` days ago and not anonymised yet.
pub fn anonymisation_due(client: &Client, after_days: u32, today: chrono::NaiveDate) -> bool {
    use roi_domain::client::ClientStatus;
    client.status == ClientStatus::Churned
        && client.profile.anonymised_on.is_none()
        && client
            .profile
            .churned_on
            .and_then(|d| d.checked_add_days(Days::new(u64::from(after_days))))
            .is_some_and(|due| due <= today)
}
