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

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use roi_domain::kpi::{Kpi, Level, Signal, evaluate};
use roi_domain::ports::{Email, Mailer, SecretStore, WebhookDelivery, Webhooks};
use roi_domain::{Client, ClientId, Metric, SnapshotKind};
use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::settings::ClientSettings;
pub use crate::store::AlertState;
use crate::store::{Store, StoreError};

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

/// The KPI values of a client at `today` (its day): projects' latest ROI, uptime and
/// adoption; yesterday's agent error rates and p95 run times; this month's cost per
/// budgeted department.
///
/// # Errors
/// [`StoreError`].
pub async fn observe(
    store: &Store,
    client: &Client,
    settings: &ClientSettings,
    today: NaiveDate,
) -> Result<Vec<(Kpi, String, Decimal)>, StoreError> {
    let mut out = Vec::new();
    for project in store.projects_of(&client.id).await? {
        let scope = project.id.to_string();
        let calcs = store.roi_calculations(&project.id).await?;
        if let Some(latest) = calcs
            .iter()
            .max_by_key(|c| (c.calculation_date, c.period_months))
        {
            out.push((Kpi::RoiPercentage, scope.clone(), latest.roi_percentage));
        }
        let snapshots = store.snapshots(&project.id).await?;
        let latest_of = |m: Metric| {
            snapshots
                .iter()
                .filter(|s| s.kind() == SnapshotKind::Ongoing && s.measured_on() <= today)
                .filter_map(|s| Some((s.measured_on(), s.value(m)?)))
                .max_by_key(|(d, _)| *d)
                .map(|(_, v)| v)
        };
        if let Some(v) = latest_of(Metric::SystemUptimePercentage) {
            out.push((Kpi::SystemUptime, scope.clone(), v));
        }
        if let Some(v) = latest_of(Metric::UserAdoptionRate) {
            out.push((Kpi::FeatureAdoption, scope.clone(), v));
        }
    }
    let yesterday = today - chrono::Days::new(1);
    if let Some(r) = store.rollup(&client.id, yesterday).await? {
        for (agent, s) in &r.agents {
            if s.executions > 0 {
                let failed = Decimal::from(s.failure + s.timeout) * Decimal::ONE_HUNDRED
                    / Decimal::from(s.executions);
                out.push((Kpi::ErrorRate, agent.clone(), failed.round_dp(2)));
            }
            if let Some(p95) = s.duration_ms.quantile(0.95) {
                out.push((
                    Kpi::LatencyP95,
                    agent.clone(),
                    Decimal::try_from(p95).unwrap_or_default().round_dp(0),
                ));
            }
        }
    }
    let budgets = &settings.thresholds.department_budgets_usd;
    if !budgets.is_empty() {
        let month_start = today.with_day(1).unwrap_or(today);
        let mut spent: BTreeMap<String, Decimal> = BTreeMap::new();
        for day in month_start.iter_days().take_while(|d| *d <= today) {
            if let Some(r) = store.rollup(&client.id, day).await?
                && let Some(by) = r.by.get("department")
            {
                for (dept, totals) in by {
                    let sum = spent.entry(dept.clone()).or_default();
                    *sum = sum.saturating_add(totals.cost_usd);
                }
            }
        }
        for (dept, budget) in budgets {
            if budget.is_zero() {
                continue;
            }
            let used = spent
                .get(dept)
                .copied()
                .unwrap_or_default()
                .checked_mul(Decimal::ONE_HUNDRED)
                .and_then(|u| u.checked_div(*budget));
            match used {
                Some(used) => out.push((Kpi::DepartmentBudget, dept.clone(), used.round_dp(2))),
                None => {
                    tracing::warn!(client = %client.id, %dept, "budget share beyond the decimal range; not checked")
                }
            }
        }
    }
    Ok(out)
}

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
        .map(|s| (crate::store::keys::alert(&s.rule, &s.scope), s))
        .collect();
    let recipients = if settings.alert_recipients.is_empty() {
        client.report_recipients.clone()
    } else {
        settings.alert_recipients.clone()
    };
    let repeat = chrono::Duration::minutes(i64::from(settings.alert_repeat_minutes));
    let mut run = AlertRun::default();
    let mut seen = std::collections::HashSet::new();

    for (kpi, scope, value) in observed {
        let key = crate::store::keys::alert(kpi.name(), &scope);
        seen.insert(key.clone());
        let signal = evaluate(kpi, &scope, value, settings.thresholds.limits(kpi));
        let previous = states.get(&key).cloned();
        let Some(signal) = signal else {
            if let Some(mut old) = previous.filter(|s| s.firing) {
                let resolved = old.level != Level::Success && settings.notify_recovery;
                old.firing = false;
                old.value = value;
                if resolved {
                    let message = format!(
                        "{} of {scope} is back within limits at {}",
                        kpi.name(),
                        value.normalize()
                    );
                    let claim = notice_claim(&old, "resolved");
                    if !store.claim_notice(&client.id, &claim).await? {
                        continue; // another run is sending it
                    }
                    let delivered = send(
                        notifier,
                        &settings,
                        &recipients,
                        client,
                        "alert_triggered",
                        "resolved",
                        &message,
                        &old,
                        now,
                    )
                    .await;
                    if delivered.taken() {
                        old.last_sent_at = Some(now);
                    } else {
                        old.firing = true; // try the recovery notice again next run
                        store.release_notice(&client.id, &claim).await?;
                    }
                    run.notices.push(Notice {
                        event: "alert_triggered".into(),
                        status: "resolved".into(),
                        message,
                        delivered,
                    });
                }
                store.put_alert_state(&client.id, &old).await?;
            }
            continue;
        };
        run.signals.push(signal.clone());
        let mut state = AlertState {
            rule: kpi.name().to_owned(),
            scope: scope.clone(),
            firing: true,
            level: signal.level,
            value,
            limit: signal.limit,
            since: now,
            last_sent_at: None,
        };
        let (event, status) = match &previous {
            Some(p) if p.firing && p.level == signal.level => {
                state.since = p.since;
                state.last_sent_at = p.last_sent_at;
                let due = p.last_sent_at.is_none_or(|t| now - t >= repeat);
                if signal.level == Level::Success || !due {
                    store.put_alert_state(&client.id, &state).await?;
                    continue;
                }
                ("threshold_exceeded", "repeat")
            }
            Some(p) if p.firing && signal.level > p.level => {
                state.since = p.since;
                ("threshold_exceeded", "firing")
            }
            _ if signal.level == Level::Success && !settings.notify_success => {
                store.put_alert_state(&client.id, &state).await?;
                continue;
            }
            _ => ("alert_triggered", "firing"),
        };
        let message = signal.message();
        let claim = notice_claim(
            &AlertState {
                last_sent_at: previous.as_ref().and_then(|p| p.last_sent_at),
                ..state.clone()
            },
            status,
        );
        if !store.claim_notice(&client.id, &claim).await? {
            continue; // another run read the same state and is sending this notice
        }
        let delivered = send(
            notifier,
            &settings,
            &recipients,
            client,
            event,
            status,
            &message,
            &state,
            now,
        )
        .await;
        if delivered.taken() {
            state.last_sent_at = Some(now);
            store.put_alert_state(&client.id, &state).await?;
        } else {
            store.release_notice(&client.id, &claim).await?;
            if let Some(p) = previous {
                store.put_alert_state(&client.id, &p).await?; // unchanged: notify next run
            }
        }
        run.notices.push(Notice {
            event: event.into(),
            status: status.into(),
            message,
            delivered,
        });
    }
    // KPIs no longer observed at all (a removed budget, an idle agent) end quietly.
    for (key, mut old) in states.drain() {
        if old.firing && !seen.contains(&key) {
            old.firing = false;
            store.put_alert_state(&client.id, &old).await?;
        }
    }
    Ok(run)
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

#[allow(clippy::too_many_arguments)]
async fn send(
    notifier: &Notifier,
    settings: &ClientSettings,
    recipients: &[String],
    client: &Client,
    event: &str,
    status: &str,
    message: &str,
    state: &AlertState,
    now: DateTime<Utc>,
) -> Delivered {
    let level = match state.level {
        Level::Critical => "Critical",
        Level::Warning => "Warning",
        Level::Success => "Success",
    };
    let subject = match status {
        "resolved" => format!("Resolved: {} for {}", state.rule, client.company_name),
        _ => format!("{level}: {} for {}", state.rule, client.company_name),
    };
    let text = format!(
        "{message}.\n\nClient: {} ({})\nSince: {}\n",
        client.company_name,
        client.id,
        state.since.format("%Y-%m-%d %H:%M UTC")
    );
    let payload = serde_json::json!({
        "event": event,
        "status": status,
        "client_id": client.id,
        "rule": state.rule,
        "scope": state.scope,
        "level": state.level,
        "value": state.value,
        "limit": state.limit,
        "since": state.since,
        "sent_at": now,
        "message": message,
    });
    let delivered = notifier
        .notify(settings, recipients, event, &subject, &text, &payload)
        .await;
    if delivered.emails + delivered.webhooks > 0 {
        metrics::counter!("alerts_sent", "status" => status.to_owned()).increment(1);
    }
    delivered
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
