//! The typed `data` of each event type.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The event types accepted, by their CloudEvents `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventType {
    /// `ai.usage`: one or more model calls and their tokens ([`AiUsage`]).
    #[serde(rename = "ai.usage")]
    AiUsage,
    /// `agent.execution`: one run of an agent ([`AgentExecution`]).
    #[serde(rename = "agent.execution")]
    AgentExecution,
    /// `feature.usage`: a person used a feature ([`FeatureUsage`]).
    #[serde(rename = "feature.usage")]
    FeatureUsage,
    /// `session`: a session started or ended ([`Session`]).
    #[serde(rename = "session")]
    Session,
    /// `business.outcome`: a result the business counts ([`BusinessOutcome`]).
    #[serde(rename = "business.outcome")]
    BusinessOutcome,
    /// `audit`: a security or compliance event ([`Audit`]).
    #[serde(rename = "audit")]
    Audit,
    /// `kpi.measurement`: the value of one of a project's measured KPIs
    /// ([`KpiMeasurement`], issue 18).
    #[serde(rename = "kpi.measurement")]
    KpiMeasurement,
}

impl EventType {
    /// Every type, in documentation order.
    pub const ALL: [Self; 7] = [
        Self::AiUsage,
        Self::AgentExecution,
        Self::FeatureUsage,
        Self::Session,
        Self::BusinessOutcome,
        Self::Audit,
        Self::KpiMeasurement,
    ];

    /// The CloudEvents `type` string, e.g. `ai.usage`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AiUsage => "ai.usage",
            Self::AgentExecution => "agent.execution",
            Self::FeatureUsage => "feature.usage",
            Self::Session => "session",
            Self::BusinessOutcome => "business.outcome",
            Self::Audit => "audit",
            Self::KpiMeasurement => "kpi.measurement",
        }
    }

    /// The type named `name`, if accepted.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who and where an event belongs to inside the client, borrowed from its data. Every
/// field is optional in general (some event types require some), each at most
/// [`MAX_TEXT_CHARS`](super::MAX_TEXT_CHARS) characters. `user` is the client's own user identifier; it is stored
/// only as a salted hash (ARCHITECTURE.md, Security).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attribution<'a> {
    /// The project (a `ProjectId` of this client) the event counts towards.
    pub project: Option<&'a str>,
    /// End user identifier.
    pub user: Option<&'a str>,
    /// Team.
    pub team: Option<&'a str>,
    /// Department (cost allocation, seed 004 US-016.2.1).
    pub department: Option<&'a str>,
    /// Agent identifier.
    pub agent: Option<&'a str>,
    /// Product feature.
    pub feature: Option<&'a str>,
}

/// Declares an event data struct with the attribution fields `project`, `user`, `team`,
/// `department`, `agent` and `feature` appended (no `#[serde(flatten)]`, which would buffer
/// every event and cannot refuse unknown fields).
macro_rules! event_data {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// The project (a `ProjectId` of this client) the event counts towards.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub project: Option<String>,
            /// End user identifier (stored as a salted hash).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub user: Option<String>,
            /// Team.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub team: Option<String>,
            /// Department.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub department: Option<String>,
            /// Agent identifier.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub agent: Option<String>,
            /// Product feature.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub feature: Option<String>,
        }

        impl $name {
            /// Who and where.
            pub fn attribution(&self) -> Attribution<'_> {
                Attribution {
                    project: self.project.as_deref(),
                    user: self.user.as_deref(),
                    team: self.team.as_deref(),
                    department: self.department.as_deref(),
                    agent: self.agent.as_deref(),
                    feature: self.feature.as_deref(),
                }
            }
        }
    };
}

event_data! {
/// `ai.usage` data: model calls and their tokens (seed 004 FR-016.2).
///
/// Token counts are disjoint, as in Anthropic's usage fields: `input_tokens` are the input
/// tokens read neither from nor into the prompt cache, so a token is counted in exactly one
/// of `input_tokens`, `cache_read_tokens`, `cache_write_tokens`, `cache_write_1h_tokens`.
/// (OpenAI reports cached tokens inside its input count; the OpenAI import subtracts them.)
pub struct AiUsage {
    /// Model identifier as the provider names it, e.g. `claude-sonnet-4-5`, `gpt-4.1-mini`.
    pub model: String,
    /// Uncached input tokens.
    pub input_tokens: u64,
    /// Output tokens (including reasoning tokens).
    pub output_tokens: u64,
    /// Input tokens read from the prompt cache.
    #[serde(default)]
    pub cache_read_tokens: u64,
    /// Input tokens written to the prompt cache with the default (5-minute) lifetime.
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Input tokens written to the prompt cache with a 1-hour lifetime.
    #[serde(default)]
    pub cache_write_1h_tokens: u64,
    /// Server-side web searches (Anthropic `server_tool_use.web_search_requests`), priced per
    /// 1,000 from the price table; 0–10⁹.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub web_search_requests: u64,
    /// Model calls these tokens add up over, at least 1; absent when the sender does not
    /// know (an Anthropic usage report does not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u32>,
    /// The cost the sender computed or was billed, USD; compared with ours (over 1 % apart
    /// is flagged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<Decimal>,
    /// Prompt type or template name (seed 004 US-016.2.3, expensive prompts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_type: Option<String>,
}
}

fn one() -> u32 {
    1
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// How an agent run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Finished with a result.
    Success,
    /// Finished with an error.
    Failure,
    /// Did not finish in time.
    Timeout,
}

event_data! {
/// `agent.execution` data: one run of an agent (seed 004 FR-016.3).
pub struct AgentExecution {
    /// How the run ended.
    pub outcome: Outcome,
    /// Wall-clock duration, ms.
    pub duration_ms: u64,
    /// Retries before the outcome (0 when the first attempt settled it).
    #[serde(default)]
    pub retries: u32,
    /// Error category for failures and timeouts, e.g. `rate_limit`, `invalid_input`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_category: Option<String>,
    /// A short error message, free of personal data; roll-ups keep a few per category as
    /// samples (seed 004 FR-016.3 `examples`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Quality score from user feedback, 0–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_score: Option<Decimal>,
}
}

event_data! {
/// `feature.usage` data: a person used a feature (seed 004 FR-016.1; DAU/WAU/MAU).
pub struct FeatureUsage {
    /// Times used in this event; at least 1, default 1.
    #[serde(default = "one")]
    pub count: u32,
}
}

/// Whether a session started or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionPhase {
    /// The session started at the event's `time`.
    Start,
    /// The session ended at the event's `time`.
    End,
}

event_data! {
/// `session` data: a session's start or end (seed 004 FR-016.1, engagement).
pub struct Session {
    /// The session's identifier, shared by its start and end events.
    pub session_id: String,
    /// Start or end.
    pub phase: SessionPhase,
    /// Session length, ms; required on `end`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}
}

/// What kind of business result (seed 004 FR-016.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// A sale closed.
    DealWon,
    /// A task done without a person.
    TaskAutomated,
    /// A support ticket closed.
    TicketResolved,
    /// An error caught before it cost anything.
    ErrorAvoided,
    /// Anything else; `custom_kind` names it.
    Custom,
}

event_data! {
/// `business.outcome` data: a result the business counts (seed 004 FR-016.4).
pub struct BusinessOutcome {
    /// What kind.
    pub kind: OutcomeKind,
    /// The name of a `custom` kind; required for it, refused otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_kind: Option<String>,
    /// Its value, USD, ≥ 0 (deal value, cost avoided).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_usd: Option<Decimal>,
    /// Staff time it saved, minutes, ≥ 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes_saved: Option<Decimal>,
    /// Whether the AI solution had a hand in it (seed 004 US-016.4.1, attribution).
    pub ai_assisted: bool,
    /// How many such results this event records; at least 1, default 1.
    #[serde(default = "one")]
    pub count: u32,
}
}

/// What an `audit` event records (seed 004 FR-016.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A failed sign-in.
    LoginFailed,
    /// A role or permission granted or withdrawn.
    PermissionChanged,
    /// Data exported out of the system.
    DataExport,
    /// Personal data read.
    PiiAccess,
    /// Data deleted on request (GDPR erasure).
    DataDeletion,
}

event_data! {
/// `audit` data: a security or compliance event (seed 004 FR-016.5).
pub struct Audit {
    /// What happened.
    pub action: AuditAction,
    /// Whether the action succeeded; default `success`.
    #[serde(default = "succeeded")]
    pub outcome: AuditOutcome,
    /// The kind of resource concerned, e.g. `customer_record`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// The resource's identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
}
}

event_data! {
/// `kpi.measurement` data: the value of one of a project's measured KPIs (issue 18). `project`
/// is required; the KPI must be one the project defines as measured, and the value fit
/// its unit (checked at ingestion). The value counts for the event's day in the client's
/// time zone; a later event of the same KPI and day replaces it.
pub struct KpiMeasurement {
    /// The KPI's name, e.g. `mrr`.
    pub kpi: String,
    /// The value, in the KPI's unit (|value| ≤ 10¹²).
    pub value: Decimal,
}
}

/// Whether an audited action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// It went through.
    Success,
    /// It was refused or failed.
    Failure,
}

fn succeeded() -> AuditOutcome {
    AuditOutcome::Success
}

/// An event's typed `data`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EventData {
    /// `ai.usage`.
    AiUsage(AiUsage),
    /// `agent.execution`.
    AgentExecution(AgentExecution),
    /// `feature.usage`.
    FeatureUsage(FeatureUsage),
    /// `session`.
    Session(Session),
    /// `business.outcome`.
    BusinessOutcome(BusinessOutcome),
    /// `audit`.
    Audit(Audit),
    /// `kpi.measurement`.
    KpiMeasurement(KpiMeasurement),
}

impl EventData {
    /// The event type this data belongs to.
    pub fn event_type(&self) -> EventType {
        match self {
            Self::AiUsage(_) => EventType::AiUsage,
            Self::AgentExecution(_) => EventType::AgentExecution,
            Self::FeatureUsage(_) => EventType::FeatureUsage,
            Self::Session(_) => EventType::Session,
            Self::BusinessOutcome(_) => EventType::BusinessOutcome,
            Self::Audit(_) => EventType::Audit,
            Self::KpiMeasurement(_) => EventType::KpiMeasurement,
        }
    }

    /// Who and where.
    pub fn attribution(&self) -> Attribution<'_> {
        match self {
            Self::AiUsage(d) => d.attribution(),
            Self::AgentExecution(d) => d.attribution(),
            Self::FeatureUsage(d) => d.attribution(),
            Self::Session(d) => d.attribution(),
            Self::BusinessOutcome(d) => d.attribution(),
            Self::Audit(d) => d.attribution(),
            Self::KpiMeasurement(d) => d.attribution(),
        }
    }

    /// The end user identifier, to replace (storage keeps only its salted hash).
    pub fn user_mut(&mut self) -> &mut Option<String> {
        match self {
            Self::AiUsage(d) => &mut d.user,
            Self::AgentExecution(d) => &mut d.user,
            Self::FeatureUsage(d) => &mut d.user,
            Self::Session(d) => &mut d.user,
            Self::BusinessOutcome(d) => &mut d.user,
            Self::Audit(d) => &mut d.user,
            Self::KpiMeasurement(d) => &mut d.user,
        }
    }
}
