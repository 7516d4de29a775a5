//! A provider's admin API (Anthropic, OpenAI), as the pulls of usage and cost reports need
//! it: one HTTPS GET, every status answered (the caller retries).

/// One HTTP answer of an admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiAnswer {
    /// HTTP status.
    pub status: u16,
    /// `Retry-After`, seconds, when given.
    pub retry_after: Option<u64>,
    /// The body.
    pub body: String,
}

/// One GET to a provider's admin API. The adapter is `roi_adapters::admin_api::HttpAdminApi`.
#[async_trait::async_trait]
pub trait AdminApi: Send + Sync {
    /// GETs `url` with `headers`; any HTTP status is an answer.
    ///
    /// # Errors
    /// The transport's failure in words (no answer at all).
    async fn get(&self, url: &str, headers: &[(String, String)]) -> Result<ApiAnswer, String>;
}
