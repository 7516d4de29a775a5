//! FOCUS export (issue 17): a client's AI usage as FinOps FOCUS 1.2 cost-and-usage rows, so
//! a finance team loads it beside its cloud bills.
//!
//! One row per UTC day, project, department, agent, model and charge component (uncached
//! input, output, cache reads, 5-minute and 1-hour cache writes, web searches), summed from
//! the day's priced `ai.usage` events:
//!
//! - `ConsumedQuantity` in `Tokens` (web search: `Requests`); `PricingQuantity` in
//!   `1000000 Tokens` (web search: `1000 Requests`), the units the price table is in;
//! - `ListUnitPrice` and `ListCost` from the shipped (public) price table;
//!   `ContractedUnitPrice`, `ContractedCost`, `EffectiveCost` and `BilledCost` from the
//!   client's table (shipped rows with its negotiated overrides), USD, exact;
//! - `BillingAccountId`/`Name` the client, `SubAccountId`/`Name` the project,
//!   `ProviderName`, `PublisherName` and `InvoiceIssuerName` the model's provider;
//!   `ServiceCategory` `AI and Machine Learning`, `ServiceSubcategory` `Generative AI`;
//! - `Tags` a JSON object of project, department and agent, and the same as `x_Project`,
//!   `x_Department`, `x_Agent`, with `x_PriceVersion` naming the prices used.
//!
//! The rows are computed with the client's current prices: after a price change, run
//! `roi prices --reprice` first so the export and the stored costs agree. Events the price
//! table cannot price are left out and counted ([`FocusExport::unpriced_events`]): FOCUS
//! has no row for an unknown cost. Raw events are kept 90 days, so at most the last 90 days
//! can be exported ([`MAX_DAYS`] per call).
//!
//! Column definitions: FOCUS 1.2, <https://focus.finops.org/focus-specification/v1-2/>.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveTime};
use roi_domain::ClientId;
use roi_domain::event::{AiUsage, EventData};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::pricing::{ModelPrice, PriceTable};
use crate::store::{Store, StoreError};

/// The longest span one export reads: 92 days.
pub const MAX_DAYS: i64 = 92;

/// Why an export could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FocusError {
    /// The client is not registered.
    #[error("client '{0}' does not exist")]
    UnknownClient(ClientId),
    /// The span is empty or too long.
    #[error("the span {from} to {to} must run forwards and cover at most {MAX_DAYS} days")]
    BadSpan {
        /// First day.
        from: NaiveDate,
        /// Last day.
        to: NaiveDate,
    },
    /// A summed cost left the decimal range.
    #[error("the cost of {sku} on {day} is beyond the decimal range")]
    Overflow {
        /// The day.
        day: NaiveDate,
        /// The SKU.
        sku: String,
    },
    /// The CSV could not be written.
    #[error("writing the CSV failed: {0}")]
    Csv(#[from] csv::Error),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an export found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FocusExport {
    /// The rows, ordered by day, project, department, agent, model and component.
    pub rows: Vec<FocusRow>,
    /// `ai.usage` events of the span the price table could not price (left out).
    pub unpriced_events: u64,
}

/// One FOCUS 1.2 cost-and-usage row. Costs USD; empty cells are FOCUS nulls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FocusRow {
    /// = `EffectiveCost`: the provider invoices the metered usage, USD.
    pub billed_cost: Decimal,
    /// The client id.
    pub billing_account_id: String,
    /// The client's company name.
    pub billing_account_name: String,
    /// Always `USD`.
    pub billing_currency: &'static str,
    /// First instant of the charge's calendar month, UTC (`2026-11-01T00:00:00Z`).
    pub billing_period_start: String,
    /// First instant of the next month, UTC (exclusive).
    pub billing_period_end: String,
    /// Always `Usage`.
    pub charge_category: &'static str,
    /// Null: no correction rows are written.
    pub charge_class: Option<&'static str>,
    /// E.g. `claude-sonnet-4-5 cache read tokens`.
    pub charge_description: String,
    /// Always `Usage-Based`.
    pub charge_frequency: &'static str,
    /// The UTC day's end (exclusive).
    pub charge_period_end: String,
    /// The UTC day's start.
    pub charge_period_start: String,
    /// Null: no commitment discount applies to metered API usage.
    pub commitment_discount_status: Option<&'static str>,
    /// Tokens, or web searches.
    pub consumed_quantity: Decimal,
    /// `Tokens` or `Requests`.
    pub consumed_unit: &'static str,
    /// `ContractedUnitPrice` × `PricingQuantity`, USD.
    pub contracted_cost: Decimal,
    /// The client's price, USD per `PricingUnit`.
    pub contracted_unit_price: Decimal,
    /// = `ContractedCost` (no commitment discounts), USD.
    pub effective_cost: Decimal,
    /// Null: the rows are metered usage, not lines of an issued invoice.
    pub invoice_id: Option<String>,
    /// The provider, e.g. `Anthropic`.
    pub invoice_issuer_name: String,
    /// `ListUnitPrice` × `PricingQuantity`, USD.
    pub list_cost: Decimal,
    /// The public price, USD per `PricingUnit` (the client's price for a model only its
    /// own table lists).
    pub list_unit_price: Decimal,
    /// Always `Standard`.
    pub pricing_category: &'static str,
    /// `ConsumedQuantity` in `PricingUnit`s.
    pub pricing_quantity: Decimal,
    /// `1000000 Tokens` or `1000 Requests`.
    pub pricing_unit: &'static str,
    /// Always `USD`: prices are in the billing currency.
    pub pricing_currency: &'static str,
    /// = `ContractedUnitPrice` (one currency).
    pub pricing_currency_contracted_unit_price: Decimal,
    /// = `EffectiveCost` (one currency).
    pub pricing_currency_effective_cost: Decimal,
    /// = `ListUnitPrice` (one currency).
    pub pricing_currency_list_unit_price: Decimal,
    /// The provider, e.g. `Anthropic`.
    pub provider_name: String,
    /// The provider, e.g. `Anthropic`.
    pub publisher_name: String,
    /// Always `AI and Machine Learning`.
    pub service_category: &'static str,
    /// E.g. `Anthropic API`.
    pub service_name: String,
    /// Always `Generative AI`.
    pub service_subcategory: &'static str,
    /// `{model}:{component}`, e.g. `claude-sonnet-4-5:cache_read`.
    pub sku_id: String,
    /// The component, e.g. `Cache Read Tokens`.
    pub sku_meter: &'static str,
    /// `{SkuId}@{x_PriceVersion}`.
    pub sku_price_id: String,
    /// JSON: `{"component": …, "model": …}`.
    pub sku_price_details: String,
    /// The project id (empty when the events name none).
    pub sub_account_id: Option<String>,
    /// The project's name.
    pub sub_account_name: Option<String>,
    /// JSON object of the set attribution fields: `project`, `department`, `agent`.
    pub tags: String,
    /// The project id.
    #[serde(rename = "x_Project")]
    pub x_project: Option<String>,
    /// The department.
    #[serde(rename = "x_Department")]
    pub x_department: Option<String>,
    /// The agent.
    #[serde(rename = "x_Agent")]
    pub x_agent: Option<String>,
    /// The client price-table version the costs were computed with.
    #[serde(rename = "x_PriceVersion")]
    pub x_price_version: String,
}

/// A charge component of a usage event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Component {
    Input,
    Output,
    CacheRead,
    CacheWrite,
    CacheWrite1h,
    WebSearch,
}

impl Component {
    const ALL: [Self; 6] = [
        Self::Input,
        Self::Output,
        Self::CacheRead,
        Self::CacheWrite,
        Self::CacheWrite1h,
        Self::WebSearch,
    ];

    fn id(self) -> &'static str {
        match self {
            Self::Input => "input",
            Self::Output => "output",
            Self::CacheRead => "cache_read",
            Self::CacheWrite => "cache_write",
            Self::CacheWrite1h => "cache_write_1h",
            Self::WebSearch => "web_search",
        }
    }

    fn meter(self) -> &'static str {
        match self {
            Self::Input => "Input Tokens",
            Self::Output => "Output Tokens",
            Self::CacheRead => "Cache Read Tokens",
            Self::CacheWrite => "Cache Write Tokens",
            Self::CacheWrite1h => "Cache Write 1h Tokens",
            Self::WebSearch => "Web Search Requests",
        }
    }

    fn quantity(self, usage: &AiUsage) -> u64 {
        match self {
            Self::Input => usage.input_tokens,
            Self::Output => usage.output_tokens,
            Self::CacheRead => usage.cache_read_tokens,
            Self::CacheWrite => usage.cache_write_tokens,
            Self::CacheWrite1h => usage.cache_write_1h_tokens,
            Self::WebSearch => usage.web_search_requests,
        }
    }

    /// The row's price for this component, USD per pricing unit.
    fn price(self, row: &ModelPrice) -> Decimal {
        match self {
            Self::Input => row.input,
            Self::Output => row.output,
            Self::CacheRead => row.cache_read,
            Self::CacheWrite => row.cache_write,
            Self::CacheWrite1h => row.cache_write_1h,
            Self::WebSearch => row.web_search,
        }
    }

    /// Consumed units per pricing unit.
    fn per_pricing_unit(self) -> Decimal {
        match self {
            Self::WebSearch => Decimal::from(1_000),
            _ => Decimal::from(1_000_000),
        }
    }

    fn units(self) -> (&'static str, &'static str) {
        match self {
            Self::WebSearch => ("Requests", "1000 Requests"),
            _ => ("Tokens", "1000000 Tokens"),
        }
    }
}

/// The grouping of a row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Group {
    day: NaiveDate,
    project: Option<String>,
    department: Option<String>,
    agent: Option<String>,
    model: String,
    component: Component,
}

/// Exports the UTC days `from..=to` of `client` (module docs).
///
/// # Errors
/// [`FocusError`].
pub async fn export(
    store: &Store,
    client: &ClientId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<FocusExport, FocusError> {
    if to < from || (to - from).num_days() >= MAX_DAYS {
        return Err(FocusError::BadSpan { from, to });
    }
    let company = store
        .client(client)
        .await?
        .ok_or_else(|| FocusError::UnknownClient(client.clone()))?;
    let projects: BTreeMap<String, String> = store
        .projects_of(client)
        .await?
        .into_iter()
        .map(|p| (p.id.as_str().to_owned(), p.project_name))
        .collect();
    let list = PriceTable::shipped();
    let prices = list.with_overrides(client.as_str(), &store.price_overrides(client).await?);

    let mut quantities: BTreeMap<Group, u64> = BTreeMap::new();
    let mut unpriced_events = 0;
    for event in crate::reconcile::usage_of_utc_days(store, client, from, to).await? {
        let EventData::AiUsage(usage) = &event.data else {
            continue;
        };
        let Some(row) = prices.find(&usage.model) else {
            unpriced_events += 1;
            continue;
        };
        for component in Component::ALL {
            let quantity = component.quantity(usage);
            if quantity == 0 {
                continue;
            }
            let group = Group {
                day: event.time.date_naive(),
                project: usage.project.clone(),
                department: usage.department.clone(),
                agent: usage.agent.clone(),
                model: row.model.clone(),
                component,
            };
            let slot = quantities.entry(group).or_default();
            *slot = slot.saturating_add(quantity);
        }
    }
    let rows = quantities
        .into_iter()
        .map(|(group, quantity)| {
            let names = Names {
                client: client.as_str(),
                company: &company.company_name,
                project: group
                    .project
                    .as_ref()
                    .and_then(|p| projects.get(p))
                    .map(String::as_str),
            };
            focus_row(&group, quantity, list, &prices, &names)
        })
        .collect::<Result<_, _>>()?;
    Ok(FocusExport {
        rows,
        unpriced_events,
    })
}

/// The rows as FOCUS CSV, a header line first.
///
/// # Errors
/// [`FocusError::Csv`] if a row cannot be written (it cannot, into memory).
pub fn to_csv(rows: &[FocusRow]) -> Result<String, FocusError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

struct Names<'a> {
    client: &'a str,
    company: &'a str,
    project: Option<&'a str>,
}

fn focus_row(
    group: &Group,
    quantity: u64,
    list: &PriceTable,
    prices: &PriceTable,
    names: &Names<'_>,
) -> Result<FocusRow, FocusError> {
    let component = group.component;
    let sku = format!("{}:{}", group.model, component.id());
    let overflow = || FocusError::Overflow {
        day: group.day,
        sku: sku.clone(),
    };
    // `group.model` is a row of `prices`: the export found it there.
    let own = prices.find(&group.model).ok_or_else(overflow)?;
    let public = list.find(&group.model).unwrap_or(own);
    let consumed = Decimal::from(quantity);
    let pricing_quantity = consumed
        .checked_div(component.per_pricing_unit())
        .ok_or_else(overflow)?;
    let contracted_price = component.price(own);
    let list_price = component.price(public);
    let contracted = contracted_price
        .checked_mul(pricing_quantity)
        .ok_or_else(overflow)?;
    let list_cost = list_price
        .checked_mul(pricing_quantity)
        .ok_or_else(overflow)?;
    let [
        consumed,
        pricing_quantity,
        contracted_price,
        list_price,
        contracted,
        list_cost,
    ] = [
        consumed,
        pricing_quantity,
        contracted_price,
        list_price,
        contracted,
        list_cost,
    ]
    .map(decimal_cell);
    let provider = provider_name(&own.provider);
    let (consumed_unit, pricing_unit) = component.units();
    let (period_start, period_end) = month_of(group.day);
    let mut tags = serde_json::Map::new();
    for (key, value) in [
        ("project", &group.project),
        ("department", &group.department),
        ("agent", &group.agent),
    ] {
        if let Some(v) = value {
            tags.insert(key.into(), v.clone().into());
        }
    }
    let details = serde_json::json!({"component": component.id(), "model": group.model});
    Ok(FocusRow {
        billed_cost: contracted,
        billing_account_id: names.client.to_owned(),
        billing_account_name: names.company.to_owned(),
        billing_currency: "USD",
        billing_period_start: instant(period_start),
        billing_period_end: instant(period_end),
        charge_category: "Usage",
        charge_class: None,
        charge_description: format!("{} {}", group.model, component.meter().to_ascii_lowercase()),
        charge_frequency: "Usage-Based",
        charge_period_end: instant(group.day.succ_opt().unwrap_or(group.day)),
        charge_period_start: instant(group.day),
        commitment_discount_status: None,
        consumed_quantity: consumed,
        consumed_unit,
        contracted_cost: contracted,
        contracted_unit_price: contracted_price,
        effective_cost: contracted,
        invoice_id: None,
        invoice_issuer_name: provider.clone(),
        list_cost,
        list_unit_price: list_price,
        pricing_category: "Standard",
        pricing_quantity,
        pricing_unit,
        pricing_currency: "USD",
        pricing_currency_contracted_unit_price: contracted_price,
        pricing_currency_effective_cost: contracted,
        pricing_currency_list_unit_price: list_price,
        provider_name: provider.clone(),
        publisher_name: provider.clone(),
        service_category: "AI and Machine Learning",
        service_name: format!("{provider} API"),
        service_subcategory: "Generative AI",
        sku_price_id: format!("{sku}@{}", prices.version),
        sku_id: sku,
        sku_meter: component.meter(),
        sku_price_details: details.to_string(),
        sub_account_id: group.project.clone(),
        sub_account_name: group
            .project
            .as_ref()
            .map(|p| names.project.unwrap_or(p).to_owned()),
        tags: serde_json::Value::Object(tags).to_string(),
        x_project: group.project.clone(),
        x_department: group.department.clone(),
        x_agent: group.agent.clone(),
        x_price_version: prices.version.clone(),
    })
}

/// The provider's display name: `anthropic` → `Anthropic`, `openai` → `OpenAI`, others as
/// the price table spells them.
fn provider_name(provider: &str) -> String {
    match provider {
        "anthropic" => "Anthropic".into(),
        "openai" => "OpenAI".into(),
        "google" => "Google".into(),
        other => other.to_owned(),
    }
}

/// The first day of `day`'s month and of the next.
fn month_of(day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let start = day.with_day(1).unwrap_or(day);
    let end = start
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(start);
    (start, end)
}

/// `value` without trailing zeros but with a decimal point (`10800.0`, `0.0324`), so a
/// FOCUS reader types every cost and quantity column as decimal, never integer.
fn decimal_cell(value: Decimal) -> Decimal {
    let mut value = value.normalize();
    if value.scale() == 0 {
        value.rescale(1);
    }
    value
}

/// Midnight UTC of `day`, as FOCUS writes date-times.
fn instant(day: NaiveDate) -> String {
    day.and_time(NaiveTime::MIN)
        .and_utc()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_instants_are_focus_date_times() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        let (start, end) = month_of(day);
        assert_eq!(instant(start), "2026-12-01T00:00:00Z");
        assert_eq!(instant(end), "2027-01-01T00:00:00Z");
    }

    #[test]
    fn decimal_cells_always_carry_a_point() {
        let cells: Vec<String> = [Decimal::from(10_800), Decimal::new(3_240, 5), Decimal::ZERO]
            .into_iter()
            .map(|d| decimal_cell(d).to_string())
            .collect();
        assert_eq!(cells, ["10800.0", "0.0324", "0.0"]);
    }
}
