//! `roi project`: add a project to a client.

use anyhow::Result;
use clap::Subcommand;
use roi_app::setup;
use roi_app::store::Written;
use roi_domain::ClientId;
use roi_domain::client::ProjectDraft;
use rust_decimal::Decimal;

use crate::args::client_id;
use crate::wiring::Ctx;

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Add a project to a client; prints its id as the last line of standard output.
    Add {
        /// The client's id.
        #[arg(long, value_name = "ID", value_parser = client_id)]
        client: ClientId,
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

/// Runs `roi project …`.
pub async fn run(ctx: &Ctx, command: ProjectCommand) -> Result<()> {
    let ProjectCommand::Add {
        client,
        name,
        go_live,
        investment,
        gross_margin,
        id,
        solution_type,
        status,
    } = command;
    let draft = ProjectDraft {
        client_id: client,
        project_name: name,
        id,
        solution_type,
        status,
        go_live_date: go_live,
        one_time_investment: investment,
        gross_margin: Some(gross_margin),
    };
    let store = ctx.store().await?;
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
