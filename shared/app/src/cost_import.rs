//! Importing the providers' cost reports (issue 17): what each provider bills, per UTC day,
//! to reconcile against the metered cost ([`crate::reconcile`]).
//!
//! - Anthropic Admin API, `GET /v1/organizations/cost_report`: buckets (`starting_at`,
//!   `ending_at`) of results with `amount` (a decimal string in the lowest currency unit:
//!   `"123.45"` in `USD` is $1.2345), `currency`, and, grouped by description, `cost_type`
//!   (`tokens`, `web_search`, `code_execution`), `token_type`, `model`, `description`, and
//!   `workspace_id`.
//! - OpenAI, `GET /v1/organization/costs`: buckets (`start_time`, `end_time`, Unix seconds)
//!   of results with `amount.value` (USD) and `amount.currency`, and, grouped, `line_item`
//!   and `project_id`.
//!
//! A page of either API is accepted as is (`{"data": [...], "has_more": …}`), or a JSON
//! array of such pages. Amounts are read as exact decimals, each within ±[`MAX_LINE_USD`]
//! (credits are negative); a file with any amount beyond is refused. Lines are stored per client,
//! provider, day, model and cost or token type; importing a report again replaces its
//! lines.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use roi_domain::ClientId;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::reconcile::{MAX_DAYS, ReconcileError, ReconciledDay, reconcile};
use crate::store::{AuditEntry, InvoicedCost, Store, StoreError};
use crate::usage_import::{ReportFormat, read_pages};

/// The largest amount one cost line may carry, either sign: 10¹² USD.
pub const MAX_LINE_USD: Decimal = roi_domain::units::MAX_MEASURED_VALUE;

/// `amount` when it is within ±[`MAX_LINE_USD`].
fn in_range(amount: Decimal, format: &'static str) -> Result<Decimal, CostImportError> {
    if amount.abs() > MAX_LINE_USD {
        return Err(CostImportError::Malformed {
            format,
            reason: format!("amount {amount} USD is beyond ±{MAX_LINE_USD} USD"),
        });
    }
    Ok(amount)
}

/// Why a cost report cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum CostImportError {
    /// The file is not a cost report of the named format.
    #[error("not {format} cost report: {reason}")]
    Malformed {
        /// "an Anthropic" or "an OpenAI".
        format: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The client is not registered.
    #[error("client '{0}' does not exist")]
    UnknownClient(ClientId),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an import stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostImported {
    /// Lines stored.
    pub lines: usize,
    /// The UTC days they cover.
    pub days: BTreeSet<NaiveDate>,
    /// Their sum, USD.
    pub total_usd: Decimal,
    /// The reconciliation of those days, stored for the alert check.
    pub reconciled: Vec<ReconciledDay>,
}

#[derive(Deserialize)]
struct AnthropicBucket {
    starting_at: DateTime<Utc>,
    results: Vec<AnthropicCost>,
}

#[derive(Deserialize)]
struct AnthropicCost {
    amount: String,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    cost_type: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    workspace_id: Option<String>,
}

#[derive(Deserialize)]
struct OpenAiBucket {
    #[serde(with = "chrono::serde::ts_seconds")]
    start_time: DateTime<Utc>,
    results: Vec<OpenAiCost>,
}

#[derive(Deserialize)]
struct OpenAiCost {
    amount: Option<OpenAiAmount>,
    #[serde(default)]
    line_item: Option<String>,
    #[serde(default)]
    project_id: Option<String>,
}

#[derive(Deserialize)]
struct OpenAiAmount {
    value: serde_json::Number,
    #[serde(default)]
    currency: Option<String>,
}

fn pages<T: for<'de> Deserialize<'de>>(
    text: &str,
    format: &'static str,
) -> Result<Vec<T>, CostImportError> {
    read_pages(text).map_err(|e| CostImportError::Malformed {
        format,
        reason: e.to_string(),
    })
}

/// Refuses a currency other than USD (amounts are compared with USD prices).
fn usd(currency: Option<&str>, format: &'static str) -> Result<(), CostImportError> {
    match currency {
        Some(c) if !c.eq_ignore_ascii_case("usd") => Err(CostImportError::Malformed {
            format,
            reason: format!("amounts in {c} cannot be compared with USD prices"),
        }),
        _ => Ok(()),
    }
}

/// Reads a cost report into lines.
///
/// # Errors
/// [`CostImportError::Malformed`] for a file of another shape, an amount that is not a
/// decimal, or a currency other than USD.
pub fn cost_lines(text: &str, format: ReportFormat) -> Result<Vec<InvoicedCost>, CostImportError> {
    match format {
        ReportFormat::Anthropic => anthropic(text),
        ReportFormat::OpenAi => openai(text),
    }
}

fn anthropic(text: &str) -> Result<Vec<InvoicedCost>, CostImportError> {
    let format = "an Anthropic";
    let mut out = Vec::new();
    for bucket in pages::<AnthropicBucket>(text, format)? {
        for r in bucket.results {
            usd(r.currency.as_deref(), format)?;
            let cents: Decimal =
                r.amount
                    .trim()
                    .parse()
                    .map_err(|_| CostImportError::Malformed {
                        format,
                        reason: format!("amount '{}' is not a decimal string", r.amount),
                    })?;
            out.push(InvoicedCost {
                provider: "anthropic".into(),
                day: bucket.starting_at.date_naive(),
                model: r.model,
                cost_type: r.cost_type.unwrap_or_else(|| "total".into()),
                token_type: r.token_type,
                workspace: r.workspace_id,
                description: r.description,
                amount_usd: in_range(cents / Decimal::ONE_HUNDRED, format)?,
            });
        }
    }
    Ok(out)
}

fn openai(text: &str) -> Result<Vec<InvoicedCost>, CostImportError> {
    let format = "an OpenAI";
    let mut out = Vec::new();
    for bucket in pages::<OpenAiBucket>(text, format)? {
        let start = bucket.start_time;
        for r in bucket.results {
            let Some(amount) = r.amount else { continue };
            usd(amount.currency.as_deref(), format)?;
            let value: Decimal = amount
                .value
                .to_string()
                .parse()
                .or_else(|_| Decimal::from_scientific(&amount.value.to_string()))
                .map_err(|_| CostImportError::Malformed {
                    format,
                    reason: format!("amount {} is not a decimal", amount.value),
                })?;
            // A line item reads "{model}, {kind}", e.g. "gpt-4o-2024-08-06, input".
            let (model, kind) = match r.line_item.as_deref().and_then(|l| l.split_once(", ")) {
                Some((m, k)) => (Some(m.to_owned()), k.to_owned()),
                None => (None, r.line_item.clone().unwrap_or_else(|| "total".into())),
            };
            out.push(InvoicedCost {
                provider: "openai".into(),
                day: start.date_naive(),
                model,
                cost_type: kind,
                token_type: None,
                workspace: r.project_id,
                description: r.line_item,
                amount_usd: in_range(value, format)?,
            });
        }
    }
    Ok(out)
}

/// Imports a cost report of `client`: stores its lines (replacing those of an earlier
/// import of the same days and lines) and audits the import.
///
/// # Errors
/// [`CostImportError`]; nothing is stored when the file does not read.
pub async fn import_cost(
    store: &Store,
    client: &ClientId,
    text: &str,
    format: ReportFormat,
    actor: &str,
) -> Result<CostImported, CostImportError> {
    if store.client(client).await?.is_none() {
        return Err(CostImportError::UnknownClient(client.clone()));
    }
    let lines = cost_lines(text, format)?;
    store.put_invoiced(client, &lines).await?;
    let days: BTreeSet<NaiveDate> = lines.iter().map(|l| l.day).collect();
    // The report's days reconciled now (usage normally arrives before the bill), in spans
    // the reconciliation accepts.
    let mut reconciled = Vec::new();
    let mut rest: Vec<NaiveDate> = days.iter().copied().collect();
    while let Some(&first) = rest.first() {
        let last = first
            .checked_add_days(chrono::Days::new(MAX_DAYS.unsigned_abs() - 1))
            .unwrap_or(NaiveDate::MAX);
        let span: Vec<NaiveDate> = rest.iter().copied().take_while(|d| *d <= last).collect();
        rest.drain(..span.len());
        let to = span.last().copied().unwrap_or(first);
        match reconcile(store, client, first, to).await {
            Ok(rows) => reconciled.extend(rows),
            Err(ReconcileError::Store(e)) => return Err(e.into()),
            Err(e) => tracing::warn!(error = %e, "the imported days were not reconciled"),
        }
    }
    let providers: BTreeSet<&str> = lines.iter().map(|l| l.provider.as_str()).collect();
    reconciled.retain(|r| providers.contains(r.provider.as_str()));
    store.put_reconciled(client, &reconciled).await?;
    let imported = CostImported {
        lines: lines.len(),
        days,
        total_usd: lines
            .iter()
            .fold(Decimal::ZERO, |sum, l| sum.saturating_add(l.amount_usd)),
        reconciled,
    };
    let entry = AuditEntry {
        at: store.clock().now(),
        action: "cost_report_imported".into(),
        actor: actor.into(),
        project_id: None,
        detail: format!(
            "{} lines over {} days, {} USD, from {}",
            imported.lines,
            imported.days.len(),
            imported.total_usd,
            format.provider()
        ),
    };
    store.audit(client, &entry).await?;
    Ok(imported)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn anthropic(amount: &str) -> Result<Vec<InvoicedCost>, CostImportError> {
        let text = format!(
            r#"{{"data":[{{"starting_at":"2026-11-18T00:00:00Z","ending_at":"2026-11-19T00:00:00Z",
               "results":[{{"amount":"{amount}","currency":"USD","cost_type":"tokens"}}]}}]}}"#
        );
        cost_lines(&text, ReportFormat::Anthropic)
    }

    fn openai(value: &str) -> Result<Vec<InvoicedCost>, CostImportError> {
        let text = format!(
            r#"{{"data":[{{"start_time":1795219200,"results":[{{"amount":{{"value":{value},"currency":"usd"}},"line_item":"gpt-4o, input"}}]}}]}}"#
        );
        cost_lines(&text, ReportFormat::OpenAi)
    }

    #[test]
    fn amounts_are_read_exactly_up_to_a_trillion_dollars_either_way() {
        // Anthropic: cents as a decimal string
        assert_eq!(anthropic("123.45").unwrap()[0].amount_usd, dec!(1.2345));
        assert_eq!(
            anthropic("100000000000000").unwrap()[0].amount_usd,
            MAX_LINE_USD
        );
        assert_eq!(
            anthropic("-100000000000000").unwrap()[0].amount_usd,
            -MAX_LINE_USD
        );
        assert!(anthropic("100000000000001").is_err());
        assert!(anthropic("1e400").is_err());
        // OpenAI: USD as a JSON number, read without a float in between
        let line = &openai("0.12288").unwrap()[0];
        assert_eq!(line.amount_usd, dec!(0.12288));
        assert_eq!(
            (line.model.as_deref(), line.cost_type.as_str()),
            (Some("gpt-4o"), "input")
        );
        assert_eq!(openai("1000000000000").unwrap()[0].amount_usd, MAX_LINE_USD);
        assert!(openai("1000000000000.01").is_err());
        assert!(openai("1e300").is_err());
        // a bucket start beyond the calendar is refused, not a panic
        let text = r#"{"data":[{"start_time":9223372036854775807,"results":[]}]}"#;
        assert!(cost_lines(text, ReportFormat::OpenAi).is_err());
    }

    #[test]
    fn another_currency_is_refused() {
        let text = r#"{"data":[{"start_time":1795219200,"results":[{"amount":{"value":1,"currency":"eur"}}]}]}"#;
        let err = cost_lines(text, ReportFormat::OpenAi)
            .unwrap_err()
            .to_string();
        assert!(err.contains("amounts in eur"), "{err}");
    }
}
