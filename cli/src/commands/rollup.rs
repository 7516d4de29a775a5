//! `roi rollup`: a client's daily roll-ups, computed from its events.

use anyhow::{Context, Result};
use clap::Args;
use roi_domain::ClientId;

use crate::args::{Format, client_id, parse_date};
use crate::wiring::Ctx;

#[derive(Debug, Args)]
pub struct RollupArgs {
    /// The client.
    #[arg(long, value_name = "ID", value_parser = client_id)]
    client: ClientId,
    /// First day, YYYY-MM-DD (default: yesterday in the client's time zone).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    from: Option<chrono::NaiveDate>,
    /// Last day (default: the first day). Days are computed oldest first, so WAU and MAU
    /// see the days before them.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    to: Option<chrono::NaiveDate>,
    /// One line per day, or every figure as JSON.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Runs `roi rollup`.
pub async fn run(ctx: &Ctx, args: &RollupArgs) -> Result<()> {
    let store = &ctx.store().await?;
    let client = &args.client;
    let profile = store
        .client(client)
        .await?
        .with_context(|| format!("client '{client}' does not exist"))?;
    let yesterday = store.client_today(Some(&profile)) - chrono::Days::new(1);
    let from = args.from.unwrap_or(yesterday);
    let to = args.to.unwrap_or(from);
    let days = roi_app::rollup::rollup_days(store, client, from, to).await?;
    match args.format {
        Format::Json => {
            let views = days
                .iter()
                .map(roi_app::rollup::RollupView::try_from)
                .collect::<Result<Vec<_>, _>>()?;
            println!("{}", serde_json::to_string_pretty(&views)?);
        }
        Format::Table => {
            println!(
                "{:<10} {:>8} {:>5} {:>5} {:>5} {:>12} {:>12}",
                "day", "events", "DAU", "WAU", "MAU", "AI cost USD", "tokens"
            );
            for r in &days {
                println!(
                    "{:<10} {:>8} {:>5} {:>5} {:>5} {:>12} {:>12}",
                    r.from,
                    r.events,
                    r.active_users(),
                    r.wau.unwrap_or(0),
                    r.mau.unwrap_or(0),
                    r.usage.cost_usd.round_dp(2),
                    r.usage.total_tokens()
                );
            }
        }
    }
    Ok(())
}
