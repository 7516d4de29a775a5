//! `roi audit`: a client's audit entries read back from the seven-year archive, and a
//! check of the archive's hash chain (issue 20).

use anyhow::{Context, Result, bail};
use chrono::{Days, NaiveDate, Utc};
use clap::Args;
use roi_domain::ClientId;
use serde::Serialize;

use crate::args::{Format, client_id, parse_date};
use crate::wiring::Ctx;

/// The longest range read at once, days.
const MAX_DAYS: i64 = 3_660;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The client's id.
    #[arg(long, value_name = "ID", value_parser = client_id)]
    client: ClientId,
    /// The first UTC day, YYYY-MM-DD (default: 30 days before --to).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    from: Option<NaiveDate>,
    /// The last UTC day, YYYY-MM-DD (default: today).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    to: Option<NaiveDate>,
    /// Check the whole archive instead: every batch present, each batch's SHA-256 the one
    /// the batch after it names, and each batch's entries the table's. Exits non-zero on a
    /// break.
    #[arg(long)]
    verify: bool,
    /// First seal the UTC days that are over into the archive (the daily job does this).
    #[arg(long)]
    seal: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// One entry as shown, with where it was read.
#[derive(Debug, Serialize)]
struct Shown {
    #[serde(flatten)]
    entry: roi_app::store::AuditEntry,
    /// `archive`, or `table` for a day not sealed yet.
    source: &'static str,
}

/// Runs `roi audit`.
pub async fn run(ctx: &Ctx, args: &AuditArgs) -> Result<()> {
    let store = ctx.store().await?;
    if store.client(&args.client).await?.is_none() {
        bail!("client '{}' does not exist", args.client);
    }
    if !store.archives_audit() {
        bail!("no audit archive is configured: set ROI_AUDIT_BUCKET (the stack's AuditBucket)");
    }
    let today = store.clock().now().date_naive();
    if args.seal {
        let through = today.pred_opt().context("no day before today")?;
        let n = store.seal_audit(&args.client, through).await?;
        eprintln!("{n} audit batches sealed, through {through}");
    }
    if args.verify {
        return verify(&store, &args.client, args.format).await;
    }
    let to = args.to.unwrap_or(today);
    let from = match args.from {
        Some(d) => d,
        None => to.checked_sub_days(Days::new(30)).unwrap_or(to),
    };
    if from > to || (to - from).num_days() >= MAX_DAYS {
        bail!(
            "--from {from} to --to {to}: the first day must not be after the last, and at most {MAX_DAYS} days"
        );
    }
    let sealed_through = store
        .audit_head(&args.client)
        .await?
        .map(|h| h.sealed_through);
    let mut shown = Vec::new();
    let mut month_entries = std::collections::BTreeMap::new();
    for day in from.iter_days().take_while(|d| *d <= to) {
        if let Some((batch, _)) = store.audit_batch(&args.client, day).await? {
            shown.extend(batch.entries.into_iter().map(|entry| Shown {
                entry,
                source: "archive",
            }));
        } else if sealed_through.is_none_or(|s| day > s) {
            let label = day.format("%Y-%m").to_string();
            if !month_entries.contains_key(&label) {
                let entries = store.audit_entries(&args.client, &label).await?;
                month_entries.insert(label.clone(), entries);
            }
            shown.extend(
                month_entries[&label]
                    .iter()
                    .filter(|e| e.at.date_naive() == day)
                    .map(|e| Shown {
                        entry: e.clone(),
                        source: "table",
                    }),
            );
        }
    }
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&shown)?);
        return Ok(());
    }
    for s in &shown {
        let e = &s.entry;
        println!(
            "{}  {:<24} {:<12} {:<36} {}{}",
            e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            e.action,
            e.actor,
            e.project_id.as_ref().map_or("-", |p| p.as_str()),
            e.detail,
            if s.source == "table" {
                "  (not archived yet)"
            } else {
                ""
            }
        );
    }
    let archived = shown.iter().filter(|s| s.source == "archive").count();
    eprintln!(
        "{} entries from {from} to {to} (UTC days): {archived} from the archive, {} not archived yet",
        shown.len(),
        shown.len() - archived
    );
    Ok(())
}

async fn verify(store: &roi_app::Store, client: &ClientId, format: Format) -> Result<()> {
    let check = store.verify_audit(client).await?;
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&check)?);
    } else if check.batches == 0 && check.problems.is_empty() {
        println!("{client}: no audit batch sealed yet");
    } else {
        println!(
            "{client}: {} batches ({} to {}), {} entries, checked {}",
            check.batches,
            check.first_day.map_or("-".into(), |d| d.to_string()),
            check.last_day.map_or("-".into(), |d| d.to_string()),
            check.entries,
            Utc::now().format("%Y-%m-%d %H:%M UTC"),
        );
        for p in &check.problems {
            println!("  BROKEN {p}");
        }
        if check.problems.is_empty() {
            println!("  the chain is intact");
        }
    }
    if !check.problems.is_empty() {
        bail!(
            "the audit archive of {client} is broken ({} problems)",
            check.problems.len()
        );
    }
    Ok(())
}
