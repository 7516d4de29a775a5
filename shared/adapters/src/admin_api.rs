//! The [`AdminApi`] adapter: HTTPS GETs to a provider's admin API with `ureq` (rustls,
//! the webpki roots), off the async runtime's threads. Retries are the use case's
//! (`roi_app::provider_api`), which sees every status.

use std::time::Duration;

use roi_domain::ports::{AdminApi, ApiAnswer};

/// How long one request may take, seconds (a page of 31 daily buckets).
pub const REQUEST_TIMEOUT_SECONDS: u64 = 60;

/// The largest answer read, bytes (a page is tens of kilobytes).
pub const MAX_ANSWER_BYTES: u64 = 16 << 20;

/// GETs over HTTPS (and plain HTTP, for a loopback stand-in in tests).
#[derive(Debug, Clone)]
pub struct HttpAdminApi {
    agent: ureq::Agent,
}

impl Default for HttpAdminApi {
    fn default() -> Self {
        Self {
            agent: crate::webhook::https_agent(Duration::from_secs(REQUEST_TIMEOUT_SECONDS)),
        }
    }
}

#[async_trait::async_trait]
impl AdminApi for HttpAdminApi {
    async fn get(&self, url: &str, headers: &[(String, String)]) -> Result<ApiAnswer, String> {
        let agent = self.agent.clone();
        let url = url.to_owned();
        let headers = headers.to_vec();
        tokio::task::spawn_blocking(move || {
            let mut request = agent
                .get(&url)
                .header("accept", "application/json")
                .header("user-agent", "roi-tracker/1");
            for (name, value) in &headers {
                request = request.header(name.as_str(), value.as_str());
            }
            let mut answer = request.call().map_err(|e| e.to_string())?;
            let status = answer.status().as_u16();
            let retry_after = answer
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let body = answer
                .body_mut()
                .with_config()
                .limit(MAX_ANSWER_BYTES)
                .read_to_string()
                .map_err(|e| e.to_string())?;
            Ok(ApiAnswer {
                status,
                retry_after,
                body,
            })
        })
        .await
        .map_err(|e| e.to_string())?
    }
}
