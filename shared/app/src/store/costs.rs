//! Providers' invoiced cost lines (issue 17), as imported from their cost reports, and the
//! latest reconciliation of each day and provider.

use chrono::NaiveDate;
use roi_domain::ClientId;
use roi_domain::ports::{Condition, Item, Query, SortKey};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Store, StoreError, keys};
use crate::reconcile::ReconciledDay;

/// One line of a provider's cost report: what the provider bills for one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoicedCost {
    /// `anthropic` or `openai`.
    pub provider: String,
    /// The UTC day of the report's bucket.
    pub day: NaiveDate,
    /// The model, when the line names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// What is billed: `tokens`, `web_search`, `code_execution`, or the provider's line item.
    pub cost_type: String,
    /// For tokens, which kind (`uncached_input_tokens`, `output_tokens`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// The workspace (Anthropic) or project (OpenAI) the line belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// The provider's own description of the line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The amount, USD (Anthropic's cents converted).
    pub amount_usd: Decimal,
}

impl InvoicedCost {
    /// The key of the line: the same line of a report imported again has the same key.
    fn line_id(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            self.model.as_deref(),
            Some(self.cost_type.as_str()),
            self.token_type.as_deref(),
            self.workspace.as_deref(),
            self.description.as_deref(),
        ] {
            h.update(part.unwrap_or("-").as_bytes());
            h.update([0u8]);
        }
        hex::encode(&h.finalize()[..8])
    }
}

impl Store {
    /// Stores cost lines of a client; a line stored before under the same key (the same
    /// report imported again, or a corrected one) is replaced.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_invoiced(
        &self,
        client: &ClientId,
        lines: &[InvoicedCost],
    ) -> Result<(), StoreError> {
        for line in lines {
            let sk = keys::invoiced_cost(line.day, &line.provider, &line.line_id());
            let item = Item::from_record(keys::invoiced_costs(client), sk, line)?;
            self.table.put(item, Condition::Always).await?;
        }
        Ok(())
    }

    /// A client's cost lines of the UTC days `from..=to`, by day and provider.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn invoiced(
        &self,
        client: &ClientId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<InvoicedCost>, StoreError> {
        let (first, last) = keys::invoiced_days(from, to);
        let mut q = Query::partition(keys::invoiced_costs(client));
        q.sort = SortKey::Between(first, last);
        self.records(q).await
    }

    /// Stores a reconciliation, replacing the rows stored for the same days and providers.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn put_reconciled(
        &self,
        client: &ClientId,
        rows: &[ReconciledDay],
    ) -> Result<(), StoreError> {
        for r in rows {
            let item = Item::from_record(
                keys::client(client),
                keys::reconciled(r.day, &r.provider),
                r,
            )?;
            self.table.put(item, Condition::Always).await?;
        }
        Ok(())
    }

    /// The stored reconciliation rows of `from` and later, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Table`].
    pub async fn reconciled_since(
        &self,
        client: &ClientId,
        from: NaiveDate,
    ) -> Result<Vec<ReconciledDay>, StoreError> {
        let mut q = Query::partition(keys::client(client));
        q.sort = SortKey::Between(
            keys::reconciled(from, ""),
            format!("{}~", keys::prefix::RECONCILED),
        );
        self.records(q).await
    }
}
