//! Pricing `ai.usage` events: a versioned table of USD per million tokens (MTok), the
//! table shipped in `prices/prices.csv`, and per-client negotiated overrides on top of it
//! (issue 4; seed 004 FR-016.2, "cost calculation based on pricing tiers").
//!
//! cost_usd = (input × input_rate + output × output_rate + cache_read × cache_read_rate
//!            + cache_write × cache_write_rate + cache_write_1h × cache_write_1h_rate) / 10⁶
//!            + web_search_requests × web_search_rate / 10³
//!
//! (token rates in USD per MTok; the web search rate in USD per 1,000 searches, issue 17).
//!
//! Each token is in exactly one count ([`AiUsage`]), so prompt-cache tokens are never
//! counted twice. The arithmetic is exact in `Decimal`: no rounding is applied.

use std::sync::OnceLock;

pub use crate::store::ModelPrice;
use roi_domain::event::AiUsage;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The price table shipped with this release, as CSV.
pub const SHIPPED_CSV: &str = include_str!("../prices/prices.csv");

/// A reported `cost_usd` further than this from the computed cost is flagged, percent of
/// the computed cost (issue 4).
pub const COST_MISMATCH_PERCENT: Decimal = Decimal::ONE;

/// A priced usage event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    /// The computed cost, USD.
    pub cost_usd: Decimal,
    /// The table version it was priced with, e.g. `2026-11-30` or `2026-11-30+acme.3f9a2c1b`.
    pub price_version: String,
    /// The table row used (differs from the event's model for a dated snapshot).
    pub priced_as: String,
}

/// A price table: a version and its rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceTable {
    /// The version stored with every priced event.
    pub version: String,
    /// The rows, in file order.
    pub models: Vec<ModelPrice>,
}

/// Why a price table cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    /// A row is malformed.
    #[error("line {line}: {reason}")]
    Row {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The table has no `# version:` line (shipped tables only).
    #[error("the table has no '# version: …' line")]
    NoVersion,
    /// The table has no row.
    #[error("the table has no model")]
    Empty,
}

#[derive(Deserialize)]
struct Row {
    provider: String,
    model: String,
    // As text: the csv reader would hand numbers over as floats.
    #[serde(with = "rust_decimal::serde::str")]
    input: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    output: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    cache_read: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    cache_write: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    cache_write_1h: Decimal,
    #[serde(default, with = "rust_decimal::serde::str_option")]
    web_search: Option<Decimal>,
}

/// Reads the rows of a price CSV (header `provider,model,input,output,cache_read,
/// cache_write,cache_write_1h[,web_search]`; `#` lines are comments; without the
/// `web_search` column searches cost 0).
///
/// # Errors
/// [`PriceError::Row`] for a malformed row, a negative price or a model listed twice;
/// [`PriceError::Empty`] without rows.
pub fn read_rows(csv_text: &str) -> Result<Vec<ModelPrice>, PriceError> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(csv_text.as_bytes());
    let mut models: Vec<ModelPrice> = Vec::new();
    for record in reader.deserialize::<Row>() {
        let row = record.map_err(|e| PriceError::Row {
            line: e.position().map_or(0, |p| p.line()),
            reason: e.to_string(),
        })?;
        let line = u64::try_from(models.len()).unwrap_or(u64::MAX) + 2;
        let bad = |reason: String| PriceError::Row { line, reason };
        if row.model.is_empty() {
            return Err(bad("model is empty".into()));
        }
        let rates = [
            row.input,
            row.output,
            row.cache_read,
            row.cache_write,
            row.cache_write_1h,
            row.web_search.unwrap_or_default(),
        ];
        if rates.iter().any(Decimal::is_sign_negative) {
            return Err(bad(format!("{}: prices must not be negative", row.model)));
        }
        if models.iter().any(|m| m.model == row.model) {
            return Err(bad(format!("{} is listed twice", row.model)));
        }
        models.push(ModelPrice {
            provider: row.provider,
            model: row.model,
            input: row.input,
            output: row.output,
            cache_read: row.cache_read,
            cache_write: row.cache_write,
            cache_write_1h: row.cache_write_1h,
            web_search: row.web_search.unwrap_or_default(),
        });
    }
    if models.is_empty() {
        return Err(PriceError::Empty);
    }
    Ok(models)
}

/// Whether `suffix` (after `model-`) names a dated snapshot: `YYYYMMDD`, `YYYY-MM-DD`, or
/// `latest`.
fn is_snapshot_suffix(suffix: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match suffix.len() {
        8 => digits(suffix),
        10 => {
            let parts: Vec<&str> = suffix.split('-').collect();
            parts.len() == 3 && parts.iter().all(|p| digits(p))
        }
        _ => suffix == "latest",
    }
}

impl PriceTable {
    /// Parses a price table whose comments carry a `# version: …` line.
    ///
    /// # Errors
    /// [`PriceError`].
    pub fn from_csv(csv_text: &str) -> Result<Self, PriceError> {
        let version = csv_text
            .lines()
            .filter_map(|l| l.trim().strip_prefix('#'))
            .find_map(|l| l.trim().strip_prefix("version:"))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or(PriceError::NoVersion)?;
        Ok(Self {
            version,
            models: read_rows(csv_text)?,
        })
    }

    /// The table shipped with this release ([`SHIPPED_CSV`]).
    pub fn shipped() -> &'static Self {
        static TABLE: OnceLock<PriceTable> = OnceLock::new();
        TABLE.get_or_init(|| match Self::from_csv(SHIPPED_CSV) {
            Ok(table) => table,
            // The unit test `the_shipped_table_reads` keeps this arm unreachable.
            Err(e) => {
                tracing::error!(error = %e, "the shipped price table does not read");
                Self {
                    version: "invalid".into(),
                    models: Vec::new(),
                }
            }
        })
    }

    /// This table with a client's negotiated rows on top: an override row replaces the
    /// row of the same model or adds one. The version names the client and a digest of
    /// its rows, so every stored cost says which prices made it.
    pub fn with_overrides(&self, client: &str, overrides: &[ModelPrice]) -> Self {
        if overrides.is_empty() {
            return self.clone();
        }
        let mut models = self.models.clone();
        for o in overrides {
            match models.iter_mut().find(|m| m.model == o.model) {
                Some(m) => *m = o.clone(),
                None => models.push(o.clone()),
            }
        }
        let digest = Sha256::digest(serde_json::to_vec(overrides).unwrap_or_default());
        Self {
            version: format!("{}+{client}.{}", self.version, hex::encode(&digest[..4])),
            models,
        }
    }

    /// The row for `model`: the exact row, else the longest row of which `model` is a
    /// dated snapshot.
    pub fn find(&self, model: &str) -> Option<&ModelPrice> {
        self.models.iter().find(|m| m.model == model).or_else(|| {
            self.models
                .iter()
                .filter(|m| {
                    model
                        .strip_prefix(m.model.as_str())
                        .and_then(|rest| rest.strip_prefix('-'))
                        .is_some_and(is_snapshot_suffix)
                })
                .max_by_key(|m| m.model.len())
        })
    }

    /// Prices one usage event, or `None` for a model the table does not list (or a cost
    /// beyond the decimal range).
    pub fn price(&self, usage: &AiUsage) -> Option<Cost> {
        let row = self.find(&usage.model)?;
        // Checked: validated events (≤ 10^12 tokens each) at any sane price cannot overflow;
        // an absurd negotiated price leaves the event unpriced rather than crash.
        let micro = [
            (usage.input_tokens, row.input),
            (usage.output_tokens, row.output),
            (usage.cache_read_tokens, row.cache_read),
            (usage.cache_write_tokens, row.cache_write),
            (usage.cache_write_1h_tokens, row.cache_write_1h),
        ]
        .into_iter()
        .try_fold(Decimal::ZERO, |sum, (tokens, price)| {
            Decimal::from(tokens)
                .checked_mul(price)
                .and_then(|c| sum.checked_add(c))
        })?;
        let searches = Decimal::from(usage.web_search_requests).checked_mul(row.web_search)?;
        Some(Cost {
            cost_usd: (micro / Decimal::from(1_000_000))
                .checked_add(searches / Decimal::from(1_000))?
                .normalize(),
            price_version: self.version.clone(),
            priced_as: row.model.clone(),
        })
    }
}

/// Whether a reported cost differs from the computed one by more than
/// [`COST_MISMATCH_PERCENT`] of the computed cost (any reported cost of a free call does).
pub fn cost_mismatch(reported: Decimal, computed: Decimal) -> bool {
    if computed.is_zero() {
        return !reported.is_zero();
    }
    let gap = (reported - computed)
        .abs()
        .checked_mul(Decimal::ONE_HUNDRED);
    let allowed = computed.abs().checked_mul(COST_MISMATCH_PERCENT);
    match (gap, allowed) {
        (Some(gap), Some(allowed)) => gap > allowed,
        // a difference beyond the decimal range is certainly over 1 %
        _ => true,
    }
}

/// What [`reprice`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Repriced {
    /// Client-days read.
    pub days: usize,
    /// Events priced again with another version's prices.
    pub repriced: usize,
    /// Events that had no price and have one now.
    pub newly_priced: usize,
    /// Events whose model the table still does not list.
    pub still_unpriced: usize,
    /// New cost − old cost over the rewritten events, USD (an unpriced event counted 0).
    pub change_usd: Decimal,
}

/// Why a repricing stopped.
#[derive(Debug, thiserror::Error)]
pub enum RepriceError {
    /// The client is not registered.
    #[error("client '{0}' does not exist")]
    UnknownClient(roi_domain::ClientId),
    /// The roll-ups of the repriced days could not be restated.
    #[error(transparent)]
    Rollup(#[from] crate::rollup::RollupError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Prices a client's stored `ai.usage` events of the client-days `from..=to` again with its
/// current table (the shipped one with its negotiated prices, issue 17): events never
/// priced (a model added to the table since) and events priced with another version. The
/// days are marked changed and their roll-ups restated; the audit log says what changed.
/// Running it again changes nothing.
///
/// # Errors
/// [`RepriceError`]; the span's limits are those of the roll-up
/// ([`crate::rollup::rollup_days`]).
pub async fn reprice(
    store: &crate::Store,
    client: &roi_domain::ClientId,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    actor: &str,
) -> Result<Repriced, RepriceError> {
    if store.client(client).await?.is_none() {
        return Err(RepriceError::UnknownClient(client.clone()));
    }
    let table = PriceTable::shipped()
        .with_overrides(client.as_str(), &store.price_overrides(client).await?);
    let mut done = Repriced::default();
    let days: std::collections::BTreeSet<chrono::NaiveDate> =
        from.iter_days().take_while(|d| *d <= to).collect();
    store.mark_days_changed(client, &days).await?;
    for day in &days {
        done.days += 1;
        store
            .rewrite_events_of_day(client, *day, |event| {
                let roi_domain::event::EventData::AiUsage(usage) = &event.data else {
                    return false;
                };
                if event.cost_usd.is_some()
                    && event.price_version.as_deref() == Some(table.version.as_str())
                {
                    return false;
                }
                let Some(cost) = table.price(usage) else {
                    done.still_unpriced += 1;
                    return false;
                };
                let before = event.cost_usd.unwrap_or_default();
                if event.cost_usd.is_none() {
                    done.newly_priced += 1;
                } else {
                    done.repriced += 1;
                }
                done.change_usd = done
                    .change_usd
                    .saturating_add(cost.cost_usd.saturating_sub(before));
                event.cost_mismatch = usage
                    .cost_usd
                    .is_some_and(|reported| cost_mismatch(reported, cost.cost_usd));
                event.cost_usd = Some(cost.cost_usd);
                event.price_version = Some(cost.price_version);
                event.priced_as = Some(cost.priced_as);
                true
            })
            .await?;
    }
    crate::rollup::rollup_days(store, client, from, to).await?;
    let entry = crate::store::AuditEntry {
        at: store.clock().now(),
        action: "events_repriced".into(),
        actor: actor.into(),
        project_id: None,
        detail: format!(
            "{from} to {to} with {}: {} newly priced, {} repriced, {} still unpriced, {} USD",
            table.version, done.newly_priced, done.repriced, done.still_unpriced, done.change_usd
        ),
    };
    store.audit(client, &entry).await?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn usage(model: &str, input: u64, output: u64, read: u64, write: u64) -> AiUsage {
        serde_json::from_value(serde_json::json!({
            "model": model, "input_tokens": input, "output_tokens": output,
            "cache_read_tokens": read, "cache_write_tokens": write,
        }))
        .unwrap()
    }

    #[test]
    fn the_shipped_table_reads() {
        let table = PriceTable::from_csv(SHIPPED_CSV).unwrap();
        assert_eq!(table.version, "2026-11-30");
        assert!(table.models.iter().any(|m| m.provider == "anthropic"));
        assert!(table.models.iter().any(|m| m.provider == "openai"));
        assert_eq!(PriceTable::shipped(), &table);
    }

    #[test]
    fn each_token_kind_is_priced_at_its_own_rate() {
        // GIVEN Sonnet 4.5 at $3 input, $15 output, $0.30 cache read, $3.75 cache write
        let table = PriceTable::shipped();
        // WHEN 1,000 uncached, 500 output, 10,000 cache-read and 2,000 cache-write tokens
        let cost = table
            .price(&usage("claude-sonnet-4-5", 1_000, 500, 10_000, 2_000))
            .unwrap();
        // THEN 0.003 + 0.0075 + 0.003 + 0.0075 = 0.021 USD, no token counted twice
        assert_eq!(cost.cost_usd, dec!(0.021));
        assert_eq!(cost.price_version, "2026-11-30");
    }

    #[test]
    fn web_searches_are_priced_per_thousand() {
        // GIVEN Sonnet 4.5 with 349 web searches at $10 per 1,000 and 1,000 output tokens
        let mut u = usage("claude-sonnet-4-5", 0, 1_000, 0, 0);
        u.web_search_requests = 349;
        // THEN 0.015 + 3.49 USD
        let cost = PriceTable::shipped().price(&u).unwrap();
        assert_eq!(cost.cost_usd, dec!(3.505));
        // AND an override file without the column prices searches at 0
        let rows = read_rows(
            "provider,model,input,output,cache_read,cache_write,cache_write_1h
             anthropic,claude-sonnet-4-5,3,15,0.3,3.75,6
",
        )
        .unwrap();
        assert_eq!(rows[0].web_search, Decimal::ZERO);
    }

    #[test]
    fn dated_snapshots_match_their_model_and_nothing_else_does() {
        let table = PriceTable::shipped();
        assert_eq!(
            table.find("claude-sonnet-4-20250514").unwrap().model,
            "claude-sonnet-4"
        );
        assert_eq!(
            table.find("claude-opus-4-5-20251101").unwrap().model,
            "claude-opus-4-5"
        );
        assert_eq!(
            table.find("gpt-4o-mini-2024-07-18").unwrap().model,
            "gpt-4o-mini"
        );
        assert_eq!(table.find("gpt-4o-2024-08-06").unwrap().model, "gpt-4o");
        assert!(
            table.find("claude-opus-4-9").is_none(),
            "an unknown version is not guessed"
        );
        assert!(table.find("gpt-5-codex").is_none());
        assert!(table.price(&usage("llama-3", 1, 1, 0, 0)).is_none());
    }

    #[test]
    fn a_clients_negotiated_prices_win_and_change_the_version() {
        let rows = read_rows(
            "provider,model,input,output,cache_read,cache_write,cache_write_1h\n\
             anthropic,claude-sonnet-4-5,2.40,12.00,0.24,3.00,4.80\n\
             acme,acme-llm,1,1,0,1,1\n",
        )
        .unwrap();
        let table = PriceTable::shipped().with_overrides("acme", &rows);
        assert!(table.version.starts_with("2026-11-30+acme."));
        let cost = table
            .price(&usage("claude-sonnet-4-5", 1_000_000, 0, 0, 0))
            .unwrap();
        assert_eq!(cost.cost_usd, dec!(2.4));
        assert!(table.find("acme-llm").is_some());
        assert_eq!(
            PriceTable::shipped().with_overrides("acme", &rows).version,
            table.version,
            "the version is deterministic"
        );
    }

    #[test]
    fn bad_rows_are_named() {
        let head = "provider,model,input,output,cache_read,cache_write,cache_write_1h\n";
        let negative = format!("{head}x,m,-1,1,1,1,1\n");
        assert!(
            read_rows(&negative)
                .unwrap_err()
                .to_string()
                .contains("negative")
        );
        let twice = format!("{head}x,m,1,1,1,1,1\nx,m,1,1,1,1,1\n");
        assert!(read_rows(&twice).unwrap_err().to_string().contains("twice"));
        let text = format!("{head}x,m,one,1,1,1,1\n");
        assert!(matches!(
            read_rows(&text),
            Err(PriceError::Row { line: 2, .. })
        ));
        assert_eq!(read_rows(head), Err(PriceError::Empty));
        assert_eq!(
            PriceTable::from_csv(&format!("{head}x,m,1,1,1,1,1\n")),
            Err(PriceError::NoVersion)
        );
    }

    #[test]
    fn more_than_one_percent_apart_is_a_mismatch() {
        assert!(!cost_mismatch(dec!(1.01), dec!(1.00)));
        assert!(cost_mismatch(dec!(1.0101), dec!(1.00)));
        assert!(cost_mismatch(dec!(0.98), dec!(1.00)));
        assert!(!cost_mismatch(dec!(0), dec!(0)));
        assert!(cost_mismatch(dec!(0.01), dec!(0)));
    }
}
