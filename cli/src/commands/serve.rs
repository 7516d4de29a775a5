//! `roi serve`: the routers the Lambda functions run, on this machine, with the schedules
//! of `compute-roi` and `generate-report` in-process.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use roi_app::http::{events, forms};
use roi_app::jobs::{self, Job, Services};
use roi_app::pricing::PriceTable;
use roi_app::reports::{self, ReportKind, ReportServices};

use crate::wiring::{Ctx, signer};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The port to listen on (0: any free port, announced on standard error).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// The address to listen on (loopback by default; use 0.0.0.0 to let other machines in).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Do not run the schedules (the daily job every hour, the alert check every 5
    /// minutes; e-mail goes to `<data dir>/outbox/`).
    #[arg(long)]
    no_schedule: bool,
}

/// The schedules of the `compute-roi` and `generate-report` functions, in-process: every
/// hour the daily job (every step is idempotent, so hourly keeps a laptop's figures fresh)
/// then the report job of each kind (each issues only what is due); the alert check every
/// 5 minutes.
async fn schedule(services: Services, reports: ReportServices) {
    let mut daily = tokio::time::interval(Duration::from_secs(3600));
    let mut alerts = tokio::time::interval(Duration::from_secs(300));
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
        if let Err(e) = jobs::run(&services, &job).await {
            tracing::warn!(error = %e, "scheduled job failed");
        }
        if hourly {
            for kind in ReportKind::ALL {
                let payload = serde_json::json!({"job": "reports", "kind": kind});
                let renderer = roi_reports::TypstRenderer;
                if let Err(e) = reports::run(&reports, &renderer, payload).await {
                    tracing::warn!(error = %e, "scheduled report job failed");
                }
            }
        }
    }
}

/// Runs `roi serve` until Ctrl-C.
pub async fn run(ctx: &Ctx, args: ServeArgs) -> Result<()> {
    let store = ctx.store().await?;
    let forms = Arc::new(forms::FormsState {
        store: store.clone(),
        signer: signer(&ctx.data_dir)?,
    });
    let events = Arc::new(events::EventsState {
        store: store.clone(),
        prices: PriceTable::shipped().clone(),
    });
    let address = SocketAddr::new(args.host, args.port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("listening on {address}"))?;
    let bound = listener.local_addr()?;
    let base_url = std::env::var("ROI_BASE_URL").unwrap_or_else(|_| format!("http://{bound}"));
    let (console, _) = ctx.console(&store, &base_url).await?;
    let sign_in = console.auth.operators.first().map(|o| {
        (
            o.to_owned(),
            console.auth.sign_in_link(o, store.clock().now()),
        )
    });
    let (report_services, local_blobs) = ctx.report_services(&store).await?;
    let app = forms::router(forms)
        .merge(events::router(events))
        .merge(roi_app::http::console::router(Arc::new(console)))
        .merge(super::report::router(&report_services, local_blobs));
    eprintln!(
        "roi serve: listening on http://{bound} (forms at /forms/{{token}}, events at POST /v1/events){}; Ctrl-C stops",
        if args.no_schedule {
            ""
        } else {
            ", schedules running"
        }
    );
    if let Some((operator, Ok(Some(link)))) = sign_in {
        // Not `eprintln!`: a supervisor that read the first line may have closed the pipe.
        let _ = writeln!(
            std::io::stderr(),
            "roi serve: the console is at {base_url}/console; sign in as {operator} (once, within 15 minutes): {link}"
        );
    }
    // After the announcement: its line is the first a supervising process reads.
    if !args.no_schedule {
        let services = ctx.services(&store).await?;
        tokio::spawn(async move { schedule(services, report_services).await });
    }
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
