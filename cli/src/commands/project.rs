//! `roi project`: add a project to a client, show it, change its status and how its value
//! is counted (issue 16), and list its running costs.

use anyhow::Result;
use chrono::NaiveDate;
use clap::Subcommand;
use roi_app::setup;
use roi_app::store::Written;
use roi_domain::client::{ProjectDraft, ProjectStatus};
use roi_domain::roi::value::{RunningCost, ValueLineKind};
use roi_domain::{ClientId, Money, Percentage, Project, ProjectId, ValidationErrors};
use rust_decimal::Decimal;

use crate::args::{client_id, parse_date, parse_money, parse_percentage, project_id};
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
    /// Print a project as JSON: its status, go-live, investment and valuation (hourly rate,
    /// attribution, confidence, value lines turned off, running costs).
    Show {
        /// The project's id.
        #[arg(long, value_name = "ID", value_parser = project_id)]
        project: ProjectId,
    },
    /// List the projects as the console's portfolio shows them: status, go-live, ROI since
    /// go-live, payback, drafts and measurements waiting for review (a table, or JSON with
    /// `--format json`).
    List {
        /// Only this client's projects.
        #[arg(long, value_name = "ID", value_parser = client_id)]
        client: Option<ClientId>,
        /// Only projects with this status (planning, development, testing, deployed,
        /// completed).
        #[arg(long)]
        status: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = crate::args::Format::Table)]
        format: crate::args::Format,
    },
    /// Change a project's status or how its value is counted. The next ROI computation
    /// (the daily job, or `roi compute`) uses the change.
    ///
    /// Example: roi project set --project acme-logistics-support-assistant
    /// --status deployed --hourly-rate 35 --line-off churn_reduction
    #[command(visible_alias = "edit")]
    Set {
        /// The project's id.
        #[arg(long, value_name = "ID", value_parser = project_id)]
        project: ProjectId,
        /// planning, development, testing, deployed or completed; measurement reminders
        /// go out for deployed projects only.
        #[arg(long, value_parser = |s: &str| s.parse::<ProjectStatus>())]
        status: Option<ProjectStatus>,
        /// Loaded hourly rate (salary, benefits, overhead), USD per hour: values the labour,
        /// rework and quality-control lines (default: the client's hourly rate).
        #[arg(long, value_name = "USD", value_parser = parse_money, conflicts_with = "client_hourly_rate")]
        hourly_rate: Option<Money>,
        /// Use the client's hourly rate again.
        #[arg(long)]
        client_hourly_rate: bool,
        /// Share of the measured improvement due to the AI solution, percent (default 100).
        #[arg(long, value_name = "PERCENT", value_parser = parse_percentage)]
        attribution: Option<Percentage>,
        /// How far self-reported figures are trusted in the ROI range, percent (default 80).
        #[arg(long, value_name = "PERCENT", value_parser = parse_percentage)]
        confidence: Option<Percentage>,
        /// Count a value line again (repeat for more): labour_time, rework_hours,
        /// quality_control_hours, errors_avoided, lost_revenue_recovered, churn_reduction.
        #[arg(long = "line-on", value_name = "LINE", value_parser = |s: &str| s.parse::<ValueLineKind>())]
        lines_on: Vec<ValueLineKind>,
        /// Stop counting a value line (repeat for more); it is still shown in reports.
        #[arg(long = "line-off", value_name = "LINE", value_parser = |s: &str| s.parse::<ValueLineKind>())]
        lines_off: Vec<ValueLineKind>,
        /// The ROI the project was sold on, percent: past its payback, ROI below it warns
        /// the account manager.
        #[arg(long, value_name = "PERCENT", allow_hyphen_values = true)]
        planned_roi: Option<Decimal>,
        /// The payback period the project was sold on, months: ROI alerts start after it.
        #[arg(long, value_name = "MONTHS")]
        planned_payback: Option<Decimal>,
    },
    /// Add a running cost (fees, hosting, licences) counted in the project's running cost
    /// from --from through --to. A cost of the same name and start is replaced.
    ///
    /// Example: roi project add-cost --project acme-logistics-support-assistant
    /// "Consultancy retainer" --monthly 1500 --from 2025-02-01
    AddCost {
        /// The project's id.
        #[arg(long, value_name = "ID", value_parser = project_id)]
        project: ProjectId,
        /// What it is, 1–100 characters.
        name: String,
        /// USD per month.
        #[arg(long, value_name = "USD", value_parser = parse_money)]
        monthly: Money,
        /// First day counted, YYYY-MM-DD.
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        from: NaiveDate,
        /// Last day counted, YYYY-MM-DD (default: open-ended).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        to: Option<NaiveDate>,
    },
    /// Remove a running cost by name (every start date, or only --from's). Past figures are
    /// recomputed without it; to stop a cost that was paid, give it a --to with add-cost.
    RemoveCost {
        /// The project's id.
        #[arg(long, value_name = "ID", value_parser = project_id)]
        project: ProjectId,
        /// Its name.
        name: String,
        /// Only the cost starting on this day.
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        from: Option<NaiveDate>,
    },
}

/// Runs `roi project …`.
pub async fn run(ctx: &Ctx, command: ProjectCommand) -> Result<()> {
    match command {
        ProjectCommand::Add {
            client,
            name,
            go_live,
            investment,
            gross_margin,
            id,
            solution_type,
            status,
        } => {
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
            add(ctx, draft).await
        }
        ProjectCommand::List {
            client,
            status,
            format,
        } => {
            let store = ctx.store().await?;
            let mut rows = match &client {
                Some(c) => store.summaries_of(c).await?,
                None => store.summaries().await?,
            };
            if let Some(s) = &status {
                let s: roi_domain::ProjectStatus = s.parse().map_err(anyhow::Error::msg)?;
                rows.retain(|r| r.status == s.as_str());
            }
            if format == crate::args::Format::Json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if rows.is_empty() {
                eprintln!("No project matches.");
            } else {
                print_summaries(&rows);
            }
            Ok(())
        }
        ProjectCommand::Show { project } => {
            let store = ctx.store().await?;
            let found = store
                .project(&project)
                .await?
                .ok_or_else(|| setup::SetupError::UnknownProject(project.to_string()))?;
            println!("{}", serde_json::to_string_pretty(&found)?);
            Ok(())
        }
        ProjectCommand::Set {
            project,
            status,
            hourly_rate,
            client_hourly_rate,
            attribution,
            confidence,
            lines_on,
            lines_off,
            planned_roi,
            planned_payback,
        } => {
            change(ctx, &project, |p| {
                let mut said = Vec::new();
                if let Some(s) = status {
                    p.status = s;
                    said.push(format!("status {s:?}").to_lowercase());
                }
                let v = &mut p.valuation;
                if let Some(rate) = hourly_rate {
                    v.loaded_hourly_rate_usd = Some(rate);
                    said.push(format!("hourly rate {rate}"));
                }
                if client_hourly_rate {
                    v.loaded_hourly_rate_usd = None;
                    said.push("the client's hourly rate".into());
                }
                if let Some(a) = attribution {
                    v.attribution_percentage = a;
                    said.push(format!("attribution {a}"));
                }
                if let Some(c) = confidence {
                    v.confidence_percentage = c;
                    said.push(format!("confidence {c}"));
                }
                if let Some(both) = lines_on.iter().find(|l| lines_off.contains(l)) {
                    return Err(ValidationErrors::one(
                        "line",
                        format!("{both} is both turned on and off"),
                    ));
                }
                for line in lines_on {
                    v.lines_off.remove(&line);
                    said.push(format!("{line} on"));
                }
                for line in lines_off {
                    v.lines_off.insert(line);
                    said.push(format!("{line} off"));
                }
                if let Some(roi) = planned_roi {
                    v.planned_roi_percentage = Some(roi);
                    said.push(format!("planned ROI {roi}%"));
                }
                if let Some(months) = planned_payback {
                    v.planned_payback_months = Some(months);
                    said.push(format!("planned payback {months} months"));
                }
                Ok(said.join(", "))
            })
            .await
        }
        ProjectCommand::AddCost {
            project,
            name,
            monthly,
            from,
            to,
        } => {
            change(ctx, &project, |p| {
                let cost = RunningCost {
                    name: name.trim().to_owned(),
                    monthly_usd: monthly,
                    from,
                    to,
                };
                let costs = &mut p.valuation.running_costs;
                costs.retain(|c| !(c.name.eq_ignore_ascii_case(&cost.name) && c.from == from));
                let said = format!(
                    "running cost '{}' {monthly}/month from {from}{}",
                    cost.name,
                    to.map(|t| format!(" to {t}")).unwrap_or_default()
                );
                costs.push(cost);
                costs.sort_by(|a, b| (a.from, &a.name).cmp(&(b.from, &b.name)));
                Ok(said)
            })
            .await
        }
        ProjectCommand::RemoveCost {
            project,
            name,
            from,
        } => {
            change(ctx, &project, |p| {
                let costs = &mut p.valuation.running_costs;
                let before = costs.len();
                costs.retain(|c| {
                    !(c.name.eq_ignore_ascii_case(name.trim()) && from.is_none_or(|f| c.from == f))
                });
                if costs.len() == before {
                    return Err(ValidationErrors::one(
                        "name",
                        format!("the project has no running cost named '{name}'"),
                    ));
                }
                Ok(format!("running cost '{name}' removed"))
            })
            .await
        }
    }
}

async fn add(ctx: &Ctx, draft: ProjectDraft) -> Result<()> {
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

/// Applies `edit` to the project, stores and audits it, and prints its valuation.
async fn change(
    ctx: &Ctx,
    id: &ProjectId,
    edit: impl FnOnce(&mut Project) -> Result<String, ValidationErrors>,
) -> Result<()> {
    let store = ctx.store().await?;
    let project = setup::change_project(&store, id, "cli", edit).await?;
    eprintln!(
        "Saved {}; the next ROI computation uses it (`roi compute --project {}`).",
        project.id, project.id
    );
    println!("{}", serde_json::to_string_pretty(&project)?);
    Ok(())
}

/// Prints portfolio lines as a table.
pub fn print_summaries(rows: &[roi_app::store::ProjectSummary]) {
    println!(
        "{:<40} {:<11} {:<10} {:>9} {:>9} {:>6} {:>9}  latest report",
        "project", "status", "go-live", "ROI %", "payback", "drafts", "to review"
    );
    for r in rows {
        println!(
            "{:<40} {:<11} {:<10} {:>9} {:>9} {:>6} {:>9}  {}",
            r.project_id.as_str(),
            r.status,
            r.go_live.to_string(),
            r.roi_percentage.map_or("-".into(), |v| v.to_string()),
            r.payback_period_months
                .map_or("-".into(), |v| format!("{v} mo")),
            r.drafts,
            r.measurements_to_review,
            r.latest_report.as_ref().map_or("none".into(), |l| format!(
                "{} {} v{} {}{}",
                l.kind,
                l.period,
                l.version,
                l.review,
                if l.sent { ", sent" } else { "" }
            ))
        );
    }
}
