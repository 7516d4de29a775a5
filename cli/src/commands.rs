//! The commands: each parses its arguments, calls one use case of `roi-app`, and prints.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};
use roi_adapters::dynamodb::DynamoTable;
use roi_app::store::Written;
use roi_app::{compute, measurements, setup};
use roi_domain::client::{ClientDraft, ProjectDraft};
use roi_domain::ports::{Clock, SystemClock};
use roi_domain::{ClientId, Percentage};
use rust_decimal::Decimal;

use crate::args::{Format, parse_date, parse_percentage, project_id};
use crate::output;
use crate::wiring::{aws_config_load, local_services, open_store, secrets, signer};
use crate::{Cli, Command, StoreKind};

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
        #[arg(long, value_name = "ID")]
        client: String,
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

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Add a project to a client; prints its id as the last line of standard output.
    Add {
        /// The client's id.
        #[arg(long, value_name = "ID")]
        client: String,
        /// The project's name, as printed in reports.
        name: String,
        /// The day the AI solution went (or goes) live, YYYY-MM-DD.
        #[arg(long, value_name = "DATE")]
        go_live: String,
        /// One-time investment (build, integration, training), USD.
        #[arg(long, value_name = "USD")]
        investment: Decimal,
        /// Share of a revenue increase that is profit, percent.
        #[arg(long, default_value = "100", value_name = "PERCENT")]
        gross_margin: Decimal,
        /// The id to use (default: made from the client and the name).
        #[arg(long)]
        id: Option<String>,
        /// Kind of solution, e.g. chatbot, automation, analytics.
        #[arg(long)]
        solution_type: Option<String>,
        /// planning, development, testing, deployed or completed.
        #[arg(long)]
        status: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import a baseline-snapshot.csv
    /// (metric_category,metric_name,value,unit,date_captured,notes).
    Baseline {
        /// The CSV file.
        file: PathBuf,
        /// The project's id.
        #[arg(long, value_name = "ID")]
        project: String,
    },
    /// Import a monthly-tracking.csv
    /// (measurement_date,metric_category,metric_name,value,unit,notes).
    Tracking {
        /// The CSV file.
        file: PathBuf,
        /// The project's id.
        #[arg(long, value_name = "ID")]
        project: String,
    },
    /// Import a provider's usage report (Anthropic Admin API or OpenAI organization usage)
    /// as priced `ai.usage` events; importing it again changes nothing.
    Usage(crate::usage::UsageImportArgs),
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Approve the project's submitted baseline; it is then locked and used for ROI.
    Approve {
        /// The project's id.
        #[arg(long, value_name = "ID")]
        project: String,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["project", "from"])))]
pub struct ComputeArgs {
    /// The project's id: compute one ROI.
    #[arg(long, value_name = "ID")]
    project: Option<String>,
    /// Backfill from this day: roll up every day to `--to`, then compute every project's
    /// ROI periods as of `--to` (all clients, or `--client`).
    #[arg(long, value_name = "DATE", value_parser = parse_date, requires = "to", conflicts_with_all = ["project", "as_of", "months"])]
    from: Option<NaiveDate>,
    /// Last day of the backfill.
    #[arg(long, value_name = "DATE", value_parser = parse_date, requires = "from")]
    to: Option<NaiveDate>,
    /// Backfill this client only.
    #[arg(long, value_name = "ID", requires = "from")]
    client: Option<String>,
    /// Compute as of this day, YYYY-MM-DD (default: today in the client's time zone).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    as_of: Option<NaiveDate>,
    /// Months analysed (default: whole months since go-live, at least 1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=600))]
    months: Option<u32>,
    /// Annual discount rate for the NPV, percent (default 10).
    #[arg(long, value_name = "PERCENT", value_parser = parse_percentage)]
    discount_rate: Option<Percentage>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Args)]
pub struct FormLinkArgs {
    /// The project the form writes to (and the only one it can write to).
    #[arg(long, value_name = "ID")]
    project: String,
    /// Which measurement: baseline (before go-live) or ongoing.
    #[arg(long, value_enum)]
    kind: KindArg,
    /// The measurement's due date, YYYY-MM-DD; it becomes the measurement's date
    /// (default: the person enters the date).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    due: Option<NaiveDate>,
    /// How long the link works: 90m, 36h, 14d, 2w.
    #[arg(long, default_value = "14d", value_parser = roi_app::form_link::parse_validity)]
    expires: chrono::Duration,
    /// Where the forms are served.
    #[arg(
        long,
        env = "ROI_BASE_URL",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    base_url: String,
}

/// Which form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// Before go-live.
    Baseline,
    /// After go-live.
    Ongoing,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The port to listen on (0: any free port, announced on standard error).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// The address to listen on (loopback by default; use 0.0.0.0 to let other machines in).
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Do not run the schedules (the daily job every hour, the alert check every 5
    /// minutes; e-mail goes to `<data dir>/outbox/`).
    #[arg(long)]
    no_schedule: bool,
}

/// The schedules of the `compute-roi` and `generate-report` functions, in-process: every
/// hour the daily job (every step is idempotent, so hourly keeps a laptop's figures fresh)
/// then the report job of each kind (each issues only what is due); the alert check every
/// 5 minutes.
async fn schedule(services: roi_app::jobs::Services, reports: roi_app::reports::ReportServices) {
    use roi_app::jobs::{Job, run};
    let mut daily = tokio::time::interval(std::time::Duration::from_secs(3600));
    let mut alerts = tokio::time::interval(std::time::Duration::from_secs(300));
    loop {
        let hourly = tokio::select! {
            _ = daily.tick() => true,
            _ = alerts.tick() => false,
        };
        let job = if hourly {
            Job::Daily {
                date: None,
                client: None,
            }
        } else {
            Job::AlertCheck { client: None }
        };
        if let Err(e) = run(&services, &job).await {
            tracing::warn!(error = %e, "scheduled job failed");
        }
        if hourly {
            for kind in roi_app::reports::ReportKind::ALL {
                let payload = serde_json::json!({"job": "reports", "kind": kind});
                let renderer = roi_reports::TypstRenderer;
                if let Err(e) = roi_app::reports::run(&reports, &renderer, payload).await {
                    tracing::warn!(error = %e, "scheduled report job failed");
                }
            }
        }
    }
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> Result<()> {
    if matches!(cli.command, Command::StoreInit) {
        return store_init(&cli).await;
    }
    let data_dir = cli.data_dir.clone();
    if let Command::FormLink(args) = &cli.command {
        return form_link(&cli, args).await;
    }
    if let Command::Prices(args) = &cli.command
        && args.client.is_none()
    {
        // The shipped table needs no store.
        return crate::usage::prices(None, args).await;
    }
    let store = open_store(&cli).await?;
    match cli.command {
        Command::Demo => {
            crate::demo::run(&store, &data_dir, matches!(cli.store, StoreKind::Dynamodb)).await
        }
        Command::Client(ClientCommand::Add {
            name,
            id,
            industry,
            status,
            time_zone,
            recipients,
        }) => {
            let draft = ClientDraft {
                company_name: name,
                id,
                industry,
                status,
                time_zone: Some(time_zone),
                report_recipients: recipients,
            };
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
        Command::Client(ClientCommand::Settings { client, set }) => {
            let client: ClientId = client
                .parse()
                .map_err(|e: roi_domain::FieldError| anyhow::anyhow!("--client: {}", e.reason))?;
            if store.client(&client).await?.is_none() {
                bail!("client '{client}' does not exist");
            }
            if let Some(file) = set {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
                let settings: roi_app::settings::ClientSettings = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a settings file", file.display()))?;
                let prefix = std::env::var("ROI_WEBHOOK_SECRET_PREFIX")
                    .unwrap_or_else(|_| roi_app::settings::DEFAULT_SECRET_PREFIX.into());
                let on_aws = matches!(cli.store, StoreKind::Dynamodb);
                let secrets = secrets(&data_dir, on_aws).await;
                roi_app::settings::save(&store, secrets.as_ref(), &prefix, &client, settings)
                    .await?;
                eprintln!(
                    "Stored the settings of {client}; webhook secrets are kept under {prefix}{client}/."
                );
            }
            println!(
                "{}",
                serde_json::to_string_pretty(&store.settings(&client).await?)?
            );
            Ok(())
        }
        Command::Project(ProjectCommand::Add {
            client,
            name,
            go_live,
            investment,
            gross_margin,
            id,
            solution_type,
            status,
        }) => {
            let client_id: ClientId = client
                .parse()
                .map_err(|e: roi_domain::FieldError| anyhow::anyhow!("--client: {}", e.reason))?;
            let draft = ProjectDraft {
                client_id,
                project_name: name,
                id,
                solution_type,
                status,
                go_live_date: go_live,
                one_time_investment: investment,
                gross_margin: Some(gross_margin),
            };
            let (project, written) = setup::add_project(&store, draft, "cli").await?;
            eprintln!(
                "{} project {} (go-live {}, investment {})",
                if written == Written::Created {
                    "Added"
                } else {
                    "Already had"
                },
                project.project_name,
                project.go_live_date,
                project.one_time_investment
            );
            println!("{}", project.id);
            Ok(())
        }
        Command::Import(ImportCommand::Baseline { file, project }) => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let imported =
                measurements::import_baseline(&store, &project_id(&project)?, &bytes, "cli")
                    .await?;
            output::print_imported(&imported);
            Ok(())
        }
        Command::Import(ImportCommand::Tracking { file, project }) => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let imported =
                measurements::import_tracking(&store, &project_id(&project)?, &bytes, "cli")
                    .await?;
            output::print_imported(&imported);
            Ok(())
        }
        Command::Import(ImportCommand::Usage(args)) => {
            crate::usage::import_usage(&store, &args).await
        }
        Command::Apikey(command) => crate::usage::apikey(&store, command).await,
        Command::Prices(args) => crate::usage::prices(Some(&store), &args).await,
        Command::Rollup(args) => crate::usage::rollup(&store, &args).await,
        Command::Baseline(BaselineCommand::Approve { project }) => {
            let b = measurements::approve_baseline(&store, &project_id(&project)?, "cli").await?;
            println!(
                "Approved baseline {} of {}; it is now locked.",
                b.id(),
                b.measured_on()
            );
            Ok(())
        }
        Command::Compute(args) => {
            if let (Some(from), Some(to)) = (args.from, args.to) {
                let client = args
                    .client
                    .as_deref()
                    .map(str::parse::<ClientId>)
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--client: {}", e.reason))?;
                let services =
                    local_services(&store, &data_dir, matches!(cli.store, StoreKind::Dynamodb))
                        .await?;
                let job = roi_app::jobs::Job::Backfill { from, to, client };
                let report = roi_app::jobs::run(&services, &job).await?;
                println!("{}", serde_json::to_string_pretty(&report)?);
                if !report.failures.is_empty() {
                    bail!("{} step(s) failed; see above", report.failures.len());
                }
                return Ok(());
            }
            let project = args.project.as_deref().unwrap_or_default();
            let roi = compute::compute_roi(
                &store,
                &project_id(project)?,
                compute::ComputeRequest {
                    as_of: args.as_of,
                    months: args.months,
                    annual_discount_rate: args.discount_rate,
                },
            )
            .await?;
            match args.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&roi)?),
                Format::Table => print!("{}", output::roi_table(&roi)),
            }
            Ok(())
        }
        Command::FormLink(_) => bail!("handled above"),
        Command::Report(args) => {
            crate::reports::report(
                &store,
                &data_dir,
                matches!(cli.store, StoreKind::Dynamodb),
                &args,
            )
            .await
        }
        Command::Serve(args) => {
            let state = std::sync::Arc::new(roi_app::web::AppState {
                store: store.clone(),
                signer: signer(&data_dir)?,
                on_change: std::sync::Arc::new(roi_app::forms::RecomputeNow(store.clone())),
            });
            let events = std::sync::Arc::new(roi_app::events_api::EventsState {
                store: store.clone(),
                prices: roi_app::pricing::PriceTable::shipped().clone(),
            });
            let (report_services, local_blobs) = crate::reports::services(
                &store,
                &data_dir,
                matches!(cli.store, StoreKind::Dynamodb),
            )
            .await?;
            let app = roi_app::web::router(state)
                .merge(roi_app::events_api::router(events))
                .merge(crate::reports::router(&report_services, local_blobs));
            let address = std::net::SocketAddr::new(args.host, args.port);
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("listening on {address}"))?;
            let bound = listener.local_addr()?;
            eprintln!(
                "roi serve: listening on http://{bound} (forms at /forms/{{token}}, events at POST /v1/events){}; Ctrl-C stops",
                if args.no_schedule {
                    ""
                } else {
                    ", schedules running"
                }
            );
            // After the announcement: its line is the first a supervising process reads.
            if !args.no_schedule {
                let services =
                    local_services(&store, &data_dir, matches!(cli.store, StoreKind::Dynamodb))
                        .await?;
                tokio::spawn(async move { schedule(services, report_services).await });
            }
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
            Ok(())
        }
        Command::StoreInit => bail!("handled above"),
    }
}

/// Signs a form link. The project is checked when the store can be opened; the embedded
/// store is locked while `roi serve` runs, and then the link is signed unchecked, with a
/// warning, because signing needs only the secret.
async fn form_link(cli: &Cli, args: &FormLinkArgs) -> Result<()> {
    let project = project_id(&args.project)?;
    let clock = SystemClock;
    match open_store(cli).await {
        Ok(store) => {
            let p = store
                .project(&project)
                .await?
                .with_context(|| format!("project '{project}' does not exist"))?;
            eprintln!("Form for {} ({})", p.project_name, p.id);
        }
        Err(e) => {
            eprintln!("warning: project '{project}' not checked ({e:#}); is `roi serve` running?")
        }
    }
    let kind = match args.kind {
        KindArg::Baseline => roi_domain::SnapshotKind::Baseline,
        KindArg::Ongoing => roi_domain::SnapshotKind::Ongoing,
    };
    let expires_at = clock.now() + args.expires;
    let claims = roi_app::form_link::FormSigner::claims(project, kind, args.due, expires_at)
        .map_err(|e| anyhow::anyhow!("no randomness for a nonce: {e}"))?;
    let token = signer(&cli.data_dir)?.sign(&claims);
    eprintln!(
        "{kind} form, valid until {}",
        expires_at.format("%Y-%m-%d %H:%M UTC")
    );
    println!("{}/forms/{token}", args.base_url.trim_end_matches('/'));
    Ok(())
}

async fn store_init(cli: &Cli) -> Result<()> {
    match cli.store {
        StoreKind::Embedded => {
            open_store(cli).await?;
            println!(
                "Embedded store ready at {}",
                cli.data_dir.join("roi.redb").display()
            );
        }
        StoreKind::Dynamodb => {
            let config = aws_config_load().await;
            let table = DynamoTable::new(
                aws_sdk_dynamodb::Client::new(&config),
                &cli.table,
                Arc::new(SystemClock),
            );
            table.create_if_missing().await?;
            println!("DynamoDB table {} ready", cli.table);
            if let Ok(bucket) = std::env::var("ROI_REPORTS_BUCKET") {
                crate::reports::s3_blobs(bucket.clone())
                    .await
                    .create_if_missing()
                    .await?;
                println!("S3 bucket {bucket} ready");
            }
        }
    }
    Ok(())
}
