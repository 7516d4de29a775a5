//! Clients and their projects (seed 000 §2.1, "Client Profile" and "Project/Solution").

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{FieldError, ValidationErrors};
use crate::roi::value::Valuation;
use crate::units::{Money, Percentage};

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The id as written in keys and on the command line.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id made from a display name: lower case, runs of anything but ASCII
            /// letters and digits folded into one `-`, at most 48 characters.
            ///
            /// # Errors
            /// A [`FieldError`] when nothing usable is left (e.g. a name of only symbols).
            pub fn from_name(name: &str) -> Result<Self, FieldError> {
                Self::try_from(slugify(name))
            }
        }

        impl TryFrom<String> for $name {
            type Error = FieldError;

            /// # Errors
            /// When the id is empty, longer than 64 characters, or has characters other
            /// than `a-z`, `0-9` and `-`, or starts or ends with `-`.
            fn try_from(value: String) -> Result<Self, Self::Error> {
                check_slug(&value).map_err(|reason| FieldError::new($what, reason))?;
                Ok(Self(value))
            }
        }

        impl FromStr for $name {
            type Err = FieldError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::try_from(s.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slug_id!(
    /// A client's id: a slug such as `acme-logistics` (`a-z`, `0-9`, `-`; 1–64 characters).
    ClientId,
    "client_id"
);
slug_id!(
    /// A project's id, unique across clients: a slug such as `acme-support-bot`.
    ProjectId,
    "project_id"
);

fn check_slug(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 64 {
        return Err(format!("must be 1 to 64 characters, got {}", value.len()));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!("may hold only a-z, 0-9 and '-', got '{value}'"));
    }
    if value.starts_with('-') || value.ends_with('-') {
        return Err(format!("may not start or end with '-', got '{value}'"));
    }
    Ok(())
}

fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.truncate(48);
    out.trim_end_matches('-').to_owned()
}

/// Where a client stands with us (seed 000 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClientStatus {
    /// Qualified, not yet signed.
    Prospect,
    /// Signed; projects are running.
    #[default]
    Active,
    /// Every project is done.
    Completed,
    /// Left.
    Churned,
}

/// Where a project stands (seed 000 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ProjectStatus {
    /// Scoping; the baseline is captured now.
    #[default]
    Planning,
    /// Being built.
    Development,
    /// Being tested with the client.
    Testing,
    /// Live: ongoing measurements are due on the cadence.
    Deployed,
    /// Finished.
    Completed,
}

macro_rules! parse_enum {
    ($ty:ident { $($text:literal => $variant:ident),* $(,)? }) => {
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($ty::$variant),)*
                    other => Err(format!(
                        "'{other}' is not one of {}",
                        [$($text),*].join(", ")
                    )),
                }
            }
        }
        impl $ty {
            /// Every value, in order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];
            /// The value as written in records and on the command line.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text,)*
                }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
parse_enum!(ClientStatus { "prospect" => Prospect, "active" => Active, "completed" => Completed, "churned" => Churned });
parse_enum!(ProjectStatus {
    "planning" => Planning, "development" => Development, "testing" => Testing,
    "deployed" => Deployed, "completed" => Completed,
});

/// A client organisation (seed 000 §2.1 "Client Profile").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    /// The client's id.
    pub id: ClientId,
    /// The company's name as printed in reports.
    pub company_name: String,
    /// Industry, free text (e.g. "logistics").
    pub industry: Option<String>,
    /// Where the relationship stands.
    pub status: ClientStatus,
    /// The IANA time zone whose days, weeks, months and quarters the client's figures use.
    pub time_zone: Tz,
    /// Who receives reports (e-mail addresses).
    pub report_recipients: Vec<String>,
    /// The rest of seed 000's client profile (size, revenue range, onboarding, contract,
    /// primary contact); empty for clients stored before it existed.
    #[serde(default, skip_serializing_if = "ClientProfile::is_empty")]
    pub profile: ClientProfile,
}

/// Seed 000 §2.1's client fields beyond name, industry and status. Every field is
/// optional; [`ClientProfile::check`] bounds them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientProfile {
    /// Company size as the consultancy records it, e.g. "51–200 employees" (≤ 100 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_size: Option<String>,
    /// Annual revenue range, e.g. "USD 10–50 M" (≤ 100 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annual_revenue_range: Option<String>,
    /// The day the client was onboarded (within `dates::in_window`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onboarding_date: Option<NaiveDate>,
    /// The contract's value, USD (0 to 10¹², [`Money`]'s range).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract_value: Option<Money>,
    /// The primary contact: a name, an address, or both (≤ 200 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_contact: Option<String>,
    /// The day the client was marked churned (set when its status becomes `churned`,
    /// cleared when it leaves it); its anonymisation is due a configured time after it
    /// (issue 20, seed 000 §7.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub churned_on: Option<NaiveDate>,
    /// The day the client was anonymised: its name, contacts and free text replaced by a
    /// pseudonym, for good.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anonymised_on: Option<NaiveDate>,
}

impl ClientProfile {
    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Checks the free-text lengths and the onboarding date; blank texts become `None`.
    ///
    /// # Errors
    /// [`ValidationErrors`] naming `company_size`, `annual_revenue_range`,
    /// `primary_contact` or `onboarding_date`.
    pub fn check(mut self) -> Result<Self, ValidationErrors> {
        let mut errors = Vec::new();
        for (field, value, max) in [
            ("company_size", &mut self.company_size, 100),
            ("annual_revenue_range", &mut self.annual_revenue_range, 100),
            ("primary_contact", &mut self.primary_contact, 200),
        ] {
            *value = value
                .take()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty());
            if let Some(v) = value
                && (v.chars().count() > max || v.chars().any(char::is_control))
            {
                errors.push(FieldError::new(
                    field,
                    format!("must be at most {max} characters, without control characters"),
                ));
            }
        }
        if let Some(d) = self.onboarding_date
            && let Err(reason) = crate::dates::in_window(d)
        {
            errors.push(FieldError::new("onboarding_date", reason));
        }
        match ValidationErrors::from_vec(errors) {
            Some(e) => Err(e),
            None => Ok(self),
        }
    }
}

/// What `roi client add` gathers; [`ClientDraft::validate`] turns it into a [`Client`].
#[derive(Debug, Clone, Default)]
pub struct ClientDraft {
    /// Company name (required, 1–200 characters).
    pub company_name: String,
    /// Explicit id; made from the name when absent.
    pub id: Option<String>,
    /// Industry, free text.
    pub industry: Option<String>,
    /// Status; `active` when absent.
    pub status: Option<String>,
    /// IANA time zone name; `UTC` when absent.
    pub time_zone: Option<String>,
    /// Report recipients' e-mail addresses.
    pub report_recipients: Vec<String>,
}

impl ClientDraft {
    /// Checks every field and reports every problem at once.
    ///
    /// # Errors
    /// [`ValidationErrors`] naming `company_name`, `client_id`, `status`, `time_zone` or
    /// `report_recipients`.
    pub fn validate(self) -> Result<Client, ValidationErrors> {
        let mut errors = Vec::new();
        let name = self.company_name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            errors.push(FieldError::new(
                "company_name",
                "must be 1 to 200 characters",
            ));
        }
        let id = match self.id {
            Some(id) => ClientId::try_from(id),
            None => ClientId::from_name(&name),
        };
        let status = match self.status.as_deref().map(str::parse::<ClientStatus>) {
            None => Some(ClientStatus::default()),
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => {
                errors.push(FieldError::new("status", e));
                None
            }
        };
        let tz_name = self.time_zone.unwrap_or_else(|| "UTC".to_owned());
        let time_zone = match tz_name.parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                errors.push(FieldError::new(
                    "time_zone",
                    format!("'{tz_name}' is not an IANA time zone (e.g. Europe/Berlin)"),
                ));
                None
            }
        };
        for r in &self.report_recipients {
            if let Err(reason) = check_email(r) {
                errors.push(FieldError::new("report_recipients", reason));
            }
        }
        let id = match id {
            Ok(id) => Some(id),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        if let Some(e) = ValidationErrors::from_vec(errors) {
            return Err(e);
        }
        match (id, status, time_zone) {
            (Some(id), Some(status), Some(time_zone)) => Ok(Client {
                id,
                company_name: name,
                industry: self.industry.filter(|s| !s.trim().is_empty()),
                status,
                time_zone,
                report_recipients: self.report_recipients,
                profile: ClientProfile::default(),
            }),
            _ => Err(ValidationErrors::one("client", "incomplete")),
        }
    }
}

/// A plausibility check of an e-mail address: one `@`, something on both sides, a dot in
/// the domain, no spaces. Delivery is the mail service's to judge.
///
/// # Errors
/// The reason, naming the address.
pub fn check_email(address: &str) -> Result<(), String> {
    let ok = match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !address.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("'{address}' is not an e-mail address"))
    }
}

/// One client project, the unit ROI is computed for (seed 000 §2.1 "Project/Solution").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    /// The project's id.
    pub id: ProjectId,
    /// The owning client.
    pub client_id: ClientId,
    /// The project's name as printed in reports.
    pub project_name: String,
    /// Kind of solution, e.g. "chatbot", "automation", "analytics".
    pub solution_type: Option<String>,
    /// Where the project stands.
    pub status: ProjectStatus,
    /// The day the AI solution went live; ongoing measurements are due from here.
    pub go_live_date: NaiveDate,
    /// One-time investment (build, integration, training), USD.
    pub one_time_investment: Money,
    /// Gross margin applied to a revenue increase, percent (default 100 %; issue 2's
    /// definition of gross monthly benefit).
    pub gross_margin: Percentage,
    /// How its value is counted: hourly rate, attribution, confidence, value lines turned
    /// off, running costs (issue 16). Defaults when absent.
    #[serde(default, skip_serializing_if = "Valuation::is_default")]
    pub valuation: Valuation,
    /// The day work started (seed 000 §2.1), on or before go-live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<NaiveDate>,
    /// The day the project was completed (seed 000 §2.1), on or after go-live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_date: Option<NaiveDate>,
}

impl Project {
    /// Checks the project's dates against each other: start ≤ go-live ≤ completion.
    ///
    /// # Errors
    /// [`ValidationErrors`] naming `start_date` or `completion_date`.
    pub fn check_dates(&self) -> Result<(), ValidationErrors> {
        let mut errors = Vec::new();
        if let Some(s) = self.start_date
            && s > self.go_live_date
        {
            errors.push(FieldError::new(
                "start_date",
                format!("must be on or before go-live ({})", self.go_live_date),
            ));
        }
        if let Some(c) = self.completion_date
            && c < self.go_live_date
        {
            errors.push(FieldError::new(
                "completion_date",
                format!("must be on or after go-live ({})", self.go_live_date),
            ));
        }
        match ValidationErrors::from_vec(errors) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// What `roi project add` gathers; [`ProjectDraft::validate`] turns it into a [`Project`].
#[derive(Debug, Clone)]
pub struct ProjectDraft {
    /// The owning client.
    pub client_id: ClientId,
    /// Project name (required, 1–200 characters).
    pub project_name: String,
    /// Explicit id; `{client}-{name}` slug when absent.
    pub id: Option<String>,
    /// Kind of solution.
    pub solution_type: Option<String>,
    /// Status; `planning` when absent.
    pub status: Option<String>,
    /// Go-live date, `YYYY-MM-DD`.
    pub go_live_date: String,
    /// One-time investment, USD.
    pub one_time_investment: Decimal,
    /// Gross margin, percent; 100 when absent.
    pub gross_margin: Option<Decimal>,
}

impl ProjectDraft {
    /// Checks every field and reports every problem at once.
    ///
    /// # Errors
    /// [`ValidationErrors`] naming `project_name`, `project_id`, `status`, `go_live_date`,
    /// `one_time_investment` or `gross_margin`.
    pub fn validate(self) -> Result<Project, ValidationErrors> {
        let mut errors = Vec::new();
        let name = self.project_name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            errors.push(FieldError::new(
                "project_name",
                "must be 1 to 200 characters",
            ));
        }
        let id = match self.id {
            Some(id) => ProjectId::try_from(id),
            None => ProjectId::from_name(&format!("{} {}", self.client_id, name)),
        }
        .map_err(|e| errors.push(e))
        .ok();
        let status = match self.status.as_deref().map(str::parse::<ProjectStatus>) {
            None => Some(ProjectStatus::default()),
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => {
                errors.push(FieldError::new("status", e));
                None
            }
        };
        let go_live = NaiveDate::parse_from_str(self.go_live_date.trim(), "%Y-%m-%d")
            .map_err(|_| format!("'{}' is not a date in YYYY-MM-DD form", self.go_live_date))
            .and_then(crate::dates::in_window)
            .map_err(|reason| errors.push(FieldError::new("go_live_date", reason)))
            .ok();
        let investment = Money::try_from(self.one_time_investment)
            .map_err(|r| errors.push(FieldError::new("one_time_investment", r)))
            .ok();
        let margin = Percentage::try_from(self.gross_margin.unwrap_or(Decimal::ONE_HUNDRED))
            .map_err(|r| errors.push(FieldError::new("gross_margin", r)))
            .ok();
        if let Some(e) = ValidationErrors::from_vec(errors) {
            return Err(e);
        }
        match (id, status, go_live, investment, margin) {
            (Some(id), Some(status), Some(go_live_date), Some(one_time_investment), Some(gm)) => {
                Ok(Project {
                    id,
                    client_id: self.client_id,
                    project_name: name,
                    solution_type: self.solution_type.filter(|s| !s.trim().is_empty()),
                    status,
                    go_live_date,
                    one_time_investment,
                    gross_margin: gm,
                    valuation: Valuation::default(),
                    start_date: None,
                    completion_date: None,
                })
            }
            _ => Err(ValidationErrors::one("project", "incomplete")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_id_is_made_from_the_company_name() {
        assert_eq!(
            ClientId::from_name("Acme Logistics, Inc.")
                .unwrap()
                .as_str(),
            "acme-logistics-inc"
        );
        assert!(ClientId::from_name("!!!").is_err());
        assert!(ClientId::try_from("Bad Id".to_owned()).is_err());
    }

    #[test]
    fn every_bad_client_field_is_reported_at_once() {
        let err = ClientDraft {
            company_name: " ".into(),
            status: Some("sleeping".into()),
            time_zone: Some("Mars/Olympus".into()),
            report_recipients: vec!["not-an-address".into()],
            ..ClientDraft::default()
        }
        .validate()
        .unwrap_err();
        for field in [
            "company_name",
            "status",
            "time_zone",
            "report_recipients",
            "client_id",
        ] {
            assert!(err.mentions(field), "{field} missing from {err}");
        }
    }

    #[test]
    fn a_project_needs_a_real_go_live_date_and_a_non_negative_investment() {
        let err = ProjectDraft {
            client_id: "acme".parse().unwrap(),
            project_name: "Support bot".into(),
            id: None,
            solution_type: None,
            status: None,
            go_live_date: "2025-02-30".into(),
            one_time_investment: Decimal::NEGATIVE_ONE,
            gross_margin: Some(Decimal::from(120)),
        }
        .validate()
        .unwrap_err();
        assert!(err.mentions("go_live_date"));
        assert!(err.mentions("one_time_investment"));
        assert!(err.mentions("gross_margin"));
    }
}
