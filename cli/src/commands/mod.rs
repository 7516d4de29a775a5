//! The commands, one file per verb. Each parses its arguments (clap value parsers turn ids
//! and dates into domain types, so a bad one is refused before anything runs), opens what
//! it needs through [`Ctx`], calls the use cases of `roi-app`, and prints.

pub mod apikey;
pub mod audit;
pub mod baseline;
pub mod client;
pub mod compute;
pub mod dashboard_link;
pub mod demo;
pub mod export;
pub mod form_link;
pub mod import;
pub mod kpi;
pub mod measurement;
pub mod prices;
pub mod privacy;
pub mod project;
pub mod reconcile;
pub mod report;
pub mod rollup;
pub mod serve;
pub mod store_init;

use anyhow::Result;

use crate::wiring::Ctx;
use crate::{Cli, Command};

/// Runs the parsed command.
pub async fn run(cli: Cli) -> Result<()> {
    let ctx = Ctx {
        data_dir: cli.data_dir,
        store_kind: cli.store,
        table: cli.table,
    };
    match cli.command {
        Command::Demo => demo::run(&ctx).await,
        Command::Client(command) => client::run(&ctx, command).await,
        Command::Project(command) => project::run(&ctx, command).await,
        Command::Import(command) => import::run(&ctx, command).await,
        Command::Baseline(command) => baseline::run(&ctx, command).await,
        Command::Measurement(command) => measurement::run(&ctx, command).await,
        Command::Kpi(command) => kpi::run(&ctx, command).await,
        Command::DashboardLink(args) => dashboard_link::run(&ctx, &args).await,
        Command::Compute(args) => compute::run(&ctx, args).await,
        Command::FormLink(args) => form_link::run(&ctx, &args).await,
        Command::Apikey(command) => apikey::run(&ctx, command).await,
        Command::Prices(args) => prices::run(&ctx, &args).await,
        Command::Rollup(args) => rollup::run(&ctx, &args).await,
        Command::Reconcile(args) => reconcile::run(&ctx, &args).await,
        Command::Privacy(command) => privacy::run(&ctx, command).await,
        Command::Audit(args) => audit::run(&ctx, &args).await,
        Command::Export(command) => export::run(&ctx, command).await,
        Command::Report(args) => report::run(&ctx, &args).await,
        Command::Serve(args) => serve::run(&ctx, args).await,
        Command::StoreInit => store_init::run(&ctx).await,
    }
}
