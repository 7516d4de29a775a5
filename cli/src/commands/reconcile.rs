//! `roi reconcile`: a client's metered AI cost against its providers' cost reports, per
//! UTC day and provider (issue 17).

use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;
use roi_app::reconcile::{ReconciledDay, reconcile};
use roi_domain::ClientId;
use roi_domain::units::usd_cents;
use rust_decimal::Decimal;

use crate::args::{Format, client_id, parse_date};
use crate::wiring::Ctx;

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The client.
    #[arg(long, value_name = "ID", value_parser = client_id)]
    client: ClientId,
    /// First UTC day, YYYY-MM-DD.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    from: NaiveDate,
    /// Last UTC day, YYYY-MM-DD (at most 92 days after --from; raw events are kept 90).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    to: NaiveDate,
    /// A table for people, or JSON.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Runs `roi reconcile`. Days over the client's tolerance are marked `!` in the table and
/// `over_tolerance` in JSON; the command still succeeds (it reports, it does not judge).
pub async fn run(ctx: &Ctx, args: &ReconcileArgs) -> Result<()> {
    let store = ctx.store().await?;
    let rows = reconcile(&store, &args.client, args.from, args.to).await?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        Format::Table => print!("{}", table(&rows)),
    }
    Ok(())
}

/// The rows as a table, with a total line.
fn table(rows: &[ReconciledDay]) -> String {
    let money = |v: Option<Decimal>| v.map_or_else(|| "no report".into(), usd_cents);
    let mut out = format!(
        "{:<10}  {:<10}  {:>12}  {:>12}  {:>10}  {:>9}\n",
        "day", "provider", "metered", "invoiced", "variance", "%"
    );
    for r in rows {
        let provider = if r.unpriced_events > 0 {
            format!("{} ({} events)", r.provider, r.unpriced_events)
        } else {
            r.provider.clone()
        };
        out.push_str(&format!(
            "{:<10}  {:<10}  {:>12}  {:>12}  {:>10}  {:>9}{}{}\n",
            r.day,
            provider,
            usd_cents(r.metered_usd),
            money(r.invoiced_usd),
            r.variance_usd.map_or_else(String::new, usd_cents),
            r.variance_percentage
                .map_or_else(String::new, |p| format!("{p}")),
            if r.over_tolerance { "  !" } else { "" },
            if r.unmetered_usd.is_zero() {
                String::new()
            } else {
                format!(
                    "  (+{} code execution, not metered)",
                    usd_cents(r.unmetered_usd)
                )
            }
        ));
    }
    let flagged = rows.iter().filter(|r| r.over_tolerance).count();
    out.push_str(&format!(
        "{} day-provider rows; {flagged} over the client's tolerance\n",
        rows.len()
    ));
    out
}
