//! `roi import`: measurements from seed 000's CSV templates, and providers' usage and cost
//! reports.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use roi_app::ingest::{EventStatus, IngestReport};
use roi_app::pricing::PriceTable;
use roi_app::provider_api;
use roi_app::usage_import::{self, ReportFormat};
use roi_app::{cost_import, measurements};
use roi_domain::{ClientId, ProjectId};

use crate::args::{client_id, project_id};
use crate::output;
use crate::wiring::Ctx;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import a baseline-snapshot.csv
    /// (metric_category,metric_name,value,unit,date_captured,notes).
    Baseline {
        /// The CSV file.
        file: PathBuf,
        /// The project's id.
        #[arg(long, value_name = "ID", value_parser = project_id)]
        project: ProjectId,
    },
    /// Import a monthly-tracking.csv
    /// (measurement_date,metric_category,metric_name,value,unit,notes).
    Tracking {
        /// The CSV file.
        file: PathBuf,
        /// The project's id.
        #[arg(long, value_name = "ID", value_parser = project_id)]
        project: ProjectId,
    },
    /// Import a provider's usage report (Anthropic Admin API or OpenAI organization usage)
    /// as priced `ai.usage` events; importing it again changes nothing.
    Usage(UsageImportArgs),
    /// Import a provider's cost report (Anthropic GET /v1/organizations/cost_report, OpenAI
    /// GET /v1/organization/costs): what it bills per day, for `roi reconcile`. Importing
    /// it again replaces its lines.
    Cost(CostImportArgs),
}

#[derive(Debug, Args)]
pub struct CostImportArgs {
    /// The report, as the provider's API returned it (one page, or a JSON array of pages).
    #[arg(required_unless_present = "from_api")]
    pub file: Option<PathBuf>,
    /// The client whose costs they are.
    #[arg(long, value_name = "ID", value_parser = client_id)]
    pub client: ClientId,
    /// Whose report it is.
    #[arg(long, value_enum, alias = "provider")]
    pub format: ProviderArg,
    /// Pull it from the provider's admin API instead of a file.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `--from-api` and what it needs.
#[derive(Debug, Args)]
#[command(after_help = "\
With --from-api the report is pulled page by page from the provider's admin API (429 and
5xx answers retried with backoff) with the admin key in ROI_ANTHROPIC_ADMIN_KEY or
ROI_OPENAI_ADMIN_KEY; ROI_ANTHROPIC_API_URL and ROI_OPENAI_API_URL change where it is
asked. Pulling the same days again stores nothing new.")]
pub struct ApiArgs {
    /// Pull the report from the provider's admin API (needs --from and --to).
    #[arg(long, requires_all = ["from", "to"], conflicts_with = "file")]
    pub from_api: bool,
    /// First UTC day to pull.
    #[arg(long, value_name = "DATE", value_parser = crate::args::parse_date)]
    pub from: Option<chrono::NaiveDate>,
    /// Last UTC day to pull (at most 92 days after --from).
    #[arg(long, value_name = "DATE", value_parser = crate::args::parse_date)]
    pub to: Option<chrono::NaiveDate>,
}

/// Whose report a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    /// Anthropic Admin API (usage_report/messages, cost_report).
    Anthropic,
    /// OpenAI organization API (usage/completions, costs).
    Openai,
}

impl From<ProviderArg> for ReportFormat {
    fn from(p: ProviderArg) -> Self {
        match p {
            ProviderArg::Anthropic => ReportFormat::Anthropic,
            ProviderArg::Openai => ReportFormat::OpenAi,
        }
    }
}

#[derive(Debug, Args)]
pub struct UsageImportArgs {
    /// The report, as the provider's API returned it (one page, or a JSON array of pages).
    #[arg(required_unless_present = "from_api")]
    pub file: Option<PathBuf>,
    /// The client whose usage it is.
    #[arg(long, value_name = "ID", value_parser = client_id)]
    pub client: ClientId,
    /// Whose report it is.
    #[arg(long, value_enum, alias = "provider")]
    pub format: ProviderArg,
    /// Count every imported event towards this project of the client.
    #[arg(long, value_name = "ID", value_parser = project_id)]
    pub project: Option<ProjectId>,
    /// Pull it from the provider's admin API instead of a file.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// The admin API pull `api` asks for, with its key and URL from the environment.
fn api_pull(
    format: ProviderArg,
    report: provider_api::ReportKind,
    api: &ApiArgs,
) -> Result<Option<provider_api::Pull>> {
    let (Some(from), Some(to)) = (api.from, api.to) else {
        return Ok(None);
    };
    if !api.from_api {
        return Ok(None);
    }
    let (key_var, url_var, default_url) = match format {
        ProviderArg::Anthropic => (
            "ROI_ANTHROPIC_ADMIN_KEY",
            "ROI_ANTHROPIC_API_URL",
            "https://api.anthropic.com",
        ),
        ProviderArg::Openai => (
            "ROI_OPENAI_ADMIN_KEY",
            "ROI_OPENAI_API_URL",
            "https://api.openai.com",
        ),
    };
    let key = std::env::var(key_var)
        .ok()
        .filter(|k| !k.trim().is_empty())
        .with_context(|| format!("{key_var} holds the admin key for --from-api"))?;
    Ok(Some(provider_api::Pull {
        provider: format.into(),
        report,
        from,
        to,
        base_url: std::env::var(url_var).unwrap_or_else(|_| default_url.into()),
        key,
    }))
}

/// Pulls `pull` and imports it.
async fn pull(
    store: &roi_app::Store,
    client: &ClientId,
    project: Option<&ProjectId>,
    request: &provider_api::Pull,
) -> Result<provider_api::Pulled> {
    eprintln!("Pulling the {request}…");
    let api = roi_adapters::admin_api::HttpAdminApi::default();
    let (pulled, pages) = provider_api::pull(
        store,
        &api,
        PriceTable::shipped(),
        client,
        project,
        request,
        provider_api::Retry::default(),
        "cli",
    )
    .await?;
    eprintln!("{pages} page(s) read.");
    Ok(pulled)
}

fn read(file: &Path) -> Result<Vec<u8>> {
    std::fs::read(file).with_context(|| format!("reading {}", file.display()))
}

/// Runs `roi import …`.
pub async fn run(ctx: &Ctx, command: ImportCommand) -> Result<()> {
    let store = ctx.store().await?;
    match command {
        ImportCommand::Baseline { file, project } => {
            let imported =
                measurements::import_baseline(&store, &project, &read(&file)?, "cli").await?;
            output::print_imported(&imported);
        }
        ImportCommand::Tracking { file, project } => {
            let imported =
                measurements::import_tracking(&store, &project, &read(&file)?, "cli").await?;
            output::print_imported(&imported);
        }
        ImportCommand::Usage(args) => usage(&store, &args).await?,
        ImportCommand::Cost(args) => {
            let imported = match api_pull(args.format, provider_api::ReportKind::Cost, &args.api)? {
                Some(request) => match pull(&store, &args.client, None, &request).await? {
                    provider_api::Pulled::Cost(c) => c,
                    provider_api::Pulled::Usage(_) => anyhow::bail!("a cost pull imported usage"),
                },
                None => {
                    let file = args.file.as_deref().context("a file, or --from-api")?;
                    let text = std::fs::read_to_string(file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    cost_import::import_cost(&store, &args.client, &text, args.format.into(), "cli")
                        .await?
                }
            };
            let days: Vec<String> = imported.days.iter().map(ToString::to_string).collect();
            println!(
                "{} cost lines stored, {} USD, for {} (UTC days); compare with `roi reconcile`",
                imported.lines,
                imported.total_usd,
                days.join(", ")
            );
        }
    }
    Ok(())
}

async fn usage(store: &roi_app::Store, args: &UsageImportArgs) -> Result<()> {
    let report = match api_pull(args.format, provider_api::ReportKind::Usage, &args.api)? {
        Some(request) => match pull(store, &args.client, args.project.as_ref(), &request).await? {
            provider_api::Pulled::Usage(r) => r,
            provider_api::Pulled::Cost(_) => anyhow::bail!("a usage pull imported costs"),
        },
        None => {
            let file = args.file.as_deref().context("a file, or --from-api")?;
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            usage_import::import_usage(
                store,
                PriceTable::shipped(),
                &args.client,
                &text,
                args.format.into(),
                args.project.as_ref(),
                "cli",
            )
            .await?
        }
    };
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
