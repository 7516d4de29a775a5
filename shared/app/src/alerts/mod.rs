//! KPI alerts (issue 5; seed 003 alert categories and deduplication, seed 004 budget alerts):
//! observe the KPIs, turn them into [`Signal`]s with the client's thresholds, and notify by
//! e-mail and webhooks with the dedup rules:
//!
//! - a signal that starts firing is notified once (`alert_triggered`);
//! - while it keeps firing, at most once per `alert_repeat_minutes` (default 60), or at once
//!   when it gets worse (`threshold_exceeded`);
//! - when it stops, once more, if `notify_recovery` (`alert_triggered` with status
//!   `resolved`);
//! - success signals (a target beaten) are notified once when they start, if
//!   `notify_success`, and never repeated.
//!
//! The state of each (rule, scope) is stored under `CLIENT#{client}` / `ALERT#{rule}#{scope}`.
//! A notice counts as sent when at least one channel took it (or the client has none);
//! otherwise the next run tries again.

mod check;
mod observe;

use std::sync::Arc;

use roi_domain::ClientId;
use roi_domain::kpi::Signal;
use roi_domain::ports::{Email, Mailer, SecretStore, WebhookDelivery, Webhooks};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use self::check::check;
pub use self::observe::{Observed, observe};
use crate::settings::ClientSettings;
pub use crate::store::AlertState;

/// Where notices go: e-mail and webhooks, and the sender address.
#[derive(Clone)]
pub struct Notifier {
    /// E-mail.
    pub mailer: Arc<dyn Mailer>,
    /// Webhooks.
    pub webhooks: Arc<dyn Webhooks>,
    /// Where the webhooks' signing secrets are kept (`crate::settings::save`).
    pub secrets: Arc<dyn SecretStore>,
    /// The sender address of every e-mail (a verified SES identity on AWS).
    pub mail_from: String,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("mail_from", &self.mail_from)
            .finish_non_exhaustive()
    }
}

/// What happened to one notice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Delivered {
    /// E-mails sent.
    pub emails: u32,
    /// Webhooks delivered.
    pub webhooks: u32,
    /// Channels that failed (logged).
    pub failures: u32,
}

impl Delivered {
    /// Whether the notice reached someone, or there was no one to reach.
    pub fn taken(&self) -> bool {
        self.emails + self.webhooks > 0 || self.failures == 0
    }
}

impl Notifier {
    /// Sends one notice to `to` by e-mail and to every webhook of `settings` that wants
    /// `event`. Failures are logged and counted, never raised.
    pub async fn notify(
        &self,
        settings: &ClientSettings,
        to: &[String],
        event: &str,
        subject: &str,
        text: &str,
        payload: &serde_json::Value,
    ) -> Delivered {
        let mut d = Delivered::default();
        if !to.is_empty() {
            let email = Email {
                from: self.mail_from.clone(),
                to: to.to_vec(),
                subject: subject.to_owned(),
                text: text.to_owned(),
                html: crate::templates::notice_html(text),
            };
            match self.mailer.send(&email).await {
                Ok(_) => d.emails += 1,
                Err(e) => {
                    tracing::warn!(error = %e, event, "notice e-mail failed");
                    d.failures += 1;
                }
            }
        }
        let body = serde_json::to_vec(payload).unwrap_or_default();
        let delivery_id = hex::encode(&Sha256::digest(&body)[..16]);
        for hook in settings.webhooks.iter().filter(|w| w.wants(event)) {
            let Some(secret) = self.webhook_secret(hook).await else {
                d.failures += 1;
                continue;
            };
            let delivery = WebhookDelivery {
                url: hook.url.clone(),
                secret,
                event: event.to_owned(),
                delivery_id: delivery_id.clone(),
                body: body.clone(),
            };
            match self.webhooks.deliver(&delivery).await {
                Ok(()) => d.webhooks += 1,
                Err(e) => {
                    tracing::warn!(error = %e, event, "webhook failed");
                    d.failures += 1;
                }
            }
        }
        d
    }
}

impl Notifier {
    /// The signing secret of `hook`: from the secret store, or written in the settings
    /// item (settings stored before secrets moved out; saving them again moves it). `None`
    /// (logged) when it cannot be read: the notice is not sent to that webhook and counts
    /// as failed, so the next run tries again.
    async fn webhook_secret(&self, hook: &crate::settings::WebhookSubscription) -> Option<String> {
        if !hook.secret.is_empty() {
            tracing::warn!(url = %hook.url, "a webhook secret is kept in the settings item; save the settings again to move it to the secret store");
            return Some(hook.secret.clone());
        }
        let name = hook.secret_name.as_deref()?;
        match self.secrets.get(name).await {
            Ok(Some(secret)) => Some(secret),
            Ok(None) => {
                tracing::error!(url = %hook.url, secret = name, "the webhook's secret is missing");
                None
            }
            Err(e) => {
                tracing::error!(url = %hook.url, secret = name, error = %e, "the webhook's secret could not be read");
                None
            }
        }
    }
}

/// One notice a run sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// The rule, a [`roi_domain::kpi::Kpi::name`], e.g. `roi_percentage`.
    pub rule: String,
    /// `alert_triggered` or `threshold_exceeded`.
    pub event: String,
    /// `firing`, `repeat` or `resolved`.
    pub status: String,
    /// The signal's sentence.
    pub message: String,
    /// How it went out.
    pub delivered: Delivered,
}

/// What one alert check did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AlertRun {
    /// Signals observed (firing or success).
    pub signals: Vec<Signal>,
    /// Notices sent.
    pub notices: Vec<Notice>,
}

/// The notice of a finished ROI calculation (webhook event `roi_calculation_complete`; no
/// e-mail: reports carry the figures to people).
pub async fn roi_complete(
    notifier: &Notifier,
    settings: &ClientSettings,
    client: &ClientId,
    roi: &roi_domain::RoiCalculation,
) -> Delivered {
    let payload = serde_json::json!({
        "event": "roi_calculation_complete",
        "client_id": client,
        "project_id": roi.project_id,
        "calculation_date": roi.calculation_date,
        "period_analyzed": roi.period_analyzed,
        "roi_percentage": roi.roi_percentage,
        "payback_period_months": roi.payback_period_months,
        "ai_solution_cost_source": roi.ai_solution_cost_source,
    });
    notifier
        .notify(settings, &[], "roi_calculation_complete", "", "", &payload)
        .await
}
