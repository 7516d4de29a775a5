//! `roi compute`: one project's ROI, or a backfill of roll-ups and ROI periods.

use anyhow::{Result, bail};
use chrono::NaiveDate;
use clap::Args;
use roi_app::compute;
use roi_app::jobs::{self, Job};
use roi_domain::{ClientId, Percentage, ProjectId};

use crate::args::{Format, client_id, parse_date, parse_percentage, project_id};
use crate::output;
use crate::wiring::Ctx;

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["project", "from"])))]
pub struct ComputeArgs {
    /// The project's id: compute one ROI.
    #[arg(long, value_name = "ID", value_parser = project_id)]
    project: Option<ProjectId>,
    /// Backfill from this day: roll up every day to `--to`, then compute every project's
    /// ROI periods as of `--to` (all clients, or `--client`).
    #[arg(long, value_name = "DATE", value_parser = parse_date, requires = "to", conflicts_with_all = ["project", "as_of", "months"])]
    from: Option<NaiveDate>,
    /// Last day of the backfill.
    #[arg(long, value_name = "DATE", value_parser = parse_date, requires = "from")]
    to: Option<NaiveDate>,
    /// Backfill this client only.
    #[arg(long, value_name = "ID", value_parser = client_id, requires = "from")]
    client: Option<ClientId>,
    /// Compute as of this day, YYYY-MM-DD (default: today in the client's time zone).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    as_of: Option<NaiveDate>,
    /// Project N months at the latest measurement's run rate (`basis: run_rate`). Without
    /// it, ROI is the realised value since go-live: each month valued with the measurement
    /// in force for it, summed (partial months pro rata).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=600))]
    months: Option<u32>,
    /// Annual discount rate for the NPV, percent (default 10).
    #[arg(long, value_name = "PERCENT", value_parser = parse_percentage)]
    discount_rate: Option<Percentage>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Runs `roi compute`.
pub async fn run(ctx: &Ctx, args: ComputeArgs) -> Result<()> {
    let store = ctx.store().await?;
    if let (Some(from), Some(to)) = (args.from, args.to) {
        let services = ctx.services(&store).await?;
        let job = Job::Backfill {
            from,
            to,
            client: args.client,
        };
        let report = jobs::run(&services, &job).await?;
        println!("{}", serde_json::to_string_pretty(&report)?);
        if !report.failures.is_empty() {
            bail!("{} step(s) failed; see above", report.failures.len());
        }
        return Ok(());
    }
    // clap requires `--project` or `--from`.
    let Some(project) = args.project else {
        bail!("--project or --from is required");
    };
    let request = compute::ComputeRequest {
        as_of: args.as_of,
        months: args.months,
        annual_discount_rate: args.discount_rate,
    };
    let roi = compute::compute_roi(&store, &project, request).await?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&roi)?),
        Format::Table => print!("{}", output::roi_table(&roi)),
    }
    Ok(())
}
