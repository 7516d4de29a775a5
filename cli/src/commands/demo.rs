//! `roi demo`: the whole pipeline for the sample client Acme Logistics, on whatever store the
//! command runs on, through the same routers and jobs as the Lambda functions:
//!
//! 1. the client, its project, the baseline and three monthly measurements from the seed 000
//!    CSVs in `cli/samples/acme-logistics/`;
//! 2. the project's three own KPIs with their targets (issue 18), and last month's
//!    measurement, posted to the self-reporting form as a browser posts it (one KPI with it);
//! 3. usage: the Anthropic and OpenAI usage-report samples of `events/usage-reports/`, and
//!    a CloudEvents batch of a month of agent runs, business outcomes, AI usage and a
//!    `kpi.measurement` sent to `POST /v1/events` with an API key;
//! 4. the month rolled up and its ROI computed (the `backfill` job), the KPI alert check,
//!    and the reminder of the next measurement;
//! 5. the monthly report and the executive one-pager: PDFs, CSV and XLSX in the blob store,
//!    and the e-mails with their links.
//!
//! "Last month" is the last complete month in the client's time zone, so the report links
//! are fresh whenever it runs. Every step is idempotent: a second run stores nothing new and
//! sends nothing again.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{Datelike, Days, NaiveDate};
use http_body_util::BodyExt;
use roi_app::correlation::{CorrelationId, scope};
use roi_app::form_link::FormSigner;
use roi_app::jobs::{self, Job, Services};
use roi_app::pricing::PriceTable;
use roi_app::reminders::{ReminderServices, send_reminders};
use roi_app::reports::{ReportKind, ReportPeriod, issue};
use roi_app::usage_import::{ReportFormat, import_usage};
use roi_app::{Store, api_keys, http};
use roi_domain::cadence::due_dates;
use roi_domain::{Client, Project, SnapshotKind};
use tower::ServiceExt;

use crate::output;
use crate::wiring::Ctx;

const ANTHROPIC_SAMPLE: &str =
    include_str!("../../../events/usage-reports/anthropic-messages-usage-report.json");
const OPENAI_SAMPLE: &str =
    include_str!("../../../events/usage-reports/openai-usage-completions.json");
/// The last day of the month the usage-report samples were taken in.
const SAMPLES_MONTH_END: &str = "2026-11-30";
/// The demo integration's API key (the development key of `events/README.md`).
const DEMO_API_KEY: &str = "roi_0000de5e_local-development-key-not-for-production";

/// Runs the demo on the store of `ctx`, with e-mail, blobs and links from its data
/// directory (or SES and S3 on AWS). Prints each step and where its output went.
///
/// # Errors
/// The first step that fails.
pub async fn run(ctx: &Ctx) -> Result<()> {
    let store = ctx.store().await?;
    let (client, project) = output::demo_setup(&store).await?;
    let today = store.client_today(Some(&client));
    let month = ReportPeriod::last_complete(ReportKind::Monthly, today, project.go_live_date)
        .context("the sample project has no complete month yet")?;
    let jobs = ctx.services(&store).await?;
    println!(
        "\n== last month: {} ({} to {})",
        month.label, month.from, month.to
    );
    let demo = Demo {
        ctx,
        store,
        client,
        project,
        month,
        jobs,
    };
    demo.define_kpis().await?;
    demo.measure_through_the_form().await?;
    demo.usage().await?;
    demo.scheduled_work().await?;
    demo.reports().await?;
    demo.closing();
    Ok(())
}

/// The sample client's last month, and the services of the steps.
struct Demo<'a> {
    ctx: &'a Ctx,
    store: Store,
    client: Client,
    project: Project,
    month: ReportPeriod,
    jobs: Services,
}

impl Demo<'_> {
    /// 2a. The project's own KPIs, agreed before go-live: one entered in the form, one sent
    /// as an event, one computed from them. Defined once; a second run changes nothing.
    async fn define_kpis(&self) -> Result<()> {
        let by = self
            .month
            .to
            .checked_add_months(chrono::Months::new(6))
            .unwrap_or(self.month.to);
        let wanted = demo_kpis(by)?;
        let stored = roi_app::project_kpis::definitions(&self.store, &self.project.id).await?;
        if stored.kpis() != wanted.as_slice() {
            roi_app::project_kpis::define(&self.store, &self.project.id, wanted, "demo").await?;
        }
        println!(
            "kpis     first-contact resolution (form), tickets resolved by AI (event), cost per resolved ticket (computed); targets by {by}"
        );
        Ok(())
    }

    /// 2b. The month's measurement, as a browser posts the form.
    async fn measure_through_the_form(&self) -> Result<()> {
        let due = due_dates(self.project.go_live_date, self.month.from, self.month.to)
            .last()
            .map_or(self.month.to, |d| d.due_on);
        let link = form_link(&self.jobs.signer, &self.project.id, due, &self.store)?;
        let forms = http::forms::router(Arc::new(http::forms::FormsState {
            store: self.store.clone(),
            signer: self.jobs.signer.clone(),
        }));
        let path = format!("/forms/{link}");
        let (status, _) = call(&forms, Request::get(&path).body(Body::empty())?).await?;
        if status != StatusCode::OK {
            bail!("the form did not open: {status}");
        }
        let fields = "monthly_labor_cost=33500&monthly_software_cost=1800&monthly_overhead_cost=3200\
            &monthly_error_cost=1100&avg_task_completion_time=9.8&error_rate_percentage=3.1\
            &ai_solution_cost=3150&csat_score=84&period_type=&kpi.first_contact_resolution=71";
        let post = Request::post(&path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("user-agent", "Mozilla/5.0 (roi demo)")
            .body(Body::from(fields))?;
        let (status, page) = call(&forms, post).await?;
        if status != StatusCode::OK {
            bail!("the form was not accepted ({status}): {page}");
        }
        println!(
            "form     {}{path} (measurement due {due}) → 200, stored",
            self.jobs.base_url
        );
        Ok(())
    }

    /// 3. Usage: two provider reports, then a month of events through the API.
    async fn usage(&self) -> Result<()> {
        let shift = (self.month.to - SAMPLES_MONTH_END.parse::<NaiveDate>()?).num_days();
        for (name, sample, format) in [
            ("Anthropic", ANTHROPIC_SAMPLE, ReportFormat::Anthropic),
            ("OpenAI", OPENAI_SAMPLE, ReportFormat::OpenAi),
        ] {
            let text = shift_dates(sample, shift)?;
            let r = import_usage(
                &self.store,
                PriceTable::shipped(),
                &self.client.id,
                &text,
                format,
                Some(&self.project.id),
                "demo",
            )
            .await?;
            println!(
                "usage    {name} usage report: {} accepted, {} already stored",
                r.accepted, r.duplicate
            );
        }
        if api_keys::authenticate(&self.store, Some(&format!("Bearer {DEMO_API_KEY}")))
            .await
            .is_err()
        {
            api_keys::register(
                &self.store,
                &self.client.id,
                "demo integration",
                DEMO_API_KEY,
                "demo",
            )
            .await?;
        }
        let api = http::events::router(Arc::new(http::events::EventsState {
            store: self.store.clone(),
            prices: PriceTable::shipped().clone(),
        }));
        let mut batch =
            month_of_events(&self.project.id.to_string(), self.month.from, self.month.to);
        if let Some(events) = batch.as_array_mut() {
            events.push(serde_json::json!({"specversion": "1.0",
                "id": format!("kpi-tickets-{}", self.month.label),
                "source": "https://crm.acme-logistics.example/assistant", "type": "kpi.measurement",
                "time": format!("{}T18:00:00Z", self.month.to),
                "data": {"kpi": "tickets_resolved_by_ai", "value": "126",
                         "project": self.project.id.to_string()}}));
        }
        let request = Request::post("/v1/events")
            .header(header::AUTHORIZATION, format!("Bearer {DEMO_API_KEY}"))
            .header(header::CONTENT_TYPE, "application/cloudevents-batch+json")
            .header(
                roi_app::correlation::HEADER,
                format!("demo-batch-{}", self.month.label),
            )
            .body(Body::from(batch.to_string()))?;
        let (status, body) = call(&api, request).await?;
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        println!(
            "events   POST /v1/events, {} CloudEvents → {status}: {} accepted, {} duplicate, {} rejected",
            batch.as_array().map_or(0, Vec::len),
            answer["accepted"],
            answer["duplicate"],
            answer["rejected"]
        );
        Ok(())
    }

    /// 4. The scheduled work: the month's roll-ups and ROI, alerts, the next reminder.
    async fn scheduled_work(&self) -> Result<()> {
        let id = CorrelationId::try_from(format!("demo-{}", self.month.label))
            .map_err(anyhow::Error::msg)?;
        let backfill = Job::Backfill {
            from: self.month.from,
            to: self.month.to,
            client: Some(self.client.id.clone()),
        };
        let r = scope("demo", id.clone(), jobs::run(&self.jobs, &backfill)).await?;
        println!(
            "compute  {} days rolled up, {} ROI periods computed as of {}",
            r.days_rolled_up, r.roi_calculations, self.month.to
        );
        let alert = Job::AlertCheck {
            client: Some(self.client.id.clone()),
        };
        let r = scope("demo", id, jobs::run(&self.jobs, &alert)).await?;
        println!("alerts   {} notices sent", r.alert_notices);
        // The first due date that last month's measurement does not already answer (a
        // measurement counts for the dates up to 7 days after it).
        let next_due = due_dates(
            self.project.go_live_date,
            self.month.to + Days::new(8),
            self.month.to + Days::new(200),
        )
        .first()
        .map(|d| d.due_on)
        .context("no measurement is due after last month")?;
        let settings = self.store.settings(&self.client.id).await?;
        let sent = send_reminders(
            &self.store,
            &ReminderServices {
                mailer: self.jobs.notifier.mailer.as_ref(),
                signer: &self.jobs.signer,
                base_url: &self.jobs.base_url,
                mail_from: &self.jobs.notifier.mail_from,
            },
            &self.client,
            &settings,
            next_due,
            self.store.clock().now(),
        )
        .await?;
        match sent.first() {
            Some(s) => println!(
                "reminder the next measurement, due {next_due}: a form link e-mailed to {} (what the daily job sends that day)",
                s.to.join(", ")
            ),
            None => println!("reminder the next measurement, due {next_due}: e-mailed already"),
        }
        Ok(())
    }

    /// 5. The monthly report and the executive one-pager.
    async fn reports(&self) -> Result<()> {
        let (reports, local_blobs) = self.ctx.report_services(&self.store).await?;
        let renderer = roi_reports::TypstRenderer;
        for kind in [ReportKind::Monthly, ReportKind::Executive] {
            let issued = issue(&reports, &renderer, &self.project.id, kind, &self.month).await?;
            let r = &issued.record;
            let place = match &local_blobs {
                Some(_) => self
                    .ctx
                    .data_dir
                    .join("blobs")
                    .join(&r.pdf_key)
                    .display()
                    .to_string(),
                None => format!(
                    "s3://{}/{}",
                    std::env::var("ROI_REPORTS_BUCKET").unwrap_or_default(),
                    r.pdf_key
                ),
            };
            println!(
                "report   {} {} v{}: {place}{}",
                kind.name(),
                self.month.label,
                r.version,
                if issued.new { "" } else { " (issued already)" }
            );
        }
        // Reports are drafts until an operator approves them: the monthly one is approved
        // here, as `roi report approve` does; the one-pager waits in the console.
        let approved = roi_app::reports::approve(
            &reports,
            &roi_app::reports::ReportRef {
                project: self.project.id.clone(),
                kind: ReportKind::Monthly,
                period: self.month.label.clone(),
                version: None,
            },
            "demo",
        )
        .await?;
        println!(
            "review   monthly {} approved: e-mailed to {} recipient(s); the executive one-pager waits for review in the console",
            approved.period, approved.recipients
        );
        Ok(())
    }

    /// Where the e-mails went.
    fn closing(&self) {
        if self.ctx.on_aws() {
            println!("\nE-mail went out through SES.");
        } else {
            println!(
                "\nE-mails (alerts, reminder, reports with their links): {}",
                self.ctx.data_dir.join("outbox").display()
            );
            println!(
                "Open the links with `roi serve` running (it serves /forms, /v1 and /r on {}).",
                self.jobs.base_url
            );
        }
        self.console_link();
    }

    /// The console's sign-in link for the local operator (it works once, for 15 minutes;
    /// `roi serve` prints a fresh one when it starts).
    fn console_link(&self) {
        let Ok(operators) = crate::wiring::operators() else {
            return;
        };
        let signer = match crate::wiring::signer(&self.ctx.data_dir) {
            Ok(s) => s,
            Err(_) => return,
        };
        let auth =
            roi_app::console::auth::ConsoleAuth::new(&signer, operators, &self.jobs.base_url);
        if let Some(operator) = auth.operators.first()
            && let Ok(Some(link)) = auth.sign_in_link(operator, self.store.clock().now())
        {
            println!(
                "\nThe console ({}/console: the portfolio, and the executive one-pager waiting for review), signed in as {operator} with `roi serve` running; this link works once, for 15 minutes:\n{link}",
                self.jobs.base_url
            );
        }
    }
}

fn form_link(
    signer: &FormSigner,
    project: &roi_domain::ProjectId,
    due: NaiveDate,
    store: &Store,
) -> Result<String> {
    let expires = store.clock().now() + chrono::Duration::days(14);
    let claims = FormSigner::claims(project.clone(), SnapshotKind::Ongoing, Some(due), expires)
        .map_err(|e| anyhow::anyhow!("no randomness for a link: {e}"))?;
    Ok(signer.sign(&claims))
}

async fn call(router: &axum::Router, request: Request<Body>) -> Result<(StatusCode, String)> {
    let response = router.clone().oneshot(request).await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// The usage-report sample with every date moved by `days`: Anthropic's `starting_at` and
/// `ending_at` (RFC 3339), OpenAI's `start_time` and `end_time` (Unix seconds).
fn shift_dates(sample: &str, days: i64) -> Result<String> {
    fn walk(v: &mut serde_json::Value, days: i64) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    match (k.as_str(), &*v) {
                        ("starting_at" | "ending_at", serde_json::Value::String(s)) => {
                            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
                                *v = (t + chrono::Duration::days(days)).to_rfc3339().into();
                            }
                        }
                        ("start_time" | "end_time", serde_json::Value::Number(n)) => {
                            if let Some(t) = n.as_i64() {
                                *v = (t + days * 86_400).into();
                            }
                        }
                        _ => walk(v, days),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| walk(i, days)),
            _ => {}
        }
    }
    let mut v: serde_json::Value = serde_json::from_str(sample)?;
    walk(&mut v, days);
    Ok(v.to_string())
}

/// The demo project's own KPIs, with targets due `by`: first-contact resolution (entered in
/// the form), tickets resolved by the AI (sent as a `kpi.measurement` event), and the AI cost
/// per resolved ticket (computed from the form's `ai_solution_cost` and the latter).
fn demo_kpis(by: NaiveDate) -> Result<Vec<roi_domain::project_kpi::KpiDefinition>> {
    let json = serde_json::json!([
        {"name": "first_contact_resolution", "label": "First-contact resolution", "unit": "percent",
         "direction": "higher_is_better", "baseline": "62", "target": {"value": "75", "by": by},
         "zones": {"green": "70", "yellow": "65"}, "source": {"kind": "measured"}, "headline": true,
         "description": "Tickets resolved in the first reply, percent of tickets (the support team's own count)."},
        {"name": "tickets_resolved_by_ai", "label": "Tickets resolved by the AI", "unit": "count",
         "direction": "higher_is_better", "baseline": "0", "target": {"value": "120", "by": by},
         "zones": {"green": "120", "yellow": "80"}, "source": {"kind": "measured"}, "headline": true,
         "description": "Tickets the assistant closed without an agent in the month (sent by the CRM as an event)."},
        {"name": "cost_per_resolved_ticket", "label": "AI cost per resolved ticket", "unit": "usd",
         "direction": "lower_is_better", "baseline": "40", "target": {"value": "20", "by": by},
         "zones": {"green": "25", "yellow": "30"},
         "source": {"kind": "computed", "formula": "ai_solution_cost / tickets_resolved_by_ai"},
         "headline": true,
         "description": "AI solution cost of the month ÷ tickets resolved by the AI, USD."}
    ]);
    Ok(serde_json::from_value(json)?)
}

/// A month of the support assistant's events, deterministic for the month: each weekday 8
/// agent runs (one in eight fails), 6 resolved tickets (6.5 minutes saved each, one avoided
/// error worth USD 240 a week) and 10 `ai.usage` calls; weekends a third of that.
fn month_of_events(project: &str, from: NaiveDate, to: NaiveDate) -> serde_json::Value {
    let source = "https://crm.acme-logistics.example/assistant";
    let departments = [
        "customer-service",
        "customer-service",
        "billing",
        "operations",
    ];
    let mut events = Vec::new();
    for day in from.iter_days().take_while(|d| *d <= to) {
        let weekend = day.weekday().num_days_from_monday() >= 5;
        let scale = if weekend { 3 } else { 1 };
        for i in 0..8 / scale {
            events.push(serde_json::json!({"specversion": "1.0", "id": format!("run-{day}-{i}"),
                "source": source, "type": "agent.execution", "time": format!("{day}T15:{:02}:00Z", i),
                "data": {"agent": "ticket-triage", "outcome": if i == 7 { "failure" } else { "success" },
                         "duration_ms": 1_800 + 150 * i, "project": project}}));
        }
        for i in 0..6 / scale {
            events.push(serde_json::json!({"specversion": "1.0", "id": format!("outcome-{day}-{i}"),
                "source": source, "type": "business.outcome", "time": format!("{day}T16:{:02}:00Z", i),
                "data": {"kind": "ticket_resolved", "minutes_saved": 6.5, "ai_assisted": true,
                         "department": departments[i % departments.len()], "project": project}}));
        }
        if day.weekday().num_days_from_monday() == 2 {
            events.push(serde_json::json!({"specversion": "1.0", "id": format!("avoided-{day}"),
                "source": source, "type": "business.outcome", "time": format!("{day}T17:00:00Z"),
                "data": {"kind": "error_avoided", "value_usd": "240.00", "ai_assisted": true, "project": project}}));
        }
        for i in 0..10 / scale {
            let (model, input, output) = if i % 3 == 0 {
                ("claude-sonnet-4-5-20250929", 9_000 + 300 * i, 1_400)
            } else {
                ("gpt-4.1-mini", 4_000 + 150 * i, 600)
            };
            events.push(serde_json::json!({"specversion": "1.0", "id": format!("usage-{day}-{i}"),
                "source": source, "type": "ai.usage", "time": format!("{day}T14:{:02}:00Z", i),
                "data": {"model": model, "input_tokens": input, "output_tokens": output, "requests": 1,
                         "user": format!("agent-{:04}", i % 8), "department": departments[i % departments.len()],
                         "agent": if i % 2 == 0 { "reply-drafter" } else { "ticket-triage" }, "project": project}}));
        }
    }
    serde_json::Value::Array(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_dates_move_by_whole_days_in_both_formats() {
        let a = shift_dates(
            r#"{"data":[{"starting_at":"2026-11-18T00:00:00Z","x":1}]}"#,
            -31,
        )
        .unwrap();
        assert!(a.contains("2026-10-18T00:00:00+00:00"), "{a}");
        let o = shift_dates(
            r#"{"data":[{"start_time":1795219200,"end_time":1795305600}]}"#,
            1,
        )
        .unwrap();
        assert!(o.contains("1795305600") && o.contains("1795392000"), "{o}");
    }

    #[test]
    fn a_month_of_events_fits_one_request_and_is_the_same_each_time() {
        let from: NaiveDate = "2026-10-01".parse().unwrap();
        let to: NaiveDate = "2026-10-31".parse().unwrap();
        let a = month_of_events("p", from, to);
        let n = a.as_array().unwrap().len();
        assert!(n > 400 && n <= 1000, "{n} events");
        assert!(a.to_string().len() < 1 << 20);
        assert_eq!(a, month_of_events("p", from, to));
    }
}
