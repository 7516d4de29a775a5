//! Measurement reminders (seed 000 §9.1) and "track the tracker" (seed 000 §10).
//!
//! For each measurement due date D of a deployed project (the cadence of
//! `roi_domain::cadence`):
//! - from D − 7: the account manager is told it is coming (`heads_up`);
//! - from D: the client's recipients get a fresh signed form link, valid 14 days (`due`);
//! - from D + 3, if nothing was submitted: a follow-up with a new link (`follow_up`).
//!
//! Each is sent once: it is claimed in the store before it is sent (and released if sending
//! fails), so a run that is late, repeated or concurrent sends nothing twice. Windows (not
//! single days) make a missed daily run harmless. A measurement counts as submitted for D
//! when an ongoing snapshot is measured within D − 7 … D + 3.

use chrono::{DateTime, NaiveDate, Utc};
use roi_domain::cadence::{DueMeasurement, due_dates};
pub use roi_domain::cadence::{Tracking, tracking};
use roi_domain::ports::{Email, Mailer};
use roi_domain::{Client, MetricSnapshot, Project, ProjectStatus, SnapshotKind};
use serde::Serialize;

use crate::form_link::FormSigner;
use crate::settings::ClientSettings;
use crate::store::{Store, StoreError};

/// Days a reminder link stays valid.
pub const LINK_VALID_DAYS: i64 = 14;

/// What the reminder runs need beyond the store.
pub struct ReminderServices<'a> {
    /// E-mail.
    pub mailer: &'a dyn Mailer,
    /// Signs the form links.
    pub signer: &'a FormSigner,
    /// Where forms are served, e.g. `https://roi.example.com`.
    pub base_url: &'a str,
    /// The sender address.
    pub mail_from: &'a str,
}

/// One reminder sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReminderSent {
    /// The project.
    pub project_id: String,
    /// The due date.
    pub due: NaiveDate,
    /// `heads_up`, `due` or `follow_up`.
    pub kind: &'static str,
    /// Recipients.
    pub to: Vec<String>,
}

fn submitted_for(snapshots: &[MetricSnapshot], due: NaiveDate) -> bool {
    let (from, to) = (due - chrono::Days::new(7), due + chrono::Days::new(3));
    snapshots
        .iter()
        .any(|s| s.kind() == SnapshotKind::Ongoing && (from..=to).contains(&s.measured_on()))
}

/// Which reminder, if any, is due for `due` on `today`.
fn kind_for(due: NaiveDate, today: NaiveDate, submitted: bool) -> Option<&'static str> {
    let days = (today - due).num_days();
    match days {
        -7..=-1 if !submitted => Some("heads_up"),
        0..=2 if !submitted => Some("due"),
        3..=7 if !submitted => Some("follow_up"),
        _ => None,
    }
}

/// Sends the reminders due on `today` (the client's day) for the client's deployed projects.
///
/// # Errors
/// [`StoreError`]; a failed e-mail is logged, released, and tried again by the next run.
pub async fn send_reminders(
    store: &Store,
    services: &ReminderServices<'_>,
    client: &Client,
    settings: &ClientSettings,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<ReminderSent>, StoreError> {
    let mut sent = Vec::new();
    for project in store.projects_of(&client.id).await? {
        if project.status != ProjectStatus::Deployed {
            continue;
        }
        let snapshots = store.snapshots(&project.id).await?;
        let window = due_dates(
            project.go_live_date,
            today - chrono::Days::new(7),
            today + chrono::Days::new(7),
        );
        for DueMeasurement { due_on: due, .. } in window {
            let Some(kind) = kind_for(due, today, submitted_for(&snapshots, due)) else {
                continue;
            };
            let to = match kind {
                "heads_up" => settings.account_manager_email.iter().cloned().collect(),
                _ => client.report_recipients.clone(),
            };
            if to.is_empty() || !store.claim_reminder(&project.id, due, kind).await? {
                continue;
            }
            let email = match reminder_email(services, client, &project, due, kind, now) {
                Some(e) => Email {
                    to: to.clone(),
                    ..e
                },
                None => {
                    store.release_reminder(&project.id, due, kind).await?;
                    continue;
                }
            };
            match services.mailer.send(&email).await {
                Ok(_) => {
                    metrics::counter!("reminders_sent").increment(1);
                    sent.push(ReminderSent {
                        project_id: project.id.to_string(),
                        due,
                        kind,
                        to,
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, project = %project.id, %due, kind, "reminder e-mail failed");
                    store.release_reminder(&project.id, due, kind).await?;
                }
            }
        }
    }
    Ok(sent)
}

fn reminder_email(
    services: &ReminderServices<'_>,
    client: &Client,
    project: &Project,
    due: NaiveDate,
    kind: &str,
    now: DateTime<Utc>,
) -> Option<Email> {
    let link = || {
        let claims = FormSigner::claims(
            project.id.clone(),
            SnapshotKind::Ongoing,
            Some(due),
            now + chrono::Duration::days(LINK_VALID_DAYS),
        )
        .ok()?;
        Some(format!(
            "{}/forms/{}",
            services.base_url.trim_end_matches('/'),
            services.signer.sign(&claims)
        ))
    };
    let (subject, text) = match kind {
        "heads_up" => (
            format!("{}: measurement due {due}", project.project_name),
            format!(
                "The next measurement of {} ({}) is due on {due}. The client will get its form link that day.",
                project.project_name, client.company_name
            ),
        ),
        "due" => (
            format!(
                "Please report this month's figures for {}",
                project.project_name
            ),
            format!(
                "Your measurement for {} is due today ({due}). It takes a few minutes: {}\nThe link works for {LINK_VALID_DAYS} days.",
                project.project_name,
                link()?
            ),
        ),
        _ => (
            format!(
                "Reminder: figures for {} are still missing",
                project.project_name
            ),
            format!(
                "We have not received the measurement for {} that was due on {due}. Here is a fresh link: {}",
                project.project_name,
                link()?
            ),
        ),
    };
    let html = crate::templates::notice_html(&text);
    Some(Email {
        from: services.mail_from.to_owned(),
        to: Vec::new(),
        subject,
        text,
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_window_and_a_submission_ends_them() {
        let due: NaiveDate = "2026-12-01".parse().unwrap();
        let on = |offset: i64| due + chrono::Duration::days(offset);
        assert_eq!(kind_for(due, on(-8), false), None);
        assert_eq!(kind_for(due, on(-7), false), Some("heads_up"));
        assert_eq!(kind_for(due, on(-1), false), Some("heads_up"));
        assert_eq!(kind_for(due, on(0), false), Some("due"));
        assert_eq!(kind_for(due, on(3), false), Some("follow_up"));
        assert_eq!(kind_for(due, on(8), false), None);
        for offset in -7..=7 {
            assert_eq!(kind_for(due, on(offset), true), None);
        }
    }
}
