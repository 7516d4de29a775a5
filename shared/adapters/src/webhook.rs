//! The [`Webhooks`] adapter: HTTPS POSTs with `ureq` (rustls with aws-lc-rs, webpki roots), signed with
//! HMAC-SHA256, retried with [`Backoff`] on connection errors, timeouts, 408, 429 and 5xx.
//!
//! A webhook URL is the client's text, so the adapter guards against server-side request
//! forgery at send time: the host must resolve to public addresses only (no loopback,
//! private, link-local, shared, documentation, multicast or unspecified address, IPv4 or
//! IPv6), URLs with user information are refused, and redirects are never followed (a 3xx
//! is a refusal). [`HttpWebhooks::allowing_loopback`] also allows plain `http://` to loopback, for
//! `roi serve` and tests. What remains: the address is checked before the request, and the
//! HTTP client resolves the name again, so a DNS answer that changes in between
//! (rebinding) is not caught.

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

/// A ureq agent over rustls (aws-lc-rs, the webpki roots) that answers every status (no
/// error for 4xx/5xx), follows no redirect, and gives up after `timeout`.
pub(crate) fn https_agent(timeout: Duration) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .build();
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .tls_config(tls)
        .build()
        .into()
}

/// Sends webhooks over HTTP(S).
#[derive(Debug, Clone)]
pub struct HttpWebhooks {
    agent: ureq::Agent,
    backoff: Backoff,
    allow_loopback: bool,
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
    /// Webhooks to public addresses only, retried per `backoff` (the deployed functions).
    pub fn new(backoff: Backoff) -> Self {
        Self::build(backoff, false)
    }

    /// The same, also allowing loopback over plain `http://` (`roi serve`, tests).
    #[must_use]
    pub fn allowing_loopback(mut self) -> Self {
        self.allow_loopback = true;
        self
    }

    fn build(backoff: Backoff, allow_loopback: bool) -> Self {
        Self {
            agent: https_agent(Duration::from_secs(ATTEMPT_TIMEOUT_SECONDS)),
            backoff,
            allow_loopback,
        }
    }

    /// Checks where `url` leads before anything is sent: its host must resolve, and to
    /// allowed addresses only ([`is_public`], or loopback for [`HttpWebhooks::allowing_loopback`]).
    ///
    /// # Errors
    /// [`WebhookError::Rejected`] naming the reason; [`WebhookError::Unavailable`] when the
    /// name does not resolve now.
    async fn check_destination(&self, url: &str) -> Result<(), WebhookError> {
        let refused = |why: &str| Err(WebhookError::Rejected(why.to_owned()));
        let (secure, rest) = match url.split_once("://") {
            Some(("https", rest)) => (true, rest),
            Some(("http", rest)) => (false, rest),
            _ => return refused("webhook URLs must be https://"),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return refused("webhook URLs must not carry user information");
        }
        let default_port = if secure { 443 } else { 80 };
        let (host, port) = match authority.strip_prefix('[') {
            Some(bracketed) => match bracketed.split_once(']') {
                Some((host, "")) => (host, Some(default_port)),
                Some((host, after)) => (host, after.strip_prefix(':').and_then(|p| p.parse().ok())),
                None => (bracketed, None),
            },
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, port.parse().ok()),
                None => (authority, Some(default_port)),
            },
        };
        let Some(port) = port else {
            return refused("the webhook URL's port is not a number");
        };
        if host.is_empty() {
            return refused("the webhook URL has no host");
        }
        let addresses: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| WebhookError::Unavailable(format!("{host} does not resolve: {e}")))?
            .collect();
        if addresses.is_empty() {
            return Err(WebhookError::Unavailable(format!(
                "{host} does not resolve"
            )));
        }
        for a in &addresses {
            let ip = a.ip();
            let allowed = is_public(ip) || (self.allow_loopback && ip.is_loopback());
            if !allowed {
                return Err(WebhookError::Rejected(format!(
                    "{host} resolves to {ip}, which is not a public address"
                )));
            }
            if !secure && !ip.is_loopback() {
                return refused("webhook URLs must be https:// (http:// only to loopback)");
            }
        }
        Ok(())
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
                    300..=399 => Err((false, format!("HTTP {status}: redirects are not followed"))),
                    408 | 429 | 500..=599 => Err((true, format!("HTTP {status}"))),
                    _ => Err((false, format!("HTTP {status}"))),
                }
            }
            Err(e) => Err((true, e.to_string())),
        }
    }
}

/// Whether `ip` is an address on the public internet: not loopback, private (RFC 1918),
/// shared (100.64.0.0/10, RFC 6598), link-local, documentation, benchmarking
/// (198.18.0.0/15), reserved (240.0.0.0/4, 0.0.0.0/8), broadcast or multicast; for IPv6 not
/// loopback, unspecified, unique local (fc00::/7), link-local (fe80::/10), multicast,
/// documentation (2001:db8::/32), and an IPv4-mapped address is judged as its IPv4 one.
pub fn is_public(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                || (first == 0x2001 && v6.segments()[1] == 0x0db8))
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
        self.check_destination(&d.url).await?;
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
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn the_deployed_adapter_refuses_loopback_private_and_userinfo_urls() {
        let hooks = HttpWebhooks::default();
        for url in [
            "https://127.0.0.1/hook",
            "https://[::1]:8443/hook",
            "https://10.0.0.7/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost/hook",
            "https://user@hooks.example.com/hook",
            "http://127.0.0.1:8080/hook",
        ] {
            let refused = hooks.check_destination(url).await;
            assert!(
                matches!(refused, Err(WebhookError::Rejected(_))),
                "{url}: {refused:?}"
            );
        }
        let local = HttpWebhooks::new(Backoff::immediate(0)).allowing_loopback();
        assert_eq!(
            local.check_destination("http://127.0.0.1:8080/hook").await,
            Ok(())
        );
        assert!(
            local
                .check_destination("https://10.0.0.7/hook")
                .await
                .is_err()
        );
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
