//! The [`Webhooks`] port: signed JSON calls to a subscriber's URL.

use async_trait::async_trait;

/// One webhook call: a JSON body for a subscriber's URL, signed with its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// The subscriber's URL (https; http only on loopback).
    pub url: String,
    /// The subscriber's signing secret.
    pub secret: String,
    /// The event name, e.g. `alert_triggered` (seed 003 webhook events).
    pub event: String,
    /// A deterministic id: the same delivery retried keeps it, so the receiver can drop
    /// repeats.
    pub delivery_id: String,
    /// The JSON body.
    pub body: Vec<u8>,
}

/// Whether webhooks may be sent to `url`: `https://`, or plain `http://` to a loopback host
/// (local runs and tests) only.
pub fn webhook_url_allowed(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// What went wrong delivering a webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The receiver refused it (a 4xx other than 408 and 429), or the URL is not allowed;
    /// retrying will not help.
    #[error("webhook refused: {0}")]
    Rejected(String),
    /// The receiver could not be reached or failed after retries.
    #[error("webhook undeliverable: {0}")]
    Unavailable(String),
}

/// Sends webhooks. Every adapter must POST the body with `Content-Type: application/json`,
/// the headers `X-Roi-Event`, `X-Roi-Delivery`, `X-Roi-Timestamp` (Unix seconds) and
/// `X-Roi-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}" under the secret>`,
/// and retry with backoff on connection errors, timeouts, 408, 429 and 5xx.
///
/// # Errors
/// [`WebhookError`].
#[async_trait]
pub trait Webhooks: Send + Sync {
    /// Delivers one webhook.
    async fn deliver(&self, delivery: &WebhookDelivery) -> Result<(), WebhookError>;
}
