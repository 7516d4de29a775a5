//! The alert check: each observed KPI against the client's thresholds, and the notices the
//! dedup rules call for (module docs of [`super`]).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use roi_domain::Client;
use roi_domain::kpi::{Kpi, Level, Signal, evaluate};
use rust_decimal::Decimal;

use super::{AlertRun, AlertState, Delivered, Notice, Notifier, observe};
use crate::settings::ClientSettings;
use crate::store::{Store, StoreError, keys};

/// Checks a client's KPIs at `now` and notifies per the dedup rules (module docs).
///
/// # Errors
/// [`StoreError`] when the KPIs or the states cannot be read or written.
pub async fn check(
    store: &Store,
    notifier: &Notifier,
    client: &Client,
    now: DateTime<Utc>,
) -> Result<AlertRun, StoreError> {
    let settings = store.settings(&client.id).await?;
    let today = now.with_timezone(&client.time_zone).date_naive();
    let observed = observe(store, client, &settings, today).await?;
    let mut states: HashMap<String, AlertState> = store
        .alert_states(&client.id)
        .await?
        .into_iter()
        .map(|s| (keys::alert(&s.rule, &s.scope), s))
        .collect();
    let recipients = if settings.alert_recipients.is_empty() {
        settings.account_manager_email.iter().cloned().collect()
    } else {
        settings.alert_recipients.clone()
    };
    let mut check = Check {
        store,
        notifier,
        client,
        settings,
        recipients,
        now,
        run: AlertRun::default(),
    };
    let mut seen = HashSet::new();
    for seen_kpi in observed {
        let (kpi, scope, value) = (seen_kpi.kpi, seen_kpi.scope, seen_kpi.value);
        let key = keys::alert(kpi.name(), &scope);
        seen.insert(key.clone());
        let previous = states.get(&key).cloned();
        let limits = seen_kpi
            .limits
            .unwrap_or_else(|| check.settings.thresholds.limits(kpi));
        match evaluate(kpi, &scope, value, limits) {
            Some(signal) => check.firing(kpi, &scope, value, signal, previous).await?,
            None => {
                if let Some(old) = previous.filter(|s| s.firing) {
                    check.stopped(kpi, &scope, value, old).await?;
                }
            }
        }
    }
    // KPIs no longer observed at all (a removed budget, an idle agent) end quietly.
    for (key, mut old) in states.drain() {
        if old.firing && !seen.contains(&key) {
            old.firing = false;
            store.put_alert_state(&client.id, &old).await?;
        }
    }
    Ok(check.run)
}

/// One client's check at `now`, and what it has done so far.
struct Check<'a> {
    store: &'a Store,
    notifier: &'a Notifier,
    client: &'a Client,
    settings: ClientSettings,
    /// The internal recipients: the alert recipients, or else the account manager.
    recipients: Vec<String>,
    now: DateTime<Utc>,
    run: AlertRun,
}

impl Check<'_> {
    /// A firing alert whose KPI is back within limits ends, with a recovery notice when
    /// `notify_recovery` (not for success signals).
    async fn stopped(
        &mut self,
        kpi: Kpi,
        scope: &str,
        value: Decimal,
        mut old: AlertState,
    ) -> Result<(), StoreError> {
        let resolved = old.level != Level::Success && self.settings.notify_recovery;
        let before = old.value;
        old.firing = false;
        old.value = value;
        if resolved {
            let message = format!(
                "{} of {scope} is back within limits at {} (was {})",
                kpi.label(),
                kpi.show(value),
                kpi.show(before)
            );
            let claim = notice_claim(&old, "resolved");
            if !self.store.claim_notice(&self.client.id, &claim).await? {
                return Ok(()); // another run is sending it
            }
            let delivered = self
                .send("alert_triggered", "resolved", &message, &old)
                .await;
            if delivered.taken() {
                old.last_sent_at = Some(self.now);
            } else {
                old.firing = true; // try the recovery notice again next run
                self.store.release_notice(&self.client.id, &claim).await?;
            }
            self.run.notices.push(Notice {
                rule: kpi.name().into(),
                event: "alert_triggered".into(),
                status: "resolved".into(),
                message,
                delivered,
            });
        }
        self.store.put_alert_state(&self.client.id, &old).await
    }

    /// A signal: notified when it starts, when it gets worse, and again when the repeat
    /// interval has passed; success signals once, when `notify_success`.
    async fn firing(
        &mut self,
        kpi: Kpi,
        scope: &str,
        value: Decimal,
        signal: Signal,
        previous: Option<AlertState>,
    ) -> Result<(), StoreError> {
        self.run.signals.push(signal.clone());
        let repeat = chrono::Duration::minutes(i64::from(self.settings.alert_repeat_minutes));
        let mut state = AlertState {
            rule: kpi.name().to_owned(),
            scope: scope.to_owned(),
            firing: true,
            level: signal.level,
            value,
            limit: signal.limit,
            since: self.now,
            last_sent_at: None,
        };
        let (event, status) = match &previous {
            Some(p) if p.firing && p.level == signal.level => {
                state.since = p.since;
                state.last_sent_at = p.last_sent_at;
                let due = p.last_sent_at.is_none_or(|t| self.now - t >= repeat);
                if signal.level == Level::Success || !due || !kpi.repeats() {
                    return self.store.put_alert_state(&self.client.id, &state).await;
                }
                ("threshold_exceeded", "repeat")
            }
            Some(p) if p.firing && signal.level > p.level => {
                state.since = p.since;
                ("threshold_exceeded", "firing")
            }
            _ if signal.level == Level::Success && !self.settings.notify_success => {
                return self.store.put_alert_state(&self.client.id, &state).await;
            }
            _ => ("alert_triggered", "firing"),
        };
        let message = match previous.as_ref().filter(|p| p.value != value) {
            Some(p) => format!("{} (was {})", signal.message(), kpi.show(p.value)),
            None => signal.message(),
        };
        let claim = notice_claim(
            &AlertState {
                last_sent_at: previous.as_ref().and_then(|p| p.last_sent_at),
                ..state.clone()
            },
            status,
        );
        if !self.store.claim_notice(&self.client.id, &claim).await? {
            return Ok(()); // another run read the same state and is sending this notice
        }
        let delivered = self.send(event, status, &message, &state).await;
        if delivered.taken() {
            state.last_sent_at = Some(self.now);
            self.store.put_alert_state(&self.client.id, &state).await?;
        } else {
            self.store.release_notice(&self.client.id, &claim).await?;
            if let Some(p) = previous {
                // unchanged: notify next run
                self.store.put_alert_state(&self.client.id, &p).await?;
            }
        }
        self.run.notices.push(Notice {
            rule: kpi.name().into(),
            event: event.into(),
            status: status.into(),
            message,
            delivered,
        });
        Ok(())
    }

    /// Sends one notice by e-mail and webhooks.
    async fn send(
        &self,
        event: &str,
        status: &str,
        message: &str,
        state: &AlertState,
    ) -> Delivered {
        let level = match state.level {
            Level::Critical => "Critical",
            Level::Warning => "Warning",
            Level::Success => "Success",
        };
        let label = Kpi::from_name(&state.rule)
            .map_or_else(|| state.rule.clone(), |k| k.label().to_owned());
        let subject = match status {
            "resolved" => format!("Resolved: {label} for {}", self.client.company_name),
            _ => format!("{level}: {label} for {}", self.client.company_name),
        };
        let text = format!(
            "{message}.\n\nClient: {} ({})\nSince: {}\n",
            self.client.company_name,
            self.client.id,
            state.since.format("%Y-%m-%d %H:%M UTC")
        );
        let payload = serde_json::json!({
            "event": event,
            "status": status,
            "client_id": self.client.id,
            "rule": state.rule,
            "scope": state.scope,
            "level": state.level,
            "value": state.value,
            "limit": state.limit,
            "since": state.since,
            "sent_at": self.now,
            "message": message,
        });
        let mut to = self.recipients.clone();
        if status != "repeat" && self.settings.client_alert_rules.contains(&state.rule) {
            to.extend(self.client.report_recipients.iter().cloned());
        }
        let delivered = self
            .notifier
            .notify(&self.settings, &to, event, &subject, &text, &payload)
            .await;
        if delivered.emails + delivered.webhooks > 0 {
            metrics::counter!("alerts_sent", "status" => status.to_owned()).increment(1);
        }
        delivered
    }
}

/// What names one notice decision: the alert, the notice's status and level, and when the
/// notice before it went out (`never` for the first). Overlapping runs that read the same
/// state (the hourly daily job and the 5-minute check) name the same notice, so only the
/// first to claim it ([`Store::claim_notice`]) sends it.
fn notice_claim(state: &AlertState, status: &str) -> String {
    let previous = state
        .last_sent_at
        .map_or_else(|| "never".to_owned(), |t| t.to_rfc3339());
    format!(
        "{}\u{0}{}\u{0}{status}\u{0}{:?}\u{0}{previous}",
        state.rule, state.scope, state.level
    )
}
