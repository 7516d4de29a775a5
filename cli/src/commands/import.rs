//! `roi import`: measurements from seed 000's CSV templates, and providers' usage and cost
//! reports.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use roi_app::ingest::{EventStatus, IngestReport};
use roi_app::pricing::PriceTable;
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
    pub file: PathBuf,
    /// The client whose costs they are.
    #[arg(long, value_name = "ID", value_parser = client_id)]
    pub client: ClientId,
    /// Whose report it is.
    #[arg(long, value_enum)]
    pub format: ProviderArg,
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
    pub file: PathBuf,
    /// The client whose usage it is.
    #[arg(long, value_name = "ID", value_parser = client_id)]
    pub client: ClientId,
    /// Whose report it is.
    #[arg(long, value_enum)]
    pub format: ProviderArg,
    /// Count every imported event towards this project of the client.
    #[arg(long, value_name = "ID", value_parser = project_id)]
    pub project: Option<ProjectId>,
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
            let text = std::fs::read_to_string(&args.file)
                .with_context(|| format!("reading {}", args.file.display()))?;
            let imported =
                cost_import::import_cost(&store, &args.client, &text, args.format.into(), "cli")
                    .await?;
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
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let format = args.format.into();
    let report = usage_import::import_usage(
        store,
        PriceTable::shipped(),
        &args.client,
        &text,
        format,
        args.project.as_ref(),
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
