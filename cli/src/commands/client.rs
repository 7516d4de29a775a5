//! `roi client`: add, list, show and edit clients; show or replace their settings.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use roi_app::store::Written;
use roi_app::{privacy, settings, setup};
use roi_domain::ClientId;
use roi_domain::client::ClientDraft;

use crate::args::{Format, client_id};
use crate::wiring::{Ctx, secrets};

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Add a client; prints its id as the last line of standard output.
    Add {
        /// The company's name, as printed in reports.
        name: String,
        /// The id to use (default: made from the name, e.g. `acme-logistics`).
        #[arg(long)]
        id: Option<String>,
        /// Industry, free text.
        #[arg(long)]
        industry: Option<String>,
        /// prospect, active, completed or churned.
        #[arg(long)]
        status: Option<String>,
        /// IANA time zone whose days and months the figures use.
        #[arg(long, default_value = "UTC", value_name = "TZ")]
        time_zone: String,
        /// A report recipient's e-mail address (repeat for more).
        #[arg(long = "recipient", value_name = "EMAIL")]
        recipients: Vec<String>,
    },
    /// List every client: id, status, time zone, projects, report recipients (a table, or
    /// JSON with `--format json`).
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show a client with its projects' portfolio lines (ROI, payback, drafts and
    /// measurements waiting for review).
    Show {
        /// The client's id.
        #[arg(long, value_name = "ID", value_parser = client_id)]
        client: ClientId,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Change a client's name, industry, status, report recipients or seed 000 profile
    /// (size, revenue range, onboarding date, contract value, primary contact). The time
    /// zone, which every stored day depends on, is kept. Audited.
    ///
    /// Example: roi client edit --client acme-logistics --status active
    /// --recipient coo@acme.example --recipient cfo@acme.example
    Edit {
        /// The client's id.
        #[arg(long, value_name = "ID", value_parser = client_id)]
        client: ClientId,
        /// The company's name, as printed in reports.
        #[arg(long)]
        name: Option<String>,
        /// Industry, free text.
        #[arg(long)]
        industry: Option<String>,
        /// prospect, active, completed or churned.
        #[arg(long)]
        status: Option<String>,
        /// The report recipients' e-mail addresses, replacing the stored ones (repeat).
        #[arg(long = "recipient", value_name = "EMAIL")]
        recipients: Vec<String>,
        /// Company size, e.g. "51-200 employees".
        #[arg(long)]
        company_size: Option<String>,
        /// Annual revenue range, e.g. "USD 10-50 M".
        #[arg(long)]
        revenue_range: Option<String>,
        /// The day the client was onboarded, YYYY-MM-DD.
        #[arg(long, value_name = "DATE", value_parser = crate::args::parse_date)]
        onboarding_date: Option<chrono::NaiveDate>,
        /// The contract's value, USD.
        #[arg(long, value_name = "USD", value_parser = crate::args::parse_money)]
        contract_value: Option<roi_domain::units::Money>,
        /// The primary contact (a name, an address, or both).
        #[arg(long)]
        primary_contact: Option<String>,
    },
    /// Show a client's settings as JSON (KPI thresholds, hourly rate, alert recipients,
    /// account manager, webhooks), or replace them with `--set FILE`.
    Settings {
        /// The client's id.
        #[arg(long, value_name = "ID", value_parser = client_id)]
        client: ClientId,
        /// A JSON file of settings; fields left out keep their defaults. Each webhook's
        /// `secret` is moved to the secret store (Secrets Manager with
        /// `ROI_STORE=dynamodb`, the data directory's `secrets/` otherwise) under
        /// `$ROI_WEBHOOK_SECRET_PREFIX{client}/…` (default prefix `roi-tracker/webhooks/`,
        /// the stack output `WebhookSecretPrefix`); the settings keep only its
        /// `secret_name`, and a webhook shown with a `secret_name` keeps its secret when
        /// saved again.
        #[arg(long, value_name = "FILE")]
        set: Option<PathBuf>,
    },
    /// Write everything stored for a client into one zip archive (GDPR Art. 20): every
    /// record as JSON (`records.ndjson`: profile, settings, projects, measurements, ROI,
    /// KPIs, alerts, raw events still kept, roll-ups, invoiced costs, links, API keys,
    /// audit), the raw-event and audit archives (`archive/`), every report's PDF, CSV,
    /// XLSX and report data (`files/`), and `manifest.json`, the records by kind.
    /// Audited.
    ///
    /// Example: roi client export --client acme-logistics --out acme.zip
    Export {
        /// The client's id.
        #[arg(long, value_name = "ID", value_parser = client_id)]
        client: ClientId,
        /// The archive to write (default `{client}-export-{today}.zip`); an existing file
        /// is not replaced.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Erase one person from a client's records (GDPR Art. 17): wherever their pseudonym
    /// is stored (raw events still kept, the raw-event archive, every roll-up's users and
    /// per-user usage)
    /// it is replaced by one random anonymous token kept nowhere, so nothing leads from
    /// the person to the records while every count, cost and DAU/WAU/MAU stays the same.
    /// Lists the issued reports whose files name them. Audited, without naming them;
    /// cannot be undone. Asks for the client's id unless --yes.
    ///
    /// Example: roi client erase --client acme-logistics --user jane@acme.example
    Erase {
        /// The client's id.
        #[arg(long, value_name = "ID", value_parser = client_id)]
        client: ClientId,
        /// The person's user id as the client's systems sent it (an e-mail address, a
        /// CRM id); it is hashed here and stored nowhere.
        #[arg(long, value_name = "ID")]
        user: String,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// Anonymise a client for good (seed 000 §7.3): its name becomes a pseudonym
    /// ("Client 3f9a0c12"); report recipients, primary contact, alert recipients, account
    /// manager, webhooks and admin keys are removed; measurements' notes and review
    /// reasons are removed; issued report files (which print the name) are deleted. Every
    /// figure stays, and reports issued afterwards render under the pseudonym. The daily
    /// job does it by itself `anonymise_after_days` (settings, default 365) after the
    /// client is marked churned. Audited; cannot be undone. Asks for the client's id
    /// unless --yes.
    ///
    /// Example: roi client anonymise --client acme-logistics
    Anonymise {
        /// The client's id.
        #[arg(long, value_name = "ID", value_parser = client_id)]
        client: ClientId,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
}

/// Runs `roi client …`.
pub async fn run(ctx: &Ctx, command: ClientCommand) -> Result<()> {
    match command {
        ClientCommand::Add {
            name,
            id,
            industry,
            status,
            time_zone,
            recipients,
        } => {
            let draft = ClientDraft {
                company_name: name,
                id,
                industry,
                status,
                time_zone: Some(time_zone),
                report_recipients: recipients,
            };
            add(ctx, draft).await
        }
        ClientCommand::Settings { client, set } => settings(ctx, &client, set).await,
        ClientCommand::Export { client, out } => export(ctx, &client, out).await,
        ClientCommand::Anonymise { client, yes } => {
            let store = ctx.store().await?;
            let c = known(&store, &client).await?;
            if c.profile.anonymised_on.is_none() {
                crate::args::confirm(&format!("Anonymising {client}"), client.as_str(), yes)?;
            }
            let jobs = ctx.services(&store).await?;
            let done = privacy::anonymise_client(&store, jobs.blobs.as_deref(), &c, "cli").await?;
            if done.already {
                println!("{client} was anonymised already, as {}", done.pseudonym);
            } else {
                println!(
                    "{client} is now {}: contacts and free text removed from it and {} measurements, {} report files deleted",
                    done.pseudonym, done.measurements, done.files_removed
                );
            }
            Ok(())
        }
        ClientCommand::Erase { client, user, yes } => {
            let store = ctx.store().await?;
            let c = known(&store, &client).await?;
            crate::args::confirm(
                &format!("Erasing a person from {client}"),
                client.as_str(),
                yes,
            )?;
            let (reports, _) = ctx.report_services(&store).await?;
            let done =
                privacy::erase_user(&store, reports.blobs.as_ref(), &c, &user, "cli").await?;
            println!(
                "{client}: the person replaced by an anonymous user in {} raw events and {} daily roll-ups",
                done.events, done.rollup_days
            );
            if done.events == 0 && done.rollup_days == 0 {
                println!("  no stored record named them (erased already, or never seen)");
            }
            for r in &done.reports_naming_user {
                println!("  issued report naming them: {r} (reissue it to drop them from it)");
            }
            Ok(())
        }
        ClientCommand::List { format } => list(ctx, format).await,
        ClientCommand::Show { client, format } => show(ctx, &client, format).await,
        ClientCommand::Edit {
            client,
            name,
            industry,
            status,
            recipients,
            company_size,
            revenue_range,
            onboarding_date,
            contract_value,
            primary_contact,
        } => {
            let store = ctx.store().await?;
            let changed = setup::change_client(&store, &client, "cli", |_, d, profile| {
                if company_size.is_some() {
                    profile.company_size = company_size;
                }
                if revenue_range.is_some() {
                    profile.annual_revenue_range = revenue_range;
                }
                if onboarding_date.is_some() {
                    profile.onboarding_date = onboarding_date;
                }
                if contract_value.is_some() {
                    profile.contract_value = contract_value;
                }
                if primary_contact.is_some() {
                    profile.primary_contact = primary_contact;
                }
                if let Some(n) = name {
                    d.company_name = n;
                }
                if industry.is_some() {
                    d.industry = industry;
                }
                if status.is_some() {
                    d.status = status;
                }
                if !recipients.is_empty() {
                    d.report_recipients = recipients;
                }
            })
            .await?;
            println!("{}", serde_json::to_string_pretty(&changed)?);
            Ok(())
        }
    }
}

async fn known(store: &roi_app::Store, id: &ClientId) -> Result<roi_domain::Client> {
    store
        .client(id)
        .await?
        .with_context(|| format!("client '{id}' does not exist"))
}

/// A zip archive as the export's writer.
struct ZipExport(zip::ZipWriter<std::fs::File>);

impl privacy::ExportWriter for ZipExport {
    fn begin(&mut self, path: &str) -> std::io::Result<()> {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        self.0
            .start_file(path, options)
            .map_err(std::io::Error::other)
    }
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        std::io::Write::write_all(&mut self.0, bytes)
    }
}

async fn export(ctx: &Ctx, id: &ClientId, out: Option<PathBuf>) -> Result<()> {
    let store = ctx.store().await?;
    let client = known(&store, id).await?;
    let out = out.unwrap_or_else(|| {
        PathBuf::from(format!(
            "{id}-export-{}.zip",
            store.client_today(Some(&client))
        ))
    });
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&out)
        .with_context(|| {
            format!(
                "creating {} (an existing file is not replaced)",
                out.display()
            )
        })?;
    let (reports, _) = ctx.report_services(&store).await?;
    let mut zip = ZipExport(zip::ZipWriter::new(file));
    let written = privacy::export_client(&store, reports.blobs.as_ref(), &client, "cli", &mut zip)
        .await
        .map_err(anyhow::Error::from)
        .and_then(|done| {
            zip.0.finish().context("finishing the archive")?;
            Ok(done)
        });
    let done = match written {
        Ok(done) => done,
        Err(e) => {
            // an archive cut short is not an export: nobody should hand it over
            let _ = std::fs::remove_file(&out);
            return Err(e);
        }
    };
    let records: usize = done.records.values().sum();
    eprintln!(
        "{records} records of {} kinds and {} report files written",
        done.records.len(),
        done.files.len()
    );
    for missing in &done.missing_files {
        eprintln!("  not stored, so not in the archive: {missing}");
    }
    println!("{}", out.display());
    Ok(())
}

async fn list(ctx: &Ctx, format: Format) -> Result<()> {
    let store = ctx.store().await?;
    let clients = store.clients().await?;
    let mut rows = Vec::new();
    for c in &clients {
        let projects = store.projects_of(&c.id).await?.len();
        rows.push(serde_json::json!({
            "client_id": c.id, "company_name": c.company_name, "status": c.status,
            "time_zone": c.time_zone, "projects": projects,
            "report_recipients": c.report_recipients,
        }));
    }
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if clients.is_empty() {
        eprintln!("No client yet; add one with `roi client add`.");
        return Ok(());
    }
    println!(
        "{:<28} {:<28} {:<10} {:<20} {:>8}  recipients",
        "id", "name", "status", "time zone", "projects"
    );
    for (c, r) in clients.iter().zip(&rows) {
        println!(
            "{:<28} {:<28} {:<10} {:<20} {:>8}  {}",
            c.id.as_str(),
            c.company_name,
            c.status.as_str(),
            c.time_zone.name(),
            r["projects"].as_u64().unwrap_or(0),
            c.report_recipients.join(", ")
        );
    }
    Ok(())
}

async fn show(ctx: &Ctx, id: &ClientId, format: Format) -> Result<()> {
    let store = ctx.store().await?;
    let client = store
        .client(id)
        .await?
        .with_context(|| format!("client '{id}' does not exist"))?;
    let settings = store.settings(id).await?;
    let projects = store.summaries_of(id).await?;
    if format == Format::Json {
        let all =
            serde_json::json!({ "client": client, "settings": settings, "projects": projects });
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    println!("{} ({})", client.company_name, client.id);
    println!(
        "  status {}, time zone {}, industry {}",
        client.status.as_str(),
        client.time_zone.name(),
        client.industry.as_deref().unwrap_or("not given")
    );
    println!(
        "  reports to {}; account manager {}; reports {}",
        if client.report_recipients.is_empty() {
            "nobody yet".to_owned()
        } else {
            client.report_recipients.join(", ")
        },
        settings
            .account_manager_email
            .as_deref()
            .unwrap_or("not set"),
        if settings.auto_send_reports {
            "sent without review"
        } else {
            "reviewed before they are sent"
        }
    );
    crate::commands::project::print_summaries(&projects);
    Ok(())
}

async fn add(ctx: &Ctx, draft: ClientDraft) -> Result<()> {
    let store = ctx.store().await?;
    let (client, written) = setup::add_client(&store, draft, "cli").await?;
    eprintln!(
        "{} client {} ({})",
        if written == Written::Created {
            "Added"
        } else {
            "Already had"
        },
        client.company_name,
        client.time_zone
    );
    println!("{}", client.id);
    Ok(())
}

async fn settings(ctx: &Ctx, client: &ClientId, set: Option<PathBuf>) -> Result<()> {
    let store = ctx.store().await?;
    if store.client(client).await?.is_none() {
        bail!("client '{client}' does not exist");
    }
    if let Some(file) = set {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let new: settings::ClientSettings = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a settings file", file.display()))?;
        let prefix = std::env::var("ROI_WEBHOOK_SECRET_PREFIX")
            .unwrap_or_else(|_| settings::DEFAULT_SECRET_PREFIX.into());
        let secrets = secrets(&ctx.data_dir, ctx.on_aws()).await;
        settings::save(&store, secrets.as_ref(), &prefix, client, new).await?;
        eprintln!(
            "Stored the settings of {client}; webhook secrets are kept under {prefix}{client}/."
        );
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&store.settings(client).await?)?
    );
    Ok(())
}
