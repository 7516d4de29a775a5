//! A client's settings for the scheduled work: KPI thresholds, the hourly rate time saved is
//! valued at, alert recipients and webhooks, the account manager reminders go to, and how
//! alerts repeat. Everything has a default; `roi client settings` shows and changes them
//! ([`save`]).
//!
//! Webhook signing secrets never stay in the settings item: [`save`] puts each in the
//! [`SecretStore`] (Secrets Manager on AWS, the data directory's `secrets/` locally) under
//! `{prefix}{client}/{first 16 hex digits of SHA-256(url)}` and keeps only that name.

use roi_domain::ClientId;
use roi_domain::kpi::Thresholds;
use roi_domain::ports::{SecretError, SecretStore};
use sha2::{Digest, Sha256};

pub use crate::store::ClientSettings;
pub use crate::store::WebhookSubscription;
use crate::store::{Store, StoreError};

/// Where webhook secrets are kept unless `ROI_WEBHOOK_SECRET_PREFIX` names another prefix:
/// the stack `roi-tracker`'s (the template grants `{stack name}/webhooks/*`).
pub const DEFAULT_SECRET_PREFIX: &str = "roi-tracker/webhooks/";

/// The webhook events (seed 003 "Webhook Integration").
pub const WEBHOOK_EVENTS: [&str; 3] = [
    "roi_calculation_complete",
    "alert_triggered",
    "threshold_exceeded",
];

impl WebhookSubscription {
    /// Whether this subscription wants `event`.
    pub fn wants(&self, event: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == event)
    }
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
            client_alert_rules: Vec::new(),
            account_manager_email: None,
            webhooks: Vec::new(),
            alert_repeat_minutes: 60,
            notify_recovery: true,
            notify_success: true,
            requests_per_minute: DEFAULT_REQUESTS_PER_MINUTE,
            events_per_minute: DEFAULT_EVENTS_PER_MINUTE,
            auto_send_reports: false,
            admin_keys: Vec::new(),
            anonymise_after_days: DEFAULT_ANONYMISE_AFTER_DAYS,
        }
    }
}

/// Days from a client's churn to its automatic anonymisation (seed 000 §7.3: after a
/// year).
pub const DEFAULT_ANONYMISE_AFTER_DAYS: u32 = 365;

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
        if let Some(rule) = self
            .client_alert_rules
            .iter()
            .find(|r| roi_domain::kpi::Kpi::from_name(r).is_none())
        {
            return bad(format!(
                "client_alert_rules: '{rule}' is not an alert rule (one of roi_percentage, error_rate, system_uptime, feature_adoption, latency_p95, department_budget, cost_variance, unpriced_events, project_kpi)"
            ));
        }
        for w in &self.webhooks {
            if !roi_domain::ports::webhook_url_allowed(&w.url) {
                return bad(format!("webhook '{}' must be an https:// URL", w.url));
            }
            match (&w.secret, &w.secret_name) {
                (secret, _) if !secret.is_empty() && secret.chars().count() < 16 => {
                    return bad(format!(
                        "the secret of webhook '{}' must have at least 16 characters",
                        w.url
                    ));
                }
                (secret, None) if secret.is_empty() => {
                    return bad(format!("webhook '{}' needs a secret", w.url));
                }
                (_, Some(name)) if !roi_domain::ports::secret_name_allowed(name) => {
                    return bad(format!(
                        "the secret_name of webhook '{}' is not a secret name",
                        w.url
                    ));
                }
                _ => {}
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
        for k in &self.admin_keys {
            if !matches!(k.provider.as_str(), "anthropic" | "openai") {
                return bad(format!(
                    "admin_keys: '{}' is not a provider (anthropic or openai)",
                    k.provider
                ));
            }
            if !roi_domain::ports::secret_name_allowed(&k.secret_name) {
                return bad(format!(
                    "admin_keys: '{}' is not a secret name",
                    k.secret_name
                ));
            }
            if let Some(url) = &k.base_url
                && !roi_domain::ports::webhook_url_allowed(url)
            {
                return bad(format!("admin_keys: the base URL '{url}' must be https://"));
            }
        }
        if !(1..=3_650).contains(&self.anonymise_after_days) {
            return bad("anonymise_after_days must be from 1 to 3650".into());
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

/// Why settings could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveSettingsError {
    /// The settings are not valid; nothing was stored.
    #[error(transparent)]
    Invalid(#[from] SettingsError),
    /// A webhook secret could not be stored; the settings were not changed.
    #[error("storing a webhook secret: {0}")]
    Secret(#[from] SecretError),
    /// The settings item could not be written (the secrets already were; saving again
    /// replaces them).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The secret-store name of the webhook at `url` of `client`, under `prefix`.
pub fn secret_name(prefix: &str, client: &ClientId, url: &str) -> String {
    let digest = hex::encode(Sha256::digest(url.as_bytes()));
    format!("{prefix}{client}/{}", &digest[..16])
}

/// Checks `settings`, puts every webhook secret written in them into `secrets` (under
/// [`secret_name`] with `prefix`), and stores the settings with only the secrets' names.
/// Returns the settings as stored.
///
/// # Errors
/// [`SaveSettingsError`]: invalid settings and a failed secret store change nothing stored.
pub async fn save(
    store: &Store,
    secrets: &dyn SecretStore,
    prefix: &str,
    client: &ClientId,
    mut settings: ClientSettings,
) -> Result<ClientSettings, SaveSettingsError> {
    settings.check()?;
    for hook in &mut settings.webhooks {
        if hook.secret.is_empty() {
            continue;
        }
        let name = secret_name(prefix, client, &hook.url);
        secrets.put(&name, &hook.secret).await?;
        hook.secret_name = Some(name);
        hook.secret.clear();
    }
    store.put_settings(client, &settings).await?;
    Ok(settings)
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
                secret_name: None,
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
        assert!(
            hook("https://hooks.example.com", "")
                .check()
                .unwrap_err()
                .0
                .contains("needs a secret")
        );
        let mut named = hook("https://hooks.example.com", "");
        named.webhooks[0].secret_name = Some("roi-tracker/webhooks/acme/0123abcd".into());
        assert!(named.check().is_ok());
        named.webhooks[0].secret_name = Some("../etc/passwd".into());
        assert!(named.check().is_err());
        let mut wrong = hook("https://hooks.example.com", "0123456789abcdef");
        wrong.webhooks[0].events = vec!["roi_done".into()];
        assert!(wrong.check().unwrap_err().0.contains("roi_done"));
    }
}
