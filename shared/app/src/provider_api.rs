//! Pulling usage and cost reports from the providers' admin APIs (issue 17): the pages of
//! one report over a range of days are fetched one by one, following `has_more` /
//! `next_page`, retrying 429 and 5xx answers with backoff (honouring `Retry-After`), and
//! handed whole to the file imports (`crate::usage_import`, `crate::cost_import`), which
//! are idempotent: a pull run again stores nothing new.
//!
//! | provider | usage | cost | key header |
//! |---|---|---|---|
//! | Anthropic | `GET /v1/organizations/usage_report/messages` | `GET /v1/organizations/cost_report` | `x-api-key`, `anthropic-version: 2023-06-01` |
//! | OpenAI | `GET /v1/organization/usage/completions` | `GET /v1/organization/costs` | `Authorization: Bearer` |
//!
//! Both take the range as its start and its exclusive end (`starting_at`/`ending_at`,
//! RFC 3339; `start_time`/`end_time`, Unix seconds), daily buckets, and the next page's
//! cursor as `page`. The admin key is the caller's (an environment variable locally, a
//! secret on AWS) and never appears in an error or a log.

use std::time::Duration;

use chrono::{Days, NaiveDate};
use roi_domain::{ClientId, ProjectId};
use serde::Deserialize;

use crate::Store;
use crate::cost_import::{CostImportError, CostImported, import_cost};
use crate::ingest::IngestReport;
use crate::pricing::PriceTable;
use crate::usage_import::{ReportFormat, UsageImportError, import_usage};

/// The most days one pull may span (the providers' daily buckets, a quarter).
pub const MAX_PULL_DAYS: i64 = 92;
/// The most pages one pull follows, a guard against a cursor that never ends.
pub const MAX_PAGES: u32 = 500;

pub use roi_domain::ports::{AdminApi, ApiAnswer};

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// Token usage, imported as priced `ai.usage` events.
    Usage,
    /// What the provider bills, for the reconciliation.
    Cost,
}

/// How failed requests are retried: up to `attempts` tries of a request, waiting
/// `base × 2^n` (at most `cap`, or the answer's `Retry-After` when longer, at most `cap`).
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Tries of one request, 1 to 10.
    pub attempts: u32,
    /// The first wait.
    pub base: Duration,
    /// The longest wait.
    pub cap: Duration,
}

impl Default for Retry {
    /// 5 tries, 1 s doubling to 30 s.
    fn default() -> Self {
        Self {
            attempts: 5,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(30),
        }
    }
}

/// What to pull.
#[derive(Debug, Clone)]
pub struct Pull {
    /// Whose API.
    pub provider: ReportFormat,
    /// Which report.
    pub report: ReportKind,
    /// First day (UTC), inclusive.
    pub from: NaiveDate,
    /// Last day (UTC), inclusive.
    pub to: NaiveDate,
    /// The API's base URL, e.g. `https://api.anthropic.com`.
    pub base_url: String,
    /// The admin key.
    pub key: String,
}

impl std::fmt::Display for Pull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} report {} to {}",
            match self.provider {
                ReportFormat::Anthropic => "Anthropic",
                ReportFormat::OpenAi => "OpenAI",
            },
            match self.report {
                ReportKind::Usage => "usage",
                ReportKind::Cost => "cost",
            },
            self.from,
            self.to
        )
    }
}

/// Why a pull stopped.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// The range is reversed or too long.
    #[error(
        "{from} to {to}: the first day must not be after the last, and at most {MAX_PULL_DAYS} days"
    )]
    BadRange {
        /// First day.
        from: NaiveDate,
        /// Last day.
        to: NaiveDate,
    },
    /// The API refused (a 4xx other than 429, or a 429/5xx after every retry).
    #[error("the {what} API answered {status}: {message}")]
    Refused {
        /// The report pulled.
        what: String,
        /// HTTP status.
        status: u16,
        /// The API's error message (no key).
        message: String,
    },
    /// No answer.
    #[error("the {what} API could not be reached: {reason}")]
    Unreachable {
        /// The report pulled.
        what: String,
        /// The transport's words.
        reason: String,
    },
    /// A page is not the report's JSON.
    #[error("page {page} of the {what} is not a report page: {reason}")]
    Malformed {
        /// The report pulled.
        what: String,
        /// Page number, from 1.
        page: u32,
        /// The parser's words.
        reason: String,
    },
    /// The cursor did not end.
    #[error("the {0} did not end within {MAX_PAGES} pages")]
    TooManyPages(String),
    /// Importing the usage failed.
    #[error(transparent)]
    Usage(#[from] UsageImportError),
    /// Importing the costs failed.
    #[error(transparent)]
    Cost(#[from] CostImportError),
}

#[derive(Deserialize)]
struct Cursor {
    #[serde(default)]
    has_more: bool,
    #[serde(default)]
    next_page: Option<String>,
}

/// Percent-encodes a query value (RFC 3986 unreserved characters kept).
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Pull {
    fn first_url(&self) -> String {
        let end = self.to.checked_add_days(Days::new(1)).unwrap_or(self.to);
        let base = self.base_url.trim_end_matches('/');
        match (self.provider, self.report) {
            (ReportFormat::Anthropic, report) => {
                let (path, group) = match report {
                    ReportKind::Usage => ("usage_report/messages", "model"),
                    ReportKind::Cost => ("cost_report", "description"),
                };
                format!(
                    "{base}/v1/organizations/{path}?starting_at={}&ending_at={}&bucket_width=1d&group_by%5B%5D={group}&limit=31",
                    encode(&format!("{}T00:00:00Z", self.from)),
                    encode(&format!("{end}T00:00:00Z")),
                )
            }
            (ReportFormat::OpenAi, report) => {
                let (path, group) = match report {
                    ReportKind::Usage => ("usage/completions", "model"),
                    ReportKind::Cost => ("costs", "line_item"),
                };
                let unix = |d: NaiveDate| {
                    d.and_hms_opt(0, 0, 0)
                        .map_or(0, |t| t.and_utc().timestamp())
                };
                format!(
                    "{base}/v1/organization/{path}?start_time={}&end_time={}&bucket_width=1d&group_by={group}&limit=31",
                    unix(self.from),
                    unix(end),
                )
            }
        }
    }

    fn headers(&self) -> Vec<(String, String)> {
        match self.provider {
            ReportFormat::Anthropic => vec![
                ("x-api-key".into(), self.key.clone()),
                ("anthropic-version".into(), "2023-06-01".into()),
            ],
            ReportFormat::OpenAi => vec![("authorization".into(), format!("Bearer {}", self.key))],
        }
    }
}

/// The API's error message from an error body (`{"error": {"message": …}}` in both
/// APIs), or the body's first 200 characters.
fn message_of(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect())
}

/// One request, retried on 429 and 5xx.
async fn get(
    api: &dyn AdminApi,
    pull: &Pull,
    url: &str,
    retry: Retry,
) -> Result<String, PullError> {
    let headers = pull.headers();
    let what = pull.to_string();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let answer = match api.get(url, &headers).await {
            Ok(a) => a,
            Err(reason) if attempt >= retry.attempts.clamp(1, 10) => {
                return Err(PullError::Unreachable { what, reason });
            }
            Err(reason) => {
                tracing::warn!(%what, attempt, %reason, "admin API unreachable; retrying");
                ApiAnswer {
                    status: 0,
                    retry_after: None,
                    body: String::new(),
                }
            }
        };
        match answer.status {
            200..=299 => return Ok(answer.body),
            0 | 429 | 500..=599 if attempt < retry.attempts.clamp(1, 10) => {
                let exp = retry
                    .base
                    .saturating_mul(2u32.saturating_pow(attempt - 1))
                    .min(retry.cap);
                let asked = Duration::from_secs(answer.retry_after.unwrap_or(0)).min(retry.cap);
                let wait = exp.max(asked);
                tracing::info!(%what, status = answer.status, attempt, wait_ms = wait.as_millis() as u64, "admin API busy; retrying");
                tokio::time::sleep(wait).await;
            }
            status => {
                return Err(PullError::Refused {
                    what,
                    status,
                    message: message_of(&answer.body),
                });
            }
        }
    }
}

/// Fetches every page of `pull`, following the cursor; returns them as one JSON array (the
/// shape the file imports read) and how many there were.
///
/// # Errors
/// [`PullError`].
pub async fn fetch(
    api: &dyn AdminApi,
    pull: &Pull,
    retry: Retry,
) -> Result<(String, u32), PullError> {
    if pull.to < pull.from || (pull.to - pull.from).num_days() >= MAX_PULL_DAYS {
        return Err(PullError::BadRange {
            from: pull.from,
            to: pull.to,
        });
    }
    let first = pull.first_url();
    let mut url = first.clone();
    let mut pages: Vec<serde_json::Value> = Vec::new();
    loop {
        let n = u32::try_from(pages.len()).unwrap_or(u32::MAX) + 1;
        if n > MAX_PAGES {
            return Err(PullError::TooManyPages(pull.to_string()));
        }
        let body = get(api, pull, &url, retry).await?;
        let malformed = |reason: String| PullError::Malformed {
            what: pull.to_string(),
            page: n,
            reason,
        };
        let page: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| malformed(e.to_string()))?;
        let cursor: Cursor =
            serde_json::from_value(page.clone()).map_err(|e| malformed(e.to_string()))?;
        pages.push(page);
        match (cursor.has_more, cursor.next_page) {
            (true, Some(next)) if !next.is_empty() => {
                url = format!("{first}&page={}", encode(&next));
            }
            (true, _) => return Err(malformed("has_more without a next_page".into())),
            (false, _) => break,
        }
    }
    let n = u32::try_from(pages.len()).unwrap_or(u32::MAX);
    Ok((serde_json::Value::Array(pages).to_string(), n))
}

/// What a pull stored.
#[derive(Debug)]
pub enum Pulled {
    /// Usage: the ingestion's report of the events.
    Usage(IngestReport),
    /// Cost: the imported lines.
    Cost(CostImported),
}

/// Pulls a report of `client` and imports it (usage as priced events, optionally counted
/// towards `project`; cost lines for the reconciliation). Returns what was stored and the
/// number of pages read.
///
/// # Errors
/// [`PullError`].
#[allow(clippy::too_many_arguments)] // the pull, the place it goes, and how to reach it
pub async fn pull(
    store: &Store,
    api: &dyn AdminApi,
    prices: &PriceTable,
    client: &ClientId,
    project: Option<&ProjectId>,
    request: &Pull,
    retry: Retry,
    actor: &str,
) -> Result<(Pulled, u32), PullError> {
    let (pages, n) = fetch(api, request, retry).await?;
    let pulled = match request.report {
        ReportKind::Usage => Pulled::Usage(
            import_usage(
                store,
                prices,
                client,
                &pages,
                request.provider,
                project,
                actor,
            )
            .await?,
        ),
        ReportKind::Cost => {
            Pulled::Cost(import_cost(store, client, &pages, request.provider, actor).await?)
        }
    };
    Ok((pulled, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_page_asks_for_daily_buckets_of_the_range() {
        let pull = |provider, report| Pull {
            provider,
            report,
            from: "2026-11-01".parse().unwrap(),
            to: "2026-11-03".parse().unwrap(),
            base_url: "https://api.example.com/".into(),
            key: "k".into(),
        };
        assert_eq!(
            pull(ReportFormat::Anthropic, ReportKind::Usage).first_url(),
            "https://api.example.com/v1/organizations/usage_report/messages?starting_at=2026-11-01T00%3A00%3A00Z&ending_at=2026-11-04T00%3A00%3A00Z&bucket_width=1d&group_by%5B%5D=model&limit=31"
        );
        assert_eq!(
            pull(ReportFormat::OpenAi, ReportKind::Cost).first_url(),
            "https://api.example.com/v1/organization/costs?start_time=1793491200&end_time=1793750400&bucket_width=1d&group_by=line_item&limit=31"
        );
        assert_eq!(message_of(r#"{"error":{"message":"bad key"}}"#), "bad key");
    }
}
