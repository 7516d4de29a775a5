//! The steps of one client's unit: roll-ups, ROI periods, alerts, reminders. Each failure
//! is logged with the client id and recorded in the report; the next step goes on.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use roi_domain::{Client, ClientId, ProjectId};

use super::{Job, JobReport, Services};
use crate::alerts;
use crate::compute::{ComputeError, compute_periods};
use crate::reminders::{ReminderServices, send_reminders};
use crate::rollup::{Rollup, RollupError, restate_month, rollup_days_deferring_months};
use crate::store::Store;

/// One client's part of `job`.
pub(super) async fn run_unit(services: &Services, job: &Job, c: &Client, report: &mut JobReport) {
    let store = &services.store;
    match job {
        Job::Daily { date, .. } => {
            let today = store.client_today(Some(c));
            let day = date.unwrap_or(today - chrono::Days::new(1));
            lifecycle(services, c, today, report).await;
            pull_reports(services, c, day, report).await;
            roll_changed(store, &c.id, day, today, report).await;
            compute_client(services, c, day, report).await;
            alert_check(services, c, report).await;
            remind(services, c, today, report).await;
            summarise(store, c, report).await;
            seal_audit(store, c, report).await;
        }
        Job::AlertCheck { .. } => alert_check(services, c, report).await,
        Job::Backfill { from, to, .. } => {
            let rolled = roll(store, &c.id, *from, *to, report).await;
            if let Ok(n) = &rolled {
                report.days_rolled_up += n;
                let asked = u32::try_from((*to - *from).num_days() + 1).unwrap_or(u32::MAX);
                report.days_final += asked.saturating_sub(*n);
            }
            step(report, &c.id, "roll-up", rolled.map(|_| ()));
            compute_client(services, c, *to, report).await;
            summarise(store, c, report).await;
        }
    }
}

/// Refreshes the portfolio's summary of each of the client's projects (issue 15).
async fn summarise(store: &Store, client: &Client, report: &mut JobReport) {
    let projects = match store.projects_of(&client.id).await {
        Ok(p) => p,
        Err(e) => return step(report, &client.id, "projects", Err(e)),
    };
    for p in projects {
        let r = crate::console::summary::refresh(store, &p.id).await;
        step(
            report,
            &client.id,
            &format!("summary of {}", p.id),
            r.map(|_| ()),
        );
    }
}

fn step<E: std::fmt::Display>(
    report: &mut JobReport,
    client: &ClientId,
    what: &str,
    r: Result<(), E>,
) {
    if let Err(e) = r {
        tracing::error!(%client, what, error = %e, "job step failed");
        report.failures.push(format!("{client}: {what}: {e}"));
    }
}

/// Pulls the usage and cost reports of `day` and the UTC day before it (a client's day
/// spans two UTC days) from each provider whose admin key the client's settings name;
/// each pull is idempotent, so the next run's overlap stores nothing twice.
async fn pull_reports(
    services: &Services,
    client: &Client,
    day: NaiveDate,
    report: &mut JobReport,
) {
    use crate::provider_api::{Pull, ReportKind, Retry, pull};
    let Some(api) = &services.admin_api else {
        return;
    };
    let settings = match services.store.settings(&client.id).await {
        Ok(s) => s,
        Err(e) => return step(report, &client.id, "settings", Err(e)),
    };
    for key in &settings.admin_keys {
        let (provider, default_url) = match key.provider.as_str() {
            "anthropic" => (
                crate::usage_import::ReportFormat::Anthropic,
                "https://api.anthropic.com",
            ),
            "openai" => (
                crate::usage_import::ReportFormat::OpenAi,
                "https://api.openai.com",
            ),
            _ => continue,
        };
        let secret = match services.notifier.secrets.get(&key.secret_name).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                let e = format!("the admin key secret '{}' is missing", key.secret_name);
                step(
                    report,
                    &client.id,
                    &format!("{} pull", key.provider),
                    Err(e),
                );
                continue;
            }
            Err(e) => {
                step(
                    report,
                    &client.id,
                    &format!("{} pull", key.provider),
                    Err(e),
                );
                continue;
            }
        };
        for kind in [ReportKind::Usage, ReportKind::Cost] {
            let request = Pull {
                provider,
                report: kind,
                from: day - chrono::Days::new(1),
                to: day,
                base_url: key.base_url.clone().unwrap_or_else(|| default_url.into()),
                key: secret.clone(),
            };
            let prices = crate::pricing::PriceTable::shipped();
            let done = pull(
                &services.store,
                api.as_ref(),
                prices,
                &client.id,
                None,
                &request,
                Retry::default(),
                "daily pull",
            )
            .await;
            match done {
                Ok((_, pages)) => report.pages_pulled += pages,
                Err(e) => step(report, &client.id, &request.to_string(), Err(e)),
            }
        }
    }
}

async fn roll(
    store: &Store,
    client: &ClientId,
    from: NaiveDate,
    to: NaiveDate,
    report: &mut JobReport,
) -> Result<u32, RollupError> {
    let (days, months) = rollup_days_deferring_months(store, client, from, to).await?;
    restate(store, client, months, report).await;
    Ok(u32::try_from(days.len()).unwrap_or(u32::MAX))
}

/// Restates each closed month of `months` once ([`restate_month`]), counting those written.
async fn restate(
    store: &Store,
    client: &ClientId,
    months: std::collections::BTreeSet<NaiveDate>,
    report: &mut JobReport,
) {
    for month in months {
        let restated = restate_month(store, client, month).await;
        if matches!(restated, Ok(true)) {
            report.months_restated += 1;
        }
        let what = format!("monthly roll-up of {}", month.format("%Y-%m"));
        step(report, client, &what, restated.map(|_| ()));
    }
}

/// Rolls up `day` and every earlier day marked changed since its roll-up (late events,
/// imports), oldest first, each day on its own (a failing day is reported, the next goes
/// on); each roll-up marks its day caught up. Then each closed month with a day rolled up
/// is restated once, however many of its days changed. A marked day that is already final
/// (`roi_domain::event::first_open_day`) is logged and closed, never rewritten.
async fn roll_changed(
    store: &Store,
    client: &ClientId,
    day: NaiveDate,
    today: NaiveDate,
    report: &mut JobReport,
) {
    let markers: Vec<_> = match store.changed_days(client).await {
        Ok(m) => m.into_iter().filter(|m| m.day <= day).collect(),
        Err(e) => {
            step(report, client, "changed days", Err(e));
            Vec::new()
        }
    };
    let first_open = roi_domain::event::first_open_day(today);
    let mut days: std::collections::BTreeSet<NaiveDate> = markers.iter().map(|m| m.day).collect();
    days.insert(day);
    let mut closed_months = std::collections::BTreeSet::new();
    for d in days {
        if d < first_open {
            tracing::warn!(%client, day = %d, "a changed day is final; its roll-up is kept");
            if let Some(marker) = markers.iter().find(|m| m.day == d) {
                let closed = store.day_rolled_up(client, marker).await;
                step(report, client, &format!("roll-up of {d}"), closed);
            }
            report.days_final += 1;
            continue;
        }
        // closes the day's marker too
        match rollup_days_deferring_months(store, client, d, d).await {
            Ok((_, months)) => {
                report.days_rolled_up += 1;
                closed_months.extend(months);
            }
            Err(e) => step(report, client, &format!("roll-up of {d}"), Err::<(), _>(e)),
        }
    }
    restate(store, client, closed_months, report).await;
}

async fn compute_client(
    services: &Services,
    client: &Client,
    as_of: NaiveDate,
    report: &mut JobReport,
) {
    let store = &services.store;
    let projects = match store.projects_of(&client.id).await {
        Ok(p) => p,
        Err(e) => return step(report, &client.id, "projects", Err(e)),
    };
    let Some(first_live) = projects.iter().map(|p| p.go_live_date).min() else {
        return;
    };
    let daily = match crate::compute::stored_rollups(store, &client.id, first_live, as_of).await {
        Ok(d) => d,
        Err(e) => return step(report, &client.id, "roll-ups", Err(e)),
    };
    for project in projects.iter().filter(|p| p.go_live_date <= as_of) {
        compute_project(services, client, &project.id, as_of, &daily, report).await;
    }
}

async fn compute_project(
    services: &Services,
    client: &Client,
    project: &ProjectId,
    as_of: NaiveDate,
    daily: &BTreeMap<NaiveDate, Rollup>,
    report: &mut JobReport,
) {
    match compute_periods(&services.store, project, as_of, daily).await {
        Ok((calculations, _)) => {
            report.roi_calculations += u32::try_from(calculations.len()).unwrap_or(u32::MAX);
            let settings = services
                .store
                .settings(&client.id)
                .await
                .unwrap_or_default();
            if let Some(whole) = calculations.last() {
                alerts::roi_complete(&services.notifier, &settings, &client.id, whole).await;
            }
        }
        Err(ComputeError::NoApprovedBaseline(_) | ComputeError::NoMeasurement { .. }) => {
            report.projects_waiting += 1;
        }
        Err(e) => step(report, &client.id, &format!("ROI of {project}"), Err(e)),
    }
}

/// Seals the client's audit entries of every UTC day that is over into the audit archive
/// (`Store::seal_audit`), when the store has one.
async fn seal_audit(store: &Store, client: &Client, report: &mut JobReport) {
    let yesterday = store.clock().now().date_naive().pred_opt();
    let Some(through) = yesterday.filter(|_| store.archives_audit()) else {
        return;
    };
    match store.seal_audit(&client.id, through).await {
        Ok(n) => report.audit_batches += u32::try_from(n).unwrap_or(u32::MAX),
        Err(e) => step(report, &client.id, "audit archive", Err(e)),
    }
}

/// A churned client's lifecycle (issue 20, seed 000 §7.3): a churned client with no churn
/// day (marked churned before the day was kept) has its clock started today; one churned
/// for its settings' `anonymise_after_days` is anonymised, before anything is sent.
async fn lifecycle(services: &Services, client: &Client, today: NaiveDate, report: &mut JobReport) {
    use roi_domain::client::ClientStatus;
    let store = &services.store;
    if client.status != ClientStatus::Churned || client.profile.anonymised_on.is_some() {
        return;
    }
    if client.profile.churned_on.is_none() {
        let mut dated = client.clone();
        dated.profile.churned_on = Some(today);
        return step(
            report,
            &client.id,
            "churn day",
            store.put_client(&dated).await,
        );
    }
    let after = match store.settings(&client.id).await {
        Ok(s) => s.anonymise_after_days,
        Err(e) => return step(report, &client.id, "settings", Err(e)),
    };
    if !crate::privacy::anonymisation_due(client, after, today) {
        return;
    }
    let blobs = services.blobs.as_deref();
    match crate::privacy::anonymise_client(store, blobs, client, "daily job").await {
        Ok(_) => report.anonymised += 1,
        Err(e) => step(report, &client.id, "anonymisation", Err(e)),
    }
}

async fn alert_check(services: &Services, client: &Client, report: &mut JobReport) {
    let now = services.store.clock().now();
    match alerts::check(&services.store, &services.notifier, client, now).await {
        Ok(run) => report.alert_notices += u32::try_from(run.notices.len()).unwrap_or(u32::MAX),
        Err(e) => step(report, &client.id, "alerts", Err(e)),
    }
}

async fn remind(services: &Services, client: &Client, today: NaiveDate, report: &mut JobReport) {
    let store = &services.store;
    let settings = match store.settings(&client.id).await {
        Ok(s) => s,
        Err(e) => return step(report, &client.id, "settings", Err(e)),
    };
    let reminder_services = ReminderServices {
        mailer: services.notifier.mailer.as_ref(),
        signer: &services.signer,
        base_url: &services.base_url,
        mail_from: &services.notifier.mail_from,
    };
    let now = store.clock().now();
    match send_reminders(store, &reminder_services, client, &settings, today, now).await {
        Ok(sent) => report.reminders += u32::try_from(sent.len()).unwrap_or(u32::MAX),
        Err(e) => step(report, &client.id, "reminders", Err(e)),
    }
}
