//! `roi form-link`: a signed link to a self-reporting form.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use roi_domain::ports::{Clock, SystemClock};
use roi_domain::{ProjectId, SnapshotKind};

use crate::args::{parse_date, project_id};
use crate::wiring::{Ctx, signer};

#[derive(Debug, Args)]
pub struct FormLinkArgs {
    /// The project the form writes to (and the only one it can write to).
    #[arg(long, value_name = "ID", value_parser = project_id)]
    project: ProjectId,
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

/// Signs a form link. The project is checked when the store can be opened; the embedded
/// store is locked while `roi serve` runs, and then the link is signed unchecked, with a
/// warning, because signing needs only the secret.
pub async fn run(ctx: &Ctx, args: &FormLinkArgs) -> Result<()> {
    let project = &args.project;
    match ctx.store().await {
        Ok(store) => {
            let p = store
                .project(project)
                .await?
                .with_context(|| format!("project '{project}' does not exist"))?;
            eprintln!("Form for {} ({})", p.project_name, p.id);
        }
        Err(e) => {
            eprintln!("warning: project '{project}' not checked ({e:#}); is `roi serve` running?")
        }
    }
    let kind = match args.kind {
        KindArg::Baseline => SnapshotKind::Baseline,
        KindArg::Ongoing => SnapshotKind::Ongoing,
    };
    let expires_at = SystemClock.now() + args.expires;
    let claims =
        roi_app::form_link::FormSigner::claims(project.clone(), kind, args.due, expires_at)
            .map_err(|e| anyhow::anyhow!("no randomness for a nonce: {e}"))?;
    let token = signer(&ctx.data_dir)?.sign(&claims);
    eprintln!(
        "{kind} form, valid until {}",
        expires_at.format("%Y-%m-%d %H:%M UTC")
    );
    println!("{}/forms/{token}", args.base_url.trim_end_matches('/'));
    Ok(())
}
