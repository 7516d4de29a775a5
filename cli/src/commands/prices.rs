//! `roi prices`: the price table `ai.usage` events are priced with, and a client's
//! negotiated prices.

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::Args;
use roi_app::pricing::{self, PriceTable};
use roi_domain::ClientId;

use crate::args::{client_id, parse_date};
use crate::wiring::Ctx;

#[derive(Debug, Args)]
pub struct PricesArgs {
    /// Show (or with `--set`, store) this client's negotiated prices on top of the table.
    #[arg(long, value_name = "ID", value_parser = client_id)]
    pub client: Option<ClientId>,
    /// Store a client's negotiated prices from a CSV file with the shipped table's columns
    /// (provider,model,input,output,cache_read,cache_write,cache_write_1h in USD per MTok,
    /// and optionally web_search in USD per 1,000 searches). They replace the client's
    /// earlier ones.
    #[arg(long, value_name = "FILE", requires = "client")]
    pub set: Option<PathBuf>,
    /// Price the client's stored usage events of --from..--to again with its current table
    /// (events of a model added since, and events priced with an older version), and
    /// restate those days' roll-ups. Running it again changes nothing.
    #[arg(long, requires_all = ["client", "from"])]
    pub reprice: bool,
    /// First client-day to reprice, YYYY-MM-DD.
    #[arg(long, value_name = "DATE", value_parser = parse_date, requires = "reprice")]
    pub from: Option<NaiveDate>,
    /// Last client-day to reprice (default: today in the client's time zone).
    #[arg(long, value_name = "DATE", value_parser = parse_date, requires = "reprice")]
    pub to: Option<NaiveDate>,
}

/// Runs `roi prices`: the shipped table needs no store; a client's prices do.
pub async fn run(ctx: &Ctx, args: &PricesArgs) -> Result<()> {
    let shipped = PriceTable::shipped();
    let table = match &args.client {
        Some(client) => {
            let store = ctx.store().await?;
            if store.client(client).await?.is_none() {
                anyhow::bail!("client '{client}' does not exist");
            }
            if let Some(file) = &args.set {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("reading {}", file.display()))?;
                let rows = pricing::read_rows(&text)
                    .with_context(|| format!("{} is not a price table", file.display()))?;
                store.put_price_overrides(client, &rows).await?;
                eprintln!("Stored {} negotiated price(s) for {client}.", rows.len());
            }
            let overrides = store.price_overrides(client).await?;
            if args.reprice
                && let Some(from) = args.from
            {
                let profile = store.client(client).await?;
                let to = args
                    .to
                    .unwrap_or_else(|| store.client_today(profile.as_ref()));
                let done = pricing::reprice(&store, client, from, to, "cli").await?;
                eprintln!(
                    "Repriced {from} to {to} ({} days): {} newly priced, {} repriced, {} still unpriced; cost changed by {} USD.",
                    done.days,
                    done.newly_priced,
                    done.repriced,
                    done.still_unpriced,
                    done.change_usd
                );
            }
            shipped.with_overrides(client.as_str(), &overrides)
        }
        None => shipped.clone(),
    };
    println!(
        "Price table {} (USD per million tokens; web search per 1,000 searches)",
        table.version
    );
    println!(
        "{:<10} {:<22} {:>8} {:>8} {:>10} {:>11} {:>14} {:>10}",
        "provider",
        "model",
        "input",
        "output",
        "cache read",
        "cache write",
        "cache write 1h",
        "web search"
    );
    for m in &table.models {
        println!(
            "{:<10} {:<22} {:>8} {:>8} {:>10} {:>11} {:>14} {:>10}",
            m.provider,
            m.model,
            m.input,
            m.output,
            m.cache_read,
            m.cache_write,
            m.cache_write_1h,
            m.web_search
        );
    }
    Ok(())
}
