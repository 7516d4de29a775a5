//! The commands for usage and cost events: API keys, the price table, and provider usage
//! report imports.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use roi_app::Store;
use roi_app::api_keys;
use roi_app::ingest::{EventStatus, IngestReport};
use roi_app::pricing::{self, PriceTable};
use roi_app::usage_import::{self, ReportFormat};
use roi_domain::{ClientId, ProjectId};

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key for a client's systems to send events with. The key is printed
    /// once, as the last line of standard output; only its SHA-256 is stored.
    Create {
        /// The client's id.
        #[arg(long, value_name = "ID")]
        client: String,
        /// A label saying where the key is used.
        #[arg(long, default_value = "default")]
        name: String,
        /// Register this key instead of making a new one: a key kept in a secret manager,
        /// or the development key of `events/ingest-events/`.
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
    },
    /// List a client's keys (ids, names, dates; never the keys).
    List {
        /// The client's id.
        #[arg(long, value_name = "ID")]
        client: String,
    },
    /// Revoke a key by its id (the 8 hex digits after `roi_`); requests with it get 403.
    Revoke {
        /// The client's id.
        #[arg(long, value_name = "ID")]
        client: String,
        /// The key id.
        key_id: String,
    },
}

#[derive(Debug, Args)]
pub struct PricesArgs {
    /// Show (or with `--set`, store) this client's negotiated prices on top of the table.
    #[arg(long, value_name = "ID")]
    pub client: Option<String>,
    /// Store a client's negotiated prices from a CSV file with the shipped table's columns
    /// (provider,model,input,output,cache_read,cache_write,cache_write_1h; USD per MTok).
    /// They replace the client's earlier ones.
    #[arg(long, value_name = "FILE", requires = "client")]
    pub set: Option<PathBuf>,
}

/// Whose usage report a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    /// Anthropic Admin API: GET /v1/organizations/usage_report/messages.
    Anthropic,
    /// OpenAI: GET /v1/organization/usage/completions.
    Openai,
}

#[derive(Debug, Args)]
pub struct UsageImportArgs {
    /// The report, as the provider's API returned it (one page, or a JSON array of pages).
    pub file: PathBuf,
    /// The client whose usage it is.
    #[arg(long, value_name = "ID")]
    pub client: String,
    /// Whose report it is.
    #[arg(long, value_enum)]
    pub format: ProviderArg,
    /// Count every imported event towards this project of the client.
    #[arg(long, value_name = "ID")]
    pub project: Option<String>,
}

#[derive(Debug, Args)]
pub struct RollupArgs {
    /// The client.
    #[arg(long, value_name = "ID")]
    client: String,
    /// First day, YYYY-MM-DD (default: yesterday in the client's time zone).
    #[arg(long, value_name = "DATE")]
    from: Option<chrono::NaiveDate>,
    /// Last day (default: the first day). Days are computed oldest first, so WAU and MAU
    /// see the days before them.
    #[arg(long, value_name = "DATE")]
    to: Option<chrono::NaiveDate>,
    /// One line per day, or every figure as JSON.
    #[arg(long, value_enum, default_value_t = crate::args::Format::Table)]
    format: crate::args::Format,
}

pub async fn rollup(store: &Store, args: &RollupArgs) -> Result<()> {
    let client = client_id(&args.client)?;
    let profile = store
        .client(&client)
        .await?
        .with_context(|| format!("client '{client}' does not exist"))?;
    let yesterday = store.client_today(Some(&profile)) - chrono::Days::new(1);
    let from = args.from.unwrap_or(yesterday);
    let to = args.to.unwrap_or(from);
    let days = roi_app::rollup::rollup_days(store, &client, from, to).await?;
    match args.format {
        crate::args::Format::Json => {
            let views: Vec<_> = days.iter().map(roi_app::rollup::RollupView::from).collect();
            println!("{}", serde_json::to_string_pretty(&views)?);
        }
        crate::args::Format::Table => {
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

fn client_id(s: &str) -> Result<ClientId> {
    s.parse::<ClientId>()
        .map_err(|e: roi_domain::FieldError| anyhow::anyhow!("--client: {}", e.reason))
}

pub async fn apikey(store: &Store, command: ApiKeyCommand) -> Result<()> {
    match command {
        ApiKeyCommand::Create { client, name, key } => {
            let client = client_id(&client)?;
            let created = match key {
                Some(key) => api_keys::register(store, &client, &name, &key, "cli").await?,
                None => api_keys::create(store, &client, &name, "cli").await?,
            };
            eprintln!(
                "Created API key {} ({}) for client {}. Store it now: it is not shown again.",
                created.record.key_id, created.record.name, created.record.client_id
            );
            eprintln!("Send it as `Authorization: Bearer <key>` to POST /v1/events.");
            println!("{}", created.key);
        }
        ApiKeyCommand::List { client } => {
            let keys = store.api_keys_of(&client_id(&client)?).await?;
            if keys.is_empty() {
                eprintln!(
                    "Client {client} has no API key; `roi apikey create --client {client}` makes one."
                );
            }
            for k in keys {
                let state = k.revoked_at.map_or_else(
                    || "active".to_owned(),
                    |t| format!("revoked {}", t.format("%Y-%m-%d %H:%M UTC")),
                );
                println!(
                    "{}  {:<24} created {}  {state}",
                    k.key_id,
                    k.name,
                    k.created_at.format("%Y-%m-%d")
                );
            }
        }
        ApiKeyCommand::Revoke { client, key_id } => {
            let k = api_keys::revoke(store, &client_id(&client)?, &key_id, "cli").await?;
            println!(
                "Revoked API key {} ({}) of client {}.",
                k.key_id, k.name, k.client_id
            );
        }
    }
    Ok(())
}

pub async fn prices(store: Option<&Store>, args: &PricesArgs) -> Result<()> {
    let shipped = PriceTable::shipped();
    let table = match (&args.client, store) {
        (Some(client), Some(store)) => {
            let client = client_id(client)?;
            if store.client(&client).await?.is_none() {
                anyhow::bail!("client '{client}' does not exist");
            }
            if let Some(file) = &args.set {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("reading {}", file.display()))?;
                let rows = pricing::read_rows(&text)
                    .with_context(|| format!("{} is not a price table", file.display()))?;
                store.put_price_overrides(&client, &rows).await?;
                eprintln!("Stored {} negotiated price(s) for {client}.", rows.len());
            }
            let overrides = store.price_overrides(&client).await?;
            shipped.with_overrides(client.as_str(), &overrides)
        }
        _ => shipped.clone(),
    };
    println!("Price table {} (USD per million tokens)", table.version);
    println!(
        "{:<10} {:<22} {:>8} {:>8} {:>10} {:>11} {:>14}",
        "provider", "model", "input", "output", "cache read", "cache write", "cache write 1h"
    );
    for m in &table.models {
        println!(
            "{:<10} {:<22} {:>8} {:>8} {:>10} {:>11} {:>14}",
            m.provider, m.model, m.input, m.output, m.cache_read, m.cache_write, m.cache_write_1h
        );
    }
    Ok(())
}

pub async fn import_usage(store: &Store, args: &UsageImportArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let project: Option<ProjectId> = args
        .project
        .as_deref()
        .map(|p| {
            p.parse::<ProjectId>()
                .map_err(|e| anyhow::anyhow!("--project: {}", e.reason))
        })
        .transpose()?;
    let format = match args.format {
        ProviderArg::Anthropic => ReportFormat::Anthropic,
        ProviderArg::Openai => ReportFormat::OpenAi,
    };
    let report = usage_import::import_usage(
        store,
        PriceTable::shipped(),
        &client_id(&args.client)?,
        &text,
        format,
        project.as_ref(),
        "cli",
    )
    .await?;
    print_report(&report);
    if report.not_written > 0 {
        anyhow::bail!(
            "{} event(s) were not written; run the same import again",
            report.not_written
        );
    }
    Ok(())
}

fn print_report(report: &IngestReport) {
    for r in &report.results {
        let name = r.named.id.as_deref().unwrap_or("?");
        match r.status {
            EventStatus::Rejected | EventStatus::NotWritten => eprintln!(
                "  event {} ({name}): {:?} {}: {}",
                r.index,
                r.status,
                r.field.as_deref().unwrap_or(""),
                r.reason.as_deref().unwrap_or("")
            ),
            _ => {
                for w in &r.warnings {
                    eprintln!("  event {} ({name}): {w}", r.index);
                }
            }
        }
    }
    println!(
        "{} accepted, {} duplicate, {} rejected, {} not written",
        report.accepted, report.duplicate, report.rejected, report.not_written
    );
}
