//! `roi export focus`: a client's AI usage as FinOps FOCUS 1.2 CSV (issue 17).

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use roi_app::focus::{export, to_csv};
use roi_domain::ClientId;

use crate::args::{client_id, parse_date};
use crate::wiring::Ctx;

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Write a client's AI usage as FOCUS 1.2 cost-and-usage rows (CSV): one row per UTC
    /// day, project, department, agent, model and charge component, with list, contracted,
    /// effective and billed cost in USD. Load it beside your cloud bills in any FOCUS tool.
    ///
    /// Example: roi export focus --client acme --from 2026-11-01 --to 2026-11-30 --out nov.csv
    Focus(FocusArgs),
}

#[derive(Debug, Args)]
pub struct FocusArgs {
    /// The client.
    #[arg(long, value_name = "ID", value_parser = client_id)]
    client: ClientId,
    /// First UTC day, YYYY-MM-DD.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    from: NaiveDate,
    /// Last UTC day, YYYY-MM-DD (at most 92 days after --from; raw events are kept 90).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    to: NaiveDate,
    /// Write the CSV here instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Runs `roi export`. The CSV goes to `--out` or standard output; the row count, and the
/// usage events left out because no price was known, go to standard error.
pub async fn run(ctx: &Ctx, command: ExportCommand) -> Result<()> {
    let ExportCommand::Focus(args) = command;
    let store = ctx.store().await?;
    let found = export(&store, &args.client, args.from, args.to).await?;
    let csv = to_csv(&found.rows)?;
    match &args.out {
        Some(path) => {
            std::fs::write(path, csv).with_context(|| format!("cannot write {}", path.display()))?
        }
        None => print!("{csv}"),
    }
    eprintln!(
        "{} FOCUS rows for {} from {} to {}",
        found.rows.len(),
        args.client,
        args.from,
        args.to
    );
    if found.unpriced_events > 0 {
        eprintln!(
            "warning: {} usage events are not priced and were left out; add their models \
             with `roi prices --client C --set FILE`, then `roi prices --client C --reprice --from D`",
            found.unpriced_events
        );
    }
    Ok(())
}
