//! `roi client`: add a client, show or replace its settings.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use roi_app::store::Written;
use roi_app::{settings, setup};
use roi_domain::ClientId;
use roi_domain::client::ClientDraft;

use crate::args::client_id;
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
    }
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
