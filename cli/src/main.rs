//! `roi`: the operator's command line and local runner of roi-tracker.
//!
//! Local by default: records live in a redb file under `./.roi/` (`--data-dir` or
//! `ROI_DATA_DIR` to change). With `ROI_STORE=dynamodb` the same commands use the DynamoDB
//! table named by `ROI_TABLE`, through the AWS SDK's standard configuration
//! (`AWS_REGION`, credentials, and `AWS_ENDPOINT_URL` for a local emulator).

mod args;
mod commands;
mod output;
mod wiring;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Proves, with numbers, what an AI solution is worth to the client who bought it.
///
/// Record a baseline before go-live, ongoing measurements after it, and compute ROI,
/// payback and savings from them. Start with `roi demo` to see the whole flow on sample data.
#[derive(Debug, Parser)]
#[command(name = "roi", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Where the embedded store keeps its data.
    #[arg(
        long,
        global = true,
        env = "ROI_DATA_DIR",
        default_value = ".roi",
        value_name = "DIR"
    )]
    data_dir: PathBuf,

    /// Which store to use: the embedded file store, or DynamoDB (table `ROI_TABLE`).
    #[arg(long, global = true, env = "ROI_STORE", value_enum, default_value_t = StoreKind::Embedded)]
    store: StoreKind,

    /// The DynamoDB table, with `--store dynamodb`.
    #[arg(
        long,
        global = true,
        env = "ROI_TABLE",
        default_value = "roi-tracker",
        value_name = "NAME"
    )]
    table: String,

    #[command(subcommand)]
    command: Command,
}

/// Where records live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// A redb file under the data directory.
    Embedded,
    /// DynamoDB through the AWS SDK.
    Dynamodb,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole pipeline on a sample client: its baseline and three monthly
    /// measurements from CSV, last month's measurement through the form, usage reports and a
    /// month of events through the API, roll-ups, ROI, alerts, a reminder, and the monthly
    /// and executive reports with their e-mails. Safe to run again.
    Demo,
    /// Manage clients.
    #[command(subcommand)]
    Client(commands::client::ClientCommand),
    /// Manage projects.
    #[command(subcommand)]
    Project(commands::project::ProjectCommand),
    /// Import measurements from seed 000's CSV templates.
    #[command(subcommand)]
    Import(commands::import::ImportCommand),
    /// Review and approve a project's baseline.
    #[command(subcommand)]
    Baseline(commands::baseline::BaselineCommand),
    /// Confirm or reject the measurements that need review (a field moved more than 50 %).
    #[command(subcommand)]
    Measurement(commands::measurement::MeasurementCommand),
    /// A project's own KPIs and success criteria: pick from the catalogue, set targets and
    /// zones, record values, show where each stands.
    #[command(subcommand)]
    Kpi(commands::kpi::KpiCommand),
    /// Make, list or revoke a client's read-only dashboard link (`/d/{token}`).
    #[command(name = "dashboard-link")]
    DashboardLink(commands::dashboard_link::DashboardLinkArgs),
    /// Compute a project's ROI from its approved baseline and latest measurement.
    Compute(commands::compute::ComputeArgs),
    /// Print a signed link to a self-reporting form (the URL is the last line).
    #[command(name = "form-link")]
    FormLink(commands::form_link::FormLinkArgs),
    /// Manage the API keys a client's systems send events with.
    #[command(subcommand)]
    Apikey(commands::apikey::ApiKeyCommand),
    /// Show the price table `ai.usage` events are priced with, or store a client's
    /// negotiated prices.
    Prices(commands::prices::PricesArgs),
    /// Compute a client's daily roll-ups (cost, tokens, DAU/WAU/MAU, sessions, agents,
    /// outcomes) from its events, replacing stored ones.
    Rollup(commands::rollup::RollupArgs),
    /// Compare a client's metered AI cost with its providers' cost reports (imported with
    /// `roi import cost`), per UTC day and provider, and flag days over its tolerance.
    Reconcile(commands::reconcile::ReconcileArgs),
    /// The data lifecycle: move stored user hashes to keyed pseudonyms (a client's export,
    /// erasure and anonymisation are `roi client` commands).
    #[command(subcommand)]
    Privacy(commands::privacy::PrivacyCommand),
    /// Read a client's audit entries back from the seven-year audit archive (`--from`,
    /// `--to`: UTC days), or check its hash chain (`--verify`).
    ///
    /// Example: roi audit --client acme-logistics --from 2026-01-01 --to 2026-03-31
    Audit(commands::audit::AuditArgs),
    /// Export a client's AI usage for finance tools (FOCUS 1.2 CSV).
    #[command(subcommand)]
    Export(commands::export::ExportCommand),
    /// Issue a report (PDF, CSV and XLSX) as a draft; approve it (its link is e-mailed
    /// then) or withdraw it; list a project's reports, or withdraw the links to one.
    Report(commands::report::ReportArgs),
    /// Serve the forms, `POST /v1/events`, the read endpoints, report links, the console
    /// (`/console`) and client dashboards on this machine (the routers the Lambda functions
    /// run); prints a one-time sign-in link for the local operator.
    Serve(commands::serve::ServeArgs),
    /// Prepare the configured store: with `ROI_STORE=dynamodb`, create the DynamoDB table,
    /// and the buckets `ROI_REPORTS_BUCKET`, `ROI_ARCHIVE_BUCKET` and `ROI_AUDIT_BUCKET`
    /// (with Object Lock) if they are set, when they are missing (for local emulators and
    /// first set-up).
    #[command(name = "store-init")]
    StoreInit,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ROI_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
