//! `roi dashboard-link`: a client's read-only dashboard link (`/d/{token}`): make one, list
//! them, or revoke one.

use anyhow::Result;
use clap::Args;
use roi_app::console::dashboard::{DASHBOARD_DAYS, DashboardLinks, revoke};
use roi_domain::ClientId;

use crate::args::client_id;
use crate::wiring::{Ctx, signer};

#[derive(Debug, Args)]
#[command(after_help = "\\
Examples:
  roi dashboard-link --client acme-logistics                 # a new link, 90 days
  roi dashboard-link --client acme-logistics --days 30 --base-url https://roi.example.com
  roi dashboard-link --client acme-logistics --list
  roi dashboard-link --client acme-logistics --revoke 3f2a9c1e…

The dashboard shows the client's projects as its executives see them: headline figures,
ROI over time, improvements against the baseline, AI cost, the reports sent to it. It shows
nothing of the consultancy's own (alerts, reviews, account managers).")]
pub struct DashboardLinkArgs {
    /// The client.
    #[arg(long, value_name = "ID", value_parser = client_id)]
    client: ClientId,
    /// How long the link works, days (1 to 366).
    #[arg(long, default_value_t = DASHBOARD_DAYS, value_parser = clap::value_parser!(i64).range(1..=366))]
    days: i64,
    /// Where `/d/{token}` is served (default: `ROI_BASE_URL`, else http://127.0.0.1:8080).
    #[arg(long, env = "ROI_BASE_URL", default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// List the client's links instead.
    #[arg(long, conflicts_with = "revoke")]
    list: bool,
    /// Revoke the link with this id (as listed).
    #[arg(long, value_name = "LINK ID")]
    revoke: Option<String>,
}

/// Runs `roi dashboard-link`.
pub async fn run(ctx: &Ctx, args: &DashboardLinkArgs) -> Result<()> {
    let store = ctx.store().await?;
    if let Some(id) = &args.revoke {
        let link = revoke(&store, &args.client, id, "cli").await?;
        println!(
            "Revoked dashboard link {} of {}.",
            link.link_id, link.client_id
        );
        return Ok(());
    }
    if args.list {
        let now = store.clock().now();
        for l in store.dashboard_links_of(&args.client).await? {
            let state = match l.revoked_at {
                Some(at) => format!("revoked {}", at.date_naive()),
                None if l.valid_until <= now => "expired".into(),
                None => format!("works until {}", l.valid_until.date_naive()),
            };
            println!(
                "{}  made by {} on {}  {state}",
                l.link_id,
                l.created_by,
                l.created_at.date_naive()
            );
        }
        return Ok(());
    }
    let links = DashboardLinks::new(&signer(&ctx.data_dir)?, &args.base_url);
    let (link, url) = links.create(&store, &args.client, args.days, "cli").await?;
    eprintln!(
        "Dashboard link {} for {}, until {}:",
        link.link_id,
        link.client_id,
        link.valid_until.date_naive()
    );
    println!("{url}");
    Ok(())
}
