//! The console's forms as use cases: a posted form (field name → text) is read, every
//! field checked, and the change made through `crate::setup` (audited with the operator's
//! address); a refusal names each bad field, and nothing is stored.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use roi_domain::client::{ClientDraft, ProjectDraft};
use roi_domain::units::{Money, Percentage};
use roi_domain::{Client, ClientId, Project, ProjectId, ValidationErrors};
use rust_decimal::Decimal;

use crate::settings::ClientSettings;
use crate::setup::{self, SetupError};
use crate::store::{AuditEntry, Store, StoreError};

/// A posted form: field name → text.
pub type Fields = HashMap<String, String>;

/// Why a form was refused: each bad field with its reason, or a failure to store.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// Fields are wrong; the map names each.
    #[error("{} field(s) to correct", .0.len())]
    Fields(BTreeMap<String, String>),
    /// The client or project does not exist.
    #[error("{0}")]
    Unknown(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ValidationErrors> for EditError {
    fn from(e: ValidationErrors) -> Self {
        EditError::Fields(
            e.errors()
                .iter()
                .map(|f| (f.field.clone(), f.reason.clone()))
                .collect(),
        )
    }
}

impl From<SetupError> for EditError {
    fn from(e: SetupError) -> Self {
        match e {
            SetupError::Invalid(v) => v.into(),
            SetupError::UnknownClient(c) => EditError::Unknown(format!("client '{c}'")),
            SetupError::UnknownProject(p) => EditError::Unknown(format!("project '{p}'")),
            SetupError::Store(s) => EditError::Store(s),
        }
    }
}

/// Reads each field of a form, collecting every problem.
struct Reader<'a> {
    fields: &'a Fields,
    errors: BTreeMap<String, String>,
}

impl<'a> Reader<'a> {
    fn new(fields: &'a Fields) -> Self {
        Self {
            fields,
            errors: BTreeMap::new(),
        }
    }

    /// The trimmed text of `name`, `None` when blank.
    fn text(&self, name: &str) -> Option<String> {
        self.fields
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn fail(&mut self, name: &str, reason: impl Into<String>) {
        self.errors.entry(name.to_owned()).or_insert(reason.into());
    }

    fn date(&mut self, name: &str) -> Option<NaiveDate> {
        let t = self.text(name)?;
        match t.parse::<NaiveDate>() {
            Ok(d) => Some(d),
            Err(_) => {
                self.fail(name, format!("'{t}' is not a date (YYYY-MM-DD)"));
                None
            }
        }
    }

    fn decimal(&mut self, name: &str) -> Option<Decimal> {
        let t = self.text(name)?;
        match t.replace(',', "").parse::<Decimal>() {
            Ok(d) => Some(d),
            Err(_) => {
                self.fail(name, format!("'{t}' is not a number"));
                None
            }
        }
    }

    fn money(&mut self, name: &str) -> Option<Money> {
        let d = self.decimal(name)?;
        match Money::try_from(d) {
            Ok(m) => Some(m),
            Err(reason) => {
                self.fail(name, reason);
                None
            }
        }
    }

    fn whole(&mut self, name: &str, range: std::ops::RangeInclusive<u32>) -> Option<u32> {
        let t = self.text(name)?;
        match t.replace(',', "").parse::<u32>() {
            Ok(n) if range.contains(&n) => Some(n),
            _ => {
                self.fail(
                    name,
                    format!(
                        "must be a whole number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        }
    }

    /// E-mail addresses separated by commas, spaces or lines.
    fn emails(&mut self, name: &str) -> Vec<String> {
        let list: Vec<String> = self
            .text(name)
            .unwrap_or_default()
            .split([',', ' ', '\n', '\r', ';'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect();
        for e in &list {
            if let Err(reason) = roi_domain::client::check_email(e) {
                self.fail(name, reason);
            }
        }
        list
    }

    fn finish(self) -> Result<(), EditError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(EditError::Fields(self.errors))
        }
    }

    /// Finishes with the errors of a whole-record check as well, so a form names every
    /// bad field at once.
    fn finish_with<T>(mut self, checked: Result<T, ValidationErrors>) -> Result<T, EditError> {
        match checked {
            Ok(v) if self.errors.is_empty() => Ok(v),
            Ok(_) => Err(EditError::Fields(self.errors)),
            Err(e) => {
                for f in e.errors() {
                    self.fail(&f.field, f.reason.clone());
                }
                Err(EditError::Fields(self.errors))
            }
        }
    }
}

/// Adds a client from the console's form: `company_name`, `time_zone`, `industry`,
/// `status`, `report_recipients`.
///
/// # Errors
/// [`EditError::Fields`] naming each bad field; [`EditError::Store`].
pub async fn new_client(store: &Store, fields: &Fields, actor: &str) -> Result<Client, EditError> {
    let mut r = Reader::new(fields);
    let recipients = r.emails("report_recipients");
    let draft = ClientDraft {
        company_name: r.text("company_name").unwrap_or_default(),
        id: None,
        industry: r.text("industry"),
        status: r.text("status"),
        time_zone: r.text("time_zone"),
        report_recipients: recipients,
    };
    r.finish_with(draft.clone().validate())
        .map_err(|e| match e {
            // the id is made from the name: a bad name says it all
            EditError::Fields(mut f) if f.contains_key("company_name") => {
                f.remove("client_id");
                EditError::Fields(f)
            }
            e => e,
        })?;
    let (client, written) = setup::add_client(store, draft, actor).await?;
    if written != crate::store::Written::Created {
        return Err(EditError::Fields(BTreeMap::from([(
            "company_name".to_owned(),
            format!("client '{}' exists already", client.id),
        )])));
    }
    Ok(client)
}

/// Changes a client from the console's form: name, industry, status, report recipients,
/// and seed 000's profile (`company_size`, `annual_revenue_range`, `onboarding_date`,
/// `contract_value`, `primary_contact`). The time zone is kept.
///
/// # Errors
/// [`EditError`].
pub async fn edit_client(
    store: &Store,
    client: &ClientId,
    fields: &Fields,
    actor: &str,
) -> Result<Client, EditError> {
    let mut r = Reader::new(fields);
    let recipients = r.emails("report_recipients");
    let onboarding = r.date("onboarding_date");
    let contract = r.money("contract_value");
    let (name, industry, status) = (
        r.text("company_name").unwrap_or_default(),
        r.text("industry"),
        r.text("status"),
    );
    let (size, revenue, contact) = (
        r.text("company_size"),
        r.text("annual_revenue_range"),
        r.text("primary_contact"),
    );
    let draft = ClientDraft {
        company_name: name.clone(),
        id: Some(client.to_string()),
        industry: industry.clone(),
        status: status.clone(),
        time_zone: None,
        report_recipients: recipients.clone(),
    };
    let profile = roi_domain::client::ClientProfile {
        company_size: size.clone(),
        annual_revenue_range: revenue.clone(),
        onboarding_date: onboarding,
        contract_value: contract,
        primary_contact: contact.clone(),
        ..roi_domain::client::ClientProfile::default()
    };
    let both = match (draft.validate(), profile.check()) {
        (Ok(_), Ok(_)) => Ok(()),
        (Err(a), Err(b)) => Err(ValidationErrors::from_vec(
            a.errors().iter().chain(b.errors()).cloned().collect(),
        )
        .unwrap_or_else(|| ValidationErrors::one("client", "invalid"))),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    r.finish_with(both)?;
    Ok(setup::change_client(store, client, actor, |_, d, profile| {
        d.company_name = name;
        d.industry = industry;
        d.status = status;
        d.report_recipients = recipients;
        profile.company_size = size;
        profile.annual_revenue_range = revenue;
        profile.onboarding_date = onboarding;
        profile.contract_value = contract;
        profile.primary_contact = contact;
    })
    .await?)
}

/// The client form's values as stored.
pub fn client_values(c: &Client) -> BTreeMap<String, String> {
    let p = &c.profile;
    BTreeMap::from([
        ("company_name".into(), c.company_name.clone()),
        ("industry".into(), c.industry.clone().unwrap_or_default()),
        ("status".into(), c.status.as_str().into()),
        ("report_recipients".into(), c.report_recipients.join(", ")),
        (
            "company_size".into(),
            p.company_size.clone().unwrap_or_default(),
        ),
        (
            "annual_revenue_range".into(),
            p.annual_revenue_range.clone().unwrap_or_default(),
        ),
        (
            "onboarding_date".into(),
            p.onboarding_date.map(|d| d.to_string()).unwrap_or_default(),
        ),
        (
            "contract_value".into(),
            p.contract_value
                .map(|m| m.amount().normalize().to_string())
                .unwrap_or_default(),
        ),
        (
            "primary_contact".into(),
            p.primary_contact.clone().unwrap_or_default(),
        ),
    ])
}

/// Changes a client's settings from the console's form: `account_manager_email`,
/// `alert_recipients`, `auto_send_reports` (a checkbox), `hourly_rate_usd`,
/// `requests_per_minute` (1 to 1,000,000), `events_per_minute` (1 to 100,000,000). The
/// rest (thresholds, webhooks, alert rules) is kept; `roi client settings` edits it.
/// Audited as `settings_changed`.
///
/// # Errors
/// [`EditError`].
pub async fn edit_settings(
    store: &Store,
    client: &ClientId,
    fields: &Fields,
    actor: &str,
) -> Result<ClientSettings, EditError> {
    if store.client(client).await?.is_none() {
        return Err(EditError::Unknown(format!("client '{client}'")));
    }
    let mut s = store.settings(client).await?;
    let mut r = Reader::new(fields);
    let am = r.emails("account_manager_email");
    if am.len() > 1 {
        r.fail("account_manager_email", "one address");
    }
    s.account_manager_email = am.into_iter().next();
    s.alert_recipients = r.emails("alert_recipients");
    s.auto_send_reports = r.text("auto_send_reports").is_some();
    s.hourly_rate_usd = r.money("hourly_rate_usd").map(Decimal::from);
    if let Some(n) = r.whole("requests_per_minute", 1..=1_000_000) {
        s.requests_per_minute = n;
    } else if r.text("requests_per_minute").is_none() {
        r.fail("requests_per_minute", "a number is needed");
    }
    if let Some(n) = r.whole("events_per_minute", 1..=100_000_000) {
        s.events_per_minute = n;
    } else if r.text("events_per_minute").is_none() {
        r.fail("events_per_minute", "a number is needed");
    }
    r.finish()?;
    s.check()
        .map_err(|e| EditError::Fields(BTreeMap::from([("settings".to_owned(), e.to_string())])))?;
    save(store, client, s, "settings_changed", actor).await
}

/// Stores a client's settings and audits the change as `action`.
async fn save(
    store: &Store,
    client: &ClientId,
    settings: ClientSettings,
    action: &str,
    actor: &str,
) -> Result<ClientSettings, EditError> {
    store.put_settings(client, &settings).await?;
    store
        .audit(
            client,
            &AuditEntry {
                at: store.clock().now(),
                action: action.into(),
                actor: actor.into(),
                project_id: None,
                detail: "in the console".into(),
            },
        )
        .await?;
    Ok(settings)
}

/// The settings form's values as stored.
pub fn settings_values(s: &ClientSettings) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "account_manager_email".into(),
            s.account_manager_email.clone().unwrap_or_default(),
        ),
        ("alert_recipients".into(), s.alert_recipients.join(", ")),
        (
            "auto_send_reports".into(),
            if s.auto_send_reports { "on" } else { "" }.into(),
        ),
        (
            "hourly_rate_usd".into(),
            s.hourly_rate_usd
                .map(|d| d.normalize().to_string())
                .unwrap_or_default(),
        ),
        (
            "requests_per_minute".into(),
            s.requests_per_minute.to_string(),
        ),
        ("events_per_minute".into(), s.events_per_minute.to_string()),
    ])
}

/// Adds a project to `client` from the console's form: `project_name`, `go_live_date`,
/// `one_time_investment`, `gross_margin`, `solution_type`, `status`, `start_date`.
///
/// # Errors
/// [`EditError`].
pub async fn new_project(
    store: &Store,
    client: &ClientId,
    fields: &Fields,
    actor: &str,
) -> Result<Project, EditError> {
    let mut r = Reader::new(fields);
    let investment = r.decimal("one_time_investment");
    if investment.is_none() && r.text("one_time_investment").is_none() {
        r.fail(
            "one_time_investment",
            "the one-time investment is needed (USD)",
        );
    }
    let margin = r.decimal("gross_margin");
    let start = r.date("start_date");
    let draft = ProjectDraft {
        client_id: client.clone(),
        project_name: r.text("project_name").unwrap_or_default(),
        id: None,
        solution_type: r.text("solution_type"),
        status: r.text("status"),
        go_live_date: r.text("go_live_date").unwrap_or_default(),
        one_time_investment: investment.unwrap_or_default(),
        gross_margin: margin,
    };
    let mut project = r.finish_with(draft.validate())?;
    project.start_date = start;
    project.check_dates()?;
    if store.project(&project.id).await?.is_some() {
        return Err(EditError::Fields(BTreeMap::from([(
            "project_name".to_owned(),
            format!("project '{}' exists already", project.id),
        )])));
    }
    let (stored, _) = setup::add_project(
        store,
        ProjectDraft {
            client_id: client.clone(),
            project_name: project.project_name.clone(),
            id: Some(project.id.to_string()),
            solution_type: project.solution_type.clone(),
            status: Some(project.status.as_str().into()),
            go_live_date: project.go_live_date.to_string(),
            one_time_investment: project.one_time_investment.amount(),
            gross_margin: Some(project.gross_margin.value()),
        },
        actor,
    )
    .await?;
    if start.is_some() {
        return Ok(setup::change_project(store, &stored.id, actor, |p| {
            p.start_date = start;
            Ok(format!(
                "start date {}",
                start.map(|d| d.to_string()).unwrap_or_default()
            ))
        })
        .await?);
    }
    Ok(stored)
}

/// Changes a project from the console's form: `project_name`, `solution_type`,
/// `start_date`, `completion_date`, `one_time_investment`, `gross_margin` (the status has
/// its own form; go-live, which every stored period depends on, is kept).
///
/// # Errors
/// [`EditError`].
pub async fn edit_project(
    store: &Store,
    project: &ProjectId,
    fields: &Fields,
    actor: &str,
) -> Result<Project, EditError> {
    let mut r = Reader::new(fields);
    let name = r.text("project_name");
    if name.as_ref().is_none_or(|n| n.chars().count() > 200) {
        r.fail("project_name", "must be 1 to 200 characters");
    }
    let investment = r.money("one_time_investment");
    if r.text("one_time_investment").is_none() {
        r.fail(
            "one_time_investment",
            "the one-time investment is needed (USD)",
        );
    }
    let margin = match r.decimal("gross_margin") {
        Some(d) => match Percentage::try_from(d) {
            Ok(p) => Some(p),
            Err(reason) => {
                r.fail("gross_margin", reason);
                None
            }
        },
        None => None,
    };
    let (start, completion) = (r.date("start_date"), r.date("completion_date"));
    let solution = r.text("solution_type");
    r.finish()?;
    Ok(setup::change_project(store, project, actor, |p| {
        p.project_name = name.unwrap_or_default();
        p.solution_type = solution;
        p.start_date = start;
        p.completion_date = completion;
        if let Some(i) = investment {
            p.one_time_investment = i;
        }
        if let Some(m) = margin {
            p.gross_margin = m;
        }
        Ok("edited in the console".into())
    })
    .await?)
}

/// The project form's values as stored.
pub fn project_values(p: &Project) -> BTreeMap<String, String> {
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    BTreeMap::from([
        ("project_name".into(), p.project_name.clone()),
        (
            "solution_type".into(),
            p.solution_type.clone().unwrap_or_default(),
        ),
        ("start_date".into(), date(p.start_date)),
        ("completion_date".into(), date(p.completion_date)),
        (
            "one_time_investment".into(),
            p.one_time_investment.amount().normalize().to_string(),
        ),
        (
            "gross_margin".into(),
            p.gross_margin.value().normalize().to_string(),
        ),
    ])
}

/// The KPI limits the thresholds form edits, in the order shown, with their labels and
/// units (the names are `roi_domain::kpi::Thresholds`' fields).
pub const THRESHOLDS: [(&str, &str); 8] = [
    ("roi_percentage", "ROI, percent"),
    ("error_rate", "Error rate, percent"),
    ("system_uptime", "Uptime, percent"),
    ("feature_adoption", "Feature adoption, percent"),
    ("latency_p95_ms", "Agent p95, ms"),
    ("department_budget", "Department budget used, percent"),
    ("cost_variance", "Metered against invoiced cost, percent"),
    ("unpriced_events", "Unpriced events of a model in a day"),
];

/// Changes a client's KPI limits from the console's form: for each KPI of [`THRESHOLDS`]
/// the fields `{kpi}-critical`, `{kpi}-warning` and `{kpi}-success` (empty: none), each in
/// the limits' order (`roi_domain::kpi::Limits::check`); and `department_budgets`,
/// `department=USD` pairs separated by commas. Audited as `thresholds_changed`.
///
/// # Errors
/// [`EditError`].
pub async fn edit_thresholds(
    store: &Store,
    client: &ClientId,
    fields: &Fields,
    actor: &str,
) -> Result<ClientSettings, EditError> {
    if store.client(client).await?.is_none() {
        return Err(EditError::Unknown(format!("client '{client}'")));
    }
    let mut s = store.settings(client).await?;
    let mut all = serde_json::to_value(&s.thresholds)
        .map_err(|e| EditError::Unknown(format!("thresholds: {e}")))?;
    let mut r = Reader::new(fields);
    for (kpi, _) in THRESHOLDS {
        let Some(stored) = all.get(kpi).cloned() else {
            continue;
        };
        let Ok(mut limits) = serde_json::from_value::<roi_domain::kpi::Limits>(stored) else {
            continue;
        };
        let (c, w) = (format!("{kpi}-critical"), format!("{kpi}-warning"));
        match (r.decimal(&c), r.decimal(&w)) {
            (Some(critical), Some(warning)) => {
                limits.critical = critical;
                limits.warning = warning;
            }
            _ => {
                for f in [&c, &w] {
                    if r.text(f).is_none() {
                        r.fail(f, "a limit is needed");
                    }
                }
                continue;
            }
        }
        let success = format!("{kpi}-success");
        limits.success = r.decimal(&success);
        if let Err(reason) = limits.check() {
            r.fail(&w, reason);
            continue;
        }
        if let Some(slot) = all.get_mut(kpi) {
            *slot = serde_json::to_value(limits)
                .map_err(|e| EditError::Unknown(format!("thresholds: {e}")))?;
        }
    }
    let mut budgets = std::collections::BTreeMap::new();
    for pair in r
        .text("department_budgets")
        .unwrap_or_default()
        .split([',', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match pair
            .split_once('=')
            .map(|(d, v)| (d.trim(), v.trim().parse::<Decimal>()))
        {
            Some((d, Ok(v))) if !d.is_empty() && d.len() <= 100 && Money::try_from(v).is_ok() => {
                budgets.insert(d.to_owned(), v);
            }
            _ => r.fail(
                "department_budgets",
                format!("'{pair}' is not department=USD (e.g. support=2000)"),
            ),
        }
    }
    r.finish()?;
    let mut thresholds: roi_domain::kpi::Thresholds =
        serde_json::from_value(all).map_err(|e| EditError::Unknown(format!("thresholds: {e}")))?;
    thresholds.department_budgets_usd = budgets;
    s.thresholds = thresholds;
    save(store, client, s, "thresholds_changed", actor).await
}

/// The thresholds form's values as stored.
pub fn threshold_values(s: &ClientSettings) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let all = serde_json::to_value(&s.thresholds).unwrap_or_default();
    for (kpi, _) in THRESHOLDS {
        if let Some(l) = all
            .get(kpi)
            .and_then(|v| serde_json::from_value::<roi_domain::kpi::Limits>(v.clone()).ok())
        {
            out.insert(
                format!("{kpi}-critical"),
                l.critical.normalize().to_string(),
            );
            out.insert(format!("{kpi}-warning"), l.warning.normalize().to_string());
            out.insert(
                format!("{kpi}-success"),
                l.success
                    .map(|v| v.normalize().to_string())
                    .unwrap_or_default(),
            );
            out.insert(
                format!("{kpi}-direction"),
                if l.higher_is_better {
                    "higher"
                } else {
                    "lower"
                }
                .into(),
            );
        }
    }
    out.insert(
        "department_budgets".into(),
        s.thresholds
            .department_budgets_usd
            .iter()
            .map(|(d, v)| format!("{d}={}", v.normalize()))
            .collect::<Vec<_>>()
            .join(", "),
    );
    out
}
