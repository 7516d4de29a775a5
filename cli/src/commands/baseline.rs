//! `roi baseline`: review and approve a project's baseline.

use anyhow::Result;
use clap::Subcommand;
use roi_app::measurements;
use roi_domain::ProjectId;

use crate::args::project_id;
use crate::wiring::Ctx;

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Approve the project's submitted baseline; it is then locked and used for ROI.
    Approve {
        /// The project's id.
        #[arg(long, value_name = "ID", value_parser = project_id)]
        project: ProjectId,
    },
}

/// Runs `roi baseline …`.
pub async fn run(ctx: &Ctx, command: BaselineCommand) -> Result<()> {
    let BaselineCommand::Approve { project } = command;
    let store = ctx.store().await?;
    let b = measurements::approve_baseline(&store, &project, "cli").await?;
    println!(
        "Approved baseline {} of {}; it is now locked.",
        b.id(),
        b.measured_on()
    );
    Ok(())
}
