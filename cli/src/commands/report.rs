//! `roi report`: issue, list, approve and withdraw reports by hand; and what `roi serve` needs to
//! serve report links locally (`/r/{token}`, and `/blobs/…` standing in for S3).

use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use clap::{Args, ValueEnum};
use roi_adapters::dir_blobs::DirBlobStore;
use roi_app::Store;
use roi_app::reports::{self, ReportKind, ReportPeriod, ReportServices};
use roi_domain::ProjectId;
use roi_domain::ports::BlobStore;

use crate::args::project_id;
use crate::wiring::Ctx;

/// A report kind on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// Weekly executive summary (period: an ISO week, 2026-W47).
    Weekly,
    /// Monthly progress report (period: a month, 2026-11).
    Monthly,
    /// Quarterly business review (period: a quarter, 2026-Q4).
    Quarterly,
    /// Annual ROI report (period: a year of operation, year-1).
    Annual,
    /// Executive one-pager (period: a month, 2026-11).
    Executive,
}

impl From<KindArg> for ReportKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Weekly => Self::Weekly,
            KindArg::Monthly => Self::Monthly,
            KindArg::Quarterly => Self::Quarterly,
            KindArg::Annual => Self::Annual,
            KindArg::Executive => Self::Executive,
        }
    }
}

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "\
Examples:
  roi report --project acme-logistics-support-assistant --kind monthly --period 2025-04
  roi report --project acme-logistics-support-assistant --kind executive
  roi report --project acme-logistics-support-assistant --list
  roi report --project acme-logistics-support-assistant --kind monthly --period 2025-04 --revoke-links
  roi report approve --project acme-logistics-support-assistant --kind monthly --period 2025-04
  roi report withdraw --project acme-logistics-support-assistant --kind monthly --period 2025-04 \
      --reason \"the April labour cost is under query\"

A report is issued as a draft: the account manager is told, and it reaches the client's
recipients once approved (here or in the console), unless the client's settings say
\"auto_send_reports\": true. Issuing again with unchanged figures does nothing; changed
figures (a late correction) issue the next version, marked restated. The PDF, CSV and XLSX go to the blob store
(<data dir>/blobs, or the S3 bucket ROI_REPORTS_BUCKET with ROI_STORE=dynamodb), the
e-mail with its link to the outbox (<data dir>/outbox) or SES."
)]
pub struct ReportArgs {
    /// Approve or withdraw a draft instead of issuing.
    #[command(subcommand)]
    review: Option<ReviewCommand>,
    /// The project.
    #[arg(long, value_name = "ID", value_parser = project_id, required = true)]
    project: Option<ProjectId>,
    /// Which report.
    #[arg(long, value_enum, required_unless_present = "list")]
    kind: Option<KindArg>,
    /// The period; default: the last one that has ended.
    #[arg(long)]
    period: Option<String>,
    /// List the project's issued reports instead.
    #[arg(long, conflicts_with_all = ["kind", "period", "revoke_links"])]
    list: bool,
    /// Withdraw every e-mailed link to this report (all versions).
    #[arg(long, requires = "period")]
    revoke_links: bool,
}

/// The report version a review names.
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// The project.
    #[arg(long, value_name = "ID", value_parser = project_id)]
    project: ProjectId,
    /// Which report.
    #[arg(long, value_enum)]
    kind: KindArg,
    /// The period, e.g. 2025-04.
    #[arg(long)]
    period: String,
    /// The version (v1, v2, … as listed); default: the latest.
    #[arg(long, value_name = "N")]
    report_version: Option<u32>,
}

impl VersionArgs {
    fn report(&self) -> reports::ReportRef {
        reports::ReportRef {
            project: self.project.clone(),
            kind: self.kind.into(),
            period: self.period.clone(),
            version: self.report_version,
        }
    }
}

/// Review before delivery.
#[derive(Debug, clap::Subcommand)]
pub enum ReviewCommand {
    /// Approve a draft: its link is e-mailed to the client's report recipients.
    Approve(VersionArgs),
    /// Withdraw a draft (or a sent report, whose links then stop working), with a reason.
    Withdraw {
        #[command(flatten)]
        version: VersionArgs,
        /// Why (1 to 500 characters); kept in the audit log.
        #[arg(long)]
        reason: String,
    },
}

async fn review(ctx: &Ctx, store: &Store, command: &ReviewCommand) -> Result<()> {
    let (services, _) = ctx.report_services(store).await?;
    let r = match command {
        ReviewCommand::Approve(v) => reports::approve(&services, &v.report(), "cli").await?,
        ReviewCommand::Withdraw { version, reason } => {
            reports::withdraw(&services, &version.report(), "cli", reason).await?
        }
    };
    println!(
        "{} {} v{}: {}{}",
        r.kind,
        r.period,
        r.version,
        r.review.as_str(),
        if r.delivered {
            format!(", e-mailed to {} recipient(s)", r.recipients)
        } else {
            String::new()
        }
    );
    Ok(())
}

/// Runs `roi report`.
pub async fn run(ctx: &Ctx, args: &ReportArgs) -> Result<()> {
    let store = ctx.store().await?;
    if let Some(command) = &args.review {
        return review(ctx, &store, command).await;
    }
    let Some(project) = &args.project else {
        anyhow::bail!("--project is required");
    };
    let p = store
        .project(project)
        .await?
        .with_context(|| format!("project '{project}' does not exist"))?;
    if args.list {
        return list(&store, project).await;
    }
    let Some(kind) = args.kind.map(ReportKind::from) else {
        anyhow::bail!("--kind is required");
    };
    let period = match &args.period {
        Some(text) => ReportPeriod::parse(kind, text, p.go_live_date)?,
        None => {
            let client = store.client(&p.client_id).await?;
            ReportPeriod::last_complete(kind, store.client_today(client.as_ref()), p.go_live_date)
                .with_context(|| format!("no {kind} period of {project} has ended yet"))?
        }
    };
    if args.revoke_links {
        let n = reports::revoke_links(&store, project, kind, &period.label).await?;
        println!(
            "Withdrew {n} link(s) to the {kind} report {}.",
            period.label
        );
        return Ok(());
    }
    let (services, local) = ctx.report_services(&store).await?;
    eprintln!(
        "Rendering the {} of {} for {}…",
        kind.title(),
        p.project_name,
        period.label
    );
    let issued = reports::issue(
        &services,
        &roi_reports::TypstRenderer,
        project,
        kind,
        &period,
    )
    .await?;
    print_issued(ctx, &issued, &period, local.is_some());
    Ok(())
}

async fn list(store: &Store, project: &ProjectId) -> Result<()> {
    let all = store.reports_of(project).await?;
    if all.is_empty() {
        eprintln!("No report issued for {project} yet.");
    }
    for r in all {
        println!(
            "{:<10} {:<9} v{:<3} {}  {:<9}  {}  {}",
            r.kind.name(),
            r.period,
            r.version,
            r.issued_at.format("%Y-%m-%d %H:%M UTC"),
            r.review.as_str(),
            if r.delivered {
                format!("e-mailed to {}", r.recipients)
            } else {
                "not e-mailed".into()
            },
            r.pdf_key
        );
    }
    Ok(())
}

fn print_issued(ctx: &Ctx, issued: &reports::Issued, period: &ReportPeriod, local: bool) {
    let r = &issued.record;
    let kind = r.kind;
    if issued.new {
        println!(
            "Issued {kind} {} v{}{} ({} to {}).",
            r.period,
            r.version,
            if r.restated { ", restated" } else { "" },
            period.from,
            period.to
        );
    } else {
        println!(
            "The {kind} report {} v{} already has these figures; nothing issued.",
            r.period, r.version
        );
    }
    for key in [&r.pdf_key, &r.csv_key, &r.xlsx_key] {
        if local {
            println!("  {}", ctx.data_dir.join("blobs").join(key).display());
        } else {
            println!("  s3://…/{key}");
        }
    }
    if issued.emailed {
        println!(
            "E-mailed a link to {} recipient(s){}.",
            r.recipients,
            if ctx.on_aws() {
                String::new()
            } else {
                format!(
                    "; the message is in {}",
                    ctx.data_dir.join("outbox").display()
                )
            }
        );
    } else if r.review == roi_app::store::Review::Draft {
        println!(
            "A draft: {} Approve it with `roi report approve --project {} --kind {} --period {}` (or in the console) to e-mail it to the client.",
            if r.draft_notified {
                "the account manager was told."
            } else {
                "no account manager to tell."
            },
            r.project_id,
            kind.name(),
            r.period
        );
    } else if !r.delivered {
        println!(
            "Not e-mailed: the client has no report recipients (`roi client add --recipient`)."
        );
    }
}

/// The report-link routes `roi serve` adds: `/r/{token}` and, for the embedded blob
/// store, `/blobs/{key}?expires=…&signature=…` (what a presigned S3 URL is on AWS).
pub fn router(services: &ReportServices, local: Option<Arc<DirBlobStore>>) -> Router {
    let links = roi_app::http::links::router(Arc::new(roi_app::http::links::LinkState {
        store: services.store.clone(),
        blobs: services.blobs.clone(),
        links: services.links.clone(),
    }));
    match local {
        Some(dir) => links.merge(
            Router::new()
                .route("/blobs/{*key}", axum::routing::get(blob))
                .with_state(dir),
        ),
        None => links,
    }
}

#[derive(serde::Deserialize)]
struct Signed {
    expires: i64,
    signature: String,
}

async fn blob(
    State(dir): State<Arc<DirBlobStore>>,
    Path(key): Path<String>,
    Query(signed): Query<Signed>,
) -> Response {
    if let Err(e) = dir.verify_link(&key, signed.expires, &signed.signature) {
        return (StatusCode::FORBIDDEN, e.to_string()).into_response();
    }
    match dir.get(&key).await {
        Ok(Some(b)) => (
            [
                (header::CONTENT_TYPE, b.content_type),
                (header::CACHE_CONTROL, "private, no-store".into()),
            ],
            b.bytes,
        )
            .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "no such report").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "reading a blob failed");
            (StatusCode::SERVICE_UNAVAILABLE, "try again in a minute").into_response()
        }
    }
}
