//! `roi measurement review`: the measurements waiting for a person's review (a field moved
//! more than 50 %, seed 000 §9.2), and the decision on one.

use anyhow::{Result, bail};
use clap::Subcommand;
use roi_domain::{ProjectId, SnapshotStatus};

use crate::args::{Format, project_id};
use crate::wiring::Ctx;

#[derive(Debug, Subcommand)]
pub enum MeasurementCommand {
    /// List a project's measurements that need review, or decide on one: `--confirm`
    /// (the figures stand) or `--reject --reason …` (it stops feeding ROI). Audited; the
    /// project's ROI is computed again at once.
    ///
    /// Example: roi measurement review --project acme-logistics-support-assistant
    /// --measurement 3f2a… --reject --reason "typed in seconds, not minutes"
    Review {
        /// The project.
        #[arg(long, value_name = "ID", value_parser = project_id)]
        project: ProjectId,
        /// The measurement's id (as listed).
        #[arg(long, value_name = "ID", requires = "decision")]
        measurement: Option<String>,
        /// The figures stand.
        #[arg(long, group = "decision")]
        confirm: bool,
        /// The figures are wrong: the measurement no longer feeds ROI.
        #[arg(long, group = "decision", requires = "reason")]
        reject: bool,
        /// Why (required to reject; kept in the audit log), up to 500 characters.
        #[arg(long, default_value = "")]
        reason: String,
        /// Output format of the list.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// Runs `roi measurement …`.
pub async fn run(ctx: &Ctx, command: MeasurementCommand) -> Result<()> {
    let MeasurementCommand::Review {
        project,
        measurement,
        confirm,
        reject,
        reason,
        format,
    } = command;
    let store = ctx.store().await?;
    let Some(id) = measurement else {
        let waiting: Vec<_> = store
            .snapshots(&project)
            .await?
            .into_iter()
            .filter(|s| s.status() == SnapshotStatus::NeedsReview)
            .collect();
        if format == Format::Json {
            println!("{}", serde_json::to_string_pretty(&waiting)?);
        } else if waiting.is_empty() {
            eprintln!("No measurement of {project} needs review.");
        }
        if format == Format::Table {
            for s in &waiting {
                let flags: Vec<String> = s
                    .review()
                    .iter()
                    .map(|f| {
                        format!(
                            "{} {} → {} ({:+}%)",
                            f.metric, f.previous, f.current, f.change_percentage
                        )
                    })
                    .collect();
                println!("{}  {}  {}", s.id(), s.measured_on(), flags.join("; "));
            }
        }
        return Ok(());
    };
    if confirm == reject {
        bail!("choose --confirm or --reject");
    }
    let decided =
        roi_app::measurements::review_measurement(&store, &project, &id, confirm, &reason, "cli")
            .await?;
    println!(
        "measurement {} of {}: {}",
        decided.id(),
        decided.measured_on(),
        if confirm {
            "confirmed"
        } else {
            "rejected; it no longer feeds ROI"
        }
    );
    Ok(())
}
