//! The [`Webhooks`] adapter: HTTPS POSTs with `ureq` (rustls with aws-lc-rs, webpki roots), signed with
//! HMAC-SHA256, retried with [`Backoff`] on connection errors, timeouts, 408, 429 and 5xx.
//! Plain `http://` is allowed only to loopback addresses (local runs and tests).

use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use roi_domain::ports::{WebhookDelivery, WebhookError, Webhooks, webhook_url_allowed};
use sha2::Sha256;

use crate::backoff::Backoff;

/// Seconds one attempt may take, connection to last byte.
pub const ATTEMPT_TIMEOUT_SECONDS: u64 = 10;

/// The signature header value for `body` sent at `timestamp` (Unix seconds):
/// `sha256=` + hex HMAC-SHA256 of `"{timestamp}.{body}"` under `secret`. Receivers
/// recompute it and compare in constant time (`verify_signature`).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Whether `header` is the signature of `body` at `timestamp` under `secret`, compared in
/// constant time.
pub fn verify_signature(secret: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let Some(given) = header
        .strip_prefix("sha256=")
        .and_then(|h| hex::decode(h).ok())
    else {
        return false;
    };
    mac(secret, timestamp, body).verify_slice(&given).is_ok()
}

/// Sends webhooks over HTTP(S).
#[derive(Debug, Clone)]
pub struct HttpWebhooks {
    agent: ureq::Agent,
    backoff: Backoff,
}

impl Default for HttpWebhooks {
    fn default() -> Self {
        Self::new(Backoff {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(8),
            max_retries: 4,
        })
    }
}

impl HttpWebhooks {
    /// Webhooks retried per `backoff`.
    pub fn new(backoff: Backoff) -> Self {
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(std::sync::Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .build();
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(ATTEMPT_TIMEOUT_SECONDS)))
            .http_status_as_error(false)
            .tls_config(tls)
            .build()
            .into();
        Self { agent, backoff }
    }

    fn attempt(agent: &ureq::Agent, d: &WebhookDelivery) -> Result<(), (bool, String)> {
        let timestamp = chrono::Utc::now().timestamp();
        let sent = agent
            .post(&d.url)
            .header("content-type", "application/json")
            .header("user-agent", "roi-tracker-webhooks/1")
            .header("x-roi-event", &d.event)
            .header("x-roi-delivery", &d.delivery_id)
            .header("x-roi-timestamp", timestamp.to_string())
            .header("x-roi-signature", signature(&d.secret, timestamp, &d.body))
            .send(&d.body[..]);
        match sent {
            Ok(res) => {
                let status = res.status().as_u16();
                match status {
                    200..=299 => Ok(()),
                    408 | 429 | 500..=599 => Err((true, format!("HTTP {status}"))),
                    _ => Err((false, format!("HTTP {status}"))),
                }
            }
            Err(e) => Err((true, e.to_string())),
        }
    }
}

#[async_trait]
impl Webhooks for HttpWebhooks {
    async fn deliver(&self, d: &WebhookDelivery) -> Result<(), WebhookError> {
        if !webhook_url_allowed(&d.url) {
            return Err(WebhookError::Rejected(
                "webhook URLs must be https:// (http:// only to loopback)".into(),
            ));
        }
        let mut attempt = 0;
        loop {
            let (agent, delivery) = (self.agent.clone(), d.clone());
            let result = tokio::task::spawn_blocking(move || Self::attempt(&agent, &delivery))
                .await
                .map_err(|e| WebhookError::Unavailable(e.to_string()))?;
            match result {
                Ok(()) => return Ok(()),
                Err((false, why)) => return Err(WebhookError::Rejected(why)),
                Err((true, why)) if attempt >= self.backoff.max_retries => {
                    tracing::warn!(event = %d.event, attempts = attempt + 1, %why, "webhook undeliverable");
                    return Err(WebhookError::Unavailable(why));
                }
                Err((true, _)) => {
                    tokio::time::sleep(self.backoff.delay(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_anything_else_does_not() {
        let s = signature("secret", 1_795_000_000, b"{\"a\":1}");
        assert!(verify_signature("secret", 1_795_000_000, b"{\"a\":1}", &s));
        assert!(!verify_signature("other", 1_795_000_000, b"{\"a\":1}", &s));
        assert!(!verify_signature("secret", 1_795_000_001, b"{\"a\":1}", &s));
        assert!(!verify_signature("secret", 1_795_000_000, b"{\"a\":2}", &s));
        assert!(!verify_signature(
            "secret",
            1_795_000_000,
            b"{\"a\":1}",
            "sha256=zz"
        ));
    }

    #[test]
    fn only_https_or_loopback_http_is_allowed() {
        assert!(webhook_url_allowed("https://hooks.example.com/roi"));
        assert!(webhook_url_allowed("http://127.0.0.1:8080/hook"));
        assert!(webhook_url_allowed("http://localhost/hook"));
        assert!(!webhook_url_allowed("http://hooks.example.com/roi"));
        assert!(!webhook_url_allowed("http://127.0.0.1.example.com/x"));
        assert!(!webhook_url_allowed("ftp://x"));
    }
}
