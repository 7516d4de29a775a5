//! A client's settings for the scheduled work: KPI thresholds, the hourly rate time saved is
//! valued at, alert recipients and webhooks, the account manager reminders go to, and how
//! alerts repeat. Everything has a default; `roi client settings` shows and changes them.

use roi_domain::kpi::Thresholds;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The webhook events (seed 003 "Webhook Integration").
pub const WEBHOOK_EVENTS: [&str; 3] = [
    "roi_calculation_complete",
    "alert_triggered",
    "threshold_exceeded",
];

/// One webhook subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSubscription {
    /// Where to POST (https; http only to loopback).
    pub url: String,
    /// The HMAC-SHA256 signing secret (at least 16 characters).
    pub secret: String,
    /// Which of [`WEBHOOK_EVENTS`] to send (all when empty).
    #[serde(default)]
    pub events: Vec<String>,
}

impl WebhookSubscription {
    /// Whether this subscription wants `event`.
    pub fn wants(&self, event: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == event)
    }
}

/// A client's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientSettings {
    /// KPI limits (defaults: seed 003's table).
    pub thresholds: Thresholds,
    /// What an hour of staff time saved is worth, USD; time saved is not valued without it.
    pub hourly_rate_usd: Option<Decimal>,
    /// Who gets alert e-mails (default: the client's report recipients).
    pub alert_recipients: Vec<String>,
    /// The account manager, e-mailed 7 days before a measurement is due (seed 000 §9.1).
    pub account_manager_email: Option<String>,
    /// Webhook subscriptions.
    pub webhooks: Vec<WebhookSubscription>,
    /// Minutes between repeats of a still-firing alert (seed 003: at most once an hour).
    pub alert_repeat_minutes: u32,
    /// Whether a recovery is notified.
    pub notify_recovery: bool,
    /// Whether success signals (a target beaten) are notified.
    pub notify_success: bool,
    /// Requests each of the client's API keys may make to `POST /v1/events` per minute
    /// (default [`DEFAULT_REQUESTS_PER_MINUTE`]; 1 to 1,000,000).
    pub requests_per_minute: u32,
    /// Events each of the client's API keys may send per minute (default
    /// [`DEFAULT_EVENTS_PER_MINUTE`]; 1 to 100,000,000).
    pub events_per_minute: u32,
}

/// Requests per API key and minute unless a client's settings say otherwise: 600 (10 a
/// second, each with up to 1,000 events).
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 600;

/// Events per API key and minute unless a client's settings say otherwise: 60,000.
pub const DEFAULT_EVENTS_PER_MINUTE: u32 = 60_000;

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            thresholds: Thresholds::default(),
            hourly_rate_usd: None,
            alert_recipients: Vec::new(),
            account_manager_email: None,
            webhooks: Vec::new(),
            alert_repeat_minutes: 60,
            notify_recovery: true,
            notify_success: true,
            requests_per_minute: DEFAULT_REQUESTS_PER_MINUTE,
            events_per_minute: DEFAULT_EVENTS_PER_MINUTE,
        }
    }
}

/// Why settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

impl ClientSettings {
    /// Checks the settings a person wrote.
    ///
    /// # Errors
    /// [`SettingsError`] naming the first problem.
    pub fn check(&self) -> Result<(), SettingsError> {
        let bad = |s: String| Err(SettingsError(s));
        if let Some(rate) = self.hourly_rate_usd
            && rate.is_sign_negative()
        {
            return bad(format!("hourly_rate_usd must not be negative, got {rate}"));
        }
        for email in self
            .alert_recipients
            .iter()
            .chain(self.account_manager_email.iter())
        {
            if !email.contains('@') || email.contains(char::is_whitespace) {
                return bad(format!("'{email}' is not an e-mail address"));
            }
        }
        for w in &self.webhooks {
            if !roi_domain::ports::webhook_url_allowed(&w.url) {
                return bad(format!("webhook '{}' must be an https:// URL", w.url));
            }
            if w.secret.chars().count() < 16 {
                return bad(format!(
                    "the secret of webhook '{}' must have at least 16 characters",
                    w.url
                ));
            }
            if let Some(e) = w
                .events
                .iter()
                .find(|e| !WEBHOOK_EVENTS.contains(&e.as_str()))
            {
                return bad(format!(
                    "unknown webhook event '{e}'; known: {}",
                    WEBHOOK_EVENTS.join(", ")
                ));
            }
        }
        if !(1..=1_000_000).contains(&self.requests_per_minute) {
            return bad("requests_per_minute must be from 1 to 1000000".into());
        }
        if !(1..=100_000_000).contains(&self.events_per_minute) {
            return bad("events_per_minute must be from 1 to 100000000".into());
        }
        if self.alert_repeat_minutes == 0 {
            return bad("alert_repeat_minutes must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_settings_keep_the_defaults_and_bad_ones_are_named() {
        let s: ClientSettings = serde_json::from_str(r#"{"hourly_rate_usd": "45"}"#).unwrap();
        assert_eq!(s.alert_repeat_minutes, 60);
        assert!(s.check().is_ok());
        let hook = |url: &str, secret: &str| ClientSettings {
            webhooks: vec![WebhookSubscription {
                url: url.into(),
                secret: secret.into(),
                events: vec![],
            }],
            ..ClientSettings::default()
        };
        assert!(
            hook("http://hooks.example.com", "0123456789abcdef")
                .check()
                .unwrap_err()
                .0
                .contains("https")
        );
        assert!(
            hook("https://hooks.example.com", "short")
                .check()
                .unwrap_err()
                .0
                .contains("16")
        );
        let mut wrong = hook("https://hooks.example.com", "0123456789abcdef");
        wrong.webhooks[0].events = vec!["roi_done".into()];
        assert!(wrong.check().unwrap_err().0.contains("roi_done"));
    }
}
