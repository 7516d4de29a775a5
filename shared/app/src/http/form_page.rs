//! The self-reporting form as a page: its fields, grouped by the seed's categories, with the
//! values to show (submitted, or pre-filled from the last measurement), the baseline beside
//! each, and the errors of a refused submission.

use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use std::collections::BTreeMap;

use roi_domain::metric::VolumePeriod;
use roi_domain::project_kpi::{KpiSet, KpiSource, KpiUnit};
use roi_domain::snapshot::REQUIRED_METRICS;
use roi_domain::{Category, FieldError, Metric, MetricSnapshot, SnapshotKind};
use rust_decimal::Decimal;
use serde::Serialize;

use super::page::{html, internal, message};
use crate::form_link::FormClaims;
use crate::forms::{FormInput, KPI_PREFIX, MEASURED_ON, PERIOD_TYPE};
use crate::store::{Store, current_baseline};

#[derive(Serialize)]
struct FieldView {
    name: String,
    label: String,
    unit: &'static str,
    help: String,
    step: &'static str,
    min: Option<String>,
    max: Option<String>,
    value: String,
    baseline: String,
    error: String,
    required: bool,
    choices: Vec<&'static str>,
}

#[derive(Serialize)]
struct GroupView {
    title: &'static str,
    note: &'static str,
    fields: Vec<FieldView>,
}

#[derive(Serialize)]
struct ErrorView {
    field: String,
    label: String,
    reason: String,
}

/// The label of a form field: a metric's own label, or the date and period fields'.
pub(super) fn field_label(name: &str) -> String {
    match name {
        MEASURED_ON => "Date measured".into(),
        PERIOD_TYPE => "Period of the task volume".into(),
        n => Metric::from_name(n).map_or_else(
            || n.strip_prefix(KPI_PREFIX).unwrap_or(n).replace('_', " "),
            |m| m.label().to_owned(),
        ),
    }
}

/// A value as typed into a number field: no grouping, no trailing zeros.
pub(super) fn plain(value: rust_decimal::Decimal) -> String {
    value.normalize().to_string()
}

/// The fields of one form: what each shows and which errors stand beside it.
struct Fields<'a> {
    kind: SnapshotKind,
    baseline: Option<&'a MetricSnapshot>,
    /// Ongoing forms start from the last values; a baseline form from the submitted baseline.
    prefill: Option<&'a MetricSnapshot>,
    submitted: Option<&'a FormInput>,
    errors: &'a [FieldError],
}

impl<'a> Fields<'a> {
    fn new(
        kind: SnapshotKind,
        snapshots: &'a [MetricSnapshot],
        submitted: Option<&'a FormInput>,
        errors: &'a [FieldError],
    ) -> Self {
        let baseline = current_baseline(snapshots);
        let latest_ongoing = snapshots
            .iter()
            .filter(|s| s.kind() == SnapshotKind::Ongoing)
            .max_by_key(|s| s.measured_on());
        let prefill = match kind {
            SnapshotKind::Ongoing => latest_ongoing.or(baseline),
            SnapshotKind::Baseline => baseline,
        };
        Fields {
            kind,
            baseline,
            prefill,
            submitted,
            errors,
        }
    }

    fn error_of(&self, name: &str) -> String {
        self.errors
            .iter()
            .filter(|e| e.field == name)
            .map(|e| e.reason.clone())
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn value_of(&self, name: &str, metric: Option<Metric>) -> String {
        if let Some(input) = self.submitted {
            return input.0.get(name).cloned().unwrap_or_default();
        }
        match (metric, self.prefill) {
            (Some(m), Some(s)) => s.value(m).map(plain).unwrap_or_default(),
            (None, Some(s)) if name == PERIOD_TYPE => s
                .volume_period()
                .map(VolumePeriod::name)
                .unwrap_or_default()
                .to_owned(),
            _ => String::new(),
        }
    }

    fn metric(&self, metric: Metric) -> FieldView {
        let kind = metric.kind();
        let (min, max) = kind.range();
        FieldView {
            name: metric.name().into(),
            label: metric.label().into(),
            unit: kind.symbol(),
            help: metric.help().into(),
            step: if kind.is_integer() { "1" } else { "any" },
            min: Some(plain(min)),
            max: Some(plain(max)),
            value: self.value_of(metric.name(), Some(metric)),
            baseline: match (self.kind, self.baseline.and_then(|b| b.value(metric))) {
                (SnapshotKind::Ongoing, Some(v)) => kind.show(v),
                _ => String::new(),
            },
            error: self.error_of(metric.name()),
            // The total may instead be derived from its parts (the cost group's note).
            required: REQUIRED_METRICS.contains(&metric) && metric != Metric::TotalMonthlyCost,
            choices: Vec::new(),
        }
    }

    fn period(&self) -> FieldView {
        FieldView {
            name: PERIOD_TYPE.into(),
            label: field_label(PERIOD_TYPE),
            unit: "day, week or month",
            help: "The period the task volume is counted over.".into(),
            step: "",
            min: None,
            max: None,
            value: self.value_of(PERIOD_TYPE, None),
            baseline: String::new(),
            error: self.error_of(PERIOD_TYPE),
            required: false,
            choices: VolumePeriod::ALL.iter().map(|p| p.name()).collect(),
        }
    }

    /// The groups of the form, in the seed's order; a baseline has no operations group (the
    /// AI solution is not live yet).
    fn groups(&self) -> Vec<GroupView> {
        let mut groups = Vec::new();
        for category in Category::ALL {
            if self.kind == SnapshotKind::Baseline && category == Category::Operations {
                continue;
            }
            let mut fields = Vec::new();
            for &metric in Metric::ALL.iter().filter(|m| m.category() == category) {
                fields.push(self.metric(metric));
                if metric == Metric::VolumePerPeriod {
                    fields.push(self.period());
                }
            }
            groups.push(GroupView {
                title: category.title(),
                note: if category == Category::Cost {
                    "Give the total monthly cost, or its parts (labor, software, overhead, errors) and leave the total empty: at least one is required."
                } else {
                    ""
                },
                fields,
            });
        }
        groups
    }

    /// The project's measured KPIs (issue 18), on progress forms: each with its unit and
    /// target, pre-filled with its latest value.
    fn kpi_group(&self, set: &KpiSet, latest: &BTreeMap<String, Decimal>) -> Option<GroupView> {
        if self.kind != SnapshotKind::Ongoing {
            return None;
        }
        let fields: Vec<FieldView> = set
            .kpis()
            .iter()
            .filter(|k| k.source == KpiSource::Measured)
            .map(|k| {
                let name = format!("{KPI_PREFIX}{}", k.name);
                let mut help = k.description.clone();
                if let Some(t) = k.target {
                    help = format!("{help} Target: {} by {}.", k.unit.show(t.value), t.by);
                }
                let value = match self.submitted {
                    Some(input) => input.0.get(&name).cloned().unwrap_or_default(),
                    None => latest.get(&k.name).copied().map(plain).unwrap_or_default(),
                };
                FieldView {
                    error: self.error_of(&name),
                    label: k.label.clone(),
                    unit: k.unit.name(),
                    help: help.trim().to_owned(),
                    step: if k.unit == KpiUnit::Count { "1" } else { "any" },
                    min: matches!(k.unit, KpiUnit::Count | KpiUnit::Minutes | KpiUnit::Hours)
                        .then(|| "0".to_owned()),
                    max: None,
                    value,
                    baseline: k.baseline.map(|b| k.unit.show(b)).unwrap_or_default(),
                    required: false,
                    choices: Vec::new(),
                    name,
                }
            })
            .collect();
        (!fields.is_empty()).then_some(GroupView {
            title: "Project KPIs",
            note: "The KPIs agreed for this project; leave a field empty if it was not measured.",
            fields,
        })
    }

    fn error_views(&self) -> Vec<ErrorView> {
        self.errors
            .iter()
            .map(|e| ErrorView {
                field: e.field.clone(),
                label: field_label(&e.field),
                reason: e.reason.clone(),
            })
            .collect()
    }
}

/// The heading and the introduction of a form of `kind`.
fn wording(kind: SnapshotKind) -> (&'static str, &'static str) {
    match kind {
        SnapshotKind::Baseline => (
            "Baseline measurement",
            "These figures describe the process before the AI solution went live; every later measurement is compared with them.",
        ),
        SnapshotKind::Ongoing => (
            "Progress measurement",
            "The figures are filled in from your last measurement; change what has changed. The baseline is shown under each field.",
        ),
    }
}

/// Renders the form: empty or pre-filled on first view, or with the submitted values and
/// the errors beside their fields (422).
///
/// # Errors
/// The answer to send instead: 404 when the link's project is gone, 500 when the store
/// fails.
pub(super) async fn form_page(
    store: &Store,
    token: &str,
    claims: &FormClaims,
    submitted: Option<&FormInput>,
    errors: &[FieldError],
) -> Result<Response, Response> {
    let project = store
        .project(&claims.project)
        .await
        .map_err(|e| internal(&e))?
        .ok_or_else(|| {
            message(
                StatusCode::NOT_FOUND,
                "Project not found",
                "The project of this link no longer exists. Ask your account manager for a new link.",
            )
        })?;
    let client = store
        .client(&project.client_id)
        .await
        .map_err(|e| internal(&e))?;
    let snapshots = store
        .snapshots(&project.id)
        .await
        .map_err(|e| internal(&e))?;
    let fields = Fields::new(claims.kind, &snapshots, submitted, errors);
    let kpis = crate::project_kpis::definitions(store, &project.id)
        .await
        .map_err(|e| internal(&e))?;
    let mut latest = BTreeMap::new();
    for v in store
        .kpi_values(&project.id)
        .await
        .map_err(|e| internal(&e))?
    {
        latest.insert(v.kpi, v.value); // by KPI, then day: the last is the latest
    }
    let mut groups = fields.groups();
    groups.extend(fields.kpi_group(&kpis, &latest));
    let (heading, intro) = wording(claims.kind);
    let today = store.client_today(client.as_ref());
    let measured_on = submitted.map_or_else(
        || today.to_string(),
        |i| i.0.get(MEASURED_ON).cloned().unwrap_or_default(),
    );
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(html(
        status,
        "form.html",
        context! {
            heading,
            intro,
            company_name => client.map(|c| c.company_name).unwrap_or_default(),
            project_name => project.project_name,
            due => claims.due.map(|d| d.to_string()),
            action => format!("/forms/{token}"),
            measured_on,
            date_error => fields.error_of(MEASURED_ON),
            groups,
            errors => fields.error_views(),
        },
    ))
}
