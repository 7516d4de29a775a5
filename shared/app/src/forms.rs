//! Self-reporting forms (issue 3; seed 000 §3 collection workflow, §7 validation, §9.2
//! review): turning a submitted form or JSON document into a snapshot, and everything a
//! submission does: validation, idempotency, correction, audit and ROI recomputation.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::NaiveDate;
use roi_domain::metric::VolumePeriod;
use roi_domain::project_kpi::KpiSet;
use roi_domain::snapshot::{SnapshotContext, SnapshotDraft};
use roi_domain::{
    FieldError, Metric, MetricSnapshot, Project, ProjectId, SnapshotKind, ValidationErrors,
};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::form_link::FormClaims;
pub use crate::store::IdempotencyRecord;
use crate::store::{AuditEntry, Store, StoreError, Written, current_baseline, measurement_before};

/// The field that carries the measurement date when the link does not fix it.
pub const MEASURED_ON: &str = "measured_on";
/// The field that carries `period_type` (day, week, month) for `volume_per_period`.
pub const PERIOD_TYPE: &str = "period_type";
/// The prefix of a measured KPI's field (`kpi.mrr`; issue 18).
pub const KPI_PREFIX: &str = "kpi.";

/// The raw fields of a submission, by name, as the person typed them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FormInput(pub BTreeMap<String, String>);

/// Why a request body could not be read at all (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedBody(pub String);

impl FormInput {
    /// Reads an `application/x-www-form-urlencoded` body. Fields other than metrics,
    /// `measured_on` and `period_type` (a submit button's name, say) are ignored.
    ///
    /// # Errors
    /// [`MalformedBody`] for a bad percent-escape or text that is not UTF-8.
    pub fn from_urlencoded(body: &[u8]) -> Result<Self, MalformedBody> {
        let text = std::str::from_utf8(body)
            .map_err(|_| MalformedBody("the form body is not UTF-8 text".into()))?;
        let bytes = text.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            let hex_at = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if *b == b'%' && !(hex_at(i + 1) && hex_at(i + 2)) {
                return Err(MalformedBody(format!(
                    "bad percent-escape at byte {i} of the form body"
                )));
            }
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|e| MalformedBody(format!("the form body cannot be read: {e}")))?;
        let mut fields = BTreeMap::new();
        for (k, v) in pairs {
            if v.contains('\u{FFFD}') || k.contains('\u{FFFD}') {
                return Err(MalformedBody(
                    "the form body holds an escape that is not UTF-8".into(),
                ));
            }
            if is_known_field(&k) {
                fields.insert(k, v);
            }
        }
        Ok(Self(fields))
    }

    /// Reads an `application/json` body: one object whose keys are metric names,
    /// `measured_on` and `period_type`, with numbers (or numeric strings, or null) as values.
    ///
    /// # Errors
    /// `Err(Err(MalformedBody))` for a body that is not a JSON object;
    /// `Err(Ok(errors))` naming each unknown field or non-scalar value.
    pub fn from_json(body: &[u8]) -> Result<Self, Result<ValidationErrors, MalformedBody>> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| Err(MalformedBody(format!("the body is not valid JSON: {e}"))))?;
        let Value::Object(map) = value else {
            return Err(Err(MalformedBody(
                "the body must be a JSON object of fields".into(),
            )));
        };
        let mut fields = BTreeMap::new();
        let mut errors = Vec::new();
        for (k, v) in map {
            if !is_known_field(&k) {
                errors.push(FieldError::new(
                    &k,
                    "is not a field of this form (unknown metric name)",
                ));
                continue;
            }
            match v {
                Value::Null => {}
                Value::Number(n) => {
                    fields.insert(k, n.to_string());
                }
                Value::String(s) => {
                    fields.insert(k, s);
                }
                _ => errors.push(FieldError::new(&k, "must be a number, a string or null")),
            }
        }
        match ValidationErrors::from_vec(errors) {
            Some(e) => Err(Ok(e)),
            None => Ok(Self(fields)),
        }
    }

    /// The value typed for `name`, trimmed; `None` when empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
    }

    /// A digest of the fields, to tell a replay from a correction.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(
            serde_json::to_vec(&self.0).unwrap_or_default(),
        ))
    }
}

fn is_known_field(name: &str) -> bool {
    name == MEASURED_ON
        || name == PERIOD_TYPE
        || name.starts_with(KPI_PREFIX)
        || Metric::from_name(name).is_some()
}

/// Builds the snapshot draft a form submission describes. The date is the link's due date
/// when it has one, else the `measured_on` field, else `today`.
///
/// # Errors
/// Every field that is not a number, a bad date or period, or a date that contradicts the
/// link's due date.
pub fn draft_from_input(
    claims: &FormClaims,
    input: &FormInput,
    today: NaiveDate,
) -> Result<SnapshotDraft, ValidationErrors> {
    let mut errors = Vec::new();
    let typed_date = input.get(MEASURED_ON).map(|s| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            FieldError::new(
                MEASURED_ON,
                format!("'{s}' is not a date in YYYY-MM-DD form"),
            )
        })
    });
    let measured_on = match (claims.due, typed_date) {
        (Some(due), Some(Ok(d))) if d != due => {
            errors.push(FieldError::new(
                MEASURED_ON,
                format!("this link is for the measurement due {due}"),
            ));
            due
        }
        (Some(due), _) => due,
        (None, Some(Ok(d))) => d,
        (None, Some(Err(e))) => {
            errors.push(e);
            today
        }
        (None, None) => today,
    };
    let mut draft = SnapshotDraft::new(claims.project.clone(), claims.kind, measured_on);
    for (name, raw) in &input.0 {
        let Some(metric) = Metric::from_name(name) else {
            continue;
        };
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        match Decimal::from_str(raw).or_else(|_| Decimal::from_scientific(raw)) {
            Ok(v) => {
                draft.values.insert(metric, v);
            }
            Err(_) => errors.push(FieldError::new(
                metric.name(),
                format!("'{raw}' is not a number"),
            )),
        }
    }
    if let Some(p) = input.get(PERIOD_TYPE) {
        match VolumePeriod::from_str(p) {
            Ok(p) => draft.volume_period = Some(p),
            Err(e) => errors.push(FieldError::new(PERIOD_TYPE, e)),
        }
    }
    match ValidationErrors::from_vec(errors) {
        Some(e) => Err(e),
        None => Ok(draft),
    }
}

/// The measured KPI values of a submission (`kpi.{name}` fields; empty ones skipped), each
/// checked against the project's definition.
///
/// # Errors
/// A field error for each value that is not a number, not a measured KPI of the project,
/// or out of its range.
pub fn kpi_values(
    kpis: &KpiSet,
    project: &ProjectId,
    input: &FormInput,
) -> Result<Vec<(String, Decimal)>, ValidationErrors> {
    let mut values = Vec::new();
    let mut errors = Vec::new();
    for (field, raw) in &input.0 {
        let Some(name) = field.strip_prefix(KPI_PREFIX) else {
            continue;
        };
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let Ok(value) = Decimal::from_str(raw) else {
            errors.push(FieldError::new(field, format!("'{raw}' is not a number")));
            continue;
        };
        match crate::project_kpis::check_value(kpis, project, name, value) {
            Ok(()) => values.push((name.to_owned(), value.normalize())),
            Err(e) => errors.push(FieldError::new(field, e.to_string())),
        }
    }
    match ValidationErrors::from_vec(errors) {
        Some(e) => Err(e),
        None => Ok(values),
    }
}

/// What ties a submission to one measurement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmissionKey {
    /// The caller's `Idempotency-Key` header: a retry of one request. The same key with
    /// other fields is refused ([`SubmitError::KeyReused`]), as the IETF Idempotency-Key
    /// draft asks.
    Header(String),
    /// The form link's nonce (a browser sends no key): the same link with other fields is
    /// the person correcting what they typed.
    Link(String),
}

impl SubmissionKey {
    fn stored(&self) -> String {
        match self {
            SubmissionKey::Header(k) => format!("key:{k}"),
            SubmissionKey::Link(n) => format!("nonce:{n}"),
        }
    }
}

/// SHA-256 (hex) of the submitted fields, names and trimmed values in name order.
fn payload_sha256(input: &FormInput) -> String {
    let mut h = Sha256::new();
    for (name, value) in &input.0 {
        h.update(name.as_bytes());
        h.update([0u8]);
        h.update(value.trim().as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

/// Recomputes `project`'s ROI periods as of today, with the scheduled run's computation
/// ([`crate::compute::recompute_project`]: metered cost, value lines, every period). A
/// failure is logged: the submission is stored already, and the next daily run computes it.
async fn recompute(store: &Store, project: &Project) {
    match crate::compute::recompute_project(store, project).await {
        Ok((calculations, _)) => tracing::info!(
            project = %project.id,
            roi_percentage = ?calculations.last().map(|c| c.roi_percentage),
            periods = calculations.len(),
            "ROI recomputed"
        ),
        Err(e) => tracing::info!(project = %project.id, reason = %e, "ROI not recomputed"),
    }
}

/// A submission's outcome.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The snapshot as stored.
    pub snapshot: MetricSnapshot,
    /// Created, unchanged (a replay) or corrected.
    pub written: Written,
}

/// Why a submission was not stored.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The link's project no longer exists.
    #[error("the project of this link does not exist")]
    UnknownProject,
    /// The `Idempotency-Key` was used before for a submission with other fields.
    #[error(
        "this Idempotency-Key was already used for a submission with other values; nothing was stored (send a correction with a new key)"
    )]
    KeyReused,
    /// Field errors; the form is shown again with them.
    #[error("invalid submission")]
    Invalid(ValidationErrors),
    /// The approved baseline is locked, or the idempotency key wrote another measurement.
    #[error("{0}")]
    Conflict(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Stores one form submission for the link's project.
///
/// - A valid submission becomes a snapshot: a baseline is `submitted` (awaiting
///   `roi baseline approve`); an ongoing one is `recorded`, or `needs_review` when a field
///   moved more than 50 %.
/// - `key` ([`SubmissionKey`]) ties the submission to one measurement: the same fields
///   again change nothing ([`Written::Unchanged`]); through the same link, changed fields
///   are a correction ([`Written::Corrected`]); with the same `Idempotency-Key`, changed
///   fields are refused ([`SubmitError::KeyReused`]); the same key for another date is a
///   conflict.
/// - Each change is audited with `fingerprint` (a hash of the client's IP and user agent,
///   never the values themselves): the snapshot, the key's record and the audit entry are
///   written in one transaction. Then the project's ROI is recomputed as of today.
///
/// # Errors
/// [`SubmitError`]; on any error nothing is stored.
pub async fn submit(
    store: &Store,
    claims: &FormClaims,
    input: &FormInput,
    key: &SubmissionKey,
    fingerprint: &str,
) -> Result<Submitted, SubmitError> {
    let project = store
        .project(&claims.project)
        .await?
        .ok_or(SubmitError::UnknownProject)?;
    let client = store.client(&project.client_id).await?;
    let now = store.clock().now();
    let draft = draft_from_input(claims, input, store.client_today(client.as_ref()))
        .map_err(SubmitError::Invalid)?;

    let existing = store.snapshots(&project.id).await?;
    let baseline = current_baseline(&existing);
    let previous = measurement_before(&existing, draft.measured_on);
    let ctx = match claims.kind {
        SnapshotKind::Baseline => SnapshotContext::default(),
        SnapshotKind::Ongoing => SnapshotContext {
            baseline_date: baseline.map(MetricSnapshot::measured_on),
            previous,
        },
    };
    let kpis = crate::project_kpis::definitions(store, &project.id).await?;
    let kpi_values = kpi_values(&kpis, &project.id, input);
    let snapshot = match (draft.validate(ctx, now), &kpi_values) {
        (Ok(s), Ok(_)) => s,
        (Err(e), Ok(_)) => return Err(SubmitError::Invalid(e)),
        (Ok(_), Err(k)) => return Err(SubmitError::Invalid(k.clone())),
        (Err(e), Err(k)) => {
            let mut all = e.errors().to_vec();
            all.extend(k.errors().iter().cloned());
            return Err(SubmitError::Invalid(
                ValidationErrors::from_vec(all).unwrap_or(e),
            ));
        }
    };

    let idempotency_key = key.stored();
    let record = key_record(store, &project.id, key, &snapshot, input).await?;
    let audit = |written: Written| {
        let action = match written {
            Written::Corrected => format!("{}_corrected", snapshot.kind()),
            _ => format!("{}_recorded", snapshot.kind()),
        };
        let entry = AuditEntry {
            at: now,
            action,
            actor: "form".into(),
            project_id: Some(project.id.clone()),
            detail: format!(
                "snapshot {} of {} from client {fingerprint}",
                snapshot.id(),
                snapshot.measured_on()
            ),
        };
        (project.client_id.clone(), entry)
    };
    let written = store
        .put_submission(&snapshot, &idempotency_key, &record, audit)
        .await
        .map_err(|e| match e {
            StoreError::Locked(m) | StoreError::Conflict(m) => SubmitError::Conflict(m),
            e => SubmitError::Store(e),
        })?;
    let stored = match written {
        // A replay answers with what is stored, so the response is the same as the first.
        Written::Unchanged => existing
            .into_iter()
            .find(|s| s.id() == snapshot.id())
            .unwrap_or(snapshot),
        _ => snapshot,
    };
    // A replay writes the same values again: harmless, and it completes a first attempt
    // cut short after the snapshot.
    for (kpi, value) in kpi_values.unwrap_or_default() {
        store
            .put_kpi_value(
                &project.id,
                &crate::store::KpiValueRecord {
                    kpi,
                    on: stored.measured_on(),
                    value,
                    source: "form".into(),
                    recorded_at: now,
                },
            )
            .await?;
    }
    if written != Written::Unchanged {
        metrics::counter!("forms_submitted").increment(1);
        recompute(store, &project).await;
    }
    Ok(Submitted {
        snapshot: stored,
        written,
    })
}

/// The record of this submission under its key, after checking what the key recorded
/// before: the same measurement (a correction keeps its date), and for an
/// `Idempotency-Key` header the same fields.
async fn key_record(
    store: &Store,
    project: &roi_domain::ProjectId,
    key: &SubmissionKey,
    snapshot: &MetricSnapshot,
    input: &FormInput,
) -> Result<IdempotencyRecord, SubmitError> {
    let payload = payload_sha256(input);
    let previous_use = store.idempotency(project, &key.stored()).await?;
    if let Some(record) = &previous_use
        && (record.measured_on != snapshot.measured_on() || record.kind != snapshot.kind())
    {
        return Err(SubmitError::Conflict(format!(
            "this submission key already recorded the {} measurement of {}; a correction keeps that date",
            record.kind, record.measured_on
        )));
    }
    if let (SubmissionKey::Header(_), Some(record)) = (key, &previous_use)
        && record
            .payload_sha256
            .as_ref()
            .is_some_and(|p| *p != payload)
    {
        return Err(SubmitError::KeyReused);
    }
    Ok(IdempotencyRecord {
        snapshot_id: snapshot.id().to_string(),
        kind: snapshot.kind(),
        measured_on: snapshot.measured_on(),
        payload_sha256: Some(payload),
    })
}

/// A hash of the client's IP address and user agent for the audit log: 16 hex digits of
/// SHA-256, so submissions from one browser can be told apart without storing either.
pub fn client_fingerprint(ip: &str, user_agent: &str) -> String {
    hex::encode(&Sha256::digest(format!("{ip}|{user_agent}"))[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(due: Option<&str>) -> FormClaims {
        FormClaims {
            project: "acme-bot".parse().unwrap(),
            kind: SnapshotKind::Ongoing,
            due: due.map(|d| d.parse().unwrap()),
            expires_at: i64::MAX,
            nonce: "n".into(),
        }
    }

    #[test]
    fn urlencoded_fields_become_values_and_unknown_ones_are_ignored() {
        let input = FormInput::from_urlencoded(b"monthly_labor_cost=36000&error_rate_percentage=3.9&avg_task_completion_time=+11+&submit=Send&period_type=").unwrap();
        let draft = draft_from_input(
            &claims(Some("2025-05-31")),
            &input,
            "2025-06-01".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(draft.values.len(), 3);
        assert_eq!(
            draft.values[&Metric::AvgTaskCompletionTime],
            Decimal::from(11)
        );
        assert_eq!(draft.measured_on.to_string(), "2025-05-31");
    }

    #[test]
    fn malformed_encodings_are_refused() {
        assert!(FormInput::from_urlencoded(b"monthly_labor_cost=%ZZ").is_err());
        assert!(FormInput::from_urlencoded(b"monthly_labor_cost=%").is_err());
        assert!(FormInput::from_urlencoded(b"monthly_labor_cost=%FF%FE").is_err());
        assert!(FormInput::from_urlencoded(&[0x66, 0xFF, 0x3D, 0x31]).is_err());
        assert!(matches!(FormInput::from_json(b"{not json"), Err(Err(_))));
        assert!(matches!(FormInput::from_json(b"[1,2]"), Err(Err(_))));
    }

    #[test]
    fn unknown_json_fields_and_nested_values_are_named() {
        let Err(Ok(errors)) = FormInput::from_json(
            br#"{"monthly_labor_cost": 1, "salary": 2, "csat_score": {"x": 1}}"#,
        ) else {
            panic!("expected field errors")
        };
        assert!(errors.mentions("salary"));
        assert!(errors.mentions("csat_score"));
    }

    #[test]
    fn numbers_dates_and_periods_are_checked_together() {
        let input = FormInput::from_json(br#"{"monthly_labor_cost": "lots", "measured_on": "2025-05-30", "period_type": "fortnight"}"#).unwrap();
        let err = draft_from_input(
            &claims(Some("2025-05-31")),
            &input,
            "2025-06-01".parse().unwrap(),
        )
        .unwrap_err();
        for f in ["monthly_labor_cost", "measured_on", "period_type"] {
            assert!(err.mentions(f), "{f}: {err}");
        }
    }

    #[test]
    fn the_fingerprint_hides_ip_and_user_agent() {
        let f = client_fingerprint("203.0.113.9", "Mozilla/5.0");
        assert_eq!(f.len(), 16);
        assert!(!f.contains("203"));
        assert_ne!(f, client_fingerprint("203.0.113.10", "Mozilla/5.0"));
    }
}
