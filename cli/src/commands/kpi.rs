//! `roi kpi`: a project's own KPIs and success criteria (issue 18): pick them from the
//! catalogue or define them in a file, set baselines, targets and zones, record values,
//! and show where each stands.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use roi_app::project_kpis::{KpiError, define, definitions, evaluate, record};
use roi_domain::ProjectId;
use roi_domain::project_kpi::catalogue::{catalogue, pick};
use roi_domain::project_kpi::{KpiDefinition, KpiSource, Target, Zones};
use rust_decimal::Decimal;

use crate::args::{Format, parse_date, project_id};
use crate::wiring::Ctx;

#[derive(Debug, Subcommand)]
#[command(after_help = "\\
Examples:
  roi kpi catalogue
  roi kpi add --project acme-logistics-support-assistant ltv nps
  roi kpi edit --project acme-logistics-support-assistant nps --baseline 22 --target 40 --by 2026-12-31 --green 35 --yellow 25 --headline
  roi kpi record --project acme-logistics-support-assistant promoters 61 --on 2026-11-30
  roi kpi show --project acme-logistics-support-assistant
  roi kpi set --project acme-logistics-support-assistant --file kpis.json   # the whole list, as `roi kpi list --format json` prints it

A KPI is measured (entered through the form, a tracking CSV row whose metric_name is the
KPI's name, a kpi.measurement event, or `roi kpi record`), computed by a formula over other
KPIs and seed 000 metrics (+ - * / ( ) min max), or metered from the event roll-ups.")]
pub enum KpiCommand {
    /// List the shipped catalogue: seed 002's SaaS metrics and seed 001's consultancy ones.
    Catalogue,
    /// Add catalogue KPIs to a project, with the inputs their formulas read.
    Add {
        /// The project.
        #[arg(long, value_name = "ID", value_parser = project_id)]
        project: ProjectId,
        /// Catalogue names (see `roi kpi catalogue`).
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
    },
    /// Replace a project's KPI definitions with a JSON list (as `list --format json` prints).
    Set {
        /// The project.
        #[arg(long, value_name = "ID", value_parser = project_id)]
        project: ProjectId,
        /// The JSON file.
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
    /// Change one KPI's baseline, target, zones, label or headline mark.
    Edit(EditArgs),
    /// Record a measured KPI's value of a day.
    Record {
        /// The project.
        #[arg(long, value_name = "ID", value_parser = project_id)]
        project: ProjectId,
        /// The KPI's name.
        name: String,
        /// The value, in the KPI's unit.
        #[arg(allow_hyphen_values = true)]
        value: Decimal,
        /// The day it describes (default: today, UTC).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        on: Option<NaiveDate>,
    },
    /// List a project's KPI definitions.
    List {
        /// The project.
        #[arg(long, value_name = "ID", value_parser = project_id)]
        project: ProjectId,
        /// A table for people, or JSON (the input of `roi kpi set`).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Evaluate a project's KPIs: value now, baseline, target, zone, trend and status.
    Show {
        /// The project.
        #[arg(long, value_name = "ID", value_parser = project_id)]
        project: ProjectId,
        /// The day to evaluate on (default: today, UTC).
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        as_of: Option<NaiveDate>,
        /// A table for people, or JSON.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// The project.
    #[arg(long, value_name = "ID", value_parser = project_id)]
    project: ProjectId,
    /// The KPI's name.
    name: String,
    /// Its label.
    #[arg(long)]
    label: Option<String>,
    /// Its value before go-live, in its unit.
    #[arg(long, allow_hyphen_values = true)]
    baseline: Option<Decimal>,
    /// The target value (with --by).
    #[arg(long, allow_hyphen_values = true, requires = "by")]
    target: Option<Decimal>,
    /// The date the target is to be reached by.
    #[arg(long, value_name = "DATE", value_parser = parse_date, requires = "target")]
    by: Option<NaiveDate>,
    /// The green threshold (with --yellow).
    #[arg(long, allow_hyphen_values = true, requires = "yellow")]
    green: Option<Decimal>,
    /// The yellow threshold (with --green).
    #[arg(long, allow_hyphen_values = true, requires = "green")]
    yellow: Option<Decimal>,
    /// Show it on the executive one-pager (at most three per project).
    #[arg(long, conflicts_with = "no_headline")]
    headline: bool,
    /// Take it off the one-pager.
    #[arg(long)]
    no_headline: bool,
}

/// Runs `roi kpi`.
pub async fn run(ctx: &Ctx, command: KpiCommand) -> Result<()> {
    match command {
        KpiCommand::Catalogue => {
            for k in catalogue() {
                println!(
                    "{:<22} {:<8} {:<9} {}",
                    k.name,
                    k.unit.name(),
                    k.source.kind(),
                    k.description
                );
            }
            Ok(())
        }
        KpiCommand::Add { project, names } => {
            let store = ctx.store().await?;
            let mut kpis = definitions(&store, &project).await?.kpis().to_vec();
            let mut added = Vec::new();
            for name in &names {
                let picked = pick(name).with_context(|| {
                    format!("'{name}' is not in the catalogue (see `roi kpi catalogue`)")
                })?;
                for k in picked {
                    if !kpis.iter().any(|have| have.name == k.name) {
                        added.push(k.name.clone());
                        kpis.push(k);
                    }
                }
            }
            save(&store, &project, kpis).await?;
            println!(
                "Added {} KPI(s) to {project}: {}",
                added.len(),
                if added.is_empty() {
                    "none new".into()
                } else {
                    added.join(", ")
                }
            );
            Ok(())
        }
        KpiCommand::Set { project, file } => {
            let store = ctx.store().await?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let kpis: Vec<KpiDefinition> = serde_json::from_str(&text).with_context(|| {
                format!("{} is not a JSON list of KPI definitions", file.display())
            })?;
            let n = kpis.len();
            save(&store, &project, kpis).await?;
            println!("Stored {n} KPI definition(s) for {project}.");
            Ok(())
        }
        KpiCommand::Edit(args) => {
            let store = ctx.store().await?;
            let mut kpis = definitions(&store, &args.project).await?.kpis().to_vec();
            let Some(k) = kpis.iter_mut().find(|k| k.name == args.name) else {
                bail!(
                    "project '{}' has no KPI '{}' (see `roi kpi list --project {}`)",
                    args.project,
                    args.name,
                    args.project
                );
            };
            if let Some(label) = &args.label {
                k.label.clone_from(label);
            }
            if let Some(b) = args.baseline {
                k.baseline = Some(b);
            }
            if let (Some(value), Some(by)) = (args.target, args.by) {
                k.target = Some(Target { value, by });
            }
            if let (Some(green), Some(yellow)) = (args.green, args.yellow) {
                k.zones = Some(Zones { green, yellow });
            }
            if args.headline {
                k.headline = true;
            } else if args.no_headline {
                k.headline = false;
            }
            save(&store, &args.project, kpis).await?;
            println!("Changed KPI {} of {}.", args.name, args.project);
            Ok(())
        }
        KpiCommand::Record {
            project,
            name,
            value,
            on,
        } => {
            let store = ctx.store().await?;
            let on = on.unwrap_or_else(|| store.clock().now().date_naive());
            record(&store, &project, &name, value, on, "cli").await?;
            println!("Recorded {name} = {value} for {on} ({project}).");
            Ok(())
        }
        KpiCommand::List { project, format } => {
            let store = ctx.store().await?;
            let set = definitions(&store, &project).await?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&set)?),
                Format::Table => {
                    for k in set.kpis() {
                        let formula = match &k.source {
                            KpiSource::Computed { formula } => format!(" = {formula}"),
                            _ => String::new(),
                        };
                        println!(
                            "{:<22} {:<8} {:<9} {}{}{}",
                            k.name,
                            k.unit.name(),
                            k.source.kind(),
                            k.label,
                            formula,
                            if k.headline { "  [headline]" } else { "" }
                        );
                    }
                }
            }
            Ok(())
        }
        KpiCommand::Show {
            project,
            as_of,
            format,
        } => {
            let store = ctx.store().await?;
            let p = store
                .project(&project)
                .await?
                .ok_or(KpiError::UnknownProject(project.clone()))?;
            let as_of = as_of.unwrap_or_else(|| store.clock().now().date_naive());
            let report = evaluate(&store, &p, as_of).await?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report.rows)?),
                Format::Table => {
                    println!(
                        "{:<22} {:>16} {:>14} {:>26}  {:<7} {:<10} trend",
                        "KPI", "now", "baseline", "target", "zone", "status"
                    );
                    for r in &report.rows {
                        println!(
                            "{:<22} {:>16} {:>14} {:>26}  {:<7} {:<10} {}",
                            r.name,
                            r.value_text,
                            r.baseline_text,
                            r.target_text,
                            r.zone.map_or("", |z| z.name()),
                            r.status.map_or("", |s| s.words()),
                            r.trend.as_deref().unwrap_or("")
                        );
                        if let Some(why) = &r.not_computable {
                            println!("    not computable: {why}");
                        }
                    }
                    if let Some(line) = &report.status_line {
                        println!("{line}");
                    }
                }
            }
            Ok(())
        }
    }
}

async fn save(
    store: &roi_app::store::Store,
    project: &ProjectId,
    kpis: Vec<KpiDefinition>,
) -> Result<()> {
    match define(store, project, kpis, "cli").await {
        Ok(_) => Ok(()),
        Err(KpiError::Invalid(errors)) => {
            let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
            bail!(
                "{} problem(s) in the KPI definitions; nothing was stored:\n{}",
                errors.len(),
                lines.join("\n")
            )
        }
        Err(e) => Err(e.into()),
    }
}
